//! What a write transaction has to append to the audit log and the change
//! feed, collected while it runs and written in one go just before it
//! commits: a few multi-row statements instead of several per record, and
//! the change-feed head row is locked only for the transaction's last moment.

use std::collections::{BTreeMap, BTreeSet};

use crate::audit::{self, AuditEntry};
use crate::changes::{self, NewChange};
use crate::conn::DbConn;
use crate::error::StoreError;
use crate::records::RecordRow;
use crate::workers::WorkerDetail;

/// Audit events and changes waiting for the end of their transaction.
#[derive(Debug, Default)]
pub struct Journal {
    audit: Vec<AuditEntry>,
    changes: Vec<NewChange>,
    touched: BTreeSet<String>,
    /// Workers whose views were rewritten before the end, each with how
    /// many changes were queued then: a later change naming them, or a
    /// touch, makes the view due again.
    fresh: BTreeMap<String, usize>,
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
        self.fresh.remove(worker_id);
        self.touched.insert(worker_id.to_string());
    }

    /// Takes over what another journal queued (after its savepoint succeeded).
    pub fn absorb(&mut self, other: Journal) {
        let offset = self.changes.len();
        self.audit.extend(other.audit);
        self.changes.extend(other.changes);
        for w in &other.touched {
            self.fresh.remove(w);
        }
        self.touched.extend(other.touched);
        self.fresh
            .extend(other.fresh.into_iter().map(|(w, n)| (w, n + offset)));
    }

    /// Those of `ids` whose views are due now: a queued change names them
    /// or they were touched, and they were not rewritten since.
    pub fn views_due(&self, ids: &[String]) -> Vec<String> {
        let due = self.due();
        ids.iter().filter(|w| due.contains(*w)).cloned().collect()
    }

    fn due(&self) -> BTreeSet<String> {
        let mut due: BTreeSet<String> = self.touched.clone();
        for (i, c) in self.changes.iter().enumerate() {
            if let Some(w) = &c.worker_id {
                if self.fresh.get(w).is_none_or(|&n| i >= n) {
                    due.insert(w.clone());
                }
            }
        }
        due
    }

    /// Rewrites the views of workers from what was just read of them (their
    /// identity and records); only their findings are read again. Call it
    /// only with what was read after the workers were locked (PostgreSQL)
    /// and after this transaction's last change to their records.
    pub fn refresh_read(
        &mut self,
        conn: &mut DbConn,
        read: Vec<(WorkerDetail, Vec<RecordRow>)>,
    ) -> Result<(), StoreError> {
        if read.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = read.iter().map(|(d, _)| d.worker.id.clone()).collect();
        crate::worker_docs::refresh_from(conn, read)?;
        for w in ids {
            self.touched.remove(&w);
            self.fresh.insert(w, self.changes.len());
        }
        Ok(())
    }

    /// Refreshes the stored views of the workers the changes name, then
    /// writes the audit events and the changes (taking the feed's head row
    /// last); call as the last step of the transaction. Leaves the journal empty.
    pub fn write(&mut self, conn: &mut DbConn) -> Result<(), StoreError> {
        let workers = self.due();
        self.touched.clear();
        self.fresh.clear();
        crate::worker_docs::refresh(conn, &workers)?;
        audit::append_many(conn, &std::mem::take(&mut self.audit))?;
        if !self.changes.is_empty() {
            changes::append_many(conn, &std::mem::take(&mut self.changes))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change_of(worker: &str) -> NewChange {
        NewChange {
            record_type: "residence_permit".into(),
            record_key: format!("KITAS-{worker}"),
            op: "upsert",
            version: 1,
            agency_code: "IMI-SMD".into(),
            worker_id: Some(worker.into()),
            payload: None,
            source_ref: None,
        }
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Marks `w` rewritten now, as `refresh_read` does after storing the view.
    fn rewritten(j: &mut Journal, w: &str) {
        j.touched.remove(w);
        j.fresh.insert(w.to_string(), j.changes.len());
    }

    #[test]
    fn a_view_rewritten_early_is_due_again_only_after_a_later_change_or_touch() {
        let mut j = Journal::default();
        j.change(change_of("w1"));
        j.change(change_of("w2"));
        j.touch("w3");
        let all = ids(&["w1", "w2", "w3", "w4"]);
        assert_eq!(j.views_due(&all), ids(&["w1", "w2", "w3"]));

        rewritten(&mut j, "w1");
        rewritten(&mut j, "w3");
        assert_eq!(
            j.views_due(&all),
            ids(&["w2"]),
            "rewritten views are not due"
        );

        // A change queued after the rewrite (a finding about w1) makes it due again.
        j.change(change_of("w1"));
        assert_eq!(j.views_due(&all), ids(&["w1", "w2"]));

        // So does a touch (w3 named as a pair's second worker).
        j.touch("w3");
        assert_eq!(j.views_due(&all), ids(&["w1", "w2", "w3"]));
    }

    #[test]
    fn absorbing_a_journal_keeps_its_rewrites_in_place() {
        let mut outer = Journal::default();
        outer.change(change_of("w1"));
        let mut inner = Journal::default();
        inner.change(change_of("w2"));
        rewritten(&mut inner, "w2");
        outer.absorb(inner);
        let all = ids(&["w1", "w2"]);
        assert_eq!(outer.views_due(&all), ids(&["w1"]));
        outer.change(change_of("w2"));
        assert_eq!(outer.views_due(&all), ids(&["w1", "w2"]));
    }
}
