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

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::sql_types::Integer;

use crate::audit::{self, AuditEntry};
use crate::changes::{self, ChangeText, NewChange};
use crate::conn::DbConn;
use crate::error::StoreError;
use crate::kept::{Kept, Param};
use crate::schema::{audit_queue, change_queue};

/// Advisory lock key of a round ("SINE", 1).
const LOCK: (i32, i32) = (1_397_313_093, 1);

/// Queue rows moved per statement: a round holds their payloads twice (as
/// read, and as bound by the insert that places them), so a bulk load is
/// moved in steps of about a megabyte of changes rather than all at once.
const ROUND_ROWS: i64 = 1000;

/// Queues changes (PostgreSQL), ids in order (`queue`).
pub(crate) fn enqueue_changes(conn: &mut DbConn, items: &[NewChange]) -> Result<(), StoreError> {
    let DbConn::Postgresql(pg) = conn else {
        let rows: Vec<ChangeText<'_>> = items.iter().map(ChangeText::from).collect();
        crate::insert_all!(conn, change_queue::table, &rows);
        return Ok(());
    };
    queue(
        pg,
        items,
        "INSERT INTO change_queue (record_type, record_key, op, version, agency_code, \
         worker_id, payload, source_ref) \
         SELECT record_type, record_key, op, version, agency_code, worker_id, payload, source_ref \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], \
         $7::text[], $8::text[]) WITH ORDINALITY AS u(record_type, record_key, op, version, \
         agency_code, worker_id, payload, source_ref, n) ORDER BY n",
        |part| {
            vec![
                Param::texts(part, |c| &c.record_type),
                Param::texts(part, |c| &c.record_key),
                Param::texts(part, |c| c.op),
                Param::BigInts(part.iter().map(|c| c.version).collect()),
                Param::texts(part, |c| &c.agency_code),
                Param::opt_texts(part, |c| c.worker_id.as_deref()),
                Param::opt_texts(part, |c| c.payload.as_deref()),
                Param::opt_texts(part, |c| c.source_ref.as_deref()),
            ]
        },
    )
}

/// Queues audit events (PostgreSQL), ids in order (`queue`).
pub(crate) fn enqueue_events(conn: &mut DbConn, entries: &[AuditEntry]) -> Result<(), StoreError> {
    let DbConn::Postgresql(pg) = conn else {
        crate::insert_all!(conn, audit_queue::table, entries);
        return Ok(());
    };
    queue(
        pg,
        entries,
        "INSERT INTO audit_queue (occurred_at, client_id, agency_code, action, resource_type, \
         resource_key, subject_worker_id, result_count, purpose, case_ref, status, request_id) \
         SELECT occurred_at, client_id, agency_code, action, resource_type, resource_key, \
         subject_worker_id, result_count, purpose, case_ref, status, request_id \
         FROM unnest($1::timestamp[], $2::text[], $3::text[], $4::text[], $5::text[], \
         $6::text[], $7::text[], $8::bigint[], $9::text[], $10::text[], $11::integer[], \
         $12::text[]) WITH ORDINALITY AS u(occurred_at, client_id, agency_code, action, \
         resource_type, resource_key, subject_worker_id, result_count, purpose, case_ref, \
         status, request_id, n) ORDER BY n",
        |part| {
            vec![
                Param::Stamps(part.iter().map(|e| e.occurred_at).collect()),
                Param::opt_texts(part, |e| e.client_id.as_deref()),
                Param::opt_texts(part, |e| e.agency_code.as_deref()),
                Param::texts(part, |e| &e.action),
                Param::texts(part, |e| &e.resource_type),
                Param::opt_texts(part, |e| e.resource_key.as_deref()),
                Param::opt_texts(part, |e| e.subject_worker_id.as_deref()),
                Param::OptBigInts(part.iter().map(|e| e.result_count).collect()),
                Param::opt_texts(part, |e| e.purpose.as_deref()),
                Param::opt_texts(part, |e| e.case_ref.as_deref()),
                Param::Integers(part.iter().map(|e| e.status).collect()),
                Param::texts(part, |e| &e.request_id),
            ]
        },
    )
}

/// Inserts `items` into a queue in order, 250 at a time, by `sql`: one
/// `INSERT ... SELECT` from the `unnest` of one array per column (`columns`
/// gives them for a part), numbered by their place so the queue's ids follow
/// it. Its text is the same for any number of rows and any values left
/// out, so the connection keeps it prepared, where a multi-row insert has a
/// text for each and is parsed on every call.
fn queue<'a, T>(
    pg: &mut PgConnection,
    items: &'a [T],
    sql: &str,
    columns: impl Fn(&'a [T]) -> Vec<Param<'a>>,
) -> Result<(), StoreError> {
    for part in items.chunks(crate::INSERT_ROWS) {
        Kept::new(sql, columns(part)).execute(pg)?;
    }
    Ok(())
}

/// A change taken from the queue.
#[derive(QueryableByName)]
#[diesel(table_name = change_queue)]
struct MovedChange {
    record_type: String,
    record_key: String,
    op: String,
    version: i64,
    agency_code: String,
    worker_id: Option<String>,
    payload: Option<String>,
    source_ref: Option<String>,
}

impl MovedChange {
    fn into_change(self) -> Result<NewChange, StoreError> {
        let op = match self.op.as_str() {
            "upsert" => "upsert",
            "delete" => "delete",
            "merged" => "merged",
            "unmerged" => "unmerged",
            other => {
                return Err(StoreError::Corrupt(format!(
                    "a queued change has the unknown operation {other:?}"
                )))
            }
        };
        Ok(NewChange {
            op,
            record_type: self.record_type,
            record_key: self.record_key,
            version: self.version,
            agency_code: self.agency_code,
            worker_id: self.worker_id,
            payload: self.payload,
            source_ref: self.source_ref,
        })
    }
}

/// How an advisory lock is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Advisory {
    /// Wait for it; held to the end of the transaction.
    Wait,
    /// Wait for it in shared mode (others may share it, an exclusive holder
    /// excludes them); held to the end of the transaction.
    Shared,
    /// Take it if it is free; held to the end of the transaction.
    Try,
    /// Take it if it is free; held by the session until released.
    TrySession,
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    flag: bool,
}

/// Takes the advisory lock `key`; whether it is held now.
pub(crate) fn advisory(
    pg: &mut PgConnection,
    key: (i32, i32),
    how: Advisory,
) -> Result<bool, StoreError> {
    let sql = match how {
        Advisory::Wait => "SELECT true AS flag FROM pg_advisory_xact_lock($1, $2) AS l",
        Advisory::Shared => "SELECT true AS flag FROM pg_advisory_xact_lock_shared($1, $2) AS l",
        Advisory::Try => "SELECT pg_try_advisory_xact_lock($1, $2) AS flag",
        Advisory::TrySession => "SELECT pg_try_advisory_lock($1, $2) AS flag",
    };
    let got: Flag =
        Kept::new(sql, vec![Param::Integer(key.0), Param::Integer(key.1)]).get_result(pg)?;
    Ok(got.flag)
}

/// Which of the journal's queues a read needs moved before it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queues {
    /// The change queue: reads of the change feed.
    Changes,
    /// Both queues: reads of the audit log, and background rounds.
    All,
}

/// Whether a queue holds anything: an index probe per queue, prepared once
/// per connection. (An `EXISTS` over a queue reads its heap, which between
/// vacuums holds every row ever removed from it; `min(id)` reads the index,
/// skipping entries known dead.)
fn pending(pg: &mut PgConnection, queues: Queues) -> Result<bool, StoreError> {
    let changes: Option<i64> = change_queue::table
        .select(diesel::dsl::min(change_queue::id))
        .get_result(pg)?;
    if changes.is_some() || queues == Queues::Changes {
        return Ok(changes.is_some());
    }
    let events: Option<i64> = audit_queue::table
        .select(diesel::dsl::min(audit_queue::id))
        .get_result(pg)?;
    Ok(events.is_some())
}

/// Removed rows a queue may hold before [`tidy_queues`] vacuums it: the
/// queues' own autovacuum threshold (set in the migrations).
const QUEUE_DEAD_ROWS: i64 = 5000;

/// Vacuums each queue holding more than [`QUEUE_DEAD_ROWS`] removed rows
/// (PostgreSQL; outside a transaction). Every round deletes what it moves,
/// and until a vacuum the queues' indexes keep those entries, which every
/// probe of [`pending`] then steps over: a bulk load leaves tens of
/// thousands. Autovacuum does this where it runs and keeps up; a server with
/// autovacuum off or behind would otherwise make every read of the feed
/// slower. Returns the queues vacuumed.
pub fn tidy_queues(conn: &mut DbConn) -> Result<usize, StoreError> {
    #[derive(QueryableByName)]
    struct Queue {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let DbConn::Postgresql(pg) = conn else {
        return Ok(0);
    };
    if in_transaction(pg)? {
        return Ok(0);
    }
    // Only a queue this role may vacuum (it owns it, as when it ran the
    // migrations); otherwise autovacuum is the owner's business.
    let due: Vec<Queue> = Kept::new(
        "SELECT c.relname::text AS name FROM pg_class c \
          WHERE c.oid IN ('change_queue'::regclass, 'audit_queue'::regclass) \
            AND pg_stat_get_dead_tuples(c.oid) > $1 \
            AND pg_has_role(c.relowner, 'USAGE') \
          ORDER BY c.relname",
        vec![Param::BigInt(QUEUE_DEAD_ROWS)],
    )
    .load(pg)?;
    for q in &due {
        // Names from the fixed list above. SKIP_LOCKED: another instance at it is enough.
        pg.batch_execute(&format!("VACUUM (SKIP_LOCKED) {}", q.name))?;
    }
    Ok(due.len())
}

/// Sequences what is queued, in its own transaction; a no-op on SQLite and
/// when the queues are empty. Returns the rows moved.
pub fn drain(conn: &mut DbConn) -> Result<usize, StoreError> {
    drain_with(conn, Advisory::Wait, Queues::All)
}

/// As [`drain`], but does nothing when another connection is running a
/// round: for background work that need not wait.
pub fn drain_if_free(conn: &mut DbConn) -> Result<usize, StoreError> {
    drain_with(conn, Advisory::Try, Queues::All)
}

fn drain_with(conn: &mut DbConn, how: Advisory, queues: Queues) -> Result<usize, StoreError> {
    let DbConn::Postgresql(pg) = conn else {
        return Ok(0);
    };
    if !pending(pg, queues)? {
        return Ok(0);
    }
    conn.transaction(|c| drain_in_with(c, how))
}

/// Sequences what is queued inside the caller's transaction (waiting for a
/// round another connection runs). A no-op on SQLite.
pub fn drain_in(conn: &mut DbConn) -> Result<usize, StoreError> {
    drain_in_with(conn, Advisory::Wait)
}

fn drain_in_with(conn: &mut DbConn, how: Advisory) -> Result<usize, StoreError> {
    let DbConn::Postgresql(pg) = conn else {
        return Ok(0);
    };
    if !advisory(pg, LOCK, how)? {
        return Ok(0);
    }
    rounds(conn)
}

/// The statement that removes the `$1` lowest ids of `queue` and hands them
/// back in id order. The batch is "ids up to the n-th lowest": one range of
/// the primary key, whatever the planner believes about the queue's size.
/// (As `id IN (SELECT ... LIMIT n)` it was a join, and with statistics taken
/// while the queue was empty — a vacuum leaves them so — PostgreSQL planned
/// it as a nested loop over the whole queue: 10 s for 1,000 of 30,000 rows.)
fn take_lowest(queue: &str) -> String {
    format!(
        "WITH moved AS (DELETE FROM {queue} WHERE id <= \
         (SELECT max(id) FROM (SELECT id FROM {queue} ORDER BY id LIMIT $1) AS first) \
         RETURNING *) SELECT * FROM moved ORDER BY id"
    )
}

/// Moves queue rows while a queue was full; the caller holds the lock.
fn rounds(conn: &mut DbConn) -> Result<usize, StoreError> {
    let mut moved = 0;
    let mut placed = 0;
    loop {
        let DbConn::Postgresql(pg) = &mut *conn else {
            unreachable!("checked above");
        };
        let changes: Vec<MovedChange> =
            Kept::new(take_lowest("change_queue"), vec![Param::BigInt(ROUND_ROWS)]).load(pg)?;
        let events: Vec<AuditEntry> =
            Kept::new(take_lowest("audit_queue"), vec![Param::BigInt(ROUND_ROWS)]).load(pg)?;
        let full = changes.len() as i64 == ROUND_ROWS || events.len() as i64 == ROUND_ROWS;
        moved += changes.len() + events.len();
        placed += changes.len();
        if !events.is_empty() {
            audit::chain(conn, &events)?;
        }
        if !changes.is_empty() {
            let items = changes
                .into_iter()
                .map(MovedChange::into_change)
                .collect::<Result<Vec<_>, StoreError>>()?;
            changes::place(conn, &items)?;
        }
        if !full {
            // Changes carry their documents; audit events are a few hundred
            // bytes each, and rounds of them come many times a second under
            // audited reads: a connection is not reopened for those.
            if placed >= crate::conn::LARGE_STATEMENT_ROWS {
                conn.close_when_returned();
            }
            return Ok(moved);
        }
    }
}

/// Before a read of the feed or the audit log: outside a transaction, makes
/// what `queues` hold committed so far visible in it (a client reads its own
/// writes). Inside one it does nothing: the transaction's snapshot decides.
/// A read of the feed needs only the change queue moved; audit events
/// queued meanwhile (the feed's own reads are audited) are left to the
/// background rounds and to reads of the audit log.
pub fn settle(conn: &mut DbConn, queues: Queues) -> Result<(), StoreError> {
    let DbConn::Postgresql(pg) = conn else {
        return Ok(());
    };
    if !in_transaction(pg)? {
        drain_with(conn, Advisory::Wait, queues)?;
    }
    Ok(())
}

/// Whether `pg` is inside a transaction (which decides what it sees, and in
/// which no `VACUUM` may run).
fn in_transaction(pg: &mut PgConnection) -> Result<bool, StoreError> {
    Ok(AnsiTransactionManager::transaction_manager_status_mut(pg)
        .transaction_depth()?
        .is_some())
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
            let DbConn::Postgresql(pg) = c else {
                unreachable!("checked above");
            };
            if !advisory(pg, LOCK, Advisory::TrySession)? {
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
