//! Sinergi persistence: PostgreSQL and SQLite from one code base (diesel
//! `MultiConnection`), migrations embedded, records with provenance.

/// Inserts rows. PostgreSQL gets multi-row statements ([`INSERT_ROWS`] each,
/// within its bound-parameter limit for tables of up to 32 columns) on its own
/// connection: `MultiConnection` cannot express them. SQLite, which runs in
/// process, gets one cached prepared statement per row (diesel would wrap a
/// multi-row insert of rows with NULLs in a savepoint of its own).
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let mut inserted = 0usize;
        match &mut *$conn {
            $crate::DbConn::Postgresql(c) => {
                for chunk in $rows.chunks($crate::INSERT_ROWS) {
                    inserted += diesel::insert_into($table).values(chunk).execute(c)?;
                }
            }
            $crate::DbConn::Sqlite(c) => {
                for row in $rows.iter() {
                    inserted += diesel::insert_into($table).values(row).execute(c)?;
                }
            }
        }
        inserted
    }};
}
pub(crate) use insert_all;

/// Rows per multi-row insert on PostgreSQL. libpq builds a whole statement
/// in its send buffer, diesel holds every bound value while it does, and the
/// buffer keeps its size for the connection's life: a batch's 1,000 changes
/// with their documents in one statement took 6 MiB of buffer. A quarter of
/// that is as quick per row (the round trips are a few per batch).
pub(crate) const INSERT_ROWS: usize = 250;

/// Runs `load` on `keys` 500 at a time (within both databases' limits on
/// bound parameters) and joins what each statement returns.
pub(crate) fn in_key_chunks<T>(
    keys: &[String],
    mut load: impl FnMut(&[String]) -> Result<Vec<T>, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    for chunk in keys.chunks(500) {
        out.extend(load(chunk)?);
    }
    Ok(out)
}

pub mod audit;
pub mod changes;
pub mod conn;
pub mod envelope;
pub mod error;
pub mod findings;
pub mod idempotency;
pub mod identity;
pub mod journal;
pub(crate) mod kept;
pub mod lookups;
pub mod persons;
pub mod records;
pub mod schema;
pub mod sequencer;
mod sqlite_engine;
pub mod stamp;
pub mod store;
pub mod subscriptions;
mod turns;
pub mod worker_docs;
pub mod workers;

pub use conn::{Backend, Db, DbConn};
pub use error::StoreError;
