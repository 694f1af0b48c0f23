//! Each worker's joined view — identity, passports, records and open
//! findings — stored as the JSON answer itself and kept current by the write
//! transaction that changes any of it, so reading a worker is one indexed
//! read of one row whose text goes out as it is.
//!
//! Every write transaction ends in [`crate::journal::Journal::write`], and
//! everything a worker's view shows is announced there (a record, finding or
//! worker change names its worker; a pair finding also touches the second
//! worker of the pair). The journal refreshes the documents of those workers
//! as its first step, so no channel can change a worker and leave the stored
//! view behind. On PostgreSQL the refresh locks the workers' rows first and
//! then reads: two transactions changing one worker refresh its document one
//! after the other, and the second reads what the first committed.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::conn::DbConn;
use crate::error::StoreError;
use crate::findings::{FindingRow, FindingView};
use crate::kept::{Keep, Kept, Param};
use crate::records::{self, RecordRow};
use crate::schema::{worker_documents, workers as workers_table};
use crate::workers::{self, WorkerDetail, WorkerSummary};
use sinergi_domain::RecordType;

/// Workers refreshed per round of bulk reads. A round holds the workers'
/// records, findings and finished documents at once (about 8 KiB a worker
/// at 100,000 workers): 250 keeps a batch's peak low for a few more reads.
const CHUNK: usize = 250;

/// The joined view of one worker as the API answers it.
#[derive(Debug, Serialize)]
pub struct WorkerDocument {
    /// Identity and passports.
    #[serde(flatten)]
    pub summary: WorkerSummary,
    /// Stay permits, as stored.
    pub residence_permits: Vec<Box<RawValue>>,
    /// Assignments, as stored.
    pub assignments: Vec<Box<RawValue>>,
    /// Presence reports, as stored.
    pub presence_reports: Vec<Box<RawValue>>,
    /// Findings about the person that are not resolved.
    pub findings: Vec<FindingView>,
}

/// A stored document.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = worker_documents)]
pub struct StoredDocument {
    /// The worker.
    pub worker_id: String,
    /// The worker's version (the answer's ETag).
    pub version: i64,
    /// The worker holding this one's records, when merged.
    pub merged_into: Option<String>,
    /// The JSON answer.
    pub body: String,
}

fn raw(row: &RecordRow) -> Result<Box<RawValue>, StoreError> {
    let text = crate::envelope::record_json_text(row)?;
    RawValue::from_string(text).map_err(StoreError::from)
}

/// The findings the views of `ids` show: those about each worker that are
/// not resolved, and the pair findings naming one as the pair's second.
fn findings_of(conn: &mut DbConn, ids: &[String]) -> Result<Vec<FindingRow>, StoreError> {
    let pair = sinergi_domain::rules::RuleCode::PossibleSamePerson.as_str();
    Ok(match conn {
        DbConn::Postgresql(pg) => Kept::new(
            "SELECT DISTINCT ON (f.id) f.* FROM unnest($1::text[]) AS w(id) CROSS JOIN LATERAL ( \
               SELECT * FROM findings x WHERE x.subject_kind = 'worker' AND x.subject_id = w.id \
                 AND x.status <> 'resolved' \
               UNION \
               SELECT * FROM findings x WHERE x.rule = $2 AND x.discriminator = w.id \
                 AND x.status <> 'resolved' OFFSET 0) f \
             ORDER BY f.id",
            vec![Param::Texts(ids), Param::Text(pair)],
        )
        .load(pg)?,
        DbConn::Sqlite(_) => {
            use crate::schema::findings;
            findings::table
                .filter(findings::status.ne("resolved"))
                .filter(
                    findings::subject_kind
                        .eq("worker")
                        .and(findings::subject_id.eq_any(ids))
                        .or(findings::rule
                            .eq(pair)
                            .and(findings::discriminator.eq_any(ids))),
                )
                .order(findings::id.asc())
                .select(FindingRow::as_select())
                .load(conn)?
        }
    })
}

/// The documents of the workers `read` (each with the records naming
/// them), showing those of `findings` that are theirs.
fn documents(
    read: Vec<(WorkerDetail, Vec<RecordRow>)>,
    findings: &[FindingRow],
) -> Result<Vec<StoredDocument>, StoreError> {
    let pair = sinergi_domain::rules::RuleCode::PossibleSamePerson.as_str();
    let wanted: BTreeSet<&String> = read.iter().map(|(d, _)| &d.worker.id).collect();
    let mut shown: BTreeMap<String, Vec<FindingView>> = BTreeMap::new();
    for f in findings {
        if f.subject_kind == "worker" && wanted.contains(&f.subject_id) {
            shown
                .entry(f.subject_id.clone())
                .or_default()
                .push(FindingView::of(f));
        }
        // A pair finding is shown on the pair's second worker too.
        if f.rule == pair && wanted.contains(&f.discriminator) {
            shown
                .entry(f.discriminator.clone())
                .or_default()
                .push(FindingView::of(f));
        }
    }
    let mut out = Vec::with_capacity(read.len());
    for (d, mine) in read {
        let id = d.worker.id.clone();
        let of = |t: RecordType| {
            mine.iter()
                .filter(|r| r.record_type == t.as_str())
                .map(raw)
                .collect::<Result<Vec<_>, _>>()
        };
        let mut findings = shown.remove(&id).unwrap_or_default();
        findings.sort_by(|a, b| a.id.cmp(&b.id));
        let doc = WorkerDocument {
            residence_permits: of(RecordType::ResidencePermit)?,
            assignments: of(RecordType::Assignment)?,
            presence_reports: of(RecordType::PresenceReport)?,
            summary: WorkerSummary::of(d),
            findings,
        };
        out.push(StoredDocument {
            worker_id: id,
            version: doc.summary.version,
            merged_into: doc.summary.merged_into.clone(),
            body: serde_json::to_string(&doc)?,
        });
    }
    Ok(out)
}

/// Builds the documents of `ids` from the tables (unknown ids are left out):
/// five reads per `CHUNK` workers.
pub fn build(conn: &mut DbConn, ids: &[String]) -> Result<Vec<StoredDocument>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let details = workers::get_workers(conn, chunk)?;
        let mut rows = workers::group_by_worker(
            records::records_of_workers(conn, chunk)?
                .into_iter()
                .filter(|r| r.worker_id.is_some())
                .collect(),
            |r| r.worker_id.as_ref().expect("filtered"),
        );
        let findings = findings_of(conn, chunk)?;
        let read = details
            .into_iter()
            .map(|d| {
                let mine = rows.remove(&d.worker.id).unwrap_or_default();
                (d, mine)
            })
            .collect();
        out.extend(documents(read, &findings)?);
    }
    Ok(out)
}

/// Rewrites the stored documents of the workers `read` (each with every
/// record naming them, as read in this transaction after its last change
/// to them, and on PostgreSQL after locking them): only their findings are
/// read.
pub(crate) fn refresh_from(
    conn: &mut DbConn,
    mut read: Vec<(WorkerDetail, Vec<RecordRow>)>,
) -> Result<(), StoreError> {
    while !read.is_empty() {
        let rest = read.split_off(read.len().min(CHUNK));
        let ids: Vec<String> = read.iter().map(|(d, _)| d.worker.id.clone()).collect();
        let findings = findings_of(conn, &ids)?;
        let docs = documents(std::mem::replace(&mut read, rest), &findings)?;
        store(conn, &docs)?;
    }
    Ok(())
}

/// Rebuilds and stores the documents of `ids`; call inside the write
/// transaction that changed them, after its last change to them.
pub fn refresh(conn: &mut DbConn, ids: &BTreeSet<String>) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = ids.iter().cloned().collect();
    for chunk in ids.chunks(CHUNK) {
        if let DbConn::Postgresql(pg) = conn {
            workers::pg_lock_workers(pg, chunk)?;
        }
        let docs = build(conn, chunk)?;
        store(conn, &docs)?;
    }
    Ok(())
}

/// Writes documents over the stored ones.
fn store(conn: &mut DbConn, docs: &[StoredDocument]) -> Result<(), StoreError> {
    use diesel::upsert::excluded;
    use worker_documents::dsl as d;
    // Rewrites a stored row where it is (on SQLite `REPLACE` deleted it
    // first, freeing its pages and rebalancing the table for every document).
    macro_rules! upsert {
        ($rows:expr) => {
            diesel::insert_into(d::worker_documents)
                .values($rows)
                .on_conflict(d::worker_id)
                .do_update()
                .set((
                    d::version.eq(excluded(d::version)),
                    d::merged_into.eq(excluded(d::merged_into)),
                    d::body.eq(excluded(d::body)),
                ))
        };
    }
    match conn {
        DbConn::Postgresql(pg) => {
            for part in docs.chunks(200) {
                upsert!(part).execute(pg)?;
            }
        }
        DbConn::Sqlite(lite) => {
            // One document at a time, in a statement of one text that the
            // writer keeps prepared (diesel would parse an upsert every time).
            for doc in docs {
                Keep(upsert!(doc).returning(d::worker_id)).load::<String>(lite)?;
            }
        }
    }
    Ok(())
}

/// Reads one worker's document: one indexed read. `None` when the worker
/// is unknown or its document was not written yet (see [`backfill`]).
///
/// Debug builds (the test suites) also build the view from the tables in
/// the same snapshot and panic when the stored one differs: every test that
/// reads a worker checks that no write left the view behind.
pub fn read(conn: &mut DbConn, id: &str) -> Result<Option<StoredDocument>, StoreError> {
    let stored = |c: &mut DbConn| -> Result<Option<StoredDocument>, StoreError> {
        Ok(worker_documents::table
            .find(id)
            .select(StoredDocument::as_select())
            .first(c)
            .optional()?)
    };
    if !cfg!(debug_assertions) {
        return stored(conn);
    }
    crate::conn::read_snapshot(conn, |c| {
        let doc = stored(c)?;
        if let Some(doc) = &doc {
            let built = build(c, &[id.to_string()])?.pop().map(|b| b.body);
            assert_eq!(
                built.as_deref(),
                Some(doc.body.as_str()),
                "the stored view of worker {id} differs from the tables"
            );
        }
        Ok(doc)
    })
}

/// Writes the documents of workers that have none (stored before documents
/// were kept), `CHUNK` workers per transaction; returns how many.
pub fn backfill(db: &crate::Db) -> Result<usize, StoreError> {
    let mut written = 0;
    loop {
        let missing: Vec<String> = db.read(|c| {
            Ok(workers_table::table
                .left_join(
                    worker_documents::table.on(worker_documents::worker_id.eq(workers_table::id)),
                )
                .filter(worker_documents::worker_id.is_null())
                .select(workers_table::id)
                .order(workers_table::id.asc())
                .limit(CHUNK as i64)
                .load(c)?)
        })?;
        if missing.is_empty() {
            return Ok(written);
        }
        let ids: BTreeSet<String> = missing.into_iter().collect();
        db.write(|c| refresh(c, &ids))?;
        written += ids.len();
    }
}
