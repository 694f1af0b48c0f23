//! The change feed. Positions are taken by updating the single head row,
//! which stays locked until the transaction commits, so a reader can never
//! see number N+1 before N is committed (no late-commit gaps, unlike plain
//! sequences). Only the sequencer does so on PostgreSQL (writers queue their
//! changes, `sequencer.rs`); on SQLite the one writer does.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::error::StoreError;
use crate::kept::Keep;
use crate::schema::{change_head, changes};

/// One committed change.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = changes)]
pub struct ChangeRow {
    /// Position in commit order, from 1.
    pub seq: i64,
    /// Record type.
    pub record_type: String,
    /// Record key.
    pub record_key: String,
    /// `upsert` or `delete`.
    pub op: String,
    /// Version after the change (the last version for a delete).
    pub version: i64,
    /// Agency that made the change.
    pub agency_code: String,
    /// Person concerned.
    pub worker_id: Option<String>,
    /// The record as it is after the change (JSON); none for a delete.
    pub payload: Option<String>,
    /// When the change took its place in the feed: never earlier than the
    /// change before it, so it grows with the position (the cursor stays the
    /// watermark to resume from).
    #[diesel(deserialize_as = crate::stamp::Stamp)]
    pub changed_at: NaiveDateTime,
    /// The writing agency's own id of the record, when it gave one.
    pub source_ref: Option<String>,
}

/// A change's own columns, borrowed from a [`NewChange`]: the row a writer
/// queues (`change_queue`, sequencer.rs) and, with its place, the row
/// [`place`] inserts into the feed.
#[derive(Insertable)]
#[diesel(table_name = changes)]
#[diesel(table_name = crate::schema::change_queue)]
pub(crate) struct ChangeText<'a> {
    record_type: &'a str,
    record_key: &'a str,
    op: &'a str,
    version: i64,
    agency_code: &'a str,
    worker_id: Option<&'a str>,
    payload: Option<&'a str>,
    source_ref: Option<&'a str>,
}

impl<'a> From<&'a NewChange> for ChangeText<'a> {
    fn from(c: &'a NewChange) -> ChangeText<'a> {
        ChangeText {
            record_type: &c.record_type,
            record_key: &c.record_key,
            op: c.op,
            version: c.version,
            agency_code: &c.agency_code,
            worker_id: c.worker_id.as_deref(),
            payload: c.payload.as_deref(),
            source_ref: c.source_ref.as_deref(),
        }
    }
}

/// A change as [`place`] inserts it: its text, its position and its time.
#[derive(Insertable)]
#[diesel(table_name = changes)]
struct PlacedChange<'a> {
    seq: i64,
    changed_at: NaiveDateTime,
    #[diesel(embed)]
    change: ChangeText<'a>,
}

/// A change to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewChange {
    /// Record type.
    pub record_type: String,
    /// Record key.
    pub record_key: String,
    /// `upsert` or `delete`.
    pub op: &'static str,
    /// Version.
    pub version: i64,
    /// Agency.
    pub agency_code: String,
    /// Person concerned.
    pub worker_id: Option<String>,
    /// Record JSON.
    pub payload: Option<String>,
    /// The writing agency's own id of the record, when it gave one.
    pub source_ref: Option<String>,
}

/// Appends changes in order; call as the last statement of a write
/// transaction. On PostgreSQL they are queued for the sequencer (no shared
/// row is locked); on SQLite they take their positions at once.
pub fn append_many(conn: &mut DbConn, items: &[NewChange]) -> Result<(), StoreError> {
    if items.is_empty() {
        return Ok(());
    }
    match conn {
        DbConn::Postgresql(_) => crate::sequencer::enqueue_changes(conn, items),
        DbConn::Sqlite(_) => place(conn, items).map(|_| ()),
    }
}

/// Gives changes the next positions with one update of the head row and
/// multi-row inserts: the sequencer's step on PostgreSQL, the writer's on
/// SQLite. Returns the last position taken.
pub(crate) fn place(conn: &mut DbConn, items: &[NewChange]) -> Result<i64, StoreError> {
    let n = items.len() as i64;
    // One statement moves the head and reads it back.
    let bump = diesel::update(change_head::table.find(1))
        .set(change_head::seq.eq(change_head::seq + n))
        .returning(change_head::seq);
    let last: i64 = Keep(bump).one(conn)?;
    // The head row is locked until this transaction commits, so changes take
    // their places one transaction at a time: stamping them now, never before
    // the change ahead of them, makes `changed_at` grow with the position.
    let ahead: Option<NaiveDateTime> = changes::table
        .filter(changes::seq.le(last - n))
        .order(changes::seq.desc())
        .select(changes::changed_at)
        .first(conn)
        .optional()?;
    let now = chrono::Utc::now().naive_utc();
    let at = ahead.map_or(now, |a| a.max(now));
    // The rows borrow the changes' text: a batch's changes carry their
    // documents, and a copy of all of them would double what it holds.
    let first = last - n + 1;
    let rows: Vec<PlacedChange<'_>> = items
        .iter()
        .zip(first..)
        .map(|(c, seq)| PlacedChange {
            seq,
            changed_at: at,
            change: c.into(),
        })
        .collect();
    crate::insert_all!(conn, changes::table, &rows);
    Ok(last)
}

/// The newest committed sequence number and the highest pruned one, after
/// everything committed so far took its position (`sequencer::settle`).
pub fn head(conn: &mut DbConn) -> Result<(i64, i64), StoreError> {
    crate::sequencer::settle(conn, crate::sequencer::Queues::Changes)?;
    head_as_sequenced(conn)
}

/// [`head`] as the sequencer has left it, without running a round: for
/// background work that reads the feed again soon.
pub fn head_as_sequenced(conn: &mut DbConn) -> Result<(i64, i64), StoreError> {
    Ok(change_head::table
        .find(1)
        .select((change_head::seq, change_head::pruned_through))
        .first(conn)?)
}

/// Changes after `after`, oldest first, optionally of some types only.
pub fn list_after(
    conn: &mut DbConn,
    after: i64,
    types: &[String],
    limit: i64,
) -> Result<Vec<ChangeRow>, StoreError> {
    crate::sequencer::settle(conn, crate::sequencer::Queues::Changes)?;
    list_after_as_sequenced(conn, after, types, limit)
}

/// [`list_after`] as the sequencer has left the feed, without running a round.
pub fn list_after_as_sequenced(
    conn: &mut DbConn,
    after: i64,
    types: &[String],
    limit: i64,
) -> Result<Vec<ChangeRow>, StoreError> {
    let mut q = changes::table
        .filter(changes::seq.gt(after))
        .select(ChangeRow::as_select())
        .into_boxed();
    if !types.is_empty() {
        q = q.filter(changes::record_type.eq_any(types.to_vec()));
    }
    Ok(q.order(changes::seq.asc()).limit(limit).load(conn)?)
}

/// Removes changes older than `before`; cursors before them then get 410.
/// Drain the journal's queues first (`sequencer::drain`), in a transaction
/// of its own, so that changes committed before are pruned by their time.
///
/// A change's time never falls behind the one before it in the feed, so the
/// old changes are the ones before the first that is not old: that one is
/// found by walking the key from the oldest change, which stops at once when
/// nothing is old (where a filter on the time alone read the whole feed,
/// 0.7 s for 538,000 changes on SQLite, while holding the writer).
pub fn prune(conn: &mut DbConn, before: NaiveDateTime) -> Result<usize, StoreError> {
    let first_kept: Option<i64> = changes::table
        .filter(changes::changed_at.ge(before))
        .order(changes::seq.asc())
        .select(changes::seq)
        .first(conn)
        .optional()?;
    let through = match first_kept {
        Some(seq) => Some(seq - 1),
        None => changes::table
            .select(diesel::dsl::max(changes::seq))
            .first(conn)?,
    };
    let Some(through) = through else {
        return Ok(0);
    };
    let n = diesel::delete(changes::table.filter(changes::seq.le(through))).execute(conn)?;
    if n > 0 {
        diesel::update(change_head::table.find(1))
            .set(change_head::pruned_through.eq(through))
            .execute(conn)?;
    }
    Ok(n)
}

/// Seconds since the newest change, if any.
pub fn newest_age_seconds(conn: &mut DbConn) -> Result<Option<i64>, StoreError> {
    let newest: Option<NaiveDateTime> = changes::table
        .order(changes::seq.desc())
        .select(changes::changed_at)
        .first(conn)
        .optional()?;
    Ok(newest.map(|t| (chrono::Utc::now().naive_utc() - t).num_seconds().max(0)))
}
