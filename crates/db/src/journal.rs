//! What a write transaction has to append to the audit log and the change
//! feed, collected while it runs and written in one go just before it
//! commits: a few multi-row statements instead of several per record, and
//! the change-feed head row is locked only for the transaction's last moment.

use std::collections::BTreeSet;

use crate::audit::{self, AuditEntry};
use crate::changes::{self, NewChange};
use crate::conn::DbConn;
use crate::error::StoreError;

/// Audit events and changes waiting for the end of their transaction.
#[derive(Debug, Default)]
pub struct Journal {
    audit: Vec<AuditEntry>,
    changes: Vec<NewChange>,
    touched: BTreeSet<String>,
}

impl Journal {
    /// Queues an audit event.
    pub fn audit(&mut self, e: AuditEntry) {
        self.audit.push(e);
    }

    /// Queues a change.
    pub fn change(&mut self, c: NewChange) {
        self.changes.push(c);
    }

    /// Notes a worker whose joined view changed without a change naming it
    /// (the second worker of a pair finding, the survivor of a merge).
    pub fn touch(&mut self, worker_id: &str) {
        self.touched.insert(worker_id.to_string());
    }

    /// Takes over what another journal queued (after its savepoint succeeded).
    pub fn absorb(&mut self, other: Journal) {
        self.audit.extend(other.audit);
        self.changes.extend(other.changes);
        self.touched.extend(other.touched);
    }

    /// Refreshes the stored views of the workers the changes name, then
    /// writes the audit events and the changes (taking the feed's head row
    /// last); call as the last step of the transaction. Leaves the journal empty.
    pub fn write(&mut self, conn: &mut DbConn) -> Result<(), StoreError> {
        let mut workers = std::mem::take(&mut self.touched);
        workers.extend(self.changes.iter().filter_map(|c| c.worker_id.clone()));
        crate::worker_docs::refresh(conn, &workers)?;
        audit::append_many(conn, &std::mem::take(&mut self.audit))?;
        if !self.changes.is_empty() {
            changes::append_many(conn, &std::mem::take(&mut self.changes))?;
        }
        Ok(())
    }
}
