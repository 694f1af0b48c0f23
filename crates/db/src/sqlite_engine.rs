//! Settings of the SQLite library itself, made once per process before its
//! first connection opens (see `docs/performance.md`, "SQLite statements
//! planned once").
//!
//! - **Plans that do not depend on bound values.** SQLite treats a bound
//!   `LIMIT ?` (and a few other bound values) as a constant when it plans a
//!   statement, and marks the statement so that binding that parameter
//!   again throws the plan away: every execution of a kept statement with a
//!   `LIMIT` (every page, every `first()`) was parsed and planned again. The
//!   query planner stability guarantee (`SQLITE_DBCONFIG_ENABLE_QPSG`) plans
//!   each statement once, for any values; Sinergi keeps no `sqlite_stat4`
//!   samples that could prefer a plan by value, so no plan changes.
//! - **No global lock around every allocation.** By default SQLite counts
//!   the memory it holds, under one process-wide mutex taken on every
//!   allocation and free; with a reader per request thread that mutex was
//!   contended (a fifth of a list page's time went to waking its waiters).
//!   Sinergi reads none of those counters.
//! - **No lock around every call on a connection.** In its default
//!   (serialized) mode SQLite takes a connection's mutex on every call into
//!   it: each step, and each column read of each row. A diesel connection
//!   is only ever used by one thread at a time (it is `Send`, not `Sync`, and
//!   the pool and the writer's turns hand it out whole), which is what
//!   SQLite's multi-thread mode asks; in it those mutexes are not made. The
//!   library's own shared state (page cache, allocator) keeps its locks.

use std::ffi::{c_char, c_int};
use std::sync::Once;

use libsqlite3_sys as ffi;

/// Applies the settings, once, before the first SQLite connection opens.
pub(crate) fn configure() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: `sqlite3_config` may only run before the library is
        // initialised; this is the process's first call into SQLite (every
        // connection opens through `DbManager::connect`, which calls this
        // first). Should a caller have opened one before, SQLite refuses
        // with SQLITE_MISUSE and nothing changes, which is harmless.
        // Multi-thread mode is sound here because no SQLite connection or
        // statement is used by two threads at once: diesel's connection is
        // not `Sync`, and Sinergi opens SQLite only through it.
        unsafe {
            ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int);
            ffi::sqlite3_config(ffi::SQLITE_CONFIG_MULTITHREAD);
        }
        // SAFETY: `plan_once` has the signature SQLite expects of an
        // automatic extension and only calls `sqlite3_db_config` on the
        // connection it is given.
        unsafe {
            ffi::sqlite3_auto_extension(Some(plan_once));
        }
    });
}

/// Run by SQLite on every connection as it opens.
unsafe extern "C" fn plan_once(
    db: *mut ffi::sqlite3,
    _err: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: `db` is the connection being opened; a null output pointer is
    // allowed for this option.
    unsafe {
        ffi::sqlite3_db_config(
            db,
            ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            std::ptr::null_mut::<c_int>(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The query planner stability guarantee, as a connection reports it.
    fn stability(db: *mut ffi::sqlite3) -> c_int {
        let mut on: c_int = -1;
        // SAFETY: `db` is an open connection; -1 asks for the current value.
        unsafe {
            ffi::sqlite3_db_config(db, ffi::SQLITE_DBCONFIG_ENABLE_QPSG, -1 as c_int, &mut on)
        };
        on
    }

    #[test]
    fn every_connection_opens_with_stable_plans_and_no_mutex() {
        configure();
        let mut db: *mut ffi::sqlite3 = std::ptr::null_mut();
        // SAFETY: a private in-memory database, closed below.
        let rc = unsafe { ffi::sqlite3_open(c":memory:".as_ptr(), &mut db) };
        assert_eq!(rc, ffi::SQLITE_OK);
        assert_eq!(stability(db), 1);
        // SAFETY: `db` is open. A connection has a mutex only in serialized mode.
        assert!(unsafe { ffi::sqlite3_db_mutex(db) }.is_null());
        // SAFETY: opened above, no statement left.
        unsafe { ffi::sqlite3_close(db) };
    }
}
