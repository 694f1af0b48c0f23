//! Work sites (mines, camps, mills, plantations, offices), keyed by the
//! writing agency's `source_ref`. Written by manpower, regional and district
//! agencies (district: inside its own area).

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use sinergi_db::records::{
    Ownership, RecordFilter, RecordIndex, RecordRow, RecordWrite, WriteOutcome,
};
use sinergi_domain::{GeoPoint, Nib, RecordType, RegionCode, SiteKind, SourceRef};
use utoipa::{IntoParams, ToSchema};

use super::common::{self, passed, Checker, Meta, Page, Prepared};
use crate::auth::{Caller, Scope};
use crate::error::{ApiError, Problem};
use crate::extract::{if_match, page_request, parse_query, JsonBody};
use crate::state::AppState;

const TYPE: RecordType = RecordType::WorkSite;

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
    #[schema(example = "mine")]
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

/// A work site as stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkSiteDoc {
    /// The writing agency's id.
    pub source_ref: String,
    /// Employer NIB.
    pub employer_nib: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Kemendagri region code.
    pub region_code: String,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
}

/// A work site with its Sinergi id and provenance.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkSiteRecord {
    /// Sinergi id.
    pub id: String,
    /// The site.
    #[serde(flatten)]
    pub data: WorkSiteDoc,
    /// Who stored it and when.
    pub meta: Meta,
}

fn view(row: &RecordRow) -> Result<WorkSiteRecord, ApiError> {
    Ok(WorkSiteRecord {
        id: row.record_key.clone(),
        data: common::doc(row)?,
        meta: Meta::of(row),
    })
}

/// Validates a work site for `caller` into a write ready to store.
pub fn prepare(
    caller: &Caller,
    input: &WorkSiteInput,
    precondition: Option<sinergi_db::records::IfMatch>,
) -> Result<Prepared, ApiError> {
    caller.require_writer(TYPE)?;
    let mut ck = Checker::default();
    let sref = ck.check("source_ref", SourceRef::parse(&input.source_ref));
    let nib = ck.check("employer_nib", Nib::parse(&input.employer_nib));
    let name = ck.text("name", &input.name, 200);
    let kind = ck.check("kind", SiteKind::parse(&input.kind));
    let region = ck.check("region_code", RegionCode::parse(&input.region_code));
    let point = match (input.lat, input.lon) {
        (Some(lat), Some(lon)) => ck.check("lat", GeoPoint::new(lat, lon)).map(Some),
        (None, None) => Some(None),
        _ => {
            ck.fail(
                "lon",
                "incomplete_coordinates",
                "give both lat and lon, or neither",
            );
            None
        }
    };
    ck.finish()?;
    let region = passed(region)?;
    caller.require_within("region_code", &region)?;
    let point = passed(point)?;
    let doc = WorkSiteDoc {
        source_ref: passed(sref)?.as_str().to_string(),
        employer_nib: passed(nib)?.as_str().to_string(),
        name: passed(name)?,
        kind: passed(kind)?.as_str().to_string(),
        region_code: region.as_str().to_string(),
        lat: point.map(|p| p.lat()),
        lon: point.map(|p| p.lon()),
    };
    let write = RecordWrite {
        record_type: TYPE.as_str(),
        natural_key: None,
        source_ref: Some(doc.source_ref.clone()),
        agency_code: caller.agency_code.clone(),
        client_id: caller.client_id.clone(),
        person: None,
        index: RecordIndex {
            employer_nib: Some(doc.employer_nib.clone()),
            region_code: Some(doc.region_code.clone()),
            kind: Some(doc.kind.clone()),
            ..Default::default()
        },
        doc: common::to_doc(&doc)?,
        if_match: precondition,
        ownership: Ownership::CreatorOnly,
        now: chrono::Utc::now().naive_utc(),
    };
    Ok(Prepared::unchecked(write))
}

/// Validates and stores a work site for `caller`.
pub async fn push(
    state: &AppState,
    caller: &Caller,
    input: &WorkSiteInput,
    precondition: Option<sinergi_db::records::IfMatch>,
) -> Result<(WriteOutcome, RecordRow), ApiError> {
    let prepared = prepare(caller, input, precondition)?;
    common::store(state, caller, prepared).await
}

/// Create or update a work site by your `source_ref`.
///
/// 201 when the site is new, 200 when the same `source_ref` was pushed before
/// (unchanged content keeps the version). District agencies may only write
/// sites inside their kecamatan.
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
    let (outcome, row) = push(&state, &caller, &body.0, if_match(&req)?).await?;
    let location = format!("/api/v1/work-sites/{}", row.record_key);
    common::written(&caller, outcome, &row, location, view(&row)?)
}

/// Read one work site.
#[utoipa::path(
    tag = "work-sites",
    params(("id" = String, Path, description = "Sinergi id of the site")),
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
    caller.require(Scope::RecordsRead)?;
    let row = common::load(&state, TYPE.as_str(), id.into_inner()).await?;
    common::item(&caller, &row, view(&row)?)
}

/// Filters for listing work sites.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorkSiteQuery {
    /// Employer NIB.
    pub employer: Option<String>,
    /// Kemendagri region prefix.
    pub region: Option<String>,
    /// Site kind.
    pub kind: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List work sites.
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
    caller.require(Scope::RecordsRead)?;
    let q: WorkSiteQuery = parse_query(&req)?;
    let mut ck = Checker::default();
    let employer = ck.check_opt("employer", q.employer.as_deref(), Nib::parse);
    let region = ck.check_opt("region", q.region.as_deref(), RegionCode::parse);
    let kind = ck.check_opt("kind", q.kind.as_deref(), SiteKind::parse);
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
