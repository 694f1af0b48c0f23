//! Webhooks: agencies subscribe an endpoint to record changes and Sinergi
//! POSTs each change to it, signed, in commit order, retried with backoff
//! and never silently dropped (dead letters stay visible and redeliverable).
//!
//! The change feed is the transactional outbox: every record write appends
//! its change in the same transaction, and each subscription keeps its own
//! position in the feed. See `docs/webhooks.md`.

pub mod api;
pub mod delivery;
pub mod signature;
pub mod ssrf;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sinergi_db::audit::AuditEntry;
use sinergi_db::changes::ChangeRow;
use sinergi_db::identity::{AgencyRow, ClientRow};
use sinergi_db::subscriptions::{DeadLetterRow, SubscriptionRow};
use sinergi_domain::{AgencyKind, RegionCode};
use utoipa::ToSchema;

use crate::auth::{Caller, Purpose, Scope};
use crate::records::respond;
use sinergi_domain::access::{self, Channel, Declared, Denial, Principal, Request};
use sinergi_domain::RecordType;

/// Compliance findings are announced in the change feed too.
const FINDING: &str = "finding";

/// The event type named by a record type code or collection name
/// (`residence_permit`, `residence-permits`), or `finding`.
pub fn event_type(s: &str) -> Option<String> {
    match RecordType::from_name(s) {
        Some(t) => Some(t.as_str().to_string()),
        None => matches!(s.trim(), "finding" | "findings").then(|| FINDING.to_string()),
    }
}

/// The record types of a subscription's event types for the access policy:
/// none (every type) when it covers every type or findings, which name workers.
pub fn policy_types(types: &[String]) -> Vec<RecordType> {
    if types.iter().any(|t| t == FINDING) {
        return Vec::new();
    }
    types
        .iter()
        .filter_map(|t| RecordType::from_name(t))
        .collect()
}

/// The access-policy request of a subscription to these event types (empty: all).
pub fn webhook_request(types: &[RecordType]) -> Request<'_> {
    Request::new(Channel::Webhook, types)
}

/// Whether a subscription to these event types (empty: all) carries personal data.
pub fn covers_personal(types: &[String]) -> bool {
    webhook_request(&policy_types(types)).personal()
}

/// The JSON body of one delivery.
#[derive(Debug, Serialize)]
pub struct WebhookEvent {
    /// `<subscription id>:<feed position>`; the same on every retry.
    pub id: String,
    /// Record type.
    #[serde(rename = "type")]
    pub type_: String,
    /// Record key.
    pub key: String,
    /// The writing agency's own id of the record, when it gave one.
    pub source_ref: Option<String>,
    /// `upsert` or `delete`.
    pub op: String,
    /// Record version after the change: order events of one record by it.
    pub version: i64,
    /// Agency that made the change.
    pub agency: String,
    /// When the change took its place in the feed; never decreases in feed order.
    pub changed_at: DateTime<Utc>,
    /// The record as the API shows it to the subscribing client; null for a delete.
    pub record: Option<serde_json::Value>,
}

/// How delivery is going.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryState {
    /// Change-feed position of the last event handled (delivered or dead-lettered).
    pub position: i64,
    /// Last successful delivery.
    pub last_delivered_at: Option<DateTime<Utc>>,
    /// Since when deliveries fail, if they do.
    pub failing_since: Option<DateTime<Utc>>,
    /// Failed attempts at the event now being retried.
    pub failed_attempts: i32,
    /// Next attempt, while retrying.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// HTTP status of the last failed attempt, if your endpoint answered.
    pub last_status: Option<i32>,
}

/// A webhook subscription (the secret is never shown again after creation).
#[derive(Debug, Serialize, ToSchema)]
pub struct Subscription {
    /// Subscription id.
    pub id: String,
    /// Where events are POSTed.
    pub target_url: String,
    /// Record types received; empty: all.
    pub event_types: Vec<String>,
    /// Your note.
    pub description: Option<String>,
    /// Agency that owns the subscription.
    #[schema(example = "DISNAKER-KUKAR")]
    pub agency: String,
    /// Client that created it; records are minimised for this client's role.
    pub client_id: String,
    /// Purpose declared at creation, under which personal data is delivered.
    pub purpose: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Delivery progress.
    pub delivery: DeliveryState,
}

/// A new subscription, with its signing secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSubscription {
    /// The subscription.
    #[serde(flatten)]
    pub subscription: Subscription,
    /// HMAC-SHA256 key of the `Sinergi-Signature` header. Shown only now: store it safely.
    #[schema(example = "whsec_q3V0ZXh0LWV4YW1wbGUtc2VjcmV0LW5vdC1yZWFs")]
    pub secret: String,
}

/// An event given up after the retry window.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetter {
    /// Dead letter id (for redelivery).
    pub id: String,
    /// Event id (`Sinergi-Event-Id`).
    pub event_id: String,
    /// Record type.
    #[serde(rename = "type")]
    pub type_: String,
    /// Record key.
    pub key: String,
    /// `upsert` or `delete`; for type `worker` also `merged` / `unmerged`
    /// (as in the change feed: re-key the worker `key` to `merged_into`).
    #[schema(schema_with = crate::contract::change_op)]
    pub op: String,
    /// Record version carried by the event.
    pub version: i64,
    /// Commit time of the change.
    pub changed_at: DateTime<Utc>,
    /// Attempts made.
    pub attempts: i32,
    /// First failed attempt.
    pub first_failed_at: DateTime<Utc>,
    /// When it was given up.
    pub dead_at: DateTime<Utc>,
    /// Why the last attempt failed.
    pub last_error: String,
    /// HTTP status of the last attempt, if your endpoint answered.
    pub last_status: Option<i32>,
    /// `dead`, `redelivering` (queued) or `redelivered`.
    #[schema(example = "dead")]
    pub state: String,
    /// When a redelivery succeeded.
    pub redelivered_at: Option<DateTime<Utc>>,
}

/// The wire form of a subscription.
pub fn view(r: &SubscriptionRow) -> Subscription {
    Subscription {
        id: r.id.clone(),
        target_url: r.target_url.clone(),
        event_types: r.types(),
        description: r.description.clone(),
        agency: r.agency_code.clone(),
        client_id: r.client_id.clone(),
        purpose: r.purpose.clone(),
        created_at: r.created_at.and_utc(),
        delivery: DeliveryState {
            position: r.cursor_seq,
            last_delivered_at: r.last_delivered_at.map(|t| t.and_utc()),
            failing_since: r.failing_since.map(|t| t.and_utc()),
            failed_attempts: r.attempts,
            next_attempt_at: r.next_attempt_at.map(|t| t.and_utc()),
            last_error: r.last_error.clone(),
            last_status: r.last_status,
        },
    }
}

/// The wire form of a dead letter.
pub fn dead_view(r: DeadLetterRow) -> DeadLetter {
    DeadLetter {
        id: r.id,
        event_id: r.event_id,
        type_: r.record_type,
        key: r.record_key,
        op: r.op,
        version: r.version,
        changed_at: r.changed_at.and_utc(),
        attempts: r.attempts,
        first_failed_at: r.first_failed_at.and_utc(),
        dead_at: r.dead_at.and_utc(),
        last_error: r.last_error,
        last_status: r.last_status,
        state: r.state,
        redelivered_at: r.redelivered_at.map(|t| t.and_utc()),
    }
}

/// The subscribing client as a caller, if it may still receive the data.
pub fn subscriber(
    sub: &SubscriptionRow,
    found: Option<(ClientRow, AgencyRow)>,
) -> Result<Caller, String> {
    let (client, agency) = found
        .filter(|(c, _)| c.revoked_at.is_none())
        .ok_or("the subscribing client is revoked; deliveries are paused")?;
    let scopes: Vec<Scope> = client
        .scopes
        .split_whitespace()
        .filter_map(|s| Scope::parse(s).ok())
        .collect();
    let kind = AgencyKind::parse(&agency.kind).map_err(|e| e.message)?;
    let jurisdiction = match &agency.jurisdiction {
        Some(j) => Some(RegionCode::parse(j).map_err(|e| e.message)?),
        None => None,
    };
    let registered: Vec<Purpose> = client
        .purposes
        .split_whitespace()
        .filter_map(|p| Purpose::parse(p).ok())
        .collect();
    let declared = sub.purpose.as_deref().and_then(|p| Purpose::parse(p).ok());
    let who = Principal {
        kind,
        jurisdiction: jurisdiction.as_ref(),
        scopes: &scopes,
        purpose: Declared::of(declared, &registered),
    };
    let types = policy_types(&sub.types());
    access::decide(&who, &webhook_request(&types)).map_err(|d| match d {
        Denial::Scope(_) => {
            "the subscribing client lost the records:read scope; deliveries are paused".to_string()
        }
        _ => "the subscribing client is no longer registered for the subscription's purpose; \
              deliveries are paused"
            .to_string(),
    })?;
    Ok(Caller::system(
        &client.client_id,
        &agency.code,
        kind,
        jurisdiction,
        scopes,
    ))
}

/// The body of the event for `change`, minimised for the subscriber.
pub fn event_body(
    sub: &SubscriptionRow,
    caller: &Caller,
    row: &ChangeRow,
) -> Result<String, String> {
    let record = match &row.payload {
        Some(p) => {
            let v: serde_json::Value = serde_json::from_str(p).map_err(|e| e.to_string())?;
            Some(respond::body(caller, &v).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    serde_json::to_string(&WebhookEvent {
        id: event_id(sub, row.seq),
        type_: row.record_type.clone(),
        key: row.record_key.clone(),
        source_ref: row.source_ref.clone(),
        op: row.op.clone(),
        version: row.version,
        agency: row.agency_code.clone(),
        changed_at: row.changed_at.and_utc(),
        record,
    })
    .map_err(|e| e.to_string())
}

/// The id of the event for feed position `seq`.
pub fn event_id(sub: &SubscriptionRow, seq: i64) -> String {
    format!("{}:{seq}", sub.id)
}

/// The audit event of a delivery that may have carried data to the endpoint.
pub fn audit_entry(
    sub: &SubscriptionRow,
    event: &str,
    worker: Option<&str>,
    status: i32,
) -> AuditEntry {
    AuditEntry {
        occurred_at: Utc::now().naive_utc(),
        client_id: Some(sub.client_id.clone()),
        agency_code: Some(sub.agency_code.clone()),
        action: "deliver".into(),
        resource_type: "webhook".into(),
        resource_key: Some(event.to_string()),
        subject_worker_id: worker.map(str::to_string),
        result_count: None,
        purpose: sub.purpose.clone(),
        case_ref: None,
        status,
        request_id: format!("webhook-{}", uuid::Uuid::new_v4()),
    }
}

/// The delay before attempt `attempts + 1`: exponential, capped, with ±20 % jitter.
pub fn backoff(base_ms: u64, max_ms: u64, attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 40) as u32 - 1;
    let ms = base_ms.saturating_mul(1u64 << exp.min(32)).min(max_ms);
    let jitter = 0.8 + 0.4 * (getrandom::u32().unwrap_or(u32::MAX / 2) as f64 / u32::MAX as f64);
    Duration::from_millis((ms as f64 * jitter) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let ms = |n| backoff(1000, 60_000, n).as_millis() as u64;
        assert!((800..=1200).contains(&ms(1)));
        assert!((1600..=2400).contains(&ms(2)));
        assert!((6400..=9600).contains(&ms(4)));
        assert!((48_000..=72_000).contains(&ms(30)));
        assert!((48_000..=72_000).contains(&ms(i32::MAX)));
    }
}
