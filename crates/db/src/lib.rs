//! Sinergi persistence: PostgreSQL and SQLite from one code base (diesel
//! `MultiConnection`), migrations embedded, records with provenance.

/// Inserts rows. PostgreSQL gets multi-row statements (1,000 rows each,
/// within its bound-parameter limit for tables of up to 32 columns) on its own
/// connection: `MultiConnection` cannot express them. SQLite, which runs in
/// process, gets one cached prepared statement per row (diesel would wrap a
/// multi-row insert of rows with NULLs in a savepoint of its own).
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let mut inserted = 0usize;
        match &mut *$conn {
            $crate::DbConn::Postgresql(c) => {
                for chunk in $rows.chunks(1000) {
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

pub mod audit;
pub mod changes;
pub mod conn;
pub mod envelope;
pub mod error;
pub mod findings;
pub mod idempotency;
pub mod identity;
pub mod journal;
pub mod lookups;
pub mod persons;
pub mod records;
pub mod schema;
pub mod sequencer;
pub mod store;
pub mod subscriptions;
pub mod worker_docs;
pub mod workers;

pub use conn::{Backend, Db, DbConn};
pub use error::StoreError;
