//! Keeps stored findings in step with the records: recomputed for the
//! subjects a write touches (in the write's own transaction) and by a daily
//! sweep for dates passing. A finding whose cause disappears resolves itself;
//! one that recurs is reopened, never duplicated.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, Utc};
use sinergi_domain::rules::{self, Finding, Subject};
use sinergi_domain::{RecordType, RegionCode};

use super::view::FindingView;
use super::{facts, FindingRow, FindingWrites};
use crate::changes::NewChange;
use crate::conn::{Db, DbConn};
use crate::error::StoreError;
use crate::journal::Journal;
use crate::records::{self, RecordRow};

/// Who changes a status when the data, not a person, decides.
pub const SYSTEM: &str = "sinergi";

/// Today in Kalimantan Timur (WITA, UTC+8): rules are judged on the local date.
pub fn today() -> NaiveDate {
    let wita = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    Utc::now().with_timezone(&wita).date_naive()
}

/// The subjects whose findings may change when `rows` change.
///
/// Rule 14's question (is a named employer unregistered, with no finding
/// open yet?) is asked once per employer, for all of them in two queries.
pub fn affected(conn: &mut DbConn, rows: &[RecordRow]) -> Result<BTreeSet<Subject>, StoreError> {
    let mut out = BTreeSet::new();
    let mut ask: BTreeSet<String> = BTreeSet::new();
    let mut approvals = Vec::new();
    for row in rows {
        if let Some(w) = &row.worker_id {
            out.insert(Subject::Worker(w.clone()));
        }
        // Employer rules 6, 8 and 13 read approvals, assignments and headcount
        // reports only. Another record naming the employer matters only to rule
        // 14, and only to open its finding: once it is open, further records
        // leave it alone (the daily sweep refreshes its evidence), so writers
        // naming one unregistered employer do not all queue on its finding.
        let employer_rule_input = matches!(
            row.record_type.as_str(),
            "employer" | "rptka_approval" | "assignment"
        ) || (row.record_type == "presence_report"
            && row.worker_id.is_none());
        if let Some(nib) = &row.employer_nib {
            if employer_rule_input {
                out.insert(Subject::Employer(nib.clone()));
            } else {
                ask.insert(nib.clone());
            }
        }
        if row.record_type == RecordType::RptkaApproval.as_str() {
            approvals.push(row.record_key.clone());
        }
    }
    // Every worker placed under a written approval is judged against it.
    approvals.sort();
    approvals.dedup();
    out.extend(
        records::workers_under_approvals(conn, &approvals)?
            .into_iter()
            .map(Subject::Worker),
    );
    ask.retain(|nib| !out.contains(&Subject::Employer(nib.clone())));
    out.extend(
        opening_not_registered(conn, ask)?
            .into_iter()
            .map(Subject::Employer),
    );
    Ok(out)
}

/// Those of `nibs` a record naming them would open rule 14's finding for:
/// the employer is not registered and no such finding is open yet.
fn opening_not_registered(
    conn: &mut DbConn,
    mut nibs: BTreeSet<String>,
) -> Result<BTreeSet<String>, StoreError> {
    if nibs.is_empty() {
        return Ok(nibs);
    }
    let wanted: Vec<String> = nibs.iter().cloned().collect();
    for registered in records::stored_keys(conn, RecordType::Employer.as_str(), &wanted)? {
        nibs.remove(&registered);
    }
    let unregistered: Vec<String> = nibs.iter().cloned().collect();
    let rule = rules::RuleCode::EmployerNotRegistered.as_str();
    let resolved = rules::FindingStatus::Resolved.as_str();
    for f in super::of_subjects(conn, "employer", &unregistered)? {
        if f.rule == rule && f.status != resolved {
            nibs.remove(&f.subject_id);
        }
    }
    Ok(nibs)
}

/// District of the latest presence report, when there is one.
fn presence_district(presence: &[rules::PresenceFact]) -> Option<Option<String>> {
    presence
        .iter()
        .max_by_key(|f| (f.observed_on, f.r.key.clone()))
        .map(|latest| latest.region.district().map(|d| d.as_str().to_string()))
}

/// The employer a worker's region falls back to: the first assignment's.
fn assignment_employer(rows: &[RecordRow]) -> Option<String> {
    rows.iter()
        .filter(|r| r.record_type == RecordType::Assignment.as_str())
        .find_map(|r| r.employer_nib.clone())
}

/// District of an employer's registered address.
fn employer_district(employer: Option<&RecordRow>) -> Option<String> {
    employer
        .and_then(|e| e.region_code.as_deref())
        .and_then(|r| RegionCode::parse(r).ok())
        .and_then(|r| r.district())
        .map(|d| d.as_str().to_string())
}

/// A worker's findings as of `today`, and the employer they are filed under:
/// the active assignment's, else any.
fn evaluate_worker(f: &rules::WorkerFacts, today: NaiveDate) -> (Vec<Finding>, Option<String>) {
    let employer = f
        .assignments
        .iter()
        .find(|a| a.is_active_on(today))
        .or(f.assignments.first())
        .map(|a| a.employer_nib.clone())
        .or_else(|| f.permits.iter().find_map(|p| p.sponsor_nib.clone()));
    (rules::evaluate_worker(f, today), employer)
}

/// Announces a finding change in the change feed (written with the journal).
pub fn announce_change(journal: &mut Journal, row: &FindingRow) -> Result<(), StoreError> {
    let payload = serde_json::to_string(&FindingView::of(row))?;
    if row.rule == sinergi_domain::rules::RuleCode::PossibleSamePerson.as_str() {
        // Shown on the pair's second worker too.
        journal.touch(&row.discriminator);
    }
    journal.change(NewChange {
        record_type: "finding".into(),
        record_key: row.id.clone(),
        op: "upsert",
        version: row.version,
        agency_code: SYSTEM.into(),
        worker_id: row.worker_id.clone(),
        payload: Some(payload),
        source_ref: None,
    });
    Ok(())
}

fn evidence_json(f: &Finding) -> Result<String, StoreError> {
    Ok(serde_json::to_string(&f.evidence)?)
}

/// Recomputes many subjects: workers and employers in bulk.
pub fn recompute_subjects(
    conn: &mut DbConn,
    subjects: &[Subject],
    today: NaiveDate,
    now: NaiveDateTime,
    journal: &mut Journal,
) -> Result<usize, StoreError> {
    recompute_read(conn, subjects, (today, now), journal, &mut BTreeMap::new())
}

/// [`recompute_subjects`], with workers already read in this transaction
/// (with their identity, and not changed since) taken from `read`.
fn recompute_read(
    conn: &mut DbConn,
    subjects: &[Subject],
    (today, now): (NaiveDate, NaiveDateTime),
    journal: &mut Journal,
    read: &mut BTreeMap<String, crate::workers::WorkerDetail>,
) -> Result<usize, StoreError> {
    let mut workers = Vec::new();
    let mut employers = Vec::new();
    for s in subjects {
        match s {
            Subject::Worker(id) => workers.push(id.clone()),
            Subject::Employer(nib) => employers.push(nib.clone()),
        }
    }
    Ok(
        recompute_workers(conn, &workers, (today, now), journal, read)?
            + recompute_employers(conn, &employers, today, now, journal)?,
    )
}

/// Recomputes workers' findings with a few queries per 500 of them.
fn recompute_workers(
    conn: &mut DbConn,
    worker_ids: &[String],
    (today, now): (NaiveDate, NaiveDateTime),
    journal: &mut Journal,
    read: &mut BTreeMap<String, crate::workers::WorkerDetail>,
) -> Result<usize, StoreError> {
    let mut changed = 0;
    for chunk in worker_ids.chunks(500) {
        let started = std::time::Instant::now();
        // The workers whose stored views this transaction must rewrite
        // anyway are locked before they are read (see `Journal::refresh_read`).
        let views = journal.views_due(chunk);
        if let (false, DbConn::Postgresql(pg)) = (views.is_empty(), &mut *conn) {
            crate::workers::pg_lock_workers(pg, &views)?;
        }
        let all = facts::workers(conn, chunk, read)?;
        let mut existing =
            crate::workers::group_by_worker(super::of_subjects(conn, "worker", chunk)?, |f| {
                &f.subject_id
            });
        // Region falls back to the employer of the first assignment when no presence report places the worker.
        let nibs: BTreeSet<String> = all
            .iter()
            .filter(|(f, _, _)| f.presence.is_empty())
            .filter_map(|(_, _, rows)| assignment_employer(rows))
            .collect();
        let nibs: Vec<String> = nibs.into_iter().collect();
        let employers: BTreeMap<String, RecordRow> =
            records::get_records(conn, RecordType::Employer.as_str(), &nibs)?
                .into_iter()
                .map(|r| (r.record_key.clone(), r))
                .collect();
        let mut done = BTreeSet::new();
        let mut writes = FindingWrites::default();
        let mut rec = Reconciler {
            now,
            journal: &mut *journal,
            writes: &mut writes,
        };
        for (f, _, rows) in &all {
            let (computed, employer) = evaluate_worker(f, today);
            let region = match presence_district(&f.presence) {
                Some(d) => d,
                None => {
                    employer_district(assignment_employer(rows).and_then(|n| employers.get(&n)))
                }
            };
            let mine = existing.remove(&f.worker_id).unwrap_or_default();
            let place = Placement {
                worker_employer: employer,
                region,
            };
            changed += rec.reconcile(conn, &computed, &place, mine)?;
            done.insert(f.worker_id.clone());
        }
        // A worker no longer stored keeps no open findings.
        for id in chunk.iter().filter(|id| !done.contains(*id)) {
            let mine = existing.remove(id).unwrap_or_default();
            changed += rec.reconcile(conn, &[], &Placement::default(), mine)?;
        }
        writes.write(conn, SYSTEM, RESOLVED_NOTE, now)?;
        // Their findings are written: their views are made from what was
        // read above instead of reading it all again at the journal's end.
        let views: BTreeSet<&String> = views.iter().collect();
        let read = all
            .into_iter()
            .filter(|(_, d, _)| views.contains(&d.worker.id))
            .map(|(_, d, rows)| (d, rows))
            .collect();
        observe_chunk(started, chunk.len());
        journal.refresh_read(conn, read)?;
    }
    Ok(changed)
}

/// Why the data resolved a finding.
const RESOLVED_NOTE: &str = "resolved: the cause is no longer present in the records";

/// Where a subject's findings are filed: the employer a worker's findings
/// name, and the district they are located in.
#[derive(Debug, Clone, Default)]
struct Placement {
    worker_employer: Option<String>,
    region: Option<String>,
}

/// What reconciling a transaction's subjects writes: at `now`, changes into
/// the journal, new and resolved findings into one set of multi-row writes.
struct Reconciler<'a> {
    now: NaiveDateTime,
    journal: &'a mut Journal,
    writes: &'a mut FindingWrites,
}

impl Reconciler<'_> {
    /// Brings a subject's stored findings in line with the computed ones:
    /// new ones inserted, changed or recurring ones updated (reopened), the
    /// rest resolved. Returns how many changed.
    fn reconcile(
        &mut self,
        conn: &mut DbConn,
        computed: &[Finding],
        place: &Placement,
        existing: Vec<FindingRow>,
    ) -> Result<usize, StoreError> {
        let existing: BTreeMap<(String, String), FindingRow> = existing
            .into_iter()
            .map(|r| ((r.rule.clone(), r.discriminator.clone()), r))
            .collect();
        let mut seen = BTreeSet::new();
        let mut changed = 0;
        for f in computed {
            let key = (f.rule.as_str().to_string(), f.discriminator.clone());
            let row = self.as_stored(f, place)?;
            changed += match existing.get(&key) {
                None => self.open(row)?,
                Some(old) => self.refresh(conn, old, row)?,
            };
            seen.insert(key);
        }
        for (key, old) in &existing {
            if !seen.contains(key) && old.status != "resolved" {
                changed += self.resolve(old)?;
            }
        }
        Ok(changed)
    }

    /// A computed finding as a new stored row.
    fn as_stored(&self, f: &Finding, place: &Placement) -> Result<FindingRow, StoreError> {
        let (worker_id, employer_nib) = match &f.subject {
            Subject::Worker(w) => (Some(w.clone()), place.worker_employer.clone()),
            Subject::Employer(n) => (None, Some(n.clone())),
        };
        Ok(FindingRow {
            id: uuid::Uuid::new_v4().to_string(),
            rule: f.rule.as_str().to_string(),
            severity: f.severity.as_str().into(),
            subject_kind: f.subject.kind().into(),
            subject_id: f.subject.id().into(),
            discriminator: f.discriminator.clone(),
            responsible: f.responsible.as_str().into(),
            status: "open".into(),
            evidence: evidence_json(f)?,
            message_en: f.message_en.clone(),
            message_id: f.message_id.clone(),
            region_code: place.region.clone(),
            employer_nib,
            worker_id,
            status_by: SYSTEM.into(),
            status_note: None,
            status_changed_at: self.now,
            first_seen_at: self.now,
            last_seen_at: self.now,
            version: 1,
        })
    }

    /// A finding seen for the first time.
    fn open(&mut self, row: FindingRow) -> Result<usize, StoreError> {
        announce_change(self.journal, &row)?;
        self.writes.insert(row);
        Ok(1)
    }

    /// A finding found again: updated when its facts changed, reopened when
    /// the data had closed it (or a person had, before the evidence changed).
    fn refresh(
        &mut self,
        conn: &mut DbConn,
        old: &FindingRow,
        computed: FindingRow,
    ) -> Result<usize, StoreError> {
        let mut row = FindingRow {
            severity: computed.severity,
            responsible: computed.responsible,
            evidence: computed.evidence,
            message_en: computed.message_en,
            message_id: computed.message_id,
            region_code: computed.region_code,
            employer_nib: computed.employer_nib,
            worker_id: computed.worker_id,
            ..old.clone()
        };
        let material = row != *old;
        if old.status == "resolved" && (old.status_by == SYSTEM || old.evidence != row.evidence) {
            row.status = "open".into();
            row.status_by = SYSTEM.into();
            row.status_note = Some("reopened: the cause is present again".into());
            row.status_changed_at = self.now;
        } else if !material {
            return Ok(0);
        }
        row.last_seen_at = self.now;
        row.version = old.version + 1;
        super::update(conn, &row, old.version)?;
        announce_change(self.journal, &row)?;
        Ok(1)
    }

    /// A finding whose cause is gone.
    fn resolve(&mut self, old: &FindingRow) -> Result<usize, StoreError> {
        let row = FindingRow {
            status: "resolved".into(),
            status_by: SYSTEM.into(),
            status_note: Some(RESOLVED_NOTE.into()),
            status_changed_at: self.now,
            version: old.version + 1,
            ..old.clone()
        };
        self.writes.resolve(&row.id, old.version);
        announce_change(self.journal, &row)?;
        Ok(1)
    }
}

/// Records a chunk's recompute time in the metrics, shared evenly by its `n` subjects.
fn observe_chunk(started: std::time::Instant, n: usize) {
    let per_subject = started.elapsed().as_secs_f64() / n.max(1) as f64;
    for _ in 0..n {
        super::observe_recompute(per_subject);
    }
}

/// Recomputes employers' findings with a few queries per 500 of them.
fn recompute_employers(
    conn: &mut DbConn,
    nibs: &[String],
    today: NaiveDate,
    now: NaiveDateTime,
    journal: &mut Journal,
) -> Result<usize, StoreError> {
    let mut changed = 0;
    for chunk in nibs.chunks(500) {
        let started = std::time::Instant::now();
        let stored: BTreeMap<String, RecordRow> =
            records::get_records(conn, RecordType::Employer.as_str(), chunk)?
                .into_iter()
                .map(|r| (r.record_key.clone(), r))
                .collect();
        let all = facts::employers(conn, chunk, |nib| stored.contains_key(nib))?;
        let mut existing =
            crate::workers::group_by_worker(super::of_subjects(conn, "employer", chunk)?, |f| {
                &f.subject_id
            });
        let mut writes = FindingWrites::default();
        let mut rec = Reconciler {
            now,
            journal: &mut *journal,
            writes: &mut writes,
        };
        for f in &all {
            let computed = rules::evaluate_employer(f, today);
            let place = Placement {
                worker_employer: None,
                region: employer_district(stored.get(&f.nib)),
            };
            let mine = existing.remove(&f.nib).unwrap_or_default();
            changed += rec.reconcile(conn, &computed, &place, mine)?;
        }
        writes.write(conn, SYSTEM, RESOLVED_NOTE, now)?;
        observe_chunk(started, chunk.len());
    }
    Ok(changed)
}

/// What a write transaction owes before it commits: the subjects whose
/// findings to recompute (each once, however many of its records the
/// transaction wrote) and the journal of audit events and changes.
#[derive(Debug, Default)]
pub struct Pending {
    changed: Vec<RecordRow>,
    subjects: BTreeSet<Subject>,
    people: BTreeSet<String>,
    /// Workers the matcher read with their identity, for the findings.
    read: BTreeMap<String, crate::workers::WorkerDetail>,
    /// Audit events and changes to write at the end.
    pub journal: Journal,
}

impl Pending {
    /// Notes a changed record (its version before or after): the subjects it
    /// touches are worked out at `flush`, when every write is stored.
    pub fn note(&mut self, row: &RecordRow) {
        self.changed.push(RecordRow {
            doc: String::new(),
            ..row.clone()
        });
    }

    /// Takes over another queue's records, subjects and journal (after its savepoint succeeded).
    pub fn absorb(&mut self, other: Pending) {
        self.changed.extend(other.changed);
        self.subjects.extend(other.subjects);
        self.people.extend(other.people);
        self.journal.absorb(other.journal);
    }

    /// Notes workers whose identity or passports changed: the matcher
    /// compares them with the workers they may be at `flush`.
    pub fn note_people(&mut self, ids: impl IntoIterator<Item = String>) {
        self.people.extend(ids);
    }

    /// Notes one subject.
    pub fn note_subject(&mut self, s: Subject) {
        self.subjects.insert(s);
    }

    /// Recomputes the findings of every subject the noted records touch,
    /// then writes the journal: the last step of the writing transaction.
    pub fn flush(&mut self, conn: &mut DbConn) -> Result<(), StoreError> {
        let changed = std::mem::take(&mut self.changed);
        self.subjects.extend(affected(conn, &changed)?);
        let now = Utc::now().naive_utc();
        let people: Vec<String> = std::mem::take(&mut self.people).into_iter().collect();
        if !people.is_empty() {
            // A pair whose link changed has its POSSIBLE_SAME_PERSON finding
            // on the first worker of the pair.
            // Whose identity this transaction changed: on PostgreSQL their
            // rows are locked (their versions were raised), so what the
            // matcher reads of them stays true until the commit.
            for a in crate::persons::match_workers(conn, &people, now, &mut self.read)? {
                self.subjects.insert(Subject::Worker(a));
            }
        }
        let today = today();
        let subjects: Vec<Subject> = std::mem::take(&mut self.subjects).into_iter().collect();
        let mut read = std::mem::take(&mut self.read);
        recompute_read(conn, &subjects, (today, now), &mut self.journal, &mut read)?;
        self.journal.write(conn)
    }
}

/// Subjects per transaction of the sweep: large enough for the bulk reads,
/// small enough that a transaction never holds the writer for long.
const SWEEP_CHUNK: usize = 200;

/// The daily sweep: every worker and employer, `SWEEP_CHUNK` of them per transaction.
pub fn sweep(db: &Db, today: NaiveDate) -> Result<(usize, usize), StoreError> {
    let workers = db.read(crate::workers::all_ids)?;
    let employers = db.read(records::employer_nibs)?;
    let subjects: Vec<Subject> = workers
        .into_iter()
        .map(Subject::Worker)
        .chain(employers.into_iter().map(Subject::Employer))
        .collect();
    let mut changed = 0;
    for chunk in subjects.chunks(SWEEP_CHUNK) {
        changed += db.write(|c| {
            let mut journal = Journal::default();
            let n = recompute_subjects(c, chunk, today, Utc::now().naive_utc(), &mut journal)?;
            journal.write(c)?;
            Ok(n)
        })?;
    }
    Ok((subjects.len(), changed))
}
