//! Assignments: a worker placed in an approved RPTKA position, keyed by the
//! writing agency's `source_ref`. Written by manpower agencies.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use sinergi_db::records::RecordFilter;
use sinergi_domain::access::{Channel, Request};
use sinergi_domain::records::AnyRecord;
use sinergi_domain::records::{Assignment, Companion, Record};
use sinergi_domain::{
    AssignmentStatus, CountryCode, DocumentNo, Nib, Nik, PersonName, RecordType, SourceRef,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::input::{date_param, passed, Checker};
use super::person::PersonInput;
use super::respond::{self, Page};
use super::store;
use super::view::AssignmentRecord;
use super::RecordApi;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{if_match, page_request, parse_query, JsonBody, PurposeHeaders};
use crate::state::AppState;

const TYPE: RecordType = Assignment::TYPE;

/// The Indonesian companion worker (*tenaga kerja pendamping*).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanionInput {
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
    #[schema(value_type = sinergi_domain::AssignmentStatus, example = "active")]
    pub status: String,
    /// Companion worker, or null.
    pub companion: Option<CompanionInput>,
    /// Notifikasi number of a pre-2021 record.
    pub legacy_notifikasi_no: Option<String>,
    /// Sinergi id of the work site the worker is placed at (from
    /// `/api/v1/work-sites`; a site of the same employer).
    #[schema(value_type = Option<uuid::Uuid>)]
    pub work_site_id: Option<String>,
}

/// The assignment as a domain record, or 400 naming every bad field.
pub fn record(input: &AssignmentInput) -> Result<Assignment, ApiError> {
    let mut ck = Checker::default();
    let sref = ck.check("source_ref", SourceRef::parse(&input.source_ref));
    let worker = input.worker.person(&mut ck, "worker");
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
    let status = ck.check("status", AssignmentStatus::parse(&input.status));
    let legacy = ck.check_opt(
        "legacy_notifikasi_no",
        input.legacy_notifikasi_no.as_deref(),
        DocumentNo::parse,
    );
    let site = ck.check_opt("work_site_id", input.work_site_id.as_deref(), |s| {
        uuid::Uuid::parse_str(s.trim())
            .map(|id| id.to_string())
            .map_err(|_| {
                sinergi_domain::FieldError::new(
                    "invalid_id",
                    "work_site_id must be a Sinergi id (a UUID) from /api/v1/work-sites",
                )
            })
    });
    let companion = match &input.companion {
        None => Some(None),
        Some(c) => {
            let nik = ck.check("companion.nik", Nik::parse(&c.nik));
            let name = ck.check("companion.name", PersonName::parse(&c.name));
            match (nik, name) {
                (Some(nik), Some(name)) => Some(Some(Companion { nik, name })),
                _ => None,
            }
        }
    };
    let assignment = (|| {
        Some(Assignment {
            source_ref: sref?,
            worker: worker?,
            approval_no: approval?,
            position_code: position?,
            employer_nib: nib?,
            start_on: input.start_on,
            end_on: input.end_on,
            status: status?,
            companion: companion?,
            legacy_notifikasi_no: legacy?,
            work_site_id: site?,
        })
    })();
    let today = sinergi_db::findings::engine::today();
    match &assignment {
        Some(r) => ck.violations(r.violations(today)),
        // Dates are checked also when another field keeps the record from being built.
        None => ck.violations(
            [
                sinergi_domain::records::date_violations(
                    &[
                        ("start_on", Some(input.start_on)),
                        ("end_on", Some(input.end_on)),
                    ],
                    &[("start_on", "end_on")],
                ),
                sinergi_domain::records::Person::date_violations(
                    "worker",
                    input.worker.birth_date,
                    input.worker.passport_expires_on,
                    today,
                ),
            ]
            .concat(),
        ),
    }
    ck.finish()?;
    passed(assignment)
}

/// Create or update an assignment by your `source_ref`.
///
/// The approval and position must exist in Sinergi (push the RPTKA approval
/// first) and belong to `employer_nib`; otherwise 422 names the field. An
/// agency with a jurisdiction may place workers only under approvals whose
/// location scope lies inside it.
#[utoipa::path(
    tag = "assignments",
    params(("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    request_body = AssignmentInput,
    responses(
        (status = 201, description = "Created", body = AssignmentRecord, headers(("ETag" = String), ("Location" = String))),
        (status = 200, description = "Updated or unchanged", body = AssignmentRecord, headers(("ETag" = String))),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a manpower agency, another agency's assignment, or an approval outside the jurisdiction", body = Problem, content_type = "application/problem+json"),
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
    store::may_write(&caller, TYPE)?;
    let assignment = record(&body.0)?;
    let stored = store::store(&state, &caller, assignment.into(), if_match(&req)?).await?;
    let location = format!("/api/v1/assignments/{}", stored.row.record_key);
    let view = super::view::raw(&stored.row)?;
    respond::written(&caller, stored.outcome, &stored.row, location, view)
}

/// Read one assignment.
///
/// The assignment as the manpower agency pushed it, with its version and
/// provenance. Personal data: send `X-Purpose`; the read is audited. The `ETag`
/// is the version, for `If-Match` on a later write.
#[utoipa::path(
    tag = "assignments",
    params(PurposeHeaders, ("id" = uuid::Uuid, Path, description = "Sinergi id of the assignment")),
    responses(
        (status = 200, description = "The assignment", body = AssignmentRecord, headers(("ETag" = String))),
        (status = 400, description = "No X-Purpose", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Purpose not registered for your client", body = Problem, content_type = "application/problem+json"),
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
    let row = store::load(&state, &caller, TYPE, id.into_inner()).await?;
    respond::item(&caller, row.version, super::view::raw(&row)?)
}

/// Filters for listing assignments.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssignmentQuery {
    /// Employer NIB.
    #[param(value_type = Option<sinergi_domain::Nib>)]
    pub employer: Option<String>,
    /// RPTKA approval number.
    pub approval_no: Option<String>,
    /// Sinergi worker id.
    #[param(value_type = Option<uuid::Uuid>)]
    pub worker_id: Option<String>,
    /// Worker nationality (alpha-3).
    #[param(value_type = Option<sinergi_domain::CountryCode>)]
    pub nationality: Option<String>,
    /// `active`, `ended` or `terminated`.
    #[param(value_type = Option<sinergi_domain::AssignmentStatus>)]
    pub status: Option<String>,
    /// Only assignments whose period contains this date (YYYY-MM-DD).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub active_on: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List assignments.
///
/// Assignments of workers to approved positions, filtered by employer,
/// approval, worker, nationality, status or a date they are active on. Personal
/// data: send `X-Purpose`; the list read is audited with its count. Pages
/// follow `next_cursor`.
#[utoipa::path(
    tag = "assignments",
    params(PurposeHeaders, AssignmentQuery),
    responses(
        (status = 200, description = "One page", body = Page<AssignmentRecord>),
        (status = 400, description = "Invalid filter, limit or cursor, or no X-Purpose", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Purpose not registered for your client", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/assignments")]
pub async fn list_assignments(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(Request::new(Channel::List, &[TYPE]))?;
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
        employer_nib: passed(employer)?.map(|n| n.to_string()),
        ref_key: passed(approval)?.map(|a| a.to_string()),
        worker_id: q.worker_id.clone(),
        nationality: passed(nationality)?.map(|c| c.to_string()),
        status: passed(status)?.map(|s| s.as_str().to_string()),
        valid_on: passed(active_on)?,
        ..Default::default()
    };
    let (rows, next_cursor) = store::list(&state, &caller, TYPE, filter, page).await?;
    respond::record_page(&caller, &rows, next_cursor)
}

fn from_batch(key: Option<&str>, body: &serde_json::Value) -> Result<AnyRecord, ApiError> {
    super::no_batch_key(key)?;
    Ok(record(&super::batch_body::<AssignmentInput>(body)?)?.into())
}

fn routes(cfg: &mut ServiceConfig) {
    cfg.service(upsert_assignment)
        .service(list_assignments)
        .service(get_assignment);
}

/// The record type's registration: its routes and its batch operations.
pub const API: RecordApi = RecordApi {
    record_type: TYPE,
    from_batch,
    routes,
};
