//! RPTKA approvals (work approvals for foreign workers) with their positions,
//! keyed by approval number. Written by manpower agencies.

use std::collections::HashSet;

use actix_web::{get, put, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sinergi_db::records::{
    IfMatch, Ownership, RecordFilter, RecordIndex, RecordRow, RecordWrite, WriteOutcome,
};
use sinergi_domain::{
    is_closed_position, ApprovalStatus, ApprovalType, DocumentNo, Nib, Period, PositionLevel,
    RecordType, RegionCode, SourceRef,
};
use utoipa::{IntoParams, ToSchema};

use super::common::{self, date_param, passed, Checker, Meta, Page, Prepared};
use crate::auth::{Caller, Scope};
use crate::error::{ApiError, Problem};
use crate::extract::{if_match, page_request, parse_query, JsonBody};
use crate::state::AppState;

const TYPE: RecordType = RecordType::RptkaApproval;

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
    #[schema(example = "professional")]
    pub level: String,
    /// Approved number of foreign workers in this position.
    #[schema(example = 3)]
    pub headcount: u32,
}

/// An approved position as stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PositionDoc {
    /// Code.
    pub code: String,
    /// Title.
    pub title: String,
    /// Level.
    pub level: String,
    /// Approved headcount.
    pub headcount: u32,
    /// Whether the title is closed to foreigners (Kepmenaker 349/2019).
    pub closed_position: bool,
}

/// An RPTKA approval as manpower pushes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RptkaApprovalInput {
    /// NIB of the employer.
    #[schema(example = "9120001234567")]
    pub employer_nib: String,
    /// `new`, `extension` or `temporary`.
    #[schema(example = "new")]
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
    #[schema(example = "active")]
    pub status: String,
    /// Your agency's own id.
    pub source_ref: Option<String>,
}

/// An RPTKA approval as stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RptkaApprovalDoc {
    /// Approval number.
    pub approval_no: String,
    /// Employer NIB.
    pub employer_nib: String,
    /// Approval type.
    #[serde(rename = "type")]
    pub type_: String,
    /// Issue date.
    pub issued_on: NaiveDate,
    /// First valid day.
    pub valid_from: NaiveDate,
    /// Last valid day.
    pub valid_until: NaiveDate,
    /// Where work is allowed.
    pub location_scope: Vec<String>,
    /// Positions.
    pub positions: Vec<PositionDoc>,
    /// Status.
    pub status: String,
}

/// An RPTKA approval with provenance.
#[derive(Debug, Serialize, ToSchema)]
pub struct RptkaApprovalRecord {
    /// The approval.
    #[serde(flatten)]
    pub data: RptkaApprovalDoc,
    /// Who stored it and when.
    pub meta: Meta,
}

fn view(row: &RecordRow) -> Result<RptkaApprovalRecord, ApiError> {
    Ok(RptkaApprovalRecord {
        data: common::doc(row)?,
        meta: Meta::of(row),
    })
}

fn position_code_ok(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 32
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

/// Validates an approval for `caller` into a write ready to store.
pub fn prepare(
    caller: &Caller,
    approval_no: &str,
    input: &RptkaApprovalInput,
    precondition: Option<IfMatch>,
) -> Result<Prepared, ApiError> {
    caller.require_writer(TYPE)?;
    let mut ck = Checker::default();
    let approval_no = ck.check("approval_no", DocumentNo::parse(approval_no));
    let nib = ck.check("employer_nib", Nib::parse(&input.employer_nib));
    let type_ = ck.check("type", ApprovalType::parse(&input.type_));
    let period = ck.check(
        "valid_until",
        Period::new(input.valid_from, input.valid_until),
    );
    if input.issued_on > input.valid_until {
        ck.fail(
            "issued_on",
            "invalid_date",
            "issued_on must not be after valid_until",
        );
    }
    let status = ck.check("status", ApprovalStatus::parse(&input.status));
    let sref = ck.check_opt("source_ref", input.source_ref.as_deref(), SourceRef::parse);
    let mut scope = Vec::new();
    if input.location_scope.is_empty() {
        ck.fail(
            "location_scope",
            "required",
            "give at least one Kemendagri region code where the work is allowed",
        );
    }
    for (i, code) in input.location_scope.iter().enumerate() {
        if let Some(r) = ck.check(&format!("location_scope[{i}]"), RegionCode::parse(code)) {
            scope.push(r);
        }
    }
    if input.positions.is_empty() {
        ck.fail(
            "positions",
            "required",
            "give at least one approved position",
        );
    }
    if input.positions.len() > 500 {
        ck.fail(
            "positions",
            "too_many",
            "at most 500 positions per approval",
        );
    }
    let mut codes = HashSet::new();
    let mut positions = Vec::new();
    for (i, p) in input.positions.iter().enumerate() {
        let field = |n: &str| format!("positions[{i}].{n}");
        let code = p.code.trim();
        if !position_code_ok(code) {
            ck.fail(
                &field("code"),
                "invalid_position_code",
                "position code must be 1-32 characters A-Z, 0-9, - _ . /",
            );
        } else if !codes.insert(code.to_string()) {
            ck.fail(
                &field("code"),
                "duplicate_position_code",
                "position codes must be unique within the approval",
            );
        }
        let title = ck.text(&field("title"), &p.title, 200);
        let level = ck.check(&field("level"), PositionLevel::parse(&p.level));
        if p.headcount == 0 || p.headcount > 10_000 {
            ck.fail(
                &field("headcount"),
                "invalid_headcount",
                "headcount must be 1 to 10000",
            );
        }
        if let (Some(title), Some(level)) = (title, level) {
            positions.push(PositionDoc {
                code: code.to_string(),
                closed_position: is_closed_position(&title),
                title,
                level: level.as_str().to_string(),
                headcount: p.headcount,
            });
        }
    }
    ck.finish()?;
    for (i, r) in scope.iter().enumerate() {
        caller.require_within(&format!("location_scope[{i}]"), r)?;
    }
    let period = passed(period)?;
    let doc = RptkaApprovalDoc {
        approval_no: passed(approval_no)?.as_str().to_string(),
        employer_nib: passed(nib)?.as_str().to_string(),
        type_: passed(type_)?.as_str().to_string(),
        issued_on: input.issued_on,
        valid_from: period.from(),
        valid_until: period.until(),
        location_scope: scope.iter().map(|r| r.as_str().to_string()).collect(),
        positions,
        status: passed(status)?.as_str().to_string(),
    };
    let write = RecordWrite {
        record_type: TYPE.as_str(),
        natural_key: Some(doc.approval_no.clone()),
        source_ref: passed(sref)?.map(|s| s.as_str().to_string()),
        agency_code: caller.agency_code.clone(),
        client_id: caller.client_id.clone(),
        person: None,
        index: RecordIndex {
            employer_nib: Some(doc.employer_nib.clone()),
            region_code: doc.location_scope.first().cloned(),
            status: Some(doc.status.clone()),
            kind: Some(doc.type_.clone()),
            valid_from: Some(doc.valid_from),
            valid_until: Some(doc.valid_until),
            ..Default::default()
        },
        doc: common::to_doc(&doc)?,
        if_match: precondition,
        ownership: Ownership::CreatorOnly,
        now: chrono::Utc::now().naive_utc(),
    };
    Ok(Prepared::unchecked(write))
}

/// Validates and stores an approval for `caller`.
pub async fn push(
    state: &AppState,
    caller: &Caller,
    approval_no: &str,
    input: &RptkaApprovalInput,
    precondition: Option<IfMatch>,
) -> Result<(WriteOutcome, RecordRow), ApiError> {
    let prepared = prepare(caller, approval_no, input, precondition)?;
    common::store(state, caller, prepared).await
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
    let (outcome, row) = push(&state, &caller, &approval_no, &body.0, if_match(&req)?).await?;
    let location = format!("/api/v1/rptka-approvals/{}", row.record_key);
    common::written(&caller, outcome, &row, location, view(&row)?)
}

/// Read one RPTKA approval.
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
    caller.require(Scope::RecordsRead)?;
    let row = common::load(&state, TYPE.as_str(), approval_no.into_inner()).await?;
    common::item(&caller, &row, view(&row)?)
}

/// Filters for listing approvals.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RptkaApprovalQuery {
    /// Employer NIB.
    pub employer: Option<String>,
    /// `active` or `revoked`.
    pub status: Option<String>,
    /// Only approvals valid on this date (YYYY-MM-DD).
    pub valid_on: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List RPTKA approvals.
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
    caller.require(Scope::RecordsRead)?;
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
        employer_nib: passed(employer)?.map(|n| n.as_str().to_string()),
        status: passed(status)?.map(|s| s.as_str().to_string()),
        valid_on: passed(valid_on)?,
        ..Default::default()
    };
    let (rows, next_cursor) =
        common::list_page(&state, &caller, TYPE.as_str(), filter, page).await?;
    common::page(
        &caller,
        Page {
            items: common::views(&rows, view)?,
            next_cursor,
        },
    )
}
