//! The journal's sequencer on PostgreSQL: no row every writer queues on.
//!
//! A write transaction appends its audit events and changes to
//! `audit_queue` and `change_queue` (identity ids, no position) and commits;
//! no shared row is locked. A round — under one advisory lock, so rounds
//! never overlap — moves the committed queue rows into `audit_events` and
//! `changes` in id order, numbering them after the heads, chaining the audit
//! events and stamping `changed_at`, and commits rows and heads together.
//!
//! Why the feed stays gap-free, duplicate-free and in commit order
//! (docs/audit-and-feed.md, section 3.1, has the whole argument):
//! positions are only created by rounds, contiguously after the head, and a
//! round's rows and head commit atomically, so any snapshot sees 1..h. A
//! queue row is deleted by the statement that numbers it, so it is numbered
//! once. The journal is a transaction's last step, after its reads and row
//! locks: if T2 saw T1's effects, T1 had committed before T2 drew its ids,
//! so T1's ids are lower and T1 is visible to any round that sees T2; a round
//! takes the lowest visible ids first, so T1's rows come first.
//!
//! Rounds run in the background on every instance (a few times a second),
//! and before a read of the feed or the audit log outside a transaction
//! (`settle`), so a client reads its own writes at once. SQLite has one
//! writer: it numbers events and changes in the write transaction itself,
//! and the queues stay empty.

use chrono::NaiveDateTime;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};

use crate::audit::{self, AuditEntry};
use crate::changes::{self, NewChange};
use crate::conn::DbConn;
use crate::error::StoreError;
use crate::schema::{audit_queue, change_queue};

/// Advisory lock key of a round ("SINE", 1).
const LOCK: (i32, i32) = (1_397_313_093, 1);

/// Queue rows moved per statement.
const ROUND_ROWS: i64 = 5000;

#[derive(Insertable)]
#[diesel(table_name = change_queue)]
struct QueuedChange<'a> {
    record_type: &'a str,
    record_key: &'a str,
    op: &'a str,
    version: i64,
    agency_code: &'a str,
    worker_id: Option<&'a str>,
    payload: Option<&'a str>,
    written_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = audit_queue)]
struct QueuedEvent<'a> {
    occurred_at: NaiveDateTime,
    client_id: Option<&'a str>,
    agency_code: Option<&'a str>,
    action: &'a str,
    resource_type: &'a str,
    resource_key: Option<&'a str>,
    subject_worker_id: Option<&'a str>,
    result_count: Option<i64>,
    purpose: Option<&'a str>,
    case_ref: Option<&'a str>,
    status: i32,
    request_id: &'a str,
}

/// Queues changes (PostgreSQL); one multi-row insert, ids in order.
pub(crate) fn enqueue_changes(conn: &mut DbConn, items: &[NewChange]) -> Result<(), StoreError> {
    let rows: Vec<QueuedChange<'_>> = items
        .iter()
        .map(|c| QueuedChange {
            record_type: &c.record_type,
            record_key: &c.record_key,
            op: c.op,
            version: c.version,
            agency_code: &c.agency_code,
            worker_id: c.worker_id.as_deref(),
            payload: c.payload.as_deref(),
            written_at: c.changed_at,
        })
        .collect();
    crate::insert_all!(conn, change_queue::table, &rows);
    Ok(())
}

/// Queues audit events (PostgreSQL); one multi-row insert, ids in order.
pub(crate) fn enqueue_events(conn: &mut DbConn, entries: &[AuditEntry]) -> Result<(), StoreError> {
    let rows: Vec<QueuedEvent<'_>> = entries
        .iter()
        .map(|e| QueuedEvent {
            occurred_at: e.occurred_at,
            client_id: e.client_id.as_deref(),
            agency_code: e.agency_code.as_deref(),
            action: &e.action,
            resource_type: &e.resource_type,
            resource_key: e.resource_key.as_deref(),
            subject_worker_id: e.subject_worker_id.as_deref(),
            result_count: e.result_count,
            purpose: e.purpose.as_deref(),
            case_ref: e.case_ref.as_deref(),
            status: e.status,
            request_id: &e.request_id,
        })
        .collect();
    crate::insert_all!(conn, audit_queue::table, &rows);
    Ok(())
}

#[derive(QueryableByName)]
struct MovedChange {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    record_type: String,
    #[diesel(sql_type = Text)]
    record_key: String,
    #[diesel(sql_type = Text)]
    op: String,
    #[diesel(sql_type = BigInt)]
    version: i64,
    #[diesel(sql_type = Text)]
    agency_code: String,
    #[diesel(sql_type = Nullable<Text>)]
    worker_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    payload: Option<String>,
    #[diesel(sql_type = Timestamp)]
    written_at: NaiveDateTime,
}

#[derive(QueryableByName)]
struct MovedEvent {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Timestamp)]
    occurred_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<Text>)]
    client_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    agency_code: Option<String>,
    #[diesel(sql_type = Text)]
    action: String,
    #[diesel(sql_type = Text)]
    resource_type: String,
    #[diesel(sql_type = Nullable<Text>)]
    resource_key: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    subject_worker_id: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    result_count: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    purpose: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    case_ref: Option<String>,
    #[diesel(sql_type = Integer)]
    status: i32,
    #[diesel(sql_type = Text)]
    request_id: String,
}

fn known_op(op: &str) -> Result<&'static str, StoreError> {
    match op {
        "upsert" => Ok("upsert"),
        "delete" => Ok("delete"),
        other => Err(StoreError::Corrupt(format!(
            "a queued change has the unknown operation {other:?}"
        ))),
    }
}

/// Whether a queue holds anything (two index probes).
fn pending(pg: &mut PgConnection) -> Result<bool, StoreError> {
    #[derive(QueryableByName)]
    struct Any {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        any: bool,
    }
    let r: Any = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM change_queue) OR EXISTS (SELECT 1 FROM audit_queue) AS any",
    )
    .get_result(pg)?;
    Ok(r.any)
}

/// Sequences what is queued, in its own transaction; a no-op on SQLite and
/// when the queues are empty. Returns the rows moved.
pub fn drain(conn: &mut DbConn) -> Result<usize, StoreError> {
    let DbConn::Postgresql(pg) = conn else {
        return Ok(0);
    };
    if !pending(pg)? {
        return Ok(0);
    }
    conn.transaction(drain_in)
}

/// As [`drain`], but does nothing when another connection is running a
/// round: for background work that need not wait.
pub fn drain_if_free(conn: &mut DbConn) -> Result<usize, StoreError> {
    let DbConn::Postgresql(pg) = conn else {
        return Ok(0);
    };
    if !pending(pg)? {
        return Ok(0);
    }
    conn.transaction(drain_in_if_free)
}

/// Sequences what is queued inside the caller's transaction (waiting for a
/// round another connection runs). A no-op on SQLite.
pub fn drain_in(conn: &mut DbConn) -> Result<usize, StoreError> {
    let DbConn::Postgresql(pg) = conn else {
        return Ok(0);
    };
    diesel::sql_query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind::<Integer, _>(LOCK.0)
        .bind::<Integer, _>(LOCK.1)
        .execute(pg)?;
    rounds(conn)
}

/// As [`drain_in`], but does nothing when another connection is running a
/// round (it moves what is queued): for background work that need not wait.
pub fn drain_in_if_free(conn: &mut DbConn) -> Result<usize, StoreError> {
    let DbConn::Postgresql(pg) = conn else {
        return Ok(0);
    };
    #[derive(QueryableByName)]
    struct Got {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        got: bool,
    }
    let got: Got = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1, $2) AS got")
        .bind::<Integer, _>(LOCK.0)
        .bind::<Integer, _>(LOCK.1)
        .get_result(pg)?;
    if !got.got {
        return Ok(0);
    }
    rounds(conn)
}

/// Moves queue rows while a queue was full; the caller holds the lock.
fn rounds(conn: &mut DbConn) -> Result<usize, StoreError> {
    let mut moved = 0;
    loop {
        let DbConn::Postgresql(pg) = &mut *conn else {
            unreachable!("checked above");
        };
        let mut changes: Vec<MovedChange> = diesel::sql_query(
            "DELETE FROM change_queue WHERE id IN \
             (SELECT id FROM change_queue ORDER BY id LIMIT $1) \
             RETURNING id, record_type, record_key, op, version, agency_code, worker_id, payload, written_at",
        )
        .bind::<BigInt, _>(ROUND_ROWS)
        .load(pg)?;
        let mut events: Vec<MovedEvent> = diesel::sql_query(
            "DELETE FROM audit_queue WHERE id IN \
             (SELECT id FROM audit_queue ORDER BY id LIMIT $1) \
             RETURNING id, occurred_at, client_id, agency_code, action, resource_type, resource_key, \
             subject_worker_id, result_count, purpose, case_ref, status, request_id",
        )
        .bind::<BigInt, _>(ROUND_ROWS)
        .load(pg)?;
        let full = changes.len() as i64 == ROUND_ROWS || events.len() as i64 == ROUND_ROWS;
        moved += changes.len() + events.len();
        changes.sort_by_key(|c| c.id);
        events.sort_by_key(|e| e.id);
        if !events.is_empty() {
            let entries: Vec<AuditEntry> = events
                .into_iter()
                .map(|e| AuditEntry {
                    occurred_at: e.occurred_at,
                    client_id: e.client_id,
                    agency_code: e.agency_code,
                    action: e.action,
                    resource_type: e.resource_type,
                    resource_key: e.resource_key,
                    subject_worker_id: e.subject_worker_id,
                    result_count: e.result_count,
                    purpose: e.purpose,
                    case_ref: e.case_ref,
                    status: e.status,
                    request_id: e.request_id,
                })
                .collect();
            audit::chain(conn, &entries)?;
        }
        if !changes.is_empty() {
            let items = changes
                .into_iter()
                .map(|c| {
                    Ok(NewChange {
                        op: known_op(&c.op)?,
                        record_type: c.record_type,
                        record_key: c.record_key,
                        version: c.version,
                        agency_code: c.agency_code,
                        worker_id: c.worker_id,
                        payload: c.payload,
                        changed_at: c.written_at,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            changes::place(conn, &items)?;
        }
        if !full {
            return Ok(moved);
        }
    }
}

/// Before a read of the feed or the audit log: outside a transaction, makes
/// everything committed so far visible in it (a client reads its own
/// writes). Inside one it does nothing: the transaction's snapshot decides.
pub fn settle(conn: &mut DbConn) -> Result<(), StoreError> {
    let DbConn::Postgresql(pg) = conn else {
        return Ok(());
    };
    let depth = AnsiTransactionManager::transaction_manager_status_mut(pg).transaction_depth()?;
    if depth.is_none() {
        drain(conn)?;
    }
    Ok(())
}

/// Runs `f` in a read-only view of one moment whose feed head covers every
/// change that view shows, so an export and its change cursor agree exactly
/// (no change both in the export and after its cursor, none in neither).
///
/// On PostgreSQL the view is a REPEATABLE READ transaction whose first
/// statement takes the sequencer's lock for the session; the committed queue
/// rows it sees are numbered in it (later ones are invisible to it and get
/// later positions), then the lock is released and `f` reads. A round
/// committing at that same instant makes it start over; if the sequencer
/// stays busy for a second, the view falls back to one taken after a drain,
/// whose head may trail by the changes committed in between (their
/// `version` tells a consumer it holds them already).
pub fn feed_snapshot<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if !matches!(conn, DbConn::Postgresql(_)) {
        return crate::conn::read_snapshot(conn, f);
    }
    let mut f = Some(f);
    for _ in 0..100 {
        let mut held = false;
        let result = conn.transaction(|c| {
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(c)?;
            #[derive(QueryableByName)]
            struct Got {
                #[diesel(sql_type = diesel::sql_types::Bool)]
                got: bool,
            }
            let got: Got = diesel::sql_query("SELECT pg_try_advisory_lock($1, $2) AS got")
                .bind::<Integer, _>(LOCK.0)
                .bind::<Integer, _>(LOCK.1)
                .get_result(c)?;
            if !got.got {
                return Err(StoreError::Retry);
            }
            held = true;
            rounds(c)?;
            unlock(c)?;
            held = false;
            let run = f.take().expect("runs once");
            run(c)
        });
        if held {
            // The transaction failed while the session held the lock: release
            // it, or every later round would wait for this connection.
            if unlock(conn).is_err() {
                crate::conn::discard_connection();
                return Err(StoreError::Unavailable(
                    "could not release the sequencer lock; the connection is dropped".into(),
                ));
            }
        }
        match result {
            Err(e) if e.is_retryable() && f.is_some() => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
    drain(conn)?;
    let run = f.take().expect("not run yet");
    crate::conn::read_snapshot(conn, run)
}

fn unlock(conn: &mut DbConn) -> Result<(), StoreError> {
    diesel::sql_query("SELECT pg_advisory_unlock($1, $2)")
        .bind::<Integer, _>(LOCK.0)
        .bind::<Integer, _>(LOCK.1)
        .execute(conn)?;
    Ok(())
}
