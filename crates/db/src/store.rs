//! The write path: one call stores validated records with their provenance
//! in one transaction — reference checks, the access policy on where the
//! records are located, the upsert, identity resolution, the audit event,
//! the change-feed entry and the findings recompute. Single writes and
//! batches take the same path.

use std::cell::RefCell;

use chrono::{NaiveDateTime, Utc};
use sinergi_domain::access::{self, Channel, Declared, Principal, Purpose, Scope};
use sinergi_domain::records::{AnyRecord, Key};
use sinergi_domain::{AgencyKind, RecordType, RegionCode};

use crate::audit::AuditEntry;
use crate::changes::NewChange;
use crate::conn::{savepoint, Db, DbConn};
use crate::envelope;
use crate::error::StoreError;
use crate::findings::engine::Pending;
use crate::lookups::Lookups;
use crate::records::{self, IfMatch, RecordRow, RecordWrite, WriteOutcome};
use crate::workers::PersonRef;

/// Who writes and why: kept with every record and in its audit event.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// The writing agency's code.
    pub agency_code: String,
    /// Its kind.
    pub agency_kind: AgencyKind,
    /// The region prefix it is limited to, if any.
    pub jurisdiction: Option<RegionCode>,
    /// The writing client.
    pub client_id: String,
    /// The scopes the client's token carries.
    pub scopes: Vec<Scope>,
    /// The request this write belongs to.
    pub request_id: String,
    /// The purpose the request declared, if any.
    pub purpose: Option<Purpose>,
    /// The case reference the request declared, if any.
    pub case_ref: Option<String>,
    /// The audit log's name for the action (`write`, `batch_write`, `delete`).
    pub action: &'static str,
}

impl Provenance {
    fn principal(&self) -> Principal<'_> {
        Principal {
            kind: self.agency_kind,
            jurisdiction: self.jurisdiction.as_ref(),
            scopes: &self.scopes,
            // Writes declare no purpose.
            purpose: Declared::Nothing,
        }
    }

    /// The audit event of an access to `resource_type`/`key` answered with `status`.
    pub fn audit(
        &self,
        resource_type: &str,
        key: Option<&str>,
        subject: Option<&str>,
        status: u16,
    ) -> AuditEntry {
        AuditEntry {
            occurred_at: Utc::now().naive_utc(),
            client_id: Some(self.client_id.clone()),
            agency_code: Some(self.agency_code.clone()),
            action: self.action.to_string(),
            resource_type: resource_type.to_string(),
            resource_key: key.map(str::to_string),
            subject_worker_id: subject.map(str::to_string),
            result_count: None,
            purpose: self.purpose.map(|p| p.as_str().to_string()),
            case_ref: self.case_ref.clone(),
            status: i32::from(status),
            request_id: self.request_id.clone(),
        }
    }

    /// Refuses a write the access policy does not allow for records located in `regions`.
    pub fn allow(&self, record_type: RecordType, regions: &[RegionCode]) -> Result<(), StoreError> {
        let types = [record_type];
        let request = access::Request::new(Channel::Write, &types).located(regions);
        access::decide(&self.principal(), &request)
            .map(|_| ())
            .map_err(StoreError::Denied)
    }
}

/// One record to store.
#[derive(Debug, Clone)]
pub struct Write {
    /// The validated record.
    pub record: AnyRecord,
    /// `If-Match`, when given.
    pub if_match: Option<IfMatch>,
}

/// A stored record and what the write did.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Created, updated or unchanged.
    pub outcome: WriteOutcome,
    /// The record as stored now.
    pub row: RecordRow,
}

impl PersonRef {
    /// The identity a domain person gives.
    pub fn of(p: &sinergi_domain::records::Person) -> PersonRef {
        PersonRef {
            passport_no: p.passport_no.to_string(),
            nationality: p.nationality.to_string(),
            full_name: p.full_name.to_string(),
            sex: p.sex.map(|s| s.as_str().to_string()),
            birth_date: p.birth_date,
            passport_expires_on: p.passport_expires_on,
            previous_passport_no: p.previous_passport_no.as_ref().map(ToString::to_string),
        }
    }
}

fn record_write(prov: &Provenance, w: &Write, now: NaiveDateTime) -> RecordWrite {
    let r = &w.record;
    let t = r.record_type();
    RecordWrite {
        record_type: t.as_str(),
        natural_key: match r.key() {
            Key::Natural(k) => Some(k.to_string()),
            Key::SourceRef(_) => None,
        },
        source_ref: r.source_ref().map(ToString::to_string),
        agency_code: prov.agency_code.clone(),
        client_id: prov.client_id.clone(),
        person: r.person().map(PersonRef::of),
        index: r.index(),
        doc: r.to_json(),
        if_match: w.if_match,
        ownership: t.info().ownership,
        now,
    }
}

/// Where a write's record is located: its own regions, those of the records
/// it refers to (checked here) and, for an update, those of the version it
/// replaces.
fn locate(
    c: &mut DbConn,
    prov: &Provenance,
    (w, rw): (&Write, &RecordWrite),
    previous: Option<&RecordRow>,
    lookups: &mut Lookups,
) -> Result<Vec<RegionCode>, StoreError> {
    let mut regions = w.record.regions();
    for reference in w.record.references() {
        let (t, key) = reference.target();
        let found = match lookups.record(t.as_str(), key) {
            // Read ahead (or held back by this batch): what the database holds now.
            Some(hit) => hit.map(RecordRow::typed).transpose()?,
            None => {
                // The reference reads stored records: those this batch still holds back go in first.
                lookups.write_deferred(c)?;
                records::get_record(c, t.as_str(), key)?
                    .map(|row| row.typed())
                    .transpose()?
            }
        };
        regions.extend(
            reference
                .resolve(found.as_ref())
                .map_err(|v| StoreError::Reference {
                    field: v.field,
                    code: v.code,
                    message: v.message,
                })?,
        );
    }
    // An identical re-push is located where it was: nothing more to read.
    if let (Some(_), Some(p)) = (&prov.jurisdiction, previous.filter(|p| p.doc != rw.doc)) {
        regions.extend(p.typed()?.regions());
    }
    Ok(regions)
}

/// Stores one write in the current transaction: its audit event, change and
/// findings subjects go to `pending` (written at the transaction's end).
fn apply(
    c: &mut DbConn,
    prov: &Provenance,
    (w, rw): (&Write, &RecordWrite),
    pending: &mut Pending,
    lookups: &mut Lookups,
) -> Result<Stored, StoreError> {
    // Kind and scopes first: no record is read for a write that may never be made.
    prov.allow(w.record.record_type(), &[])?;
    let previous = records::find_target(c, rw, lookups)?;
    let regions = locate(c, prov, (w, rw), previous.as_ref(), lookups)?;
    prov.allow(w.record.record_type(), &regions)?;
    let (outcome, row) = records::upsert_found(c, rw, previous.clone(), lookups)?;
    let status = if outcome == WriteOutcome::Created {
        201
    } else {
        200
    };
    pending.journal.audit(prov.audit(
        &row.record_type,
        Some(&row.record_key),
        row.worker_id.as_deref(),
        status,
    ));
    if outcome != WriteOutcome::Unchanged {
        pending.journal.change(NewChange {
            record_type: row.record_type.clone(),
            record_key: row.record_key.clone(),
            op: "upsert",
            version: row.version,
            agency_code: row.agency_code.clone(),
            worker_id: row.worker_id.clone(),
            payload: Some(envelope::record_json_text(&row)?),
            source_ref: row.source_ref.clone(),
        });
        // Findings follow in the same transaction: a write is never left without them.
        pending.note(&row);
        // The worker or employer the record named before may have lost a cause or gained one.
        if let Some(prev) =
            previous.filter(|p| p.worker_id != row.worker_id || p.employer_nib != row.employer_nib)
        {
            pending.note(&prev);
        }
    }
    Ok(Stored { outcome, row })
}

/// Stores one record in its own transaction.
pub fn store_one(db: &Db, prov: &Provenance, w: &Write) -> Result<Stored, StoreError> {
    db.write(|c| {
        crate::persons::share_merge_lock(c)?;
        let mut pending = Pending::default();
        let rw = record_write(prov, w, Utc::now().naive_utc());
        let mut lookups = Lookups::default();
        let stored = apply(c, prov, (w, &rw), &mut pending, &mut lookups)?;
        pending.note_people(lookups.take_reidentified());
        pending.flush(c)?;
        Ok(stored)
    })
}

/// How a batch is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchMode {
    /// Every write or none.
    Atomic,
    /// Each write on its own; a failing one is undone alone.
    PerItem,
}

/// What a batch did.
#[derive(Debug)]
pub enum BatchOutcome {
    /// The writes were applied (or, in a dry run, would be): one result per write.
    Applied(Vec<Result<Stored, StoreError>>),
    /// An atomic batch failed at `index`: nothing was stored.
    Failed {
        /// The write that failed.
        index: usize,
        /// Why.
        error: StoreError,
    },
}

fn marker(code: &'static str) -> StoreError {
    StoreError::Conflict {
        code,
        message: code.into(),
    }
}

fn is_marker(e: &StoreError, code: &str) -> bool {
    matches!(e, StoreError::Conflict { code: c, .. } if *c == code)
}

/// Stores many records in one transaction (one commit). An atomic batch
/// stops at the first failure and stores nothing. A per-item batch first
/// runs without savepoints; if a write fails there, that pass is rolled back
/// and the batch runs again with a savepoint per write, so a failing one is
/// undone alone. A dry run does everything and stores nothing. Findings are
/// recomputed once per subject; audit events and changes are written in one
/// go before the commit.
pub fn store_batch(
    db: &Db,
    prov: &Provenance,
    writes: &[Write],
    mode: BatchMode,
    dry_run: bool,
) -> Result<BatchOutcome, StoreError> {
    let atomic = mode == BatchMode::Atomic;
    let kept: RefCell<Option<BatchOutcome>> = RefCell::new(None);
    let mut optimistic = !atomic;
    loop {
        let pass = db.write(|c| {
            if writes.len() >= crate::conn::LARGE_STATEMENT_ROWS {
                // Whatever this pass ends in, its statements were large.
                c.close_when_returned();
            }
            crate::persons::share_merge_lock(c)?;
            *kept.borrow_mut() = None;
            let mut pending = Pending::default();
            // Targets, passports and identities for the whole batch in a few queries.
            let rws: Vec<RecordWrite> = writes
                .iter()
                .map(|w| record_write(prov, w, Utc::now().naive_utc()))
                .collect();
            let referenced = writes.iter().flat_map(|w| {
                w.record.references().into_iter().map(|r| {
                    let (t, key) = r.target();
                    (t.as_str(), key.to_string())
                })
            });
            let mut lookups = Lookups::prefetch(c, &rws, referenced)?;
            let whole = atomic || optimistic;
            if whole {
                // Any failure undoes the whole pass: new rows can wait for multi-row inserts.
                lookups.defer_writes();
            }
            let mut results = Vec::with_capacity(writes.len());
            for (i, w) in writes.iter().zip(&rws).enumerate() {
                let applied = if whole {
                    apply(c, prov, w, &mut pending, &mut lookups)
                } else {
                    savepoint(c, |c| {
                        // A failed write must leave neither subjects nor journal entries queued.
                        let mut mine = Pending::default();
                        let r = apply(c, prov, w, &mut mine, &mut lookups)?;
                        pending.absorb(mine);
                        Ok(r)
                    })
                };
                match applied {
                    Err(e) if e.is_retryable() => return Err(e),
                    Err(error) if atomic => {
                        *kept.borrow_mut() = Some(BatchOutcome::Failed { index: i, error });
                        return Err(marker("rollback"));
                    }
                    Err(_) if optimistic => return Err(marker("needs_savepoints")),
                    other => results.push(other),
                }
            }
            lookups.write_deferred(c)?;
            pending.note_people(lookups.take_reidentified());
            // What was read ahead and the writes' documents are not needed
            // past this point; the findings and views to come are the
            // batch's largest part.
            drop(lookups);
            drop(rws);
            pending.flush(c)?;
            if dry_run {
                *kept.borrow_mut() = Some(BatchOutcome::Applied(results));
                return Err(marker("rollback"));
            }
            Ok(results)
        });
        match pass {
            Err(e) if is_marker(&e, "needs_savepoints") => optimistic = false,
            Err(e) if is_marker(&e, "rollback") => {
                return kept.into_inner().ok_or(StoreError::Retry);
            }
            Err(e) => return Err(e),
            Ok(results) => return Ok(BatchOutcome::Applied(results)),
        }
    }
}

/// Withdraws a record its agency created: deleted, audited, and announced in
/// the change feed as a tombstone (version one past the last).
pub fn withdraw(
    db: &Db,
    prov: &Provenance,
    record_type: RecordType,
    key: &str,
    if_match: Option<IfMatch>,
) -> Result<RecordRow, StoreError> {
    db.write(|c| {
        let current =
            records::get_record(c, record_type.as_str(), key)?.ok_or(StoreError::NotFound)?;
        if current.agency_code != prov.agency_code {
            return Err(StoreError::OwnedByOtherAgency);
        }
        prov.allow(record_type, &current.typed()?.regions())?;
        if let Some(IfMatch::Version(v)) = if_match {
            if v != current.version {
                return Err(StoreError::PreconditionFailed {
                    current: Some(current.version),
                });
            }
        }
        let row = records::delete_record(c, record_type.as_str(), key)?.ok_or(StoreError::Retry)?;
        let mut pending = Pending::default();
        pending.journal.audit(prov.audit(
            record_type.as_str(),
            Some(key),
            row.worker_id.as_deref(),
            204,
        ));
        pending.journal.change(NewChange {
            record_type: record_type.as_str().to_string(),
            record_key: key.to_string(),
            op: "delete",
            version: row.version + 1,
            agency_code: prov.agency_code.clone(),
            worker_id: row.worker_id.clone(),
            payload: None,
            source_ref: row.source_ref.clone(),
        });
        pending.note(&row);
        pending.flush(c)?;
        Ok(row)
    })
}
