//! `/api/v1/subscriptions`: create, list, read and delete webhook
//! subscriptions; list dead letters and redeliver them.

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use sinergi_db::subscriptions::{self as store, SubscriptionRow};
use sinergi_db::{changes, StoreError};
use utoipa::{IntoParams, ToSchema};

use super::{dead_view, signature, ssrf, view, CreatedSubscription, DeadLetter, Subscription};
use crate::auth::{Caller, Scope};
use crate::error::{ApiError, Problem};
use crate::extract::{page_request, parse_query, JsonBody};
use crate::records::input::{passed, Checker};
use crate::records::paging::read_page;
use crate::records::respond::Page;
use crate::state::AppState;

/// Most subscriptions one agency may hold.
const MAX_PER_AGENCY: i64 = 100;

/// A subscription to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionInput {
    /// Where events are POSTed: an `https` (or `http`) URL on a public address, without credentials.
    #[schema(example = "https://sisfo.disnaker.kukarkab.go.id/hooks/sinergi")]
    pub target_url: String,
    /// Event types to receive: record types (`employer`, `work_site`, `worker`, `rptka_approval`,
    /// `assignment`, `residence_permit`, `presence_report`) and `finding`; empty or omitted: all.
    #[serde(default)]
    #[schema(example = json!(["residence_permit", "assignment"]))]
    pub event_types: Vec<String>,
    /// A note for your team (up to 500 characters).
    #[schema(example = "Disnaker Kukar: permit changes into SIMTKA")]
    pub description: Option<String>,
}

/// Paging of dead letters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterQuery {
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The caller's agency's subscription, or 404 (also for another agency's).
async fn owned(state: &AppState, caller: &Caller, id: String) -> Result<SubscriptionRow, ApiError> {
    let db = state.db.clone();
    web::block(move || db.read(|c| store::get(c, &id)))
        .await??
        .filter(|s| s.agency_code == caller.agency_code)
        .ok_or_else(|| ApiError::NotFound("no subscription of your agency with this id".into()))
}

/// Subscriptions that carry personal data are read with a declared purpose.
fn require_purpose_for(caller: &Caller, sub: &SubscriptionRow) -> Result<(), ApiError> {
    caller
        .allow(super::webhook_request(&super::policy_types(&sub.types())))
        .map(|_| ())
}

/// Subscribe an endpoint of your agency to record changes.
///
/// Every committed change of the chosen record types is POSTed to
/// `target_url` as JSON, in commit order, one event per request:
/// `{"id": "<subscription>:<position>", "type", "key", "op", "version",
/// "agency", "changed_at", "record"}` (`record` is null for a delete and is
/// minimised for your client's role like API responses). Answer any 2xx
/// within 10 seconds to acknowledge; anything else is retried with
/// exponential backoff for 3 days, then kept as a dead letter you can list
/// and redeliver. Events of one subscription are delivered one at a time in
/// order; use `version` to order events of one record and `Sinergi-Event-Id`
/// to drop the rare duplicate.
///
/// **Verify every request.** Headers: `Sinergi-Signature: t=<unix
/// seconds>,v1=<hex>`, `Sinergi-Event-Id`, `Content-Type: application/json`.
/// `v1` is HMAC-SHA256, keyed with the `secret` returned here (its UTF-8
/// bytes), over `<t>.<raw request body>`. Compare in constant time and refuse
/// a `t` more than 5 minutes old. In Python:
///
/// ```python
/// import hashlib, hmac, time
/// def verify(secret: str, header: str, body: bytes) -> bool:
///     parts = dict(p.split("=", 1) for p in header.split(","))
///     expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
///     return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300
/// ```
///
/// `docs/webhooks.md` has the same in Rust and a test vector.
///
/// Targets on private, loopback or link-local addresses are refused (400 on
/// `target_url`). Subscriptions that include personal data (`worker`,
/// `residence_permit`, `assignment`, `presence_report`, `finding`; or all
/// types) need `X-Purpose`; each delivery is written to the audit log under it.
#[utoipa::path(
    tag = "webhooks",
    params(("X-Purpose" = Option<String>, Header, description = "Why you receive personal data (needed when the subscription includes personal record types)")),
    request_body = SubscriptionInput,
    responses(
        (status = 201, description = "Created; the secret is shown only in this response", body = CreatedSubscription, headers(("Location" = String))),
        (status = 400, description = "Invalid or refused target_url, unknown event type, missing purpose", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Purpose not registered or scope missing", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Your agency holds the most subscriptions allowed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/subscriptions")]
pub async fn create_subscription(
    caller: Caller,
    body: JsonBody<SubscriptionInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::RecordsRead)?;
    let input = body.0;
    let mut ck = Checker::default();
    let mut types: Vec<String> = Vec::new();
    for (i, t) in input.event_types.iter().enumerate() {
        match super::event_type(t) {
            Some(et) if !types.contains(&et) => types.push(et),
            Some(_) => {}
            None => ck.fail(
                &format!("event_types[{i}]"),
                "invalid_type",
                format!("unknown event type {t}"),
            ),
        }
    }
    let description = ck.opt_text("description", input.description.as_deref(), 500);
    let allow = ssrf::AllowList::new(&state.settings.webhook_allow_hosts);
    let target = match ssrf::check_target(&input.target_url, &allow).await {
        Ok(url) => Some(url.to_string()),
        Err(r) => {
            ck.fail("target_url", r.code, r.message);
            None
        }
    };
    ck.finish()?;
    let (target, description) = (passed(target)?, passed(description)?);
    let purpose = caller
        .allow(super::webhook_request(&super::policy_types(&types)))?
        .purpose
        .map(|p| p.as_str().to_string());
    let secret = signature::new_secret().map_err(ApiError::Internal)?;
    let now = Utc::now().naive_utc();
    let mut row = SubscriptionRow {
        id: uuid::Uuid::new_v4().to_string(),
        agency_code: caller.agency_code.clone(),
        client_id: caller.client_id.clone(),
        target_url: target,
        event_types: types.join(" "),
        description,
        purpose,
        secret,
        cursor_seq: 0,
        attempts: 0,
        failing_since: None,
        next_attempt_at: None,
        last_error: None,
        last_status: None,
        last_delivered_at: None,
        lease_owner: None,
        lease_until: None,
        created_at: now,
    };
    let db = state.db.clone();
    let row = web::block(move || {
        db.write(|c| {
            if store::list_for_agency(c, &row.agency_code, MAX_PER_AGENCY)?.len() as i64
                >= MAX_PER_AGENCY
            {
                return Err(StoreError::Conflict {
                    code: "too_many_subscriptions",
                    message: format!(
                        "an agency may hold at most {MAX_PER_AGENCY} subscriptions; delete unused ones"
                    ),
                });
            }
            // Only changes committed from now on are delivered: those
            // committed before take their positions first.
            sinergi_db::sequencer::drain_in(c)?;
            row.cursor_seq = changes::head(c)?.0;
            store::create(c, &row)?;
            Ok(row.clone())
        })
    })
    .await??;
    let created = CreatedSubscription {
        subscription: view(&row),
        secret: row.secret,
    };
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/subscriptions/{}", row.id),
        ))
        .json(created))
}

/// Your agency's subscriptions, oldest first.
///
/// The webhook subscriptions your agency created, with their endpoint, record
/// types and delivery state. Secrets are never shown again after creation.
#[utoipa::path(
    tag = "webhooks",
    responses((status = 200, description = "Every subscription of your agency", body = Page<Subscription>)),
    security(("bearer" = []))
)]
#[get("/api/v1/subscriptions")]
pub async fn list_subscriptions(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::RecordsRead)?;
    let db = state.db.clone();
    let agency = caller.agency_code.clone();
    let rows = web::block(move || db.read(|c| store::list_for_agency(c, &agency, MAX_PER_AGENCY)))
        .await??;
    Ok(HttpResponse::Ok().json(Page {
        items: rows.iter().map(view).collect::<Vec<_>>(),
        next_cursor: None,
    }))
}

/// One subscription of your agency, with its delivery state.
///
/// The subscription with its delivery state: the feed position delivered,
/// the last delivery and error, failed attempts and the next attempt.
/// Another agency's subscription answers 404.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Subscription id")),
    responses(
        (status = 200, description = "The subscription", body = Subscription),
        (status = 404, description = "No subscription of your agency with this id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/subscriptions/{id}")]
pub async fn get_subscription(
    caller: Caller,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::RecordsRead)?;
    let row = owned(&state, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view(&row)))
}

/// Delete a subscription and its dead letters; deliveries stop at once.
///
/// Removes the subscription and its dead letters. Deliveries in flight finish;
/// no new delivery starts. Answers 204, or 404 for an unknown id or another
/// agency's subscription.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Subscription id", example = "3c6e2a90-7d41-4b8f-9e0a-5a1f2c3d4e5f")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No subscription of your agency with this id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/subscriptions/{id}")]
pub async fn delete_subscription(
    caller: Caller,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::RecordsRead)?;
    let db = state.db.clone();
    let agency = caller.agency_code.clone();
    let id = id.into_inner();
    if web::block(move || db.write(|c| store::delete(c, &id, &agency))).await?? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound(
            "no subscription of your agency with this id".into(),
        ))
    }
}

/// Events given up after the retry window, in feed order.
///
/// Fix your endpoint, then redeliver each (`POST .../redeliver`). The event
/// body is not listed here; it is sent again on redelivery. Dead letters are
/// kept as long as the change feed keeps changes (30 days by default).
#[utoipa::path(
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Subscription id"), DeadLetterQuery,
           ("X-Purpose" = Option<String>, Header, description = "Why you read this (needed when the subscription includes personal record types)")),
    responses(
        (status = 200, description = "One page of dead letters", body = Page<DeadLetter>),
        (status = 400, description = "Invalid limit or cursor, or missing purpose", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No subscription of your agency with this id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/subscriptions/{id}/dead-letters")]
pub async fn list_dead_letters(
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::RecordsRead)?;
    let sub = owned(&state, &caller, id.into_inner()).await?;
    require_purpose_for(&caller, &sub)?;
    let q: DeadLetterQuery = parse_query(&req)?;
    let collection = format!("dead-letters:{}", sub.id);
    let key = state.cursor_key(&caller);
    let page = page_request(&key, &collection, q.limit.as_deref(), q.cursor.as_deref())?;
    let sub_id = sub.id.clone();
    let (rows, next) = read_page(
        &state,
        &key,
        &collection,
        page,
        move |c, after, limit| {
            let after = after.and_then(|a| a.parse().ok()).unwrap_or(0);
            store::list_dead_letters(c, &sub_id, after, limit)
        },
        |r| r.seq.to_string(),
    )
    .await?;
    caller.audit.count(rows.len());
    Ok(HttpResponse::Ok().json(Page {
        items: rows.into_iter().map(dead_view).collect::<Vec<_>>(),
        next_cursor: next,
    }))
}

/// Send a dead letter again, now.
///
/// Queues the event for immediate delivery (202); follow its `state` in the
/// dead-letter list. A failed redelivery returns it to `dead` with the new
/// error. 409 when it was already redelivered successfully.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Subscription id"),
           ("dead_letter_id" = uuid::Uuid, Path, description = "Dead letter id"),
           ("X-Purpose" = Option<String>, Header, description = "Why you send this again (needed when the subscription includes personal record types)")),
    responses(
        (status = 202, description = "Queued for delivery", body = DeadLetter),
        (status = 404, description = "No such subscription of your agency, or no such dead letter", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already redelivered successfully", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/subscriptions/{id}/dead-letters/{dead_letter_id}/redeliver")]
pub async fn redeliver_dead_letter(
    caller: Caller,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::RecordsRead)?;
    let (id, dead_id) = path.into_inner();
    let sub = owned(&state, &caller, id).await?;
    require_purpose_for(&caller, &sub)?;
    let db = state.db.clone();
    let row = web::block(move || {
        db.write(|c| {
            match store::get_dead_letter(c, &sub.id, &dead_id)? {
                Some(d) if d.state == "dead" => {
                    store::request_redelivery(c, &d.id)?;
                }
                Some(_) => {}
                None => return Ok(None),
            }
            store::get_dead_letter(c, &sub.id, &dead_id)
        })
    })
    .await??
    .ok_or_else(|| ApiError::NotFound("no dead letter with this id".into()))?;
    caller.audit.subject(row.worker_id.as_deref());
    if row.state == "redelivered" {
        return Err(ApiError::Conflict(
            "already_redelivered",
            "this event was already redelivered successfully".into(),
        ));
    }
    // Wake this instance's delivery worker.
    state.changes_notify.notify_waiters();
    Ok(HttpResponse::Accepted().json(dead_view(row)))
}
