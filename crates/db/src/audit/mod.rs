//! The audit log: append-only (the database refuses UPDATE and DELETE) and
//! hash-chained, so an edit made behind the API's back is detectable.

use std::io::Write;

use chrono::{NaiveDateTime, Timelike};
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use sinergi_tlog::Checkpoint;

use crate::conn::DbConn;
use crate::error::StoreError;
use crate::kept::Keep;
use crate::schema::{audit_events, audit_head};

pub mod tree;

/// The hash that precedes the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One access to be recorded (and, on PostgreSQL, a row of `audit_queue`).
#[derive(Debug, Clone, Default, PartialEq, Insertable, QueryableByName)]
#[diesel(table_name = crate::schema::audit_queue)]
pub struct AuditEntry {
    /// When it happened.
    pub occurred_at: NaiveDateTime,
    /// Client, if authenticated.
    pub client_id: Option<String>,
    /// Agency, if authenticated.
    pub agency_code: Option<String>,
    /// `read`, `list`, `write`, ...
    pub action: String,
    /// Resource type (`worker`, `residence_permit`, ...).
    pub resource_type: String,
    /// Key of the resource, for item access.
    pub resource_key: Option<String>,
    /// The person whose data was accessed, when known.
    pub subject_worker_id: Option<String>,
    /// Number of items returned, for lists.
    pub result_count: Option<i64>,
    /// Declared purpose.
    pub purpose: Option<String>,
    /// Declared case reference.
    pub case_ref: Option<String>,
    /// HTTP status of the answer.
    pub status: i32,
    /// Request id.
    pub request_id: String,
}

/// A stored audit event.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Event id.
    pub id: String,
    /// When it happened.
    pub occurred_at: NaiveDateTime,
    /// Client.
    pub client_id: Option<String>,
    /// Agency.
    pub agency_code: Option<String>,
    /// Action.
    pub action: String,
    /// Resource type.
    pub resource_type: String,
    /// Resource key.
    pub resource_key: Option<String>,
    /// Person concerned.
    pub subject_worker_id: Option<String>,
    /// Items returned.
    pub result_count: Option<i64>,
    /// Purpose.
    pub purpose: Option<String>,
    /// Case reference.
    pub case_ref: Option<String>,
    /// HTTP status.
    pub status: i32,
    /// Request id.
    pub request_id: String,
    /// Hash of the previous event.
    pub prev_hash: String,
    /// SHA-256 over this event's canonical form and `prev_hash`.
    pub hash: String,
}

fn field(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        Some(s) => present(out, s.as_bytes()),
        None => out.extend_from_slice(b"-|"),
    }
}

/// A present field: length-prefixed so no two different events share a
/// canonical form.
fn present(out: &mut Vec<u8>, bytes: &[u8]) {
    // Writing to a `Vec` cannot fail.
    let _ = write!(out, "{}:", bytes.len());
    out.extend_from_slice(bytes);
    out.push(b'|');
}

/// A field holding a number.
fn number_field(out: &mut Vec<u8>, n: i64) {
    let mut text = Vec::with_capacity(20);
    let _ = write!(text, "{n}");
    present(out, &text);
}

/// The SHA-256 of an event's canonical form (every field but `hash`): each
/// field length-prefixed and ended by `|`, in the order of the row, the time
/// as `%Y-%m-%dT%H:%M:%S%.6f`, numbers in decimal.
pub fn event_hash(r: &AuditRow) -> String {
    let mut buf = Vec::with_capacity(512);
    number_field(&mut buf, r.seq);
    field(&mut buf, Some(&r.id));
    let mut at = Vec::with_capacity(32);
    crate::stamp::push_micros(&mut at, r.occurred_at);
    present(&mut buf, &at);
    field(&mut buf, r.client_id.as_deref());
    field(&mut buf, r.agency_code.as_deref());
    field(&mut buf, Some(&r.action));
    field(&mut buf, Some(&r.resource_type));
    field(&mut buf, r.resource_key.as_deref());
    field(&mut buf, r.subject_worker_id.as_deref());
    match r.result_count {
        Some(c) => number_field(&mut buf, c),
        None => field(&mut buf, None),
    }
    field(&mut buf, r.purpose.as_deref());
    field(&mut buf, r.case_ref.as_deref());
    number_field(&mut buf, r.status.into());
    field(&mut buf, Some(&r.request_id));
    field(&mut buf, Some(&r.prev_hash));
    base16ct::lower::encode_string(&Sha256::digest(&buf))
}

/// Appends one event; call inside a write transaction.
pub fn append(conn: &mut DbConn, e: &AuditEntry) -> Result<(), StoreError> {
    append_many(conn, std::slice::from_ref(e))
}

/// Appends events in order; call inside a write transaction. On PostgreSQL
/// they are queued for the sequencer (no shared row is locked); on SQLite,
/// whose single writer holds the database lock anyway, they are chained at once.
pub fn append_many(conn: &mut DbConn, entries: &[AuditEntry]) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    match conn {
        DbConn::Postgresql(_) => crate::sequencer::enqueue_events(conn, entries),
        DbConn::Sqlite(_) => chain(conn, entries).map(|_| ()),
    }
}

/// Numbers events after the chain's head and links them, with one update of
/// the head row and multi-row inserts: the sequencer's step on PostgreSQL,
/// the writer's on SQLite. Updating the head row first locks it, so the
/// chain never forks.
pub(crate) fn chain(
    conn: &mut DbConn,
    entries: &[AuditEntry],
) -> Result<Vec<AuditRow>, StoreError> {
    if entries.is_empty() {
        return Ok(vec![]);
    }
    let n = entries.len() as i64;
    // One statement moves the head and reads it back.
    let bump = diesel::update(audit_head::table.find(1))
        .set(audit_head::seq.eq(audit_head::seq + n))
        .returning((audit_head::seq, audit_head::last_hash));
    let (last, mut prev_hash): (i64, String) = Keep(bump).one(conn)?;
    let mut rows = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        // Timestamps are kept to the microsecond so both databases store them exactly.
        let occurred_at = e
            .occurred_at
            .with_nanosecond((e.occurred_at.nanosecond() / 1000) * 1000)
            .unwrap_or(e.occurred_at);
        let mut row = AuditRow {
            seq: last - n + 1 + i as i64,
            // Time-ordered: the unique index on `id` is appended to, not
            // written at a random page for every event.
            id: uuid::Uuid::now_v7().to_string(),
            occurred_at,
            client_id: e.client_id.clone(),
            agency_code: e.agency_code.clone(),
            action: e.action.clone(),
            resource_type: e.resource_type.clone(),
            resource_key: e.resource_key.clone(),
            subject_worker_id: e.subject_worker_id.clone(),
            result_count: e.result_count,
            purpose: e.purpose.clone(),
            case_ref: e.case_ref.clone(),
            status: e.status,
            request_id: e.request_id.clone(),
            prev_hash: std::mem::take(&mut prev_hash),
            hash: String::new(),
        };
        row.hash = event_hash(&row);
        prev_hash = row.hash.clone();
        rows.push(row);
    }
    crate::insert_all!(conn, audit_events::table, &rows);
    Keep(
        diesel::update(audit_head::table.find(1))
            .set(audit_head::last_hash.eq(&prev_hash))
            .returning(audit_head::id),
    )
    .changed::<i32>(conn)?;
    Ok(rows)
}

/// Filters for reading the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Client id.
    pub client_id: Option<String>,
    /// Agency code.
    pub agency_code: Option<String>,
    /// Resource type.
    pub resource_type: Option<String>,
    /// Person concerned.
    pub subject_worker_id: Option<String>,
    /// HTTP status.
    pub status: Option<i32>,
    /// From this time on.
    pub from: Option<NaiveDateTime>,
    /// Up to this time.
    pub until: Option<NaiveDateTime>,
}

/// One page of events in chain order after `after_seq`.
pub fn list(
    conn: &mut DbConn,
    f: &AuditFilter,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut q = audit_events::table
        .select(AuditRow::as_select())
        .filter(audit_events::seq.gt(after_seq))
        .into_boxed();
    if let Some(v) = &f.client_id {
        q = q.filter(audit_events::client_id.eq(v.clone()));
    }
    if let Some(v) = &f.agency_code {
        q = q.filter(audit_events::agency_code.eq(v.clone()));
    }
    if let Some(v) = &f.resource_type {
        q = q.filter(audit_events::resource_type.eq(v.clone()));
    }
    if let Some(v) = &f.subject_worker_id {
        q = q.filter(audit_events::subject_worker_id.eq(v.clone()));
    }
    if let Some(v) = f.status {
        q = q.filter(audit_events::status.eq(v));
    }
    if let Some(v) = f.from {
        q = q.filter(audit_events::occurred_at.ge(v));
    }
    if let Some(v) = f.until {
        q = q.filter(audit_events::occurred_at.le(v));
    }
    crate::sequencer::settle(conn, crate::sequencer::Queues::All)?;
    Ok(q.order(audit_events::seq.asc()).limit(limit).load(conn)?)
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainReport {
    /// Every link holds.
    Intact {
        /// Events checked.
        events: i64,
    },
    /// The first event whose link or content does not hold.
    Broken {
        /// Its sequence number.
        seq: i64,
        /// What is wrong.
        reason: String,
    },
}

/// How the log stands against one checkpoint held outside the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointVerdict {
    /// The log's first `size` entries have the checkpoint's root.
    Extends,
    /// The log holds fewer entries than the checkpoint commits to.
    Truncated {
        /// Entries the log holds.
        held: i64,
    },
    /// The log's first `size` entries have another root: an entry was
    /// rewritten, removed or inserted.
    Rewritten,
}

/// The outcome of [`verify_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The walk of the hash chain.
    pub chain: ChainReport,
    /// Each checkpoint given, in size order, with its verdict.
    pub checkpoints: Vec<(Checkpoint, CheckpointVerdict)>,
    /// Where the stored Merkle tree (which proofs come from) disagrees with
    /// the entries, if it does.
    pub tree: Option<String>,
}

impl Verification {
    /// Whether everything holds.
    pub fn holds(&self) -> bool {
        matches!(self.chain, ChainReport::Intact { .. })
            && self.tree.is_none()
            && self
                .checkpoints
                .iter()
                .all(|(_, v)| *v == CheckpointVerdict::Extends)
    }
}

/// Walks the whole chain in pages and reports the first broken link.
pub fn verify(conn: &mut DbConn) -> Result<ChainReport, StoreError> {
    Ok(verify_with(conn, &[])?.chain)
}

/// Walks the whole chain, recomputing every entry's hash from its content,
/// and checks the Merkle root of the recomputed entries against each
/// checkpoint (whose signatures the caller has verified) and against the
/// stored tree. Truncation, a reset and a rewritten entry all fail a
/// checkpoint that covers them, even when the chain itself was re-linked.
pub fn verify_with(
    conn: &mut DbConn,
    checkpoints: &[Checkpoint],
) -> Result<Verification, StoreError> {
    let mut pending: Vec<Checkpoint> = checkpoints.to_vec();
    pending.sort_by_key(|c| std::cmp::Reverse(c.size));
    let tree_size = tree::size(conn)?;
    let mut tree_root = (tree_size == 0).then(sinergi_tlog::empty_root);
    let mut verdicts = Vec::new();
    let mut broken: Option<(i64, String)> = None;
    let mut edge = sinergi_tlog::Edge::new();
    let mut expected_prev = GENESIS_HASH.to_string();
    let mut expected_seq = 1;
    let mut after = 0;
    loop {
        let page = list(conn, &AuditFilter::default(), after, 1000)?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.seq;
        for row in page {
            let hash = event_hash(&row);
            let problem = if row.seq != expected_seq {
                Some((expected_seq, format!("event {expected_seq} is missing")))
            } else if row.prev_hash != expected_prev {
                Some((row.seq, "link to the previous event does not match".into()))
            } else if hash != row.hash {
                Some((row.seq, "content does not match its hash (edited)".into()))
            } else {
                None
            };
            if broken.is_none() {
                broken = problem;
            }
            edge.push(tree::leaf_of(&hash).expect("a computed hash is well formed"));
            if edge.size() == tree_size {
                tree_root = Some(edge.root());
            }
            while pending.last().is_some_and(|c| c.size <= edge.size()) {
                let c = pending.pop().expect("checked");
                let verdict = if c.size == 0 || edge.root() == c.root {
                    CheckpointVerdict::Extends
                } else {
                    CheckpointVerdict::Rewritten
                };
                verdicts.push((c, verdict));
            }
            expected_prev = row.hash;
            expected_seq = row.seq + 1;
        }
    }
    let held = edge.size() as i64;
    while let Some(c) = pending.pop() {
        let verdict = if c.size == 0 {
            CheckpointVerdict::Extends
        } else {
            CheckpointVerdict::Truncated { held }
        };
        verdicts.push((c, verdict));
    }
    let (head_seq, head_hash): (i64, String) = audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::last_hash))
        .first(conn)?;
    if broken.is_none() && (head_seq != held || head_hash != expected_prev) {
        broken = Some((held + 1, "the newest events were removed".into()));
    }
    let tree = match tree_root {
        None => Some(format!(
            "the stored tree holds {tree_size} entries, the log {held}"
        )),
        Some(root) => match tree::root_at(conn, tree_size) {
            Ok(stored) if stored == root => None,
            Ok(_) => Some(format!(
                "the stored tree's root over {tree_size} entries is not the entries' root"
            )),
            Err(e) => Some(e.to_string()),
        },
    };
    Ok(Verification {
        chain: match broken {
            Some((seq, reason)) => ChainReport::Broken { seq, reason },
            None => ChainReport::Intact { events: held },
        },
        checkpoints: verdicts,
        tree,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every stored chain was hashed by the canonical form as first written
    /// (`format!` for each number, chrono for the time); these hashes are
    /// what it gave, and the first one is also what the canonical form
    /// described on `event_hash` gives when hashed by hand.
    #[test]
    fn events_hash_as_the_stored_chains_were_hashed() {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").expect("time");
        let full = AuditRow {
            seq: 1,
            id: "0193a0c4-7f1e-7a2b-8c3d-4e5f60718293".into(),
            occurred_at: at("2026-12-07 17:50:03.123456"),
            client_id: Some("c-imi".into()),
            agency_code: Some("IMI-SMD".into()),
            action: "read".into(),
            resource_type: "worker".into(),
            resource_key: Some("W-1".into()),
            subject_worker_id: Some("W-1".into()),
            result_count: Some(20),
            purpose: Some("supervision".into()),
            case_ref: Some("KASUS/2026/12 – Tenggarong".into()),
            status: 200,
            request_id: "req-1".into(),
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        };
        let rows = [
            full.clone(),
            AuditRow {
                seq: 9_007_199_254_740_993,
                occurred_at: at("1999-01-01 00:00:00"),
                client_id: None,
                agency_code: None,
                resource_key: None,
                subject_worker_id: None,
                result_count: None,
                purpose: None,
                case_ref: None,
                status: 401,
                ..full.clone()
            },
            AuditRow {
                seq: 0,
                result_count: Some(-3),
                status: -1,
                occurred_at: at("2026-02-28 23:59:59.000001"),
                resource_key: Some(String::new()),
                ..full.clone()
            },
            AuditRow {
                occurred_at: chrono::NaiveDate::from_ymd_opt(10_000, 1, 1)
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .expect("time"),
                ..full.clone()
            },
        ];
        let hashes = [
            "8fdff6439284a62baba2e60c4b375c2ef4707325ed4ced33babb026392ce0afc",
            "995e8caa04e671b036ba80f0790cc3715515f822318b325cb9201db31cfc4b66",
            "fb156e4cb56a5795f57996ebdf2169d7d031145d043cf2d83f19f1338494c10b",
            "ee811eb76a149ee96be48e38fce2b5a447afd845d79b996f1f1052468145010e",
        ];
        for (row, hash) in rows.iter().zip(hashes) {
            assert_eq!(event_hash(row), hash, "{row:?}");
        }
    }
}
