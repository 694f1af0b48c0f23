//! Connections: one code base over PostgreSQL and SQLite, the backend chosen
//! from the URL scheme (never by trial), pooled with r2d2.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::ManageConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::StoreError;

/// Migrations for each backend, embedded in the binary.
pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
/// SQLite migrations (same names as the PostgreSQL ones).
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// A connection to either supported backend.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    /// PostgreSQL (production).
    Postgresql(diesel::PgConnection),
    /// SQLite (embedded default).
    Sqlite(diesel::SqliteConnection),
}

/// The backend type of [`DbConn`] (for boxed sub-queries).
pub type DbBackend = <DbConn as diesel::Connection>::Backend;

/// Which database engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `postgres://` or `postgresql://`.
    Postgres,
    /// `sqlite://path`, `sqlite:path` or `file:path`.
    Sqlite,
}

impl Backend {
    /// Picks the backend from the URL scheme; anything else is a configuration error.
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") || url.starts_with("file:") {
            Ok(Backend::Sqlite)
        } else {
            Err(StoreError::Config(
                "database URL must start with postgres://, postgresql:// or sqlite://".into(),
            ))
        }
    }
}

/// The SQLite file path named by a `sqlite:` URL.
fn sqlite_path(url: &str) -> &str {
    url.trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .trim_start_matches("file:")
}

/// r2d2 manager that connects to the backend named by the URL and reports the real error.
#[derive(Debug, Clone)]
pub struct DbManager {
    url: String,
    backend: Backend,
}

impl ManageConnection for DbManager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        match self.backend {
            Backend::Postgres => {
                let mut c = diesel::PgConnection::establish(&self.url)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // Short statements only: compiling one (JIT) costs more than
                // running it, and a table without statistics yet makes the
                // planner's estimates cross the JIT threshold (90 ms to
                // compile a 6 ms read of 500 workers' identities).
                c.batch_execute("SET jit = off")
                    .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConn::Postgresql(c))
            }
            Backend::Sqlite => {
                crate::sqlite_engine::configure();
                let mut c = diesel::SqliteConnection::establish(sqlite_path(&self.url))
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // A reader's page cache starts over whenever another
                // connection commits (under audited reads the audit writer
                // commits every few milliseconds), and the file's pages stay
                // in the operating system's cache: 256 KiB each is enough
                // for a read's path through the indexes.
                c.batch_execute(
                    "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; \
                     PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; \
                     PRAGMA cache_size = -256;",
                )
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(c))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        diesel::sql_query("SELECT 1")
            .execute(conn)
            .map(|_| ())
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        // Set by `discard_connection` on the thread that is giving it back.
        DISCARD.with(|d| d.replace(false))
    }
}

thread_local! {
    static DISCARD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the connection this thread gives back next as broken: the pool
/// closes it instead of handing it out again. Call it when a query failed
/// because the database went away (`StoreError::Unavailable`).
pub fn discard_connection() {
    DISCARD.with(|d| d.set(true));
}

/// Rows of documents in one statement from which a connection's send buffer
/// is worth giving back (about 1 KiB a row): see [`DbConn::close_when_returned`].
pub const LARGE_STATEMENT_ROWS: usize = 200;

impl DbConn {
    /// Asks the pool to close this connection when it is given back, instead
    /// of keeping it for the next checkout. libpq grows a connection's send
    /// buffer to the largest statement it ever sent and never shrinks it: a
    /// pooled connection that once wrote a batch of 1,000 documents keeps
    /// 2 MiB or more for as long as it lives, and over a day of batch jobs
    /// every connection of the pool does. Work that sent a statement of
    /// [`LARGE_STATEMENT_ROWS`] rows or more calls this; the next checkout
    /// opens a fresh connection (a few milliseconds, against the hundreds a
    /// batch takes). SQLite connections have no such buffer and are kept.
    pub fn close_when_returned(&self) {
        if matches!(self, DbConn::Postgresql(_)) {
            discard_connection();
        }
    }
}

/// A pooled connection.
pub type PooledConn = r2d2::PooledConnection<DbManager>;

/// The database handle shared by the service: a pool plus the backend it talks to.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<DbManager>,
    backend: Backend,
    manager: DbManager,
    // SQLite allows one writer at a time; serialising writers in process avoids
    // lock-upgrade failures that a busy timeout cannot resolve. They share one
    // connection of their own: its page cache stays warm from one write to the
    // next (a pooled connection loses its cache whenever another one wrote).
    // Writers are served in the order they asked (`turns`).
    sqlite_writer: Arc<crate::turns::Turns<DbConn>>,
    waits: Arc<std::sync::atomic::AtomicU64>,
    timeouts: Arc<std::sync::atomic::AtomicU64>,
    revocations: Arc<std::sync::atomic::AtomicU64>,
    /// When a checkout last found the database down (Unix milliseconds).
    down_at: Arc<std::sync::atomic::AtomicU64>,
}

/// Pool figures for monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections.
    pub connections: u32,
    /// Idle connections.
    pub idle: u32,
    /// Checkouts that found no idle connection.
    pub waits: u64,
    /// Checkouts that gave up.
    pub timeouts: u64,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

/// How long after a checkout found the database down checkouts wait briefly.
const DOWN_GRACE_MS: u64 = 2_000;

fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// How many times a write transaction is retried after losing a race.
const WRITE_ATTEMPTS: usize = 8;

impl Db {
    /// Opens a pool for `url` (creating the SQLite file and its folder if needed).
    pub fn connect(url: &str, max_connections: u32) -> Result<Db, StoreError> {
        let backend = Backend::from_url(url)?;
        if backend == Backend::Sqlite {
            let path = sqlite_path(url);
            if let Some(parent) = Path::new(path).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        StoreError::Config(format!("cannot create {}: {e}", parent.display()))
                    })?;
                }
            }
        }
        let manager = DbManager {
            url: url.to_string(),
            backend,
        };
        // Connections are not tested with a query on every checkout (a round
        // trip per request): one that fails because the database went away is
        // closed, and the work is run again on another when nothing of it
        // can have taken effect (`read`, `write`).
        let pool = r2d2::Pool::builder()
            .max_size(max_connections)
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(3))
            .build(manager.clone())
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(Db {
            pool,
            backend,
            manager,
            sqlite_writer: Arc::new(crate::turns::Turns::new()),
            waits: Arc::default(),
            timeouts: Arc::default(),
            revocations: Arc::default(),
            down_at: Arc::default(),
        })
    }

    /// The backend this handle talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection from the pool.
    pub fn conn(&self) -> Result<PooledConn, StoreError> {
        use std::sync::atomic::Ordering::Relaxed;
        if let Some(c) = self.pool.try_get() {
            return Ok(c);
        }
        self.waits.fetch_add(1, Relaxed);
        // While the database is down (the last wait ended with no connection
        // open at all), waits are short: requests get their 503 at once
        // instead of queueing behind each other's timeouts.
        let now = unix_millis();
        let down = now.saturating_sub(self.down_at.load(Relaxed)) < DOWN_GRACE_MS;
        let timeout = if down {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(3)
        };
        self.pool.get_timeout(timeout).map_err(|e| {
            self.timeouts.fetch_add(1, Relaxed);
            if self.pool.state().connections == 0 {
                self.down_at.store(unix_millis(), Relaxed);
            }
            StoreError::Unavailable(e.to_string())
        })
    }

    /// How many client revocations went through this handle (and its clones):
    /// whatever was cached about clients before the count changed is stale.
    pub fn revocation_epoch(&self) -> u64 {
        self.revocations.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Notes a committed client revocation.
    pub fn note_revocation(&self) {
        self.revocations
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// A pooled connection proven to answer (for work that cannot simply be
    /// run again, such as a streamed export): one the database dropped is
    /// closed and another taken.
    pub fn checked_conn(&self) -> Result<PooledConn, StoreError> {
        // Every idle connection may have been dropped; a new one is fresh.
        let mut tries = self.pool.max_size() + 1;
        loop {
            let mut conn = self.conn()?;
            match ping(&mut conn) {
                Ok(()) => return Ok(conn),
                Err(e) => {
                    discard_connection();
                    drop(conn);
                    tries -= 1;
                    if tries == 0 {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Pool figures for monitoring.
    pub fn pool_stats(&self) -> PoolStats {
        use std::sync::atomic::Ordering::Relaxed;
        let state = self.pool.state();
        PoolStats {
            connections: state.connections,
            idle: state.idle_connections,
            waits: self.waits.load(Relaxed),
            timeouts: self.timeouts.load(Relaxed),
        }
    }

    /// Applies pending migrations.
    pub fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        run_migrations(&mut conn)
    }

    /// Runs `f` on a pooled connection, outside a transaction. A connection
    /// the database dropped (a restart) is closed and `f` runs once more on
    /// another: reading twice is harmless.
    pub fn read<T>(
        &self,
        mut f: impl FnMut(&mut DbConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.on_pooled(|c| (f(c), true))
    }

    /// Runs `work` on a pooled connection. When the database dropped that
    /// connection (`Unavailable`) it is closed, and `work` runs once more on a
    /// checked one if it reported that nothing of it can have taken effect
    /// (the `bool` beside its result).
    fn on_pooled<T>(
        &self,
        mut work: impl FnMut(&mut DbConn) -> (Result<T, StoreError>, bool),
    ) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        let (result, rerunnable) = work(&mut conn);
        if !matches!(result, Err(StoreError::Unavailable(_))) {
            return result;
        }
        discard_connection();
        drop(conn);
        if !rerunnable {
            return result;
        }
        let mut conn = self.checked_conn()?;
        let (result, _) = work(&mut conn);
        if matches!(result, Err(StoreError::Unavailable(_))) {
            discard_connection();
        }
        result
    }

    /// Runs `f` in one write transaction, retried when it lost a race for a
    /// unique key (so concurrent pushes of one new record converge on one row).
    pub fn write<T>(
        &self,
        mut f: impl FnMut(&mut DbConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self.backend {
            // Failing before `f` ran (at BEGIN) stored nothing: it may run on
            // another connection. After that the outcome is unknown and the
            // caller hears so.
            Backend::Postgres => self.on_pooled(|conn| {
                let mut entered = false;
                let result = retry_write(conn, false, &mut |c: &mut DbConn| {
                    entered = true;
                    f(c)
                });
                (result, !entered)
            }),
            Backend::Sqlite => {
                let mut turn = self.sqlite_writer.wait();
                let slot = &mut turn.conn;
                if slot.is_none() {
                    let mut c = self
                        .manager
                        .connect()
                        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                    // The writer touches every table and keeps its cache
                    // between writes: a bigger one than the readers'.
                    c.batch_execute("PRAGMA cache_size = -4096;")?;
                    *slot = Some(c);
                }
                let conn = slot.as_mut().expect("writer connection present");
                let result = retry_write(conn, true, &mut f);
                if matches!(
                    result,
                    Err(StoreError::Unavailable(_)
                        | StoreError::StorageFull(_)
                        | StoreError::Database(_))
                ) {
                    // Start the next write on a fresh connection.
                    *slot = None;
                }
                result
            }
        }
    }
}

/// Runs `f` in a transaction on `conn`, again when it lost a race.
fn retry_write<T>(
    conn: &mut DbConn,
    sqlite: bool,
    f: &mut impl FnMut(&mut DbConn) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = conn.transaction(|c| {
            if sqlite {
                // Take the write lock first (like BEGIN IMMEDIATE): waiting for it under the
                // busy timeout beats failing later when a read snapshot cannot be upgraded.
                c.batch_execute("UPDATE change_head SET seq = seq WHERE id = 0")?;
            }
            f(c)
        });
        match result {
            Err(e) if e.is_retryable() && attempt < WRITE_ATTEMPTS => continue,
            other => return other,
        }
    }
}

/// Applies pending migrations on one connection.
pub fn run_migrations(conn: &mut DbConn) -> Result<(), StoreError> {
    let result = match conn {
        DbConn::Postgresql(c) => c.run_pending_migrations(PG_MIGRATIONS).map(|_| ()),
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|e| StoreError::Migration(e.to_string()))
}

/// Reverts every applied migration (used by the migrations test).
pub fn revert_all_migrations(conn: &mut DbConn) -> Result<(), StoreError> {
    let result = match conn {
        DbConn::Postgresql(c) => c.revert_all_migrations(PG_MIGRATIONS).map(|_| ()),
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|e| StoreError::Migration(e.to_string()))
}

/// A trivial query that proves the database answers.
pub fn ping(conn: &mut DbConn) -> Result<(), StoreError> {
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}

/// Runs `f` in a nested transaction (a savepoint): a failure undoes only `f`.
pub fn savepoint<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.transaction(f)
}

/// Runs `f` in a read-only transaction that sees one consistent snapshot
/// (REPEATABLE READ on PostgreSQL; on SQLite in WAL mode the first read fixes it).
pub fn read_snapshot<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let postgres = matches!(conn, DbConn::Postgresql(_));
    conn.transaction(|c| {
        if postgres {
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(c)?;
        }
        f(c)
    })
}

/// A migrated SQLite database in a directory of its own, for this crate's
/// unit tests; the directory goes when the value does.
#[cfg(test)]
pub(crate) struct ScratchDb {
    /// The database.
    pub db: Db,
    dir: std::path::PathBuf,
}

#[cfg(test)]
impl ScratchDb {
    /// Opens and migrates a new database with a pool of `max_connections`.
    pub fn new(max_connections: u32) -> ScratchDb {
        let dir =
            std::env::temp_dir().join(format!("sinergi-db-unit-{}", uuid::Uuid::new_v4().simple()));
        let db = Db::connect(&format!("sqlite://{}/t.db", dir.display()), max_connections)
            .expect("connect");
        db.migrate().expect("migrate");
        ScratchDb { db, dir }
    }
}

#[cfg(test)]
impl Drop for ScratchDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
