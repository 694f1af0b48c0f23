//! Residence permits (ITAS, ITAP, ITK), keyed by permit number. Written by
//! immigration agencies; the named person is resolved to one worker.

use actix_web::{get, put, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sinergi_db::records::{
    IfMatch, Ownership, RecordFilter, RecordIndex, RecordRow, RecordWrite, WriteOutcome,
};
use sinergi_domain::{
    CountryCode, DocumentNo, Nib, Period, PermitKind, PermitStatus, RecordType, RegionCode,
    SourceRef, VisaIndex,
};
use utoipa::{IntoParams, ToSchema};

use super::common::{self, date_param, passed, Checker, Meta, Page, Prepared};
use super::person::{PersonDoc, PersonInput};
use crate::auth::{Caller, Scope};
use crate::error::{ApiError, Problem};
use crate::extract::{if_match, page_request, parse_query, JsonBody};
use crate::state::AppState;

const TYPE: RecordType = RecordType::ResidencePermit;

/// A residence permit as immigration pushes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResidencePermitInput {
    /// The holder.
    pub worker: PersonInput,
    /// `ITAS` (limited stay), `ITAP` (permanent stay) or `ITK` (visit; may not work).
    #[schema(example = "ITAS")]
    pub kind: String,
    /// Visa index as issued (`E23`, legacy `C312`, ...).
    #[schema(example = "E23")]
    pub visa_index: Option<String>,
    /// NIB of the sponsoring employer.
    #[schema(example = "9120001234567")]
    pub sponsor_nib: Option<String>,
    /// Date of issue.
    pub issued_on: NaiveDate,
    /// First valid day.
    pub valid_from: NaiveDate,
    /// Last valid day.
    pub valid_until: NaiveDate,
    /// Issuing immigration office.
    #[schema(example = "Kantor Imigrasi Kelas I TPI Samarinda")]
    pub issuing_office: Option<String>,
    /// Kemendagri code of the holder's address.
    #[schema(example = "64.02.06")]
    pub address_region_code: Option<String>,
    /// `active`, `cancelled` or `exited`.
    #[schema(example = "active")]
    pub status: String,
    /// Your agency's own id.
    pub source_ref: Option<String>,
}

/// A residence permit as stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResidencePermitDoc {
    /// Permit number.
    pub permit_no: String,
    /// The holder as reported.
    pub worker: PersonDoc,
    /// Permit kind.
    pub kind: String,
    /// Visa index.
    pub visa_index: Option<String>,
    /// Sponsor NIB.
    pub sponsor_nib: Option<String>,
    /// Issue date.
    pub issued_on: NaiveDate,
    /// First valid day.
    pub valid_from: NaiveDate,
    /// Last valid day.
    pub valid_until: NaiveDate,
    /// Issuing office.
    pub issuing_office: Option<String>,
    /// Address region.
    pub address_region_code: Option<String>,
    /// Status.
    pub status: String,
}

/// A residence permit with the worker it was resolved to and provenance.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResidencePermitRecord {
    /// The permit.
    #[serde(flatten)]
    pub data: ResidencePermitDoc,
    /// Sinergi id of the holder (see `/api/v1/workers/{id}`).
    pub worker_id: Option<String>,
    /// Who stored it and when.
    pub meta: Meta,
}

/// The view of a stored permit.
pub fn view(row: &RecordRow) -> Result<ResidencePermitRecord, ApiError> {
    Ok(ResidencePermitRecord {
        data: common::doc(row)?,
        worker_id: row.worker_id.clone(),
        meta: Meta::of(row),
    })
}

/// Validates a permit for `caller` into a write ready to store.
pub fn prepare(
    caller: &Caller,
    permit_no: &str,
    input: &ResidencePermitInput,
    precondition: Option<IfMatch>,
) -> Result<Prepared, ApiError> {
    caller.require_writer(TYPE)?;
    let mut ck = Checker::default();
    let permit_no = ck.check("permit_no", DocumentNo::parse(permit_no));
    let worker = input.worker.check(&mut ck, "worker");
    let kind = ck.check("kind", PermitKind::parse(&input.kind));
    let visa = ck.check_opt("visa_index", input.visa_index.as_deref(), VisaIndex::parse);
    let sponsor = ck.check_opt("sponsor_nib", input.sponsor_nib.as_deref(), Nib::parse);
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
    let office = ck.opt_text("issuing_office", input.issuing_office.as_deref(), 200);
    let region = ck.check_opt(
        "address_region_code",
        input.address_region_code.as_deref(),
        RegionCode::parse,
    );
    let status = ck.check("status", PermitStatus::parse(&input.status));
    let sref = ck.check_opt("source_ref", input.source_ref.as_deref(), SourceRef::parse);
    if let (Some(PermitKind::Itas | PermitKind::Itap), Some(None)) = (kind, &sponsor) {
        ck.fail(
            "sponsor_nib",
            "required",
            "an ITAS or ITAP for work needs the sponsoring employer's NIB",
        );
    }
    ck.finish()?;
    let region = passed(region)?;
    if let Some(r) = &region {
        caller.require_within("address_region_code", r)?;
    }
    let period = passed(period)?;
    let worker = passed(worker)?;
    let doc = ResidencePermitDoc {
        permit_no: passed(permit_no)?.as_str().to_string(),
        kind: passed(kind)?.as_str().to_string(),
        visa_index: passed(visa)?.map(|v| v.as_str().to_string()),
        sponsor_nib: passed(sponsor)?.map(|n| n.as_str().to_string()),
        issued_on: input.issued_on,
        valid_from: period.from(),
        valid_until: period.until(),
        issuing_office: passed(office)?,
        address_region_code: region.map(|r| r.as_str().to_string()),
        status: passed(status)?.as_str().to_string(),
        worker,
    };
    let write = RecordWrite {
        record_type: TYPE.as_str(),
        natural_key: Some(doc.permit_no.clone()),
        source_ref: passed(sref)?.map(|s| s.as_str().to_string()),
        agency_code: caller.agency_code.clone(),
        client_id: caller.client_id.clone(),
        person: Some(doc.worker.person_ref()),
        index: RecordIndex {
            employer_nib: doc.sponsor_nib.clone(),
            region_code: doc.address_region_code.clone(),
            status: Some(doc.status.clone()),
            kind: Some(doc.kind.clone()),
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

/// Validates and stores a permit for `caller`.
pub async fn push(
    state: &AppState,
    caller: &Caller,
    permit_no: &str,
    input: &ResidencePermitInput,
    precondition: Option<IfMatch>,
) -> Result<(WriteOutcome, RecordRow), ApiError> {
    let prepared = prepare(caller, permit_no, input, precondition)?;
    common::store(state, caller, prepared).await
}

/// Create or update a residence permit by permit number.
///
/// The holder is resolved by passport number and nationality to one worker
/// (created if new). Re-pushing identical content changes nothing. Only the
/// immigration agency that created a permit may change it.
#[utoipa::path(
    tag = "residence-permits",
    params(("X-Purpose" = String, Header, description = "Why you read this personal data: supervision, permit-processing, enforcement or statistics (must be registered for your client)"), ("X-Case-Ref" = Option<String>, Header, description = "Your case or letter reference, kept in the audit log"), ("permit_no" = String, Path, description = "Permit number", example = "2C21JE0123456"),
           ("If-Match" = Option<String>, Header, description = "ETag of the version you read, or *")),
    request_body = ResidencePermitInput,
    responses(
        (status = 201, description = "Created", body = ResidencePermitRecord, headers(("ETag" = String), ("Location" = String))),
        (status = 200, description = "Updated or unchanged", body = ResidencePermitRecord, headers(("ETag" = String))),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an immigration agency, or another agency's permit", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[put("/api/v1/residence-permits/{permit_no}")]
pub async fn upsert_residence_permit(
    req: HttpRequest,
    caller: Caller,
    permit_no: web::Path<String>,
    body: JsonBody<ResidencePermitInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (outcome, row) = push(&state, &caller, &permit_no, &body.0, if_match(&req)?).await?;
    let location = format!("/api/v1/residence-permits/{}", row.record_key);
    common::written(&caller, outcome, &row, location, view(&row)?)
}

/// Read one residence permit.
#[utoipa::path(
    tag = "residence-permits",
    params(("permit_no" = String, Path, description = "Permit number")),
    responses(
        (status = 200, description = "The permit", body = ResidencePermitRecord, headers(("ETag" = String))),
        (status = 404, description = "Unknown permit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/residence-permits/{permit_no}")]
pub async fn get_residence_permit(
    caller: Caller,
    permit_no: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::RecordsRead)?;
    caller.require_purpose()?;
    let row = common::load(&state, TYPE.as_str(), permit_no.into_inner()).await?;
    common::item(&caller, &row, view(&row)?)
}

/// Filters for listing residence permits.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResidencePermitQuery {
    /// Sponsor NIB.
    pub employer: Option<String>,
    /// Address region prefix.
    pub region: Option<String>,
    /// `ITAS`, `ITAP` or `ITK`.
    pub kind: Option<String>,
    /// `active`, `cancelled` or `exited`.
    pub status: Option<String>,
    /// Holder nationality (alpha-3).
    pub nationality: Option<String>,
    /// Only permits whose validity period contains this date (YYYY-MM-DD).
    pub valid_on: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List residence permits.
#[utoipa::path(
    tag = "residence-permits",
    params(("X-Purpose" = String, Header, description = "Why you read this personal data: supervision, permit-processing, enforcement or statistics (must be registered for your client)"), ("X-Case-Ref" = Option<String>, Header, description = "Your case or letter reference, kept in the audit log"), ResidencePermitQuery),
    responses(
        (status = 200, description = "One page", body = Page<ResidencePermitRecord>),
        (status = 400, description = "Invalid filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/residence-permits")]
pub async fn list_residence_permits(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::RecordsRead)?;
    caller.require_purpose()?;
    let q: ResidencePermitQuery = parse_query(&req)?;
    let mut ck = Checker::default();
    let employer = ck.check_opt("employer", q.employer.as_deref(), Nib::parse);
    let region = ck.check_opt("region", q.region.as_deref(), RegionCode::parse);
    let kind = ck.check_opt("kind", q.kind.as_deref(), PermitKind::parse);
    let status = ck.check_opt("status", q.status.as_deref(), PermitStatus::parse);
    let nationality = ck.check_opt("nationality", q.nationality.as_deref(), CountryCode::parse);
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
        region_prefix: passed(region)?.map(|r| r.as_str().to_string()),
        kind: passed(kind)?.map(|k| k.as_str().to_string()),
        status: passed(status)?.map(|s| s.as_str().to_string()),
        nationality: passed(nationality)?.map(|c| c.as_str().to_string()),
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
