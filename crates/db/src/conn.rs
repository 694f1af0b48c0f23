//! Connections: one code base over PostgreSQL and SQLite, the backend chosen
//! from the URL scheme (never by trial), pooled with r2d2.

use std::path::Path;
use std::sync::{Arc, Mutex};
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
            Backend::Postgres => diesel::PgConnection::establish(&self.url)
                .map(DbConn::Postgresql)
                .map_err(diesel::r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                let mut c = diesel::SqliteConnection::establish(sqlite_path(&self.url))
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                c.batch_execute(
                    "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; \
                     PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;",
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
        false
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
    sqlite_writer: Arc<Mutex<Option<DbConn>>>,
    waits: Arc<std::sync::atomic::AtomicU64>,
    timeouts: Arc<std::sync::atomic::AtomicU64>,
    revocations: Arc<std::sync::atomic::AtomicU64>,
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
        let pool = r2d2::Pool::builder()
            .max_size(max_connections)
            .connection_timeout(Duration::from_secs(3))
            .build(manager.clone())
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(Db {
            pool,
            backend,
            manager,
            sqlite_writer: Arc::new(Mutex::new(None)),
            waits: Arc::default(),
            timeouts: Arc::default(),
            revocations: Arc::default(),
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
        self.pool.get().map_err(|e| {
            self.timeouts.fetch_add(1, Relaxed);
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

    /// Runs `f` in a read transaction-free connection.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        f(&mut conn)
    }

    /// Runs `f` in one write transaction, retried when it lost a race for a
    /// unique key (so concurrent pushes of one new record converge on one row).
    pub fn write<T>(
        &self,
        mut f: impl FnMut(&mut DbConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self.backend {
            Backend::Postgres => {
                let mut conn = self.conn()?;
                retry_write(&mut conn, false, &mut f)
            }
            Backend::Sqlite => {
                let mut slot = self.sqlite_writer.lock().unwrap_or_else(|p| p.into_inner());
                if slot.is_none() {
                    let mut c = self
                        .manager
                        .connect()
                        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                    // The writer touches every table: a bigger cache than the readers'.
                    c.batch_execute("PRAGMA cache_size = -16384;")?;
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
