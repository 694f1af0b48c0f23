//! RPTKA approvals (work approvals for foreign workers) with their positions,
//! keyed by approval number. Written by manpower agencies.

use actix_web::{get, put, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use sinergi_db::records::RecordFilter;
use sinergi_domain::access::{Channel, Request};
use sinergi_domain::records::AnyRecord;
use sinergi_domain::records::{clean_text, Position, Record, RptkaApproval};
use sinergi_domain::{
    ApprovalStatus, ApprovalType, DocumentNo, Nib, PositionLevel, RecordType, RegionCode, SourceRef,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::input::{date_param, passed, Checker};
use super::respond::{self, Page};
use super::store;
use super::view::RptkaApprovalRecord;
use super::RecordApi;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{if_match, page_request, parse_query, JsonBody};
use crate::state::AppState;

const TYPE: RecordType = RptkaApproval::TYPE;

/// One approved position.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionInput {
    /// Position code, unique within the approval.
    #[schema(example = "P01")]
    pub code: String,
    /// Job title (*jabatan*).
    #[schema(example = "Mining Engineer")]
    pub title: String,
    /// `director`, `commissioner`, `manager`, `professional` or `advisor`.
    #[schema(value_type = sinergi_domain::PositionLevel, example = "professional")]
    pub level: String,
    /// Approved number of foreign workers in this position.
    #[schema(example = 3)]
    pub headcount: u32,
}

/// An RPTKA approval as manpower pushes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RptkaApprovalInput {
    /// NIB of the employer.
    #[schema(example = "9120001234567")]
    pub employer_nib: String,
    /// `new`, `extension` or `temporary`.
    #[schema(value_type = sinergi_domain::ApprovalType, example = "new")]
    #[serde(rename = "type")]
    pub type_: String,
    /// Date of issue.
    pub issued_on: NaiveDate,
    /// First valid day.
    pub valid_from: NaiveDate,
    /// Last valid day.
    pub valid_until: NaiveDate,
    /// Kemendagri codes of the regencies or districts where the work is allowed.
    #[schema(example = json!(["64.02"]))]
    pub location_scope: Vec<String>,
    /// The approved positions.
    pub positions: Vec<PositionInput>,
    /// `active` or `revoked`.
    #[schema(value_type = sinergi_domain::ApprovalStatus, example = "active")]
    pub status: String,
    /// Your agency's own id.
    pub source_ref: Option<String>,
}

/// The approval `approval_no` as a domain record, or 400 naming every bad field.
pub fn record(approval_no: &str, input: &RptkaApprovalInput) -> Result<RptkaApproval, ApiError> {
    let mut ck = Checker::default();
    let approval_no = ck.check("approval_no", DocumentNo::parse(approval_no));
    let nib = ck.check("employer_nib", Nib::parse(&input.employer_nib));
    let type_ = ck.check("type", ApprovalType::parse(&input.type_));
    let status = ck.check("status", ApprovalStatus::parse(&input.status));
    let sref = ck.check_opt("source_ref", input.source_ref.as_deref(), SourceRef::parse);
    let scope = ck.check_each(
        "location_scope",
        &input.location_scope,
        RegionCode::parse_known,
    );
    let mut positions = Some(Vec::with_capacity(input.positions.len()));
    for (i, p) in input.positions.iter().enumerate() {
        let field = |n: &str| format!("positions[{i}].{n}");
        let code = p.code.trim();
        let code = match DocumentNo::parse(code) {
            Ok(c) => Some(c),
            Err(_) => {
                ck.fail(
                    &field("code"),
                    "invalid_position_code",
                    "position code must be 1-32 characters A-Z, 0-9, - _ . /",
                );
                None
            }
        };
        let level = ck.check(&field("level"), PositionLevel::parse(&p.level));
        match (code, level, positions.as_mut()) {
            (Some(code), Some(level), Some(all)) => all.push(Position::new(
                code,
                clean_text(&p.title),
                level,
                p.headcount,
            )),
            _ => positions = None,
        }
    }
    let approval = (|| {
        Some(RptkaApproval {
            approval_no: approval_no?,
            employer_nib: nib?,
            type_: type_?,
            issued_on: input.issued_on,
            valid_from: input.valid_from,
            valid_until: input.valid_until,
            location_scope: scope?,
            positions: positions?,
            status: status?,
            source_ref: sref?,
        })
    })();
    let today = sinergi_db::findings::engine::today();
    match &approval {
        Some(r) => ck.violations(r.violations(today)),
        // Dates are checked also when another field keeps the record from being built.
        None => ck.violations(sinergi_domain::records::issued_period_violations(
            input.issued_on,
            input.valid_from,
            input.valid_until,
        )),
    }
    ck.finish()?;
    passed(approval)
}

/// Create or update an RPTKA approval by approval number.
///
/// Positions are replaced as a whole. Titles on the closed list (HR roles,
/// Kepmenaker 349/2019) are accepted and flagged `closed_position`.
#[utoipa::path(
    tag = "rptka-approvals",
    params(("approval_no" = String, Path, description = "Approval number", example = "KEP.12345/PPTKA/PTA/2025"),
           ("If-Match" = Option<String>, Header, description = "ETag of the version you read, or *")),
    request_body = RptkaApprovalInput,
    responses(
        (status = 201, description = "Created", body = RptkaApprovalRecord, headers(("ETag" = String), ("Location" = String))),
        (status = 200, description = "Updated or unchanged", body = RptkaApprovalRecord, headers(("ETag" = String))),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a manpower agency, another agency's approval, or outside jurisdiction", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[put("/api/v1/rptka-approvals/{approval_no}")]
pub async fn upsert_rptka_approval(
    req: HttpRequest,
    caller: Caller,
    approval_no: web::Path<String>,
    body: JsonBody<RptkaApprovalInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    store::may_write(&caller, TYPE)?;
    let approval = record(&approval_no, &body.0)?;
    let stored = store::store(&state, &caller, approval.into(), if_match(&req)?).await?;
    let location = format!("/api/v1/rptka-approvals/{}", stored.row.record_key);
    let view = super::view::raw(&stored.row)?;
    respond::written(&caller, stored.outcome, &stored.row, location, view)
}

/// Read one RPTKA approval.
///
/// One approval by its number, with its positions, quotas and locations. The
/// `ETag` is the version, for `If-Match` on a later write.
#[utoipa::path(
    tag = "rptka-approvals",
    params(("approval_no" = String, Path, description = "Approval number")),
    responses(
        (status = 200, description = "The approval", body = RptkaApprovalRecord, headers(("ETag" = String))),
        (status = 404, description = "Unknown approval", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/rptka-approvals/{approval_no}")]
pub async fn get_rptka_approval(
    caller: Caller,
    approval_no: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let row = store::load(&state, &caller, TYPE, approval_no.into_inner()).await?;
    respond::item(&caller, row.version, super::view::raw(&row)?)
}

/// Filters for listing approvals.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RptkaApprovalQuery {
    /// Employer NIB.
    #[param(value_type = Option<sinergi_domain::Nib>)]
    pub employer: Option<String>,
    /// `active` or `revoked`.
    #[param(value_type = Option<sinergi_domain::ApprovalStatus>)]
    pub status: Option<String>,
    /// Only approvals valid on this date (YYYY-MM-DD).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub valid_on: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List RPTKA approvals.
///
/// RPTKA work approvals with their positions and quotas, filtered by employer,
/// status or a date they are valid on. Not personal data. Pages follow
/// `next_cursor`.
#[utoipa::path(
    tag = "rptka-approvals",
    params(RptkaApprovalQuery),
    responses(
        (status = 200, description = "One page", body = Page<RptkaApprovalRecord>),
        (status = 400, description = "Invalid filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/rptka-approvals")]
pub async fn list_rptka_approvals(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(Request::new(Channel::List, &[TYPE]))?;
    let q: RptkaApprovalQuery = parse_query(&req)?;
    let mut ck = Checker::default();
    let employer = ck.check_opt("employer", q.employer.as_deref(), Nib::parse);
    let status = ck.check_opt("status", q.status.as_deref(), ApprovalStatus::parse);
    let valid_on = date_param(&mut ck, "valid_on", q.valid_on.as_deref());
    ck.finish()?;
    let page = page_request(
        &state.cursor_key(&caller),
        TYPE.as_str(),
        q.limit.as_deref(),
        q.cursor.as_deref(),
    )?;
    let filter = RecordFilter {
        employer_nib: passed(employer)?.map(|n| n.to_string()),
        status: passed(status)?.map(|s| s.as_str().to_string()),
        valid_on: passed(valid_on)?,
        ..Default::default()
    };
    let (rows, next_cursor) = store::list(&state, &caller, TYPE, filter, page).await?;
    respond::record_page(&caller, &rows, next_cursor)
}

fn from_batch(key: Option<&str>, body: &serde_json::Value) -> Result<AnyRecord, ApiError> {
    let key = super::batch_key(key)?;
    Ok(record(key, &super::batch_body::<RptkaApprovalInput>(body)?)?.into())
}

fn routes(cfg: &mut ServiceConfig) {
    cfg.service(upsert_rptka_approval)
        .service(list_rptka_approvals)
        .service(get_rptka_approval);
}

/// The record type's registration: its routes and its batch operations.
pub const API: RecordApi = RecordApi {
    record_type: TYPE,
    from_batch,
    routes,
};
