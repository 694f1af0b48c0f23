//! Residence permits (ITAS, ITAP, ITK), keyed by permit number. Written by
//! immigration agencies; the named person is resolved to one worker.

use actix_web::{get, put, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use sinergi_db::records::RecordFilter;
use sinergi_domain::access::{Channel, Request};
use sinergi_domain::records::AnyRecord;
use sinergi_domain::records::{clean_opt_text, Record, ResidencePermit};
use sinergi_domain::{
    CountryCode, DocumentNo, Nib, PermitKind, PermitStatus, RecordType, RegionCode, SourceRef,
    VisaIndex,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::input::{date_param, passed, Checker};
use super::person::PersonInput;
use super::respond::{self, Page};
use super::store;
use super::view::ResidencePermitRecord;
use super::RecordApi;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{if_match, page_request, parse_query, JsonBody, PurposeHeaders};
use crate::state::AppState;

const TYPE: RecordType = ResidencePermit::TYPE;

/// A residence permit as immigration pushes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResidencePermitInput {
    /// The holder.
    pub worker: PersonInput,
    /// `ITAS` (limited stay), `ITAP` (permanent stay) or `ITK` (visit; may not work).
    #[schema(value_type = sinergi_domain::PermitKind, example = "ITAS")]
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
    #[schema(value_type = sinergi_domain::PermitStatus, example = "active")]
    pub status: String,
    /// Your agency's own id.
    pub source_ref: Option<String>,
}

/// The permit `permit_no` as a domain record, or 400 naming every bad field.
pub fn record(permit_no: &str, input: &ResidencePermitInput) -> Result<ResidencePermit, ApiError> {
    let mut ck = Checker::default();
    let permit_no = ck.check("permit_no", DocumentNo::parse(permit_no));
    let worker = input.worker.person(&mut ck, "worker");
    let kind = ck.check("kind", PermitKind::parse(&input.kind));
    let visa = ck.check_opt("visa_index", input.visa_index.as_deref(), VisaIndex::parse);
    let sponsor = ck.check_opt("sponsor_nib", input.sponsor_nib.as_deref(), Nib::parse);
    let region = ck.check_opt(
        "address_region_code",
        input.address_region_code.as_deref(),
        RegionCode::parse_known,
    );
    let status = ck.check("status", PermitStatus::parse(&input.status));
    let sref = ck.check_opt("source_ref", input.source_ref.as_deref(), SourceRef::parse);
    let permit = (|| {
        Some(ResidencePermit {
            permit_no: permit_no?,
            worker: worker?,
            kind: kind?,
            visa_index: visa?,
            sponsor_nib: sponsor?,
            issued_on: input.issued_on,
            valid_from: input.valid_from,
            valid_until: input.valid_until,
            issuing_office: clean_opt_text(input.issuing_office.as_deref()),
            address_region_code: region?,
            status: status?,
            source_ref: sref?,
        })
    })();
    let today = sinergi_db::findings::engine::today();
    match &permit {
        Some(r) => ck.violations(r.violations(today)),
        // Dates are checked also when another field keeps the record from being built.
        None => ck.violations(
            [
                sinergi_domain::records::issued_period_violations(
                    input.issued_on,
                    input.valid_from,
                    input.valid_until,
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
    passed(permit)
}

/// Create or update a residence permit by permit number.
///
/// The holder is resolved by passport number and nationality to one worker
/// (created if new). Re-pushing identical content changes nothing. Only the
/// immigration agency that created a permit may change it; an agency with a
/// jurisdiction only for addresses inside it.
#[utoipa::path(
    tag = "residence-permits",
    params(("permit_no" = String, Path, description = "Permit number", example = "2C21JE0123456"),
           ("If-Match" = Option<String>, Header, description = "ETag of the version you read, or *")),
    request_body = ResidencePermitInput,
    responses(
        (status = 201, description = "Created", body = ResidencePermitRecord, headers(("ETag" = String), ("Location" = String))),
        (status = 200, description = "Updated or unchanged", body = ResidencePermitRecord, headers(("ETag" = String))),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an immigration agency, another agency's permit, or outside jurisdiction", body = Problem, content_type = "application/problem+json"),
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
    store::may_write(&caller, TYPE)?;
    let permit = record(&permit_no, &body.0)?;
    let stored = store::store(&state, &caller, permit.into(), if_match(&req)?).await?;
    let location = format!("/api/v1/residence-permits/{}", stored.row.record_key);
    let view = super::view::raw(&stored.row)?;
    respond::written(&caller, stored.outcome, &stored.row, location, view)
}

/// Read one residence permit.
///
/// One residence permit by its number, with the holder's identity as
/// immigration recorded it. Personal data: send `X-Purpose`; the read is
/// audited. The `ETag` is the version.
#[utoipa::path(
    tag = "residence-permits",
    params(PurposeHeaders, ("permit_no" = String, Path, description = "Permit number")),
    responses(
        (status = 200, description = "The permit", body = ResidencePermitRecord, headers(("ETag" = String))),
        (status = 400, description = "No X-Purpose", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Purpose not registered for your client", body = Problem, content_type = "application/problem+json"),
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
    let row = store::load(&state, &caller, TYPE, permit_no.into_inner()).await?;
    respond::item(&caller, row.version, super::view::raw(&row)?)
}

/// Filters for listing residence permits.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResidencePermitQuery {
    /// Sponsor NIB.
    #[param(value_type = Option<sinergi_domain::Nib>)]
    pub employer: Option<String>,
    /// Address region prefix.
    #[param(value_type = Option<sinergi_domain::RegionCode>)]
    pub region: Option<String>,
    /// `ITAS`, `ITAP` or `ITK`.
    #[param(value_type = Option<sinergi_domain::PermitKind>)]
    pub kind: Option<String>,
    /// `active`, `cancelled` or `exited`.
    #[param(value_type = Option<sinergi_domain::PermitStatus>)]
    pub status: Option<String>,
    /// Holder nationality (alpha-3).
    #[param(value_type = Option<sinergi_domain::CountryCode>)]
    pub nationality: Option<String>,
    /// Only permits whose validity period contains this date (YYYY-MM-DD).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub valid_on: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List residence permits.
///
/// ITAS, ITAP and ITK permits pushed by immigration, filtered by sponsor,
/// region, kind, status, nationality or a date they are valid on. Personal
/// data: send `X-Purpose`; district agencies see passport numbers masked unless
/// they hold `pii:read`.
#[utoipa::path(
    tag = "residence-permits",
    params(PurposeHeaders, ResidencePermitQuery),
    responses(
        (status = 200, description = "One page", body = Page<ResidencePermitRecord>),
        (status = 400, description = "Invalid filter, limit or cursor, or no X-Purpose", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Purpose not registered for your client", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/residence-permits")]
pub async fn list_residence_permits(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(Request::new(Channel::List, &[TYPE]))?;
    let q: ResidencePermitQuery = parse_query(&req)?;
    let mut ck = Checker::default();
    let employer = ck.check_opt("employer", q.employer.as_deref(), Nib::parse);
    let region = ck.check_opt("region", q.region.as_deref(), RegionCode::parse_known);
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
        employer_nib: passed(employer)?.map(|n| n.to_string()),
        region_prefix: passed(region)?.map(|r| r.to_string()),
        kind: passed(kind)?.map(|k| k.as_str().to_string()),
        status: passed(status)?.map(|s| s.as_str().to_string()),
        nationality: passed(nationality)?.map(|c| c.to_string()),
        valid_on: passed(valid_on)?,
        ..Default::default()
    };
    let (rows, next_cursor) = store::list(&state, &caller, TYPE, filter, page).await?;
    respond::record_page(&caller, &rows, next_cursor)
}

fn from_batch(key: Option<&str>, body: &serde_json::Value) -> Result<AnyRecord, ApiError> {
    let key = super::batch_key(key)?;
    Ok(record(key, &super::batch_body::<ResidencePermitInput>(body)?)?.into())
}

fn routes(cfg: &mut ServiceConfig) {
    cfg.service(upsert_residence_permit)
        .service(list_residence_permits)
        .service(get_residence_permit);
}

/// The record type's registration: its routes and its batch operations.
pub const API: RecordApi = RecordApi {
    record_type: TYPE,
    from_batch,
    routes,
};
