//! Sinergi persistence: PostgreSQL and SQLite from one code base (diesel
//! `MultiConnection`), migrations embedded, records with provenance.

pub mod audit;
pub mod changes;
pub mod conn;
pub mod error;
pub mod findings;
pub mod idempotency;
pub mod identity;
pub mod records;
pub mod schema;
pub mod subscriptions;
pub mod workers;

pub use conn::{Backend, Db, DbConn};
pub use error::StoreError;
