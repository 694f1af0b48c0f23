//! The persistence layer's one error type.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What can go wrong when storing or reading records.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The requested row does not exist.
    #[error("not found")]
    NotFound,
    /// `If-Match` named a version that is not the current one.
    #[error("precondition failed: current version is {current:?}")]
    PreconditionFailed {
        /// The stored version, if the record exists.
        current: Option<i64>,
    },
    /// The record exists and belongs to another agency.
    #[error("record is owned by another agency")]
    OwnedByOtherAgency,
    /// The write conflicts with stored data (message for the client).
    #[error("{message}")]
    Conflict {
        /// Stable machine code.
        code: &'static str,
        /// Human explanation.
        message: String,
    },
    /// A referenced record is missing or does not fit (field, code, message).
    #[error("{message}")]
    Reference {
        /// The field that holds the reference.
        field: String,
        /// Stable machine code.
        code: &'static str,
        /// Human explanation.
        message: String,
    },
    /// The access policy refuses the write (kind, scope or jurisdiction).
    #[error("refused by the access policy: {0:?}")]
    Denied(sinergi_domain::access::Denial),
    /// Lost a race for a unique key: the caller's transaction is retried.
    #[error("write raced with another writer")]
    Retry,
    /// Bad configuration (e.g. a database URL with an unknown scheme).
    #[error("configuration: {0}")]
    Config(String),
    /// The database cannot be reached.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database's disk is full: nothing of the transaction was stored.
    #[error("database storage full: {0}")]
    StorageFull(String),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// A stored document could not be read back.
    #[error("stored document is corrupt: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(DieselError),
}

impl StoreError {
    /// Whether the write transaction should simply be run again.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Retry => true,
            StoreError::Database(DieselError::DatabaseError(kind, info)) => {
                matches!(
                    kind,
                    DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::SerializationFailure
                ) || info.message().contains("deadlock")
                    || info.message().contains("database is locked")
            }
            _ => false,
        }
    }
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => StoreError::NotFound,
            // A database that went away mid-query is unavailable, not an internal fault.
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                StoreError::Unavailable(info.message().to_string())
            }
            // SQLite: SQLITE_FULL; PostgreSQL: 53100 disk_full ("could not extend
            // file ...: No space left on device") and failed WAL writes.
            DieselError::DatabaseError(_, ref info)
                if info.message().contains("disk is full")
                    || info.message().contains("No space left on device")
                    || info.message().contains("could not extend file") =>
            {
                StoreError::StorageFull(info.message().to_string())
            }
            DieselError::DatabaseError(_, ref info)
                if info.message().contains("terminating connection")
                    || info.message().contains("server closed the connection")
                    || info.message().contains("no connection to the server")
                    // SQLite could not read or write its file (a failing or vanishing disk).
                    || info.message().contains("disk I/O error")
                    || info
                        .message()
                        .contains("the database system is shutting down")
                    || info
                        .message()
                        .contains("the database system is starting up") =>
            {
                StoreError::Unavailable(info.message().to_string())
            }
            other => StoreError::Database(other),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_error(message: &str) -> DieselError {
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new(message.to_string()))
    }

    #[test]
    fn a_full_disk_is_storage_full_on_both_databases() {
        for m in [
            "database or disk is full",
            "could not extend file \"base/16384/16385\": No space left on device",
            "could not write to file \"pg_wal/xlogtemp.123\": No space left on device",
        ] {
            assert!(
                matches!(StoreError::from(db_error(m)), StoreError::StorageFull(_)),
                "{m}"
            );
        }
    }

    #[test]
    fn a_failing_disk_or_lost_server_is_unavailable_and_anything_else_a_database_error() {
        for m in [
            "disk I/O error",
            "terminating connection due to administrator command",
        ] {
            assert!(
                matches!(StoreError::from(db_error(m)), StoreError::Unavailable(_)),
                "{m}"
            );
        }
        assert!(matches!(
            StoreError::from(db_error("syntax error at or near \"SELEC\"")),
            StoreError::Database(_)
        ));
    }
}
