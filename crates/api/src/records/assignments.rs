//! Assignments: a worker placed in an approved RPTKA position, keyed by the
//! writing agency's `source_ref`. Written by manpower agencies.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sinergi_db::records::{
    self as store, IfMatch, Ownership, RecordFilter, RecordIndex, RecordRow, RecordWrite,
    WriteOutcome,
};
use sinergi_db::StoreError;
use sinergi_domain::{
    AssignmentStatus, CountryCode, DocumentNo, Nib, Nik, Period, PersonName, RecordType, SourceRef,
};
use utoipa::{IntoParams, ToSchema};

use super::common::{self, date_param, passed, Checker, Meta, Page, Prepared};
use super::person::{PersonDoc, PersonInput};
use super::rptka_approvals::RptkaApprovalDoc;
use crate::auth::{Caller, Scope};
use crate::error::{ApiError, Problem};
use crate::extract::{if_match, page_request, parse_query, JsonBody};
use crate::state::AppState;

const TYPE: RecordType = RecordType::Assignment;

/// The Indonesian companion worker (*tenaga kerja pendamping*).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Companion {
    /// NIK, 16 digits.
    #[schema(example = "6402061203900001")]
    pub nik: String,
    /// Name.
    #[schema(example = "Budi Santoso")]
    pub name: String,
}

/// An assignment as manpower pushes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentInput {
    /// Your agency's own id; pushing it again updates the same assignment.
    #[schema(example = "TKA-2025-000812")]
    pub source_ref: String,
    /// The worker.
    pub worker: PersonInput,
    /// RPTKA approval number (required unless `legacy_notifikasi_no` is given).
    #[schema(example = "KEP.12345/PPTKA/PTA/2025")]
    pub approval_no: Option<String>,
    /// Position code within the approval.
    #[schema(example = "P01")]
    pub position_code: Option<String>,
    /// Employer NIB (must be the approval's employer).
    #[schema(example = "9120001234567")]
    pub employer_nib: String,
    /// First day of work.
    pub start_on: NaiveDate,
    /// Last day of work.
    pub end_on: NaiveDate,
    /// `active`, `ended` or `terminated`.
    #[schema(example = "active")]
    pub status: String,
    /// Companion worker, or null.
    pub companion: Option<Companion>,
    /// Notifikasi number of a pre-2021 record.
    pub legacy_notifikasi_no: Option<String>,
}

/// An assignment as stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssignmentDoc {
    /// The writing agency's id.
    pub source_ref: String,
    /// The worker as reported.
    pub worker: PersonDoc,
    /// Approval number.
    pub approval_no: Option<String>,
    /// Position code.
    pub position_code: Option<String>,
    /// Employer NIB.
    pub employer_nib: String,
    /// First day.
    pub start_on: NaiveDate,
    /// Last day.
    pub end_on: NaiveDate,
    /// Status.
    pub status: String,
    /// Companion worker.
    pub companion: Option<Companion>,
    /// Legacy notifikasi number.
    pub legacy_notifikasi_no: Option<String>,
}

/// An assignment with its Sinergi id, worker and provenance.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentRecord {
    /// Sinergi id.
    pub id: String,
    /// The assignment.
    #[serde(flatten)]
    pub data: AssignmentDoc,
    /// Sinergi id of the worker.
    pub worker_id: Option<String>,
    /// Who stored it and when.
    pub meta: Meta,
}

/// The view of a stored assignment.
pub fn view(row: &RecordRow) -> Result<AssignmentRecord, ApiError> {
    Ok(AssignmentRecord {
        id: row.record_key.clone(),
        data: common::doc(row)?,
        worker_id: row.worker_id.clone(),
        meta: Meta::of(row),
    })
}

fn reference(field: &str, code: &'static str, message: String) -> StoreError {
    StoreError::Reference {
        field: field.into(),
        code,
        message,
    }
}

/// The approval and position an assignment names must exist and fit.
fn check_approval(
    conn: &mut sinergi_db::DbConn,
    approval_no: &str,
    position_code: Option<&str>,
    employer_nib: &str,
) -> Result<(), StoreError> {
    let row = store::get_record(conn, RecordType::RptkaApproval.as_str(), approval_no)?
        .ok_or_else(|| {
            reference(
                "approval_no",
                "unknown_approval",
                "no RPTKA approval with this number; push the approval first".into(),
            )
        })?;
    let approval: RptkaApprovalDoc = serde_json::from_str(&row.doc)?;
    if approval.employer_nib != employer_nib {
        return Err(reference(
            "employer_nib",
            "employer_mismatch",
            format!("the approval belongs to employer {}", approval.employer_nib),
        ));
    }
    if let Some(code) = position_code {
        if !approval.positions.iter().any(|p| p.code == code) {
            return Err(reference(
                "position_code",
                "unknown_position",
                "the approval has no position with this code".into(),
            ));
        }
    }
    Ok(())
}

/// Validates an assignment for `caller` into a write ready to store.
pub fn prepare(
    caller: &Caller,
    input: &AssignmentInput,
    precondition: Option<IfMatch>,
) -> Result<Prepared, ApiError> {
    caller.require_writer(TYPE)?;
    let mut ck = Checker::default();
    let sref = ck.check("source_ref", SourceRef::parse(&input.source_ref));
    let worker = input.worker.check(&mut ck, "worker");
    let approval = ck.check_opt(
        "approval_no",
        input.approval_no.as_deref(),
        DocumentNo::parse,
    );
    let position = ck.check_opt(
        "position_code",
        input.position_code.as_deref(),
        DocumentNo::parse,
    );
    let nib = ck.check("employer_nib", Nib::parse(&input.employer_nib));
    let period = ck.check("end_on", Period::new(input.start_on, input.end_on));
    let status = ck.check("status", AssignmentStatus::parse(&input.status));
    let legacy = ck.check_opt(
        "legacy_notifikasi_no",
        input.legacy_notifikasi_no.as_deref(),
        DocumentNo::parse,
    );
    if input.approval_no.is_none() && input.legacy_notifikasi_no.is_none() {
        ck.fail(
            "approval_no",
            "required",
            "give approval_no (or legacy_notifikasi_no for a pre-2021 record)",
        );
    }
    if input.approval_no.is_some() && input.position_code.is_none() {
        ck.fail(
            "position_code",
            "required",
            "give the position code within the approval",
        );
    }
    let companion = match &input.companion {
        None => Some(None),
        Some(c) => {
            let nik = ck.check("companion.nik", Nik::parse(&c.nik));
            let name = ck.check("companion.name", PersonName::parse(&c.name));
            match (nik, name) {
                (Some(nik), Some(name)) => Some(Some(Companion {
                    nik: nik.as_str().to_string(),
                    name: name.as_str().to_string(),
                })),
                _ => None,
            }
        }
    };
    ck.finish()?;
    let period = passed(period)?;
    let doc = AssignmentDoc {
        source_ref: passed(sref)?.as_str().to_string(),
        worker: passed(worker)?,
        approval_no: passed(approval)?.map(|a| a.as_str().to_string()),
        position_code: passed(position)?.map(|p| p.as_str().to_string()),
        employer_nib: passed(nib)?.as_str().to_string(),
        start_on: period.from(),
        end_on: period.until(),
        status: passed(status)?.as_str().to_string(),
        companion: passed(companion)?,
        legacy_notifikasi_no: passed(legacy)?.map(|l| l.as_str().to_string()),
    };
    let write = RecordWrite {
        record_type: TYPE.as_str(),
        natural_key: None,
        source_ref: Some(doc.source_ref.clone()),
        agency_code: caller.agency_code.clone(),
        client_id: caller.client_id.clone(),
        person: Some(doc.worker.person_ref()),
        index: RecordIndex {
            employer_nib: Some(doc.employer_nib.clone()),
            status: Some(doc.status.clone()),
            kind: doc.position_code.clone(),
            ref_key: doc.approval_no.clone(),
            valid_from: Some(doc.start_on),
            valid_until: Some(doc.end_on),
            ..Default::default()
        },
        doc: common::to_doc(&doc)?,
        if_match: precondition,
        ownership: Ownership::CreatorOnly,
        now: chrono::Utc::now().naive_utc(),
    };
    let (approval_no, position_code, employer) = (
        doc.approval_no.clone(),
        doc.position_code.clone(),
        doc.employer_nib.clone(),
    );
    Ok(Prepared::new(write, move |c| match &approval_no {
        Some(a) => check_approval(c, a, position_code.as_deref(), &employer),
        None => Ok(()),
    }))
}

/// Validates and stores an assignment for `caller`.
pub async fn push(
    state: &AppState,
    caller: &Caller,
    input: &AssignmentInput,
    precondition: Option<IfMatch>,
) -> Result<(WriteOutcome, RecordRow), ApiError> {
    let prepared = prepare(caller, input, precondition)?;
    common::store(state, caller, prepared).await
}

/// Create or update an assignment by your `source_ref`.
///
/// The approval and position must exist in Sinergi (push the RPTKA approval
/// first) and belong to `employer_nib`; otherwise 422 names the field.
#[utoipa::path(
    tag = "assignments",
    params(("X-Purpose" = String, Header, description = "Why you read this personal data: supervision, permit-processing, enforcement or statistics (must be registered for your client)"), ("X-Case-Ref" = Option<String>, Header, description = "Your case or letter reference, kept in the audit log"), ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    request_body = AssignmentInput,
    responses(
        (status = 201, description = "Created", body = AssignmentRecord, headers(("ETag" = String), ("Location" = String))),
        (status = 200, description = "Updated or unchanged", body = AssignmentRecord, headers(("ETag" = String))),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a manpower agency", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown approval or position, or another employer's approval", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/assignments")]
pub async fn upsert_assignment(
    req: HttpRequest,
    caller: Caller,
    body: JsonBody<AssignmentInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (outcome, row) = push(&state, &caller, &body.0, if_match(&req)?).await?;
    let location = format!("/api/v1/assignments/{}", row.record_key);
    common::written(&caller, outcome, &row, location, view(&row)?)
}

/// Read one assignment.
#[utoipa::path(
    tag = "assignments",
    params(("id" = String, Path, description = "Sinergi id of the assignment")),
    responses(
        (status = 200, description = "The assignment", body = AssignmentRecord, headers(("ETag" = String))),
        (status = 404, description = "Unknown id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/assignments/{id}")]
pub async fn get_assignment(
    caller: Caller,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::RecordsRead)?;
    caller.require_purpose()?;
    let row = common::load(&state, TYPE.as_str(), id.into_inner()).await?;
    common::item(&caller, &row, view(&row)?)
}

/// Filters for listing assignments.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssignmentQuery {
    /// Employer NIB.
    pub employer: Option<String>,
    /// RPTKA approval number.
    pub approval_no: Option<String>,
    /// Sinergi worker id.
    pub worker_id: Option<String>,
    /// Worker nationality (alpha-3).
    pub nationality: Option<String>,
    /// `active`, `ended` or `terminated`.
    pub status: Option<String>,
    /// Only assignments whose period contains this date (YYYY-MM-DD).
    pub active_on: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List assignments.
#[utoipa::path(
    tag = "assignments",
    params(("X-Purpose" = String, Header, description = "Why you read this personal data: supervision, permit-processing, enforcement or statistics (must be registered for your client)"), ("X-Case-Ref" = Option<String>, Header, description = "Your case or letter reference, kept in the audit log"), AssignmentQuery),
    responses(
        (status = 200, description = "One page", body = Page<AssignmentRecord>),
        (status = 400, description = "Invalid filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/assignments")]
pub async fn list_assignments(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::RecordsRead)?;
    caller.require_purpose()?;
    let q: AssignmentQuery = parse_query(&req)?;
    let mut ck = Checker::default();
    let employer = ck.check_opt("employer", q.employer.as_deref(), Nib::parse);
    let approval = ck.check_opt("approval_no", q.approval_no.as_deref(), DocumentNo::parse);
    let nationality = ck.check_opt("nationality", q.nationality.as_deref(), CountryCode::parse);
    let status = ck.check_opt("status", q.status.as_deref(), AssignmentStatus::parse);
    let active_on = date_param(&mut ck, "active_on", q.active_on.as_deref());
    ck.finish()?;
    let page = page_request(
        &state.cursor_key(&caller),
        TYPE.as_str(),
        q.limit.as_deref(),
        q.cursor.as_deref(),
    )?;
    let filter = RecordFilter {
        employer_nib: passed(employer)?.map(|n| n.as_str().to_string()),
        ref_key: passed(approval)?.map(|a| a.as_str().to_string()),
        worker_id: q.worker_id.clone(),
        nationality: passed(nationality)?.map(|c| c.as_str().to_string()),
        status: passed(status)?.map(|s| s.as_str().to_string()),
        valid_on: passed(active_on)?,
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
