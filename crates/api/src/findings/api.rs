//! `/api/v1/findings`: read by all agencies; acknowledged or resolved by the
//! agency kind responsible for acting.

use actix_web::http::header;
use actix_web::{get, patch, web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use sinergi_db::findings::{self, FindingFilter};
use sinergi_db::StoreError;
use sinergi_domain::rules::{RuleCode, Severity};
use sinergi_domain::{Nib, RegionCode};
use utoipa::{IntoParams, ToSchema};

use super::engine::SYSTEM;
use super::view::FindingView;
use crate::auth::{Caller, Scope};
use crate::error::{ApiError, Problem};
use crate::extract::{etag, if_match, next_cursor, page_request, parse_query, JsonBody};
use crate::records::common::{passed, Checker, Page};
use crate::state::AppState;

/// Filters for listing findings.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FindingQuery {
    /// Rule code, e.g. `WORKING_ON_VISIT_PERMIT`.
    pub rule: Option<String>,
    /// `info`, `low`, `medium` or `high`.
    pub severity: Option<String>,
    /// `open`, `acknowledged` or `resolved`.
    pub status: Option<String>,
    /// District prefix, e.g. `64.02` or `64.02.12`.
    pub region: Option<String>,
    /// Employer NIB.
    pub employer: Option<String>,
    /// Worker id.
    pub worker_id: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn parse_status(s: &str) -> Result<String, sinergi_domain::FieldError> {
    match s {
        "open" | "acknowledged" | "resolved" => Ok(s.to_string()),
        _ => Err(sinergi_domain::FieldError::new(
            "invalid_value",
            "status must be open, acknowledged or resolved",
        )),
    }
}

/// List compliance findings.
///
/// Contradictions between agencies' records, derived by Sinergi and kept up
/// to date as records change and dates pass (daily sweep).
#[utoipa::path(
    tag = "findings",
    params(FindingQuery),
    responses(
        (status = 200, description = "One page of findings", body = Page<FindingView>),
        (status = 400, description = "Invalid filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/findings")]
pub async fn list_findings(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::RecordsRead)?;
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
    let region = ck.check_opt("region", q.region.as_deref(), RegionCode::parse);
    let employer = ck.check_opt("employer", q.employer.as_deref(), Nib::parse);
    ck.finish()?;
    let key = state.cursor_key(&caller);
    let page = page_request(&key, "finding", q.limit.as_deref(), q.cursor.as_deref())?;
    let filter = FindingFilter {
        rule: passed(rule)?.map(|r| r.as_str().to_string()),
        severity: passed(severity)?.map(|s| s.as_str().to_string()),
        status: passed(status)?,
        region_prefix: passed(region)?.map(|r| r.as_str().to_string()),
        employer_nib: passed(employer)?.map(|n| n.as_str().to_string()),
        worker_id: q.worker_id.clone(),
    };
    let db = state.db.clone();
    let after = page.after.clone();
    let mut rows = web::block(move || {
        db.read(|c| findings::list(c, &filter, after.as_deref(), page.limit + 1))
    })
    .await??;
    let next = if rows.len() as i64 > page.limit {
        rows.truncate(page.limit as usize);
        rows.last().map(|r| next_cursor(&key, "finding", &r.id))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(Page {
        items: rows.iter().map(FindingView::of).collect(),
        next_cursor: next,
    }))
}

/// Read one finding.
#[utoipa::path(
    tag = "findings",
    params(("id" = String, Path, description = "Finding id")),
    responses(
        (status = 200, description = "The finding", body = FindingView, headers(("ETag" = String))),
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
    caller.require(Scope::RecordsRead)?;
    let db = state.db.clone();
    let id = id.into_inner();
    let row = web::block(move || db.read(|c| findings::get(c, &id)))
        .await??
        .ok_or_else(|| ApiError::NotFound("no finding with this id".into()))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(row.version)))
        .json(FindingView::of(&row)))
}

/// A status change by the responsible agency.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingUpdate {
    /// `acknowledged` (seen, being handled), `resolved` (handled) or `open` (reopen).
    #[schema(example = "acknowledged")]
    pub status: String,
    /// What was done or decided (kept with the finding).
    #[schema(example = "Employer summoned; RPTKA amendment requested on 2026-11-28")]
    pub note: String,
}

/// Acknowledge or resolve a finding (responsible agency kind only).
///
/// Only agencies of the kind in `responsible` may change the status. A
/// finding resolved by hand stays resolved until its evidence changes; one
/// whose cause disappears from the records is resolved by Sinergi itself.
#[utoipa::path(
    tag = "findings",
    params(("id" = String, Path, description = "Finding id"),
           ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    request_body = FindingUpdate,
    responses(
        (status = 200, description = "Updated", body = FindingView, headers(("ETag" = String))),
        (status = 400, description = "Invalid status or note", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your agency is not responsible for this finding", body = Problem, content_type = "application/problem+json"),
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
    caller.require(Scope::RecordsWrite)?;
    let precondition = if_match(&req)?;
    let mut ck = Checker::default();
    let status = ck.check("status", parse_status(&body.0.status));
    let note = ck.text("note", &body.0.note, 1000);
    ck.finish()?;
    let (status, note) = (passed(status)?, passed(note)?);
    let db = state.db.clone();
    let id = id.into_inner();
    let by = format!("{}/{}", caller.agency_code, caller.client_id);
    let kind = caller.agency_kind.as_str().to_string();
    let row = web::block(move || {
        db.write(|c| {
            let old = findings::get(c, &id)?.ok_or(StoreError::NotFound)?;
            if old.responsible != kind {
                return Err(StoreError::Conflict {
                    code: "not_responsible",
                    message: format!("only {} agencies act on this finding", old.responsible),
                });
            }
            if let Some(sinergi_db::records::IfMatch::Version(v)) = precondition {
                if v != old.version {
                    return Err(StoreError::PreconditionFailed {
                        current: Some(old.version),
                    });
                }
            }
            let mut row = old.clone();
            row.status = status.clone();
            row.status_by = by.clone();
            row.status_note = Some(note.clone());
            row.status_changed_at = Utc::now().naive_utc();
            row.version = old.version + 1;
            findings::update(c, &row, old.version)?;
            let mut journal = sinergi_db::journal::Journal::default();
            super::engine::announce_change(&mut journal, &row)?;
            journal.write(c)?;
            Ok(row)
        })
    })
    .await?
    .map_err(|e| match e {
        StoreError::Conflict {
            code: "not_responsible",
            message,
        } => ApiError::Forbidden("not_responsible", message),
        other => ApiError::from(other),
    })?;
    state.changes_notify.notify_waiters();
    let _ = SYSTEM;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(row.version)))
        .json(FindingView::of(&row)))
}
