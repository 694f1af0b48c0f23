//! `/api/v1/findings`: read by all agencies; acknowledged or resolved by the
//! agency kind responsible for acting.

use actix_web::{get, patch, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use sinergi_db::findings::{self, FindingFilter, FindingRow, FindingView};
use sinergi_domain::access::{Channel, Request};
use sinergi_domain::rules::{RuleCode, Severity};
use sinergi_domain::{Nib, RegionCode};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{if_match, page_request, parse_query, JsonBody, PurposeHeaders};
use crate::records::input::{passed, Checker};
use crate::records::paging::read_page;
use crate::records::respond::{self, Page};
use crate::state::AppState;

/// Filters for listing findings.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FindingQuery {
    /// Rule code, e.g. `WORKING_ON_VISIT_PERMIT`.
    #[param(value_type = Option<sinergi_domain::rules::RuleCode>)]
    pub rule: Option<String>,
    /// `info`, `low`, `medium` or `high`.
    #[param(value_type = Option<sinergi_domain::rules::Severity>)]
    pub severity: Option<String>,
    /// `open`, `acknowledged` or `resolved`.
    #[param(value_type = Option<sinergi_domain::rules::FindingStatus>)]
    pub status: Option<String>,
    /// District prefix, e.g. `64.02` or `64.02.12`.
    #[param(value_type = Option<sinergi_domain::RegionCode>)]
    pub region: Option<String>,
    /// Employer NIB.
    #[param(value_type = Option<sinergi_domain::Nib>)]
    pub employer: Option<String>,
    /// Worker id.
    #[param(value_type = Option<uuid::Uuid>)]
    pub worker_id: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn parse_status(s: &str) -> Result<String, sinergi_domain::FieldError> {
    if findings::STATUSES.contains(&s) {
        Ok(s.to_string())
    } else {
        Err(sinergi_domain::FieldError::new(
            "invalid_value",
            "status must be open, acknowledged or resolved",
        ))
    }
}

/// List compliance findings.
///
/// Contradictions between agencies' records, derived by Sinergi and kept up
/// to date as records change and dates pass (daily sweep). Findings name
/// workers and their records: reading them declares a purpose and is audited.
#[utoipa::path(
    tag = "findings",
    params(PurposeHeaders, FindingQuery),
    responses(
        (status = 200, description = "One page of findings", body = Page<FindingView>),
        (status = 400, description = "Invalid filter, limit or cursor, or no X-Purpose", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Purpose not registered for your client", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/findings")]
pub async fn list_findings(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(Request::new(Channel::Findings, &[]))?;
    let q: FindingQuery = parse_query(&req)?;
    let mut ck = Checker::default();
    let rule = ck.check_opt("rule", q.rule.as_deref(), |s| {
        RuleCode::parse(s)
            .ok_or_else(|| sinergi_domain::FieldError::new("invalid_value", "unknown rule code"))
    });
    let severity = ck.check_opt("severity", q.severity.as_deref(), |s| {
        Severity::parse(s).ok_or_else(|| {
            sinergi_domain::FieldError::new(
                "invalid_value",
                "severity must be info, low, medium or high",
            )
        })
    });
    let status = ck.check_opt("status", q.status.as_deref(), parse_status);
    let region = ck.check_opt("region", q.region.as_deref(), RegionCode::parse_known);
    let employer = ck.check_opt("employer", q.employer.as_deref(), Nib::parse);
    ck.finish()?;
    let key = state.cursor_key(&caller);
    let page = page_request(&key, "finding", q.limit.as_deref(), q.cursor.as_deref())?;
    let filter = FindingFilter {
        rule: passed(rule)?.map(|r| r.as_str().to_string()),
        severity: passed(severity)?.map(|s| s.as_str().to_string()),
        status: passed(status)?,
        region_prefix: passed(region)?.map(|r| r.to_string()),
        employer_nib: passed(employer)?.map(|n| n.to_string()),
        worker_id: q.worker_id.clone(),
    };
    let (rows, next_cursor) = read_page(
        &state,
        &key,
        "finding",
        page,
        move |c, after, limit| findings::list(c, &filter, after, limit),
        |r: &FindingRow| r.id.clone(),
    )
    .await?;
    respond::page(
        &caller,
        Page {
            items: rows.iter().map(FindingView::of).collect(),
            next_cursor,
        },
    )
}

/// Read one finding.
///
/// One contradiction between agencies' records: the rule, the subject, the
/// evidence with versions, the responsible agency kind and its status history.
/// Findings concern people: send `X-Purpose`; the read is audited.
#[utoipa::path(
    tag = "findings",
    params(PurposeHeaders, ("id" = uuid::Uuid, Path, description = "Finding id")),
    responses(
        (status = 200, description = "The finding", body = FindingView, headers(("ETag" = String))),
        (status = 400, description = "No X-Purpose", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Purpose not registered for your client", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/findings/{id}")]
pub async fn get_finding(
    caller: Caller,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let id = id.into_inner();
    let row = web::block(move || db.read(|c| findings::get(c, &id))).await??;
    caller
        .audit
        .subject(row.as_ref().and_then(|r| r.worker_id.as_deref()));
    caller.allow(Request::new(Channel::Findings, &[]))?;
    let row = row.ok_or_else(|| ApiError::NotFound("no finding with this id".into()))?;
    respond::item(&caller, row.version, FindingView::of(&row))
}

/// A status change by the responsible agency.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingUpdate {
    /// `acknowledged` (seen, being handled), `resolved` (handled) or `open` (reopen).
    #[schema(value_type = sinergi_domain::rules::FindingStatus, example = "acknowledged")]
    pub status: String,
    /// What was done or decided (kept with the finding).
    #[schema(example = "Employer summoned; RPTKA amendment requested on 2026-11-28")]
    pub note: String,
}

/// Acknowledge or resolve a finding (responsible agency kind only).
///
/// Only agencies of the kind in `responsible` may change the status, and an
/// agency with a jurisdiction only for findings located inside it. A finding
/// resolved by hand stays resolved until its evidence changes; one whose
/// cause disappears from the records is resolved by Sinergi itself.
#[utoipa::path(
    tag = "findings",
    params(("id" = uuid::Uuid, Path, description = "Finding id"),
           ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    request_body = FindingUpdate,
    responses(
        (status = 200, description = "Updated", body = FindingView, headers(("ETag" = String))),
        (status = 400, description = "Invalid status or note", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your agency is not responsible for this finding, or it lies outside your jurisdiction", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/findings/{id}")]
pub async fn update_finding(
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
    body: JsonBody<FindingUpdate>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // Who is responsible and where the finding lies are known once it is read.
    caller.require(crate::auth::Scope::RecordsWrite)?;
    let precondition = if_match(&req)?;
    let mut ck = Checker::default();
    let status = ck.check("status", parse_status(&body.0.status));
    let note = ck.text("note", &body.0.note, 1000);
    ck.finish()?;
    let (status, note) = (passed(status)?, passed(note)?);
    let db = state.db.clone();
    let id = id.into_inner();
    let prov = caller.provenance("write");
    let row =
        web::block(move || findings::set_status(&db, &prov, &id, &status, &note, precondition))
            .await??;
    caller.audit.subject(row.worker_id.as_deref());
    caller.audit.mark_audited();
    state.changes_notify.notify_waiters();
    respond::item(&caller, row.version, FindingView::of(&row))
}
