//! Employers, keyed by NIB. Written by manpower and immigration agencies
//! (shared master data); read by all.

use actix_web::{get, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use sinergi_db::records::RecordFilter;
use sinergi_domain::access::{Channel, Request};
use sinergi_domain::records::AnyRecord;
use sinergi_domain::records::{clean_opt_text, clean_text, Employer, Record};
use sinergi_domain::{Capital, Kbli, Nib, Npwp, RecordType, RegionCode, Sector, SourceRef};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::input::{passed, Checker};
use super::respond::{self, Page};
use super::store;
use super::view::EmployerRecord;
use super::RecordApi;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{if_match, page_request, parse_query, JsonBody};
use crate::state::AppState;

const TYPE: RecordType = Employer::TYPE;

/// An employer as an agency pushes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmployerInput {
    /// Tax number: 16 digits, or the legacy 15-digit form (`01.234.567.8-901.000`), which is normalised.
    #[schema(example = "0012345678901000")]
    pub npwp: Option<String>,
    /// Registered company name.
    #[schema(example = "PT Batu Bara Mahakam Sejahtera")]
    pub name: String,
    /// `PMA` (foreign capital) or `PMDN` (domestic).
    #[schema(value_type = sinergi_domain::Capital, example = "PMA")]
    pub capital: String,
    /// KBLI 2020 codes, 5 digits each; the first is the main activity and gives the sector.
    #[schema(example = json!(["05100", "09900"]))]
    pub kbli: Vec<String>,
    /// Address.
    #[schema(example = "Jl. Mulawarman No. 12, Tenggarong")]
    pub address: Option<String>,
    /// Kemendagri region code (a known BPS code is converted).
    #[schema(example = "64.02.06")]
    pub region_code: String,
    /// Your agency's own id for this employer.
    #[schema(example = "OSS-2024-000123")]
    pub source_ref: Option<String>,
}

/// The employer `nib` as a domain record, or 400 naming every bad field.
pub fn record(nib: &str, input: &EmployerInput) -> Result<Employer, ApiError> {
    let mut ck = Checker::default();
    let nib = ck.check("nib", Nib::parse(nib));
    let npwp = ck.check_opt("npwp", input.npwp.as_deref(), Npwp::parse);
    let capital = ck.check("capital", Capital::parse(&input.capital));
    let kbli = ck.check_each("kbli", &input.kbli, Kbli::parse);
    let region = ck.check("region_code", RegionCode::parse_known(&input.region_code));
    let source_ref = ck.check_opt("source_ref", input.source_ref.as_deref(), SourceRef::parse);
    let employer = (|| {
        let kbli = kbli?;
        Some(Employer {
            nib: nib?,
            npwp: npwp?,
            name: clean_text(&input.name),
            capital: capital?,
            sector: Employer::sector_of(&kbli),
            kbli,
            address: clean_opt_text(input.address.as_deref()),
            region_code: region?,
            source_ref: source_ref?,
        })
    })();
    let today = sinergi_db::findings::engine::today();
    match &employer {
        Some(r) => ck.violations(r.violations(today)),
        // Dates are checked also when another field keeps the record from being built.
        None => ck.violations(Vec::new()),
    }
    ck.finish()?;
    passed(employer)
}

/// Create or update an employer by NIB.
///
/// Idempotent: pushing the same content again changes nothing and keeps the
/// version. Send `If-Match` with the ETag you read to avoid overwriting a
/// newer version (412 if it changed). Manpower and immigration agencies may
/// write employers; an agency with a jurisdiction only employers located
/// inside it, before and after the change.
#[utoipa::path(
    tag = "employers",
    params(("nib" = String, Path, description = "NIB, 13 digits", example = "9120001234567"),
           ("If-Match" = Option<String>, Header, description = "ETag of the version you read, or *")),
    request_body = EmployerInput,
    responses(
        (status = 201, description = "Created", body = EmployerRecord, headers(("ETag" = String), ("Location" = String))),
        (status = 200, description = "Updated, or unchanged when identical", body = EmployerRecord, headers(("ETag" = String))),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Agency may not write employers, or the employer lies outside its jurisdiction", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match does not match the stored version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[put("/api/v1/employers/{nib}")]
pub async fn upsert_employer(
    req: HttpRequest,
    caller: Caller,
    nib: web::Path<String>,
    body: JsonBody<EmployerInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    store::may_write(&caller, TYPE)?;
    let employer = record(&nib, &body.0)?;
    let stored = store::store(&state, &caller, employer.into(), if_match(&req)?).await?;
    let location = format!("/api/v1/employers/{}", stored.row.record_key);
    let view = super::view::raw(&stored.row)?;
    respond::written(&caller, stored.outcome, &stored.row, location, view)
}

/// Read one employer.
///
/// The employer by its 13-digit NIB, with its version and provenance. The
/// `ETag` is the version, for `If-Match` on a later write.
#[utoipa::path(
    tag = "employers",
    params(("nib" = String, Path, description = "NIB, 13 digits")),
    responses(
        (status = 200, description = "The employer", body = EmployerRecord, headers(("ETag" = String))),
        (status = 404, description = "Unknown NIB", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/employers/{nib}")]
pub async fn get_employer(
    caller: Caller,
    nib: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(Request::new(Channel::ReadItem, &[TYPE]))?;
    let nib = Nib::parse(&nib).map_err(|e| ApiError::field("nib", e.code, e.message))?;
    let row = store::load(&state, &caller, TYPE, nib.to_string()).await?;
    respond::item(&caller, row.version, super::view::raw(&row)?)
}

/// Filters for listing employers.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EmployerQuery {
    /// Kemendagri region prefix, e.g. `64.02` (Kukar) or `64.02.06` (Tenggarong).
    #[param(value_type = Option<sinergi_domain::RegionCode>)]
    pub region: Option<String>,
    /// Sector code of the main KBLI, e.g. `mining`, `agriculture`.
    #[param(value_type = Option<sinergi_domain::Sector>)]
    pub sector: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List employers, in NIB order.
///
/// Employers registered by the manpower or investment agency, filtered by
/// region prefix or sector. Not personal data: no purpose needed. Pages follow
/// `next_cursor`.
#[utoipa::path(
    tag = "employers",
    params(EmployerQuery),
    responses(
        (status = 200, description = "One page of employers", body = Page<EmployerRecord>),
        (status = 400, description = "Invalid filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/employers")]
pub async fn list_employers(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(Request::new(Channel::List, &[TYPE]))?;
    let q: EmployerQuery = parse_query(&req)?;
    let mut ck = Checker::default();
    let region = ck.check_opt("region", q.region.as_deref(), RegionCode::parse_known);
    let sector = ck.check_opt("sector", q.sector.as_deref(), Sector::parse);
    ck.finish()?;
    let page = page_request(
        &state.cursor_key(&caller),
        TYPE.as_str(),
        q.limit.as_deref(),
        q.cursor.as_deref(),
    )?;
    let filter = RecordFilter {
        region_prefix: passed(region)?.map(|r| r.to_string()),
        kind: passed(sector)?.map(|s| s.code().to_string()),
        ..Default::default()
    };
    let (rows, next_cursor) = store::list(&state, &caller, TYPE, filter, page).await?;
    respond::record_page(&caller, &rows, next_cursor)
}

fn from_batch(key: Option<&str>, body: &serde_json::Value) -> Result<AnyRecord, ApiError> {
    let key = super::batch_key(key)?;
    Ok(record(key, &super::batch_body::<EmployerInput>(body)?)?.into())
}

fn routes(cfg: &mut ServiceConfig) {
    cfg.service(upsert_employer)
        .service(list_employers)
        .service(get_employer);
}

/// The record type's registration: its routes and its batch operations.
pub const API: RecordApi = RecordApi {
    record_type: TYPE,
    from_batch,
    routes,
};
