//! Work sites (mines, camps, mills, plantations, offices), keyed by the
//! writing agency's `source_ref`. Written by manpower, regional and district
//! agencies (district: inside its own area).

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use sinergi_db::records::RecordFilter;
use sinergi_domain::access::{Channel, Request};
use sinergi_domain::records::AnyRecord;
use sinergi_domain::records::{clean_text, Record, WorkSite};
use sinergi_domain::{Nib, RecordType, RegionCode, SiteKind, SourceRef};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::input::{passed, Checker};
use super::respond::{self, Page};
use super::store;
use super::view::WorkSiteRecord;
use super::RecordApi;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{if_match, page_request, parse_query, JsonBody};
use crate::state::AppState;

const TYPE: RecordType = WorkSite::TYPE;

/// A work site as an agency pushes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkSiteInput {
    /// Your agency's own id for the site; pushing it again updates the same site.
    #[schema(example = "DISNAKER-SITE-0042")]
    pub source_ref: String,
    /// NIB of the employer operating the site.
    #[schema(example = "9120001234567")]
    pub employer_nib: String,
    /// Site name.
    #[schema(example = "Pit Loa Kulu Utara")]
    pub name: String,
    /// `mine`, `camp`, `mill`, `plantation`, `office`, `port` or `other`.
    #[schema(value_type = sinergi_domain::SiteKind, example = "mine")]
    pub kind: String,
    /// Kemendagri code of the desa or kecamatan.
    #[schema(example = "64.02.02")]
    pub region_code: String,
    /// Latitude (WGS84), inside Indonesia.
    #[schema(example = -0.5412)]
    pub lat: Option<f64>,
    /// Longitude (WGS84), inside Indonesia.
    #[schema(example = 117.0231)]
    pub lon: Option<f64>,
}

/// The work site as a domain record, or 400 naming every bad field.
pub fn record(input: &WorkSiteInput) -> Result<WorkSite, ApiError> {
    let mut ck = Checker::default();
    let sref = ck.check("source_ref", SourceRef::parse(&input.source_ref));
    let nib = ck.check("employer_nib", Nib::parse(&input.employer_nib));
    let kind = ck.check("kind", SiteKind::parse(&input.kind));
    let region = ck.check("region_code", RegionCode::parse_known(&input.region_code));
    let site = (|| {
        Some(WorkSite {
            source_ref: sref?,
            employer_nib: nib?,
            name: clean_text(&input.name),
            kind: kind?,
            region_code: region?,
            lat: input.lat,
            lon: input.lon,
        })
    })();
    let today = sinergi_db::findings::engine::today();
    match &site {
        Some(r) => ck.violations(r.violations(today)),
        // Dates are checked also when another field keeps the record from being built.
        None => ck.violations(Vec::new()),
    }
    ck.finish()?;
    passed(site)
}

/// Create or update a work site by your `source_ref`.
///
/// 201 the first time, 200 after. Manpower, regional and district agencies
/// write work sites; an agency with a jurisdiction only inside it.
#[utoipa::path(
    tag = "work-sites",
    params(("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    request_body = WorkSiteInput,
    responses(
        (status = 201, description = "Created", body = WorkSiteRecord, headers(("ETag" = String), ("Location" = String))),
        (status = 200, description = "Updated or unchanged", body = WorkSiteRecord, headers(("ETag" = String))),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this agency or outside its jurisdiction", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/work-sites")]
pub async fn upsert_work_site(
    req: HttpRequest,
    caller: Caller,
    body: JsonBody<WorkSiteInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    store::may_write(&caller, TYPE)?;
    let site = record(&body.0)?;
    let stored = store::store(&state, &caller, site.into(), if_match(&req)?).await?;
    let location = format!("/api/v1/work-sites/{}", stored.row.record_key);
    let view = super::view::raw(&stored.row)?;
    respond::written(&caller, stored.outcome, &stored.row, location, view)
}

/// Read one work site.
///
/// One work site, with its location, employer, version and provenance. The
/// `ETag` is the version.
#[utoipa::path(
    tag = "work-sites",
    params(("id" = uuid::Uuid, Path, description = "Sinergi id of the site")),
    responses(
        (status = 200, description = "The site", body = WorkSiteRecord, headers(("ETag" = String))),
        (status = 404, description = "Unknown id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/work-sites/{id}")]
pub async fn get_work_site(
    caller: Caller,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let row = store::load(&state, &caller, TYPE, id.into_inner()).await?;
    respond::item(&caller, row.version, super::view::raw(&row)?)
}

/// Filters for listing work sites.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorkSiteQuery {
    /// Employer NIB.
    #[param(value_type = Option<sinergi_domain::Nib>)]
    pub employer: Option<String>,
    /// Kemendagri region prefix.
    #[param(value_type = Option<sinergi_domain::RegionCode>)]
    pub region: Option<String>,
    /// Site kind.
    #[param(value_type = Option<sinergi_domain::SiteKind>)]
    pub kind: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List work sites.
///
/// Mines, camps, mills, plantations and offices where foreign workers are
/// placed, filtered by employer, region prefix or kind. Not personal data.
/// Pages follow `next_cursor`.
#[utoipa::path(
    tag = "work-sites",
    params(WorkSiteQuery),
    responses(
        (status = 200, description = "One page", body = Page<WorkSiteRecord>),
        (status = 400, description = "Invalid filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/work-sites")]
pub async fn list_work_sites(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(Request::new(Channel::List, &[TYPE]))?;
    let q: WorkSiteQuery = parse_query(&req)?;
    let mut ck = Checker::default();
    let employer = ck.check_opt("employer", q.employer.as_deref(), Nib::parse);
    let region = ck.check_opt("region", q.region.as_deref(), RegionCode::parse_known);
    let kind = ck.check_opt("kind", q.kind.as_deref(), SiteKind::parse);
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
        ..Default::default()
    };
    let (rows, next_cursor) = store::list(&state, &caller, TYPE, filter, page).await?;
    respond::record_page(&caller, &rows, next_cursor)
}

fn from_batch(key: Option<&str>, body: &serde_json::Value) -> Result<AnyRecord, ApiError> {
    super::no_batch_key(key)?;
    Ok(record(&super::batch_body::<WorkSiteInput>(body)?)?.into())
}

fn routes(cfg: &mut ServiceConfig) {
    cfg.service(upsert_work_site)
        .service(list_work_sites)
        .service(get_work_site);
}

/// The record type's registration: its routes and its batch operations.
pub const API: RecordApi = RecordApi {
    record_type: TYPE,
    from_batch,
    routes,
};
