//! Stored compliance findings: one row per (rule, subject, discriminator),
//! reopened rather than duplicated when a cause recurs.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::error::StoreError;
use crate::kept::Keep;
use crate::schema::findings;

pub mod engine;
pub mod facts;
pub mod view;

pub use view::FindingView;

/// A stored finding.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable, PartialEq)]
#[diesel(table_name = findings)]
pub struct FindingRow {
    /// Id.
    pub id: String,
    /// Rule code.
    pub rule: String,
    /// Severity.
    pub severity: String,
    /// `worker` or `employer`.
    pub subject_kind: String,
    /// Worker id or NIB.
    pub subject_id: String,
    /// Distinguishes several findings of one rule about one subject.
    pub discriminator: String,
    /// Agency kind that must act.
    pub responsible: String,
    /// `open`, `acknowledged` or `resolved`.
    pub status: String,
    /// JSON list of the records (type, key, version, agency) showing the contradiction.
    pub evidence: String,
    /// Explanation (English).
    pub message_en: String,
    /// Explanation (Indonesian).
    pub message_id: String,
    /// District the finding is located in.
    pub region_code: Option<String>,
    /// Employer concerned.
    pub employer_nib: Option<String>,
    /// Worker concerned.
    pub worker_id: Option<String>,
    /// Who set the status (`sinergi` or `AGENCY/client`).
    pub status_by: String,
    /// Note given with the status.
    pub status_note: Option<String>,
    /// When the status was set.
    pub status_changed_at: NaiveDateTime,
    /// First detected.
    pub first_seen_at: NaiveDateTime,
    /// Last confirmed by a recomputation.
    pub last_seen_at: NaiveDateTime,
    /// +1 on each change.
    pub version: i64,
}

/// All findings about one subject.
pub fn of_subject(conn: &mut DbConn, kind: &str, id: &str) -> Result<Vec<FindingRow>, StoreError> {
    Ok(findings::table
        .filter(findings::subject_kind.eq(kind))
        .filter(findings::subject_id.eq(id))
        .select(FindingRow::as_select())
        .load(conn)?)
}

/// All findings about any of the subjects of one kind.
pub fn of_subjects(
    conn: &mut DbConn,
    kind: &str,
    ids: &[String],
) -> Result<Vec<FindingRow>, StoreError> {
    crate::in_key_chunks(ids, |chunk| {
        if let DbConn::Postgresql(pg) = conn {
            // One index read per subject, whatever the planner guesses (see `pg_rows_of`).
            return crate::workers::pg_rows_of_where(
                pg,
                "findings",
                "subject_id",
                chunk,
                ("subject_kind", kind),
                "t.id",
            );
        }
        Ok(findings::table
            .filter(findings::subject_kind.eq(kind))
            .filter(findings::subject_id.eq_any(chunk))
            .select(FindingRow::as_select())
            .load::<FindingRow>(conn)?)
    })
}

/// Findings a recomputation opens or resolves, written together by `write`:
/// multi-row inserts, and one update per version for the resolved ones.
#[derive(Debug, Default)]
pub struct FindingWrites {
    new: Vec<FindingRow>,
    resolved: std::collections::BTreeMap<i64, Vec<String>>,
}

impl FindingWrites {
    /// A new finding.
    pub fn insert(&mut self, row: FindingRow) {
        self.new.push(row);
    }

    /// A finding resolved by the data, still at `expected_version`.
    pub fn resolve(&mut self, id: &str, expected_version: i64) {
        self.resolved
            .entry(expected_version)
            .or_default()
            .push(id.to_string());
    }

    /// Writes them: every resolved one gets status `resolved` set by `by`
    /// with `note` at `at` and its version raised by one; a finding that
    /// another transaction changed meanwhile makes this one retry.
    pub fn write(
        &mut self,
        conn: &mut DbConn,
        by: &str,
        note: &str,
        at: NaiveDateTime,
    ) -> Result<(), StoreError> {
        let new = std::mem::take(&mut self.new);
        if !new.is_empty() {
            crate::insert_all!(conn, findings::table, &new);
        }
        for (version, ids) in std::mem::take(&mut self.resolved) {
            for chunk in ids.chunks(500) {
                let n = diesel::update(
                    findings::table
                        .filter(findings::id.eq_any(chunk))
                        .filter(findings::version.eq(version)),
                )
                .set((
                    findings::status.eq("resolved"),
                    findings::status_by.eq(by),
                    findings::status_note.eq(Some(note)),
                    findings::status_changed_at.eq(at),
                    findings::version.eq(version + 1),
                ))
                .execute(conn)?;
                if n != chunk.len() {
                    return Err(StoreError::Retry);
                }
            }
        }
        Ok(())
    }
}

/// Replaces a finding's mutable fields if it is still at `expected_version`.
pub fn update(
    conn: &mut DbConn,
    row: &FindingRow,
    expected_version: i64,
) -> Result<(), StoreError> {
    let update = diesel::update(
        findings::table
            .filter(findings::id.eq(&row.id))
            .filter(findings::version.eq(expected_version)),
    )
    .set((
        findings::severity.eq(&row.severity),
        findings::responsible.eq(&row.responsible),
        findings::status.eq(&row.status),
        findings::evidence.eq(&row.evidence),
        findings::message_en.eq(&row.message_en),
        findings::message_id.eq(&row.message_id),
        findings::region_code.eq(&row.region_code),
        findings::employer_nib.eq(&row.employer_nib),
        findings::worker_id.eq(&row.worker_id),
        findings::status_by.eq(&row.status_by),
        findings::status_note.eq(&row.status_note),
        findings::status_changed_at.eq(row.status_changed_at),
        findings::last_seen_at.eq(row.last_seen_at),
        findings::version.eq(row.version),
    ));
    let n = Keep(update.returning(findings::version)).changed::<i64>(conn)?;
    if n == 0 {
        return Err(StoreError::Retry);
    }
    Ok(())
}

/// One finding.
pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<FindingRow>, StoreError> {
    Ok(findings::table
        .find(id)
        .select(FindingRow::as_select())
        .first(conn)
        .optional()?)
}

/// Filters for listing findings.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// Rule code.
    pub rule: Option<String>,
    /// Severity.
    pub severity: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Region prefix (segment-aware).
    pub region_prefix: Option<String>,
    /// Employer NIB.
    pub employer_nib: Option<String>,
    /// Worker id.
    pub worker_id: Option<String>,
}

/// One page of findings in id order after `after`.
pub fn list(
    conn: &mut DbConn,
    f: &FindingFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<FindingRow>, StoreError> {
    let mut q = findings::table.select(FindingRow::as_select()).into_boxed();
    if let Some(v) = &f.rule {
        q = q.filter(findings::rule.eq(v.clone()));
    }
    if let Some(v) = &f.severity {
        q = q.filter(findings::severity.eq(v.clone()));
    }
    if let Some(v) = &f.status {
        q = q.filter(findings::status.eq(v.clone()));
    }
    if let Some(p) = &f.region_prefix {
        q = q.filter(
            findings::region_code
                .eq(p.clone())
                .or(findings::region_code.like(format!("{p}.%"))),
        );
    }
    if let Some(v) = &f.employer_nib {
        q = q.filter(findings::employer_nib.eq(v.clone()));
    }
    if let Some(v) = &f.worker_id {
        q = q.filter(findings::worker_id.eq(v.clone()));
    }
    if let Some(a) = after {
        q = q.filter(findings::id.gt(a.to_string()));
    }
    Ok(q.order(findings::id.asc()).limit(limit).load(conn)?)
}

/// Every finding (for statistics), without the long text fields' cost mattering at this scale.
pub fn all(conn: &mut DbConn, status: Option<&str>) -> Result<Vec<FindingRow>, StoreError> {
    let mut q = findings::table.select(FindingRow::as_select()).into_boxed();
    if let Some(s) = status {
        q = q.filter(findings::status.eq(s.to_string()));
    }
    Ok(q.order(findings::id.asc()).load(conn)?)
}

/// Upper bounds (seconds) of the findings-recompute time buckets.
pub const RECOMPUTE_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

static RECOMPUTE_COUNTS: [std::sync::atomic::AtomicU64; 12] =
    [const { std::sync::atomic::AtomicU64::new(0) }; 12];
static RECOMPUTE_TOTAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static RECOMPUTE_NANOS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Records the time one subject's findings took to recompute (lock-free:
/// it runs inside write transactions).
pub fn observe_recompute(seconds: f64) {
    use std::sync::atomic::Ordering::Relaxed;
    for (i, le) in RECOMPUTE_BUCKETS.iter().enumerate() {
        if seconds <= *le {
            RECOMPUTE_COUNTS[i].fetch_add(1, Relaxed);
        }
    }
    RECOMPUTE_TOTAL.fetch_add(1, Relaxed);
    RECOMPUTE_NANOS.fetch_add((seconds * 1e9) as u64, Relaxed);
}

/// Recompute times so far: cumulative count per bucket, count and sum of
/// seconds; `None` before the first recomputation.
pub fn recompute_times() -> Option<([u64; 12], u64, f64)> {
    use std::sync::atomic::Ordering::Relaxed;
    let count = RECOMPUTE_TOTAL.load(Relaxed);
    (count > 0).then(|| {
        (
            RECOMPUTE_COUNTS.each_ref().map(|c| c.load(Relaxed)),
            count,
            RECOMPUTE_NANOS.load(Relaxed) as f64 / 1e9,
        )
    })
}

/// A status a finding can be given by an agency.
pub const STATUSES: [&str; 3] = ["open", "acknowledged", "resolved"];

/// Sets a finding's status for the responsible agency (acknowledge, resolve,
/// reopen) in one transaction with its change-feed entry and audit event.
pub fn set_status(
    db: &crate::Db,
    prov: &crate::store::Provenance,
    id: &str,
    status: &str,
    note: &str,
    if_match: Option<crate::records::IfMatch>,
) -> Result<FindingRow, StoreError> {
    use sinergi_domain::access::{self, Channel, Declared, Principal, Request};
    db.write(|c| {
        let old = get(c, id)?.ok_or(StoreError::NotFound)?;
        let regions: Vec<sinergi_domain::RegionCode> = old
            .region_code
            .as_deref()
            .and_then(|r| sinergi_domain::RegionCode::parse(r).ok())
            .into_iter()
            .collect();
        let who = Principal {
            kind: prov.agency_kind,
            jurisdiction: prov.jurisdiction.as_ref(),
            scopes: &prov.scopes,
            purpose: Declared::Nothing,
        };
        let what = Request {
            responsible: sinergi_domain::AgencyKind::parse(&old.responsible).ok(),
            ..Request::new(Channel::FindingAct, &[]).located(&regions)
        };
        access::decide(&who, &what).map_err(StoreError::Denied)?;
        if let Some(crate::records::IfMatch::Version(v)) = if_match {
            if v != old.version {
                return Err(StoreError::PreconditionFailed {
                    current: Some(old.version),
                });
            }
        }
        let mut row = old.clone();
        row.status = status.to_string();
        row.status_by = format!("{}/{}", prov.agency_code, prov.client_id);
        row.status_note = Some(note.to_string());
        row.status_changed_at = chrono::Utc::now().naive_utc();
        row.version = old.version + 1;
        update(c, &row, old.version)?;
        let mut journal = crate::journal::Journal::default();
        engine::announce_change(&mut journal, &row)?;
        journal.audit(prov.audit("finding", Some(id), row.worker_id.as_deref(), 200));
        journal.write(c)?;
        Ok(row)
    })
}
