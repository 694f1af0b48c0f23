//! Idempotency keys for batch requests: a replay gets the stored response.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::error::StoreError;
use crate::schema::idempotency_keys;

/// What to do with a request carrying an idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub enum IdemStart {
    /// First use (or an abandoned attempt): process it.
    Proceed,
    /// Done before with the same request: send this response again.
    Replay {
        /// HTTP status.
        status: i32,
        /// JSON body.
        body: String,
    },
    /// The same key is being processed right now.
    InFlight,
    /// The key was used with a different request.
    Mismatch,
}

/// How long a claim holds without being renewed: its holder renews it every
/// [`RENEW_EVERY_SECONDS`] while it works, so a claim whose holder died (a
/// crashed instance, a killed process) lapses within seconds and a retry, on
/// any instance, proceeds. The dead holder's transaction stored nothing.
pub const LEASE_SECONDS: i64 = 6;

/// How often the holder of a claim renews it.
pub const RENEW_EVERY_SECONDS: u64 = 2;

/// Claims `key` for `client`; call in its own write transaction.
pub fn begin(
    conn: &mut DbConn,
    client: &str,
    key: &str,
    request_hash: &str,
    now: NaiveDateTime,
) -> Result<IdemStart, StoreError> {
    type Row = (String, String, Option<i32>, Option<String>, NaiveDateTime);
    let existing: Option<Row> = idempotency_keys::table
        .find((client, key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::state,
            idempotency_keys::response_status,
            idempotency_keys::response_body,
            idempotency_keys::updated_at,
        ))
        .first(conn)
        .optional()?;
    match existing {
        None => {
            // A concurrent claim makes this fail on the key; the transaction is retried and sees it.
            diesel::insert_into(idempotency_keys::table)
                .values((
                    idempotency_keys::client_id.eq(client),
                    idempotency_keys::idem_key.eq(key),
                    idempotency_keys::request_hash.eq(request_hash),
                    idempotency_keys::state.eq("in_flight"),
                    idempotency_keys::created_at.eq(now),
                    idempotency_keys::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(IdemStart::Proceed)
        }
        Some((_, state, _, _, updated))
            if state == "in_flight" && now - updated < Duration::seconds(LEASE_SECONDS) =>
        {
            Ok(IdemStart::InFlight)
        }
        Some((hash, _, _, _, _)) if hash != request_hash => Ok(IdemStart::Mismatch),
        Some((_, state, Some(status), Some(body), _)) if state == "done" => {
            Ok(IdemStart::Replay { status, body })
        }
        Some(_) => {
            diesel::update(idempotency_keys::table.find((client, key)))
                .set(idempotency_keys::updated_at.eq(now))
                .execute(conn)?;
            Ok(IdemStart::Proceed)
        }
    }
}

/// Renews the claim on `key` while its request is being processed.
pub fn renew(
    conn: &mut DbConn,
    client: &str,
    key: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(
        idempotency_keys::table
            .find((client, key))
            .filter(idempotency_keys::state.eq("in_flight")),
    )
    .set(idempotency_keys::updated_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Stores the response of a finished request.
pub fn finish(
    conn: &mut DbConn,
    client: &str,
    key: &str,
    status: i32,
    body: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(idempotency_keys::table.find((client, key)))
        .set((
            idempotency_keys::state.eq("done"),
            idempotency_keys::response_status.eq(Some(status)),
            idempotency_keys::response_body.eq(Some(body)),
            idempotency_keys::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Releases a claim whose request failed before producing a response.
pub fn release(conn: &mut DbConn, client: &str, key: &str) -> Result<(), StoreError> {
    diesel::delete(
        idempotency_keys::table
            .find((client, key))
            .filter(idempotency_keys::state.eq("in_flight")),
    )
    .execute(conn)?;
    Ok(())
}

/// Forgets keys older than `before`.
pub fn prune(conn: &mut DbConn, before: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before)))
            .execute(conn)?,
    )
}
