//! Reading the audit log: all of it for auditors, and per person for the
//! agencies that own records about that person.

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sinergi_db::audit::{self, AuditFilter, AuditRow};
use sinergi_db::records;
use utoipa::{IntoParams, ToSchema};

use sinergi_domain::access::{Channel, Request};

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{page_request, parse_query, PurposeHeaders};
use crate::records::input::{date_param, Checker};
use crate::records::paging::read_page;
use crate::records::respond::{self, Page};
use crate::state::AppState;

/// One audited access.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"seq": 1841, "id": "5f0e8c4e-2b7a-4f0e-9d61-0c2f3e9a7b11",
    "occurred_at": "2026-12-01T02:14:07Z", "client_id": "kectenggarong-da75b552d245e2a3",
    "agency": "KEC-TENGGARONG", "action": "read", "resource_type": "worker",
    "resource_key": "1d7cd09c-b14a-4591-b6ae-5057aca9d9c9",
    "subject_worker_id": "1d7cd09c-b14a-4591-b6ae-5057aca9d9c9", "result_count": null,
    "purpose": "supervision", "case_ref": "ST-114/2026", "status": 200,
    "request_id": "0f5a6c1e-8b0d-4c55-a4a0-3f2d0d5b9e27",
    "prev_hash": "b1946ac92492d2347c6235b4d2611184b1946ac92492d2347c6235b4d2611184",
    "hash": "591785b794601e212b260e25925636fd591785b794601e212b260e25925636fd"}))]
pub struct AuditEvent {
    /// Position in the hash chain.
    pub seq: i64,
    /// Event id.
    pub id: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Client, if it authenticated.
    pub client_id: Option<String>,
    /// Agency, if the client authenticated.
    pub agency: Option<String>,
    /// `read`, `list` or `write`.
    #[schema(schema_with = action_schema)]
    pub action: String,
    /// Resource type.
    pub resource_type: String,
    /// Resource key, for item access.
    pub resource_key: Option<String>,
    /// The person whose data it was, when known.
    pub subject_worker_id: Option<String>,
    /// Items returned, for lists.
    pub result_count: Option<i64>,
    /// Declared purpose.
    pub purpose: Option<String>,
    /// Declared case reference.
    pub case_ref: Option<String>,
    /// HTTP status of the answer (granted or denied).
    pub status: i32,
    /// Request id (also in the `X-Request-Id` response header).
    pub request_id: String,
    /// SHA-256 of the previous event.
    pub prev_hash: String,
    /// SHA-256 of this event.
    pub hash: String,
}

fn event(r: AuditRow) -> AuditEvent {
    AuditEvent {
        seq: r.seq,
        id: r.id,
        occurred_at: r.occurred_at.and_utc(),
        client_id: r.client_id,
        agency: r.agency_code,
        action: r.action,
        resource_type: r.resource_type,
        resource_key: r.resource_key,
        subject_worker_id: r.subject_worker_id,
        result_count: r.result_count,
        purpose: r.purpose,
        case_ref: r.case_ref,
        status: r.status,
        request_id: r.request_id,
        prev_hash: r.prev_hash,
        hash: r.hash,
    }
}

async fn events_page(
    state: &AppState,
    caller: &Caller,
    collection: &str,
    filter: AuditFilter,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<Page<AuditEvent>, ApiError> {
    let key = state.cursor_key(caller);
    let page = page_request(&key, collection, limit, cursor)?;
    if let Some(k) = &page.after {
        k.parse::<i64>().map_err(|_| {
            ApiError::field(
                "cursor",
                "invalid_cursor",
                "cursor is not one this list returned",
            )
        })?;
    }
    let (rows, next_cursor) = read_page(
        state,
        &key,
        collection,
        page,
        move |c, after, limit| {
            let after = after.and_then(|a| a.parse().ok()).unwrap_or(0);
            audit::list(c, &filter, after, limit)
        },
        |r: &AuditRow| r.seq.to_string(),
    )
    .await?;
    Ok(Page {
        items: rows.into_iter().map(event).collect(),
        next_cursor,
    })
}

/// Filters for the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Client id.
    #[param(value_type = Option<String>)]
    pub client_id: Option<String>,
    /// Agency code.
    pub agency: Option<String>,
    /// Resource type (`worker`, `residence_permit`, ...).
    pub resource_type: Option<String>,
    /// HTTP status, e.g. 403 for denied accesses.
    #[param(value_type = Option<i64>, minimum = 100, maximum = 599)]
    pub status: Option<String>,
    /// From this day (YYYY-MM-DD, UTC).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub from: Option<String>,
    /// Up to and including this day (YYYY-MM-DD, UTC).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub until: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Read the audit log (auditors: `audit:read` scope).
///
/// Every request that touched personal data, granted or denied, in chain
/// order. Each event carries the SHA-256 of the previous one, so a gap or an
/// edit is detectable (`sinergi audit verify`).
#[utoipa::path(
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "One page of events", body = Page<AuditEvent>),
        (status = 400, description = "Invalid filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "No audit:read scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/audit-events")]
pub async fn list_audit_events(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(Request::new(Channel::AuditLog, &[]))?;
    let q: AuditQuery = parse_query(&req)?;
    let mut ck = Checker::default();
    let from = date_param(&mut ck, "from", q.from.as_deref());
    let until = date_param(&mut ck, "until", q.until.as_deref());
    let status = ck.check_opt("status", q.status.as_deref(), |s| {
        s.parse::<i32>()
            .ok()
            .filter(|n| (100..=599).contains(n))
            .ok_or_else(|| {
                sinergi_domain::FieldError::new(
                    "invalid_status",
                    "status must be an HTTP status code",
                )
            })
    });
    ck.finish()?;
    let day_start = |d: NaiveDate| d.and_hms_opt(0, 0, 0);
    let day_end = |d: NaiveDate| d.and_hms_micro_opt(23, 59, 59, 999_999);
    let filter = AuditFilter {
        client_id: q.client_id.clone(),
        agency_code: q.agency.clone(),
        resource_type: q.resource_type.clone(),
        subject_worker_id: None,
        status: status.flatten(),
        from: from.flatten().and_then(day_start),
        until: until.flatten().and_then(day_end),
    };
    let page = events_page(
        &state,
        &caller,
        "audit",
        filter,
        q.limit.as_deref(),
        q.cursor.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Paging for the access log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccessLogQuery {
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Who accessed this person's data, when and why.
///
/// For the agencies that hold records about the person (and auditors). Item
/// reads and writes are listed; list reads are logged with a count only.
/// Case references are shown only on your own agency's events (auditors see
/// all): another agency's case number is not yours to read.
#[utoipa::path(
    tag = "audit",
    params(PurposeHeaders, ("id" = uuid::Uuid, Path, description = "Sinergi worker id"), AccessLogQuery),
    responses(
        (status = 200, description = "One page of events", body = Page<AuditEvent>),
        (status = 404, description = "Unknown worker, or your agency holds no record about them", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/workers/{id}/access-log")]
pub async fn get_worker_access_log(
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q: AccessLogQuery = parse_query(&req)?;
    let id = id.into_inner();
    caller.audit.subject(Some(&id));
    let db = state.db.clone();
    let (agency, worker) = (caller.agency_code.clone(), id.clone());
    let holds = web::block(move || db.read(|c| records::agency_names_worker(c, &agency, &worker)))
        .await??;
    let grant = caller.allow(Request {
        holds_record: holds,
        ..Request::new(Channel::AccessLog, &[])
    })?;
    let filter = AuditFilter {
        subject_worker_id: Some(id.clone()),
        ..Default::default()
    };
    let collection = format!("access-log:{id}");
    let mut page = events_page(
        &state,
        &caller,
        &collection,
        filter,
        q.limit.as_deref(),
        q.cursor.as_deref(),
    )
    .await?;
    if grant.foreign_case_refs_hidden {
        for e in &mut page.items {
            if e.agency.as_deref() != Some(caller.agency_code.as_str()) {
                e.case_ref = None;
            }
        }
    }
    respond::page(&caller, page)
}

fn action_schema() -> utoipa::openapi::Object {
    crate::contract::one_of(&["read", "list", "write"])
}
