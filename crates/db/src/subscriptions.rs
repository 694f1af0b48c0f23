//! Webhook subscriptions and their dead letters. The change feed is the
//! outbox: a subscription keeps its own position in it (`cursor_seq`). Work
//! on a subscription is claimed with a lease (a conditional UPDATE that
//! succeeds for one instance only), which works the same on PostgreSQL and
//! SQLite, so several instances share the deliveries without sending one twice.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::error::StoreError;

diesel::table! {
    subscriptions (id) {
        id -> Text,
        agency_code -> Text,
        client_id -> Text,
        target_url -> Text,
        event_types -> Text,
        description -> Nullable<Text>,
        purpose -> Nullable<Text>,
        secret -> Text,
        cursor_seq -> BigInt,
        attempts -> Integer,
        failing_since -> Nullable<Timestamp>,
        next_attempt_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        last_status -> Nullable<Integer>,
        last_delivered_at -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    dead_letters (id) {
        id -> Text,
        subscription_id -> Text,
        seq -> BigInt,
        event_id -> Text,
        record_type -> Text,
        record_key -> Text,
        op -> Text,
        version -> BigInt,
        worker_id -> Nullable<Text>,
        body -> Text,
        changed_at -> Timestamp,
        attempts -> Integer,
        first_failed_at -> Timestamp,
        last_error -> Text,
        last_status -> Nullable<Integer>,
        dead_at -> Timestamp,
        state -> Text,
        redelivered_at -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
    }
}

diesel::joinable!(dead_letters -> subscriptions (subscription_id));
diesel::allow_tables_to_appear_in_same_query!(subscriptions, dead_letters);

/// A stored subscription.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = subscriptions)]
pub struct SubscriptionRow {
    /// Subscription id.
    pub id: String,
    /// Agency that owns it.
    pub agency_code: String,
    /// Client that created it; deliveries are minimised for this client.
    pub client_id: String,
    /// Where events are posted.
    pub target_url: String,
    /// Space-separated record types; empty for all.
    pub event_types: String,
    /// Free description.
    pub description: Option<String>,
    /// Purpose declared when it was created (for personal data).
    pub purpose: Option<String>,
    /// HMAC key of the signatures.
    pub secret: String,
    /// Last change-feed position handled (delivered, dead-lettered or skipped).
    pub cursor_seq: i64,
    /// Failed attempts at the current event.
    pub attempts: i32,
    /// Start of the current run of failures.
    pub failing_since: Option<NaiveDateTime>,
    /// No attempt before this time.
    pub next_attempt_at: Option<NaiveDateTime>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// HTTP status of the last failed attempt, if one came back.
    pub last_status: Option<i32>,
    /// Last successful delivery.
    pub last_delivered_at: Option<NaiveDateTime>,
    /// Instance working on it.
    pub lease_owner: Option<String>,
    /// Until when that instance holds it.
    pub lease_until: Option<NaiveDateTime>,
    /// When it was created.
    pub created_at: NaiveDateTime,
}

impl SubscriptionRow {
    /// The record types it follows (empty: all).
    pub fn types(&self) -> Vec<String> {
        self.event_types
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }
}

/// A stored dead letter.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = dead_letters)]
pub struct DeadLetterRow {
    /// Dead letter id.
    pub id: String,
    /// Its subscription.
    pub subscription_id: String,
    /// Change-feed position of the event.
    pub seq: i64,
    /// The event id receivers see.
    pub event_id: String,
    /// Record type.
    pub record_type: String,
    /// Record key.
    pub record_key: String,
    /// `upsert` or `delete`.
    pub op: String,
    /// Record version.
    pub version: i64,
    /// Person concerned (for the audit log of a redelivery).
    pub worker_id: Option<String>,
    /// The event body (JSON) as it was sent.
    pub body: String,
    /// When the change was committed.
    pub changed_at: NaiveDateTime,
    /// Attempts made.
    pub attempts: i32,
    /// First failure.
    pub first_failed_at: NaiveDateTime,
    /// Why the last attempt failed.
    pub last_error: String,
    /// HTTP status of the last attempt, if one came back.
    pub last_status: Option<i32>,
    /// When it was given up.
    pub dead_at: NaiveDateTime,
    /// `dead`, `redelivering` or `redelivered`.
    pub state: String,
    /// When a redelivery succeeded.
    pub redelivered_at: Option<NaiveDateTime>,
    /// Instance redelivering it.
    pub lease_owner: Option<String>,
    /// Until when.
    pub lease_until: Option<NaiveDateTime>,
}

/// Stores a new subscription.
pub fn create(conn: &mut DbConn, row: &SubscriptionRow) -> Result<(), StoreError> {
    diesel::insert_into(subscriptions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// One subscription.
pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<SubscriptionRow>, StoreError> {
    Ok(subscriptions::table
        .find(id)
        .select(SubscriptionRow::as_select())
        .first(conn)
        .optional()?)
}

/// An agency's subscriptions, oldest first.
pub fn list_for_agency(
    conn: &mut DbConn,
    agency: &str,
    limit: i64,
) -> Result<Vec<SubscriptionRow>, StoreError> {
    Ok(subscriptions::table
        .filter(subscriptions::agency_code.eq(agency))
        .select(SubscriptionRow::as_select())
        .order((subscriptions::created_at.asc(), subscriptions::id.asc()))
        .limit(limit)
        .load(conn)?)
}

/// Deletes an agency's subscription and its dead letters; false when it has none of that id.
pub fn delete(conn: &mut DbConn, id: &str, agency: &str) -> Result<bool, StoreError> {
    diesel::delete(dead_letters::table.filter(dead_letters::subscription_id.eq(id)))
        .execute(conn)?;
    let n = diesel::delete(
        subscriptions::table
            .filter(subscriptions::id.eq(id))
            .filter(subscriptions::agency_code.eq(agency)),
    )
    .execute(conn)?;
    Ok(n == 1)
}

/// Subscriptions with work now (behind `head`, not backing off, not leased), furthest behind first.
pub fn due(
    conn: &mut DbConn,
    head: i64,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(subscriptions::table
        .filter(subscriptions::cursor_seq.lt(head))
        .filter(
            subscriptions::next_attempt_at
                .is_null()
                .or(subscriptions::next_attempt_at.le(now)),
        )
        .filter(
            subscriptions::lease_until
                .is_null()
                .or(subscriptions::lease_until.lt(now)),
        )
        .select(subscriptions::id)
        .order(subscriptions::cursor_seq.asc())
        .limit(limit)
        .load(conn)?)
}

/// Takes the lease of a free subscription; true when this instance now holds it.
pub fn acquire(
    conn: &mut DbConn,
    id: &str,
    owner: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        subscriptions::table
            .filter(subscriptions::id.eq(id))
            .filter(
                subscriptions::lease_until
                    .is_null()
                    .or(subscriptions::lease_until.lt(now)),
            ),
    )
    .set((
        subscriptions::lease_owner.eq(owner),
        subscriptions::lease_until.eq(until),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Extends a lease this instance holds; false when it lost it (or the subscription is gone).
pub fn renew(
    conn: &mut DbConn,
    id: &str,
    owner: &str,
    until: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        subscriptions::table
            .filter(subscriptions::id.eq(id))
            .filter(subscriptions::lease_owner.eq(owner)),
    )
    .set(subscriptions::lease_until.eq(until))
    .execute(conn)?;
    Ok(n == 1)
}

/// Gives a lease back.
pub fn release(conn: &mut DbConn, id: &str, owner: &str) -> Result<(), StoreError> {
    diesel::update(
        subscriptions::table
            .filter(subscriptions::id.eq(id))
            .filter(subscriptions::lease_owner.eq(owner)),
    )
    .set((
        subscriptions::lease_owner.eq(None::<String>),
        subscriptions::lease_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Moves the position from `from` to `to` under this instance's lease; a
/// delivery clears the failure state. False when the lease or position changed.
pub fn advance(
    conn: &mut DbConn,
    id: &str,
    owner: &str,
    from: i64,
    to: i64,
    delivered_at: Option<NaiveDateTime>,
) -> Result<bool, StoreError> {
    let target = subscriptions::table
        .filter(subscriptions::id.eq(id))
        .filter(subscriptions::lease_owner.eq(owner))
        .filter(subscriptions::cursor_seq.eq(from));
    let n = match delivered_at {
        Some(at) => diesel::update(target)
            .set((
                subscriptions::cursor_seq.eq(to),
                subscriptions::attempts.eq(0),
                subscriptions::failing_since.eq(None::<NaiveDateTime>),
                subscriptions::next_attempt_at.eq(None::<NaiveDateTime>),
                subscriptions::last_error.eq(None::<String>),
                subscriptions::last_status.eq(None::<i32>),
                subscriptions::last_delivered_at.eq(Some(at)),
            ))
            .execute(conn)?,
        None => diesel::update(target)
            .set((
                subscriptions::cursor_seq.eq(to),
                subscriptions::attempts.eq(0),
                subscriptions::next_attempt_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?,
    };
    Ok(n == 1)
}

/// Ends a run of failures once the subscription has caught up (every
/// waiting event delivered or dead-lettered): the next event gets the full
/// retry window again.
pub fn end_failure_run(conn: &mut DbConn, id: &str, owner: &str) -> Result<(), StoreError> {
    diesel::update(
        subscriptions::table
            .filter(subscriptions::id.eq(id))
            .filter(subscriptions::lease_owner.eq(owner))
            .filter(subscriptions::attempts.eq(0)),
    )
    .set(subscriptions::failing_since.eq(None::<NaiveDateTime>))
    .execute(conn)?;
    Ok(())
}

/// A failed attempt at the current event.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Failed attempts at the current event, this one included.
    pub attempts: i32,
    /// Start of the run of failures.
    pub failing_since: NaiveDateTime,
    /// When to try again.
    pub next_attempt_at: NaiveDateTime,
    /// What went wrong.
    pub error: String,
    /// HTTP status, if one came back.
    pub status: Option<i32>,
}

/// Records a failed attempt under this instance's lease.
pub fn record_failure(
    conn: &mut DbConn,
    id: &str,
    owner: &str,
    f: &Failure,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        subscriptions::table
            .filter(subscriptions::id.eq(id))
            .filter(subscriptions::lease_owner.eq(owner)),
    )
    .set((
        subscriptions::attempts.eq(f.attempts),
        subscriptions::failing_since.eq(Some(f.failing_since)),
        subscriptions::next_attempt_at.eq(Some(f.next_attempt_at)),
        subscriptions::last_error.eq(Some(&f.error)),
        subscriptions::last_status.eq(f.status),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Holds deliveries back until `until` without counting a failed attempt
/// (e.g. while the subscribing client is revoked).
pub fn pause(
    conn: &mut DbConn,
    id: &str,
    owner: &str,
    until: NaiveDateTime,
    reason: &str,
) -> Result<(), StoreError> {
    diesel::update(
        subscriptions::table
            .filter(subscriptions::id.eq(id))
            .filter(subscriptions::lease_owner.eq(owner)),
    )
    .set((
        subscriptions::next_attempt_at.eq(Some(until)),
        subscriptions::last_error.eq(Some(reason)),
    ))
    .execute(conn)?;
    Ok(())
}

/// Stores a dead letter.
pub fn add_dead_letter(conn: &mut DbConn, row: &DeadLetterRow) -> Result<(), StoreError> {
    diesel::insert_into(dead_letters::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// A subscription's dead letters in feed order, after position `after_seq`.
pub fn list_dead_letters(
    conn: &mut DbConn,
    subscription: &str,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<DeadLetterRow>, StoreError> {
    Ok(dead_letters::table
        .filter(dead_letters::subscription_id.eq(subscription))
        .filter(dead_letters::seq.gt(after_seq))
        .select(DeadLetterRow::as_select())
        .order(dead_letters::seq.asc())
        .limit(limit)
        .load(conn)?)
}

/// One dead letter of a subscription.
pub fn get_dead_letter(
    conn: &mut DbConn,
    subscription: &str,
    id: &str,
) -> Result<Option<DeadLetterRow>, StoreError> {
    Ok(dead_letters::table
        .filter(dead_letters::id.eq(id))
        .filter(dead_letters::subscription_id.eq(subscription))
        .select(DeadLetterRow::as_select())
        .first(conn)
        .optional()?)
}

/// Queues a dead letter for redelivery (from `dead` only); true when queued now.
pub fn request_redelivery(conn: &mut DbConn, id: &str) -> Result<bool, StoreError> {
    let n = diesel::update(
        dead_letters::table
            .filter(dead_letters::id.eq(id))
            .filter(dead_letters::state.eq("dead")),
    )
    .set((
        dead_letters::state.eq("redelivering"),
        dead_letters::lease_owner.eq(None::<String>),
        dead_letters::lease_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Dead letters queued for redelivery and not claimed by a live instance.
pub fn queued_redeliveries(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(dead_letters::table
        .filter(dead_letters::state.eq("redelivering"))
        .filter(
            dead_letters::lease_until
                .is_null()
                .or(dead_letters::lease_until.lt(now)),
        )
        .select(dead_letters::id)
        .order(dead_letters::seq.asc())
        .limit(limit)
        .load(conn)?)
}

/// Claims a queued redelivery for this instance; `None` when another has it.
pub fn claim_redelivery(
    conn: &mut DbConn,
    id: &str,
    owner: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<Option<DeadLetterRow>, StoreError> {
    let n = diesel::update(
        dead_letters::table
            .filter(dead_letters::id.eq(id))
            .filter(dead_letters::state.eq("redelivering"))
            .filter(
                dead_letters::lease_until
                    .is_null()
                    .or(dead_letters::lease_until.lt(now)),
            ),
    )
    .set((
        dead_letters::lease_owner.eq(owner),
        dead_letters::lease_until.eq(until),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(
        dead_letters::table
            .find(id)
            .select(DeadLetterRow::as_select())
            .first(conn)?,
    ))
}

/// Ends a redelivery this instance claimed: `redelivered`, or back to `dead` with the error.
pub fn finish_redelivery(
    conn: &mut DbConn,
    id: &str,
    owner: &str,
    outcome: Result<NaiveDateTime, (String, Option<i32>)>,
) -> Result<bool, StoreError> {
    let target = dead_letters::table
        .filter(dead_letters::id.eq(id))
        .filter(dead_letters::lease_owner.eq(owner));
    let n = match outcome {
        Ok(at) => diesel::update(target)
            .set((
                dead_letters::state.eq("redelivered"),
                dead_letters::redelivered_at.eq(Some(at)),
                dead_letters::attempts.eq(dead_letters::attempts + 1),
                dead_letters::lease_owner.eq(None::<String>),
                dead_letters::lease_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?,
        Err((error, status)) => diesel::update(target)
            .set((
                dead_letters::state.eq("dead"),
                dead_letters::last_error.eq(error),
                dead_letters::last_status.eq(status),
                dead_letters::attempts.eq(dead_letters::attempts + 1),
                dead_letters::lease_owner.eq(None::<String>),
                dead_letters::lease_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?,
    };
    Ok(n == 1)
}

/// Removes dead letters given up before `before` (they hold record data, kept
/// no longer than the change feed keeps it).
pub fn prune_dead_letters(conn: &mut DbConn, before: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(dead_letters::table.filter(dead_letters::dead_at.lt(before)))
            .execute(conn)?,
    )
}

/// The lowest position any subscription has delivered through, and how many
/// subscriptions there are (for the outbox-lag metric).
pub fn slowest_cursor(conn: &mut DbConn) -> Result<(Option<i64>, i64), StoreError> {
    let slowest: Option<i64> = subscriptions::table
        .select(diesel::dsl::min(subscriptions::cursor_seq))
        .first(conn)?;
    let count: i64 = subscriptions::table.count().get_result(conn)?;
    Ok((slowest, count))
}
