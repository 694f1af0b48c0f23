//! Presence reports: a named worker, or a headcount, seen at a site or in a
//! region on a date. Written by regional, district (own area) and immigration
//! agencies, keyed by their `source_ref`.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use sinergi_db::records::RecordFilter;
use sinergi_domain::access::{Channel, Request};
use sinergi_domain::records::AnyRecord;
use sinergi_domain::records::{clean_opt_text, PresenceReport, Record};
use sinergi_domain::{CountryCode, Nib, PresenceSource, RecordType, RegionCode, SourceRef};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::input::{date_param, passed, Checker};
use super::person::PersonInput;
use super::respond::{self, Page};
use super::store;
use super::view::PresenceReportRecord;
use super::RecordApi;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{if_match, page_request, parse_query, JsonBody, PurposeHeaders};
use crate::state::AppState;

const TYPE: RecordType = PresenceReport::TYPE;

/// A presence report as an agency pushes it: either `worker` or `headcount`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceReportInput {
    /// Your agency's own id; pushing it again updates the same report.
    #[schema(example = "PORA-KK-2025-11-0031")]
    pub source_ref: String,
    /// Date of the observation (not in the future).
    pub observed_on: NaiveDate,
    /// `field_check`, `apoa` or `employer_report`.
    #[schema(value_type = sinergi_domain::PresenceSource, example = "field_check")]
    pub source: String,
    /// Kemendagri code of the desa or kecamatan.
    #[schema(example = "64.02.02")]
    pub region_code: String,
    /// `source_ref` of the work site, if at one.
    pub work_site_ref: Option<String>,
    /// Employer NIB, if known.
    pub employer_nib: Option<String>,
    /// The person seen (omit when reporting a headcount).
    pub worker: Option<PersonInput>,
    /// Number of foreign workers seen (omit when reporting a person).
    #[schema(example = json!(null))]
    pub headcount: Option<u32>,
    /// What they were doing.
    #[schema(example = "operating an excavator")]
    pub activity: Option<String>,
    /// Free notes.
    pub notes: Option<String>,
}

/// The report as a domain record, or 400 naming every bad field.
pub fn record(input: &PresenceReportInput) -> Result<PresenceReport, ApiError> {
    let mut ck = Checker::default();
    let sref = ck.check("source_ref", SourceRef::parse(&input.source_ref));
    let source = ck.check("source", PresenceSource::parse(&input.source));
    let region = ck.check("region_code", RegionCode::parse_known(&input.region_code));
    let site = ck.check_opt(
        "work_site_ref",
        input.work_site_ref.as_deref(),
        SourceRef::parse,
    );
    let nib = ck.check_opt("employer_nib", input.employer_nib.as_deref(), Nib::parse);
    let worker = match &input.worker {
        Some(w) => w.person(&mut ck, "worker").map(Some),
        None => Some(None),
    };
    let report = (|| {
        Some(PresenceReport {
            source_ref: sref?,
            observed_on: input.observed_on,
            source: source?,
            region_code: region?,
            work_site_ref: site?,
            employer_nib: nib?,
            worker: worker?,
            headcount: input.headcount,
            activity: clean_opt_text(input.activity.as_deref()),
            notes: clean_opt_text(input.notes.as_deref()),
        })
    })();
    let today = sinergi_db::findings::engine::today();
    match &report {
        Some(r) => ck.violations(r.violations(today)),
        // Dates are checked also when another field keeps the record from being built.
        None => ck.violations(sinergi_domain::records::date_violations(
            &[("observed_on", Some(input.observed_on))],
            &[],
        )),
    }
    ck.finish()?;
    passed(report)
}

/// Create or update a presence report by your `source_ref`.
///
/// Either a named `worker` (resolved to one worker by passport) or an
/// unnamed `headcount`. Regional, district and immigration agencies write
/// presence reports; an agency with a jurisdiction only inside it.
#[utoipa::path(
    tag = "presence-reports",
    params(("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    request_body = PresenceReportInput,
    responses(
        (status = 201, description = "Created", body = PresenceReportRecord, headers(("ETag" = String), ("Location" = String))),
        (status = 200, description = "Updated or unchanged", body = PresenceReportRecord, headers(("ETag" = String))),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this agency or outside its jurisdiction", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/presence-reports")]
pub async fn upsert_presence_report(
    req: HttpRequest,
    caller: Caller,
    body: JsonBody<PresenceReportInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    store::may_write(&caller, TYPE)?;
    let report = record(&body.0)?;
    let stored = store::store(&state, &caller, report.into(), if_match(&req)?).await?;
    let location = format!("/api/v1/presence-reports/{}", stored.row.record_key);
    let view = super::view::raw(&stored.row)?;
    respond::written(&caller, stored.outcome, &stored.row, location, view)
}

/// Read one presence report.
///
/// One presence report, with its version and provenance. Personal data: send
/// `X-Purpose`; the read is audited.
#[utoipa::path(
    tag = "presence-reports",
    params(PurposeHeaders, ("id" = uuid::Uuid, Path, description = "Sinergi id of the report")),
    responses(
        (status = 200, description = "The report", body = PresenceReportRecord, headers(("ETag" = String))),
        (status = 400, description = "No X-Purpose", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Purpose not registered for your client", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/presence-reports/{id}")]
pub async fn get_presence_report(
    caller: Caller,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let row = store::load(&state, &caller, TYPE, id.into_inner()).await?;
    respond::item(&caller, row.version, super::view::raw(&row)?)
}

/// Withdraw a presence report your agency filed.
///
/// The report is deleted and the change feed announces a tombstone.
#[utoipa::path(
    tag = "presence-reports",
    params(("id" = uuid::Uuid, Path, description = "Sinergi id of the report", example = "6b0f3d9e-0c55-4a8e-b0de-2f4f1b7c9a10"),
           ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 403, description = "Another agency's report", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/presence-reports/{id}")]
pub async fn delete_presence_report(
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    store::may_write(&caller, TYPE)?;
    store::withdraw(&state, &caller, TYPE, id.into_inner(), if_match(&req)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Filters for listing presence reports.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PresenceReportQuery {
    /// Region prefix.
    #[param(value_type = Option<sinergi_domain::RegionCode>)]
    pub region: Option<String>,
    /// Employer NIB.
    #[param(value_type = Option<sinergi_domain::Nib>)]
    pub employer: Option<String>,
    /// Sinergi worker id.
    #[param(value_type = Option<uuid::Uuid>)]
    pub worker_id: Option<String>,
    /// Nationality of the person seen (alpha-3).
    #[param(value_type = Option<sinergi_domain::CountryCode>)]
    pub nationality: Option<String>,
    /// `field_check`, `apoa` or `employer_report`.
    #[param(value_type = Option<sinergi_domain::PresenceSource>)]
    pub source: Option<String>,
    /// Observed on or after this date (YYYY-MM-DD).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub from: Option<String>,
    /// Observed on or before this date (YYYY-MM-DD).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub until: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List presence reports.
///
/// Workers or headcounts seen on site by field checks, APOA reports or
/// employers, filtered by region, employer, worker, nationality, source or
/// observation dates. Personal data: send `X-Purpose`.
#[utoipa::path(
    tag = "presence-reports",
    params(PurposeHeaders, PresenceReportQuery),
    responses(
        (status = 200, description = "One page", body = Page<PresenceReportRecord>),
        (status = 400, description = "Invalid filter, limit or cursor, or no X-Purpose", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Purpose not registered for your client", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/presence-reports")]
pub async fn list_presence_reports(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(Request::new(Channel::List, &[TYPE]))?;
    let q: PresenceReportQuery = parse_query(&req)?;
    let mut ck = Checker::default();
    let region = ck.check_opt("region", q.region.as_deref(), RegionCode::parse_known);
    let employer = ck.check_opt("employer", q.employer.as_deref(), Nib::parse);
    let nationality = ck.check_opt("nationality", q.nationality.as_deref(), CountryCode::parse);
    let source = ck.check_opt("source", q.source.as_deref(), PresenceSource::parse);
    let from = date_param(&mut ck, "from", q.from.as_deref());
    let until = date_param(&mut ck, "until", q.until.as_deref());
    ck.finish()?;
    let page = page_request(
        &state.cursor_key(&caller),
        TYPE.as_str(),
        q.limit.as_deref(),
        q.cursor.as_deref(),
    )?;
    let filter = RecordFilter {
        region_prefix: passed(region)?.map(|r| r.to_string()),
        employer_nib: passed(employer)?.map(|n| n.to_string()),
        worker_id: q.worker_id.clone(),
        nationality: passed(nationality)?.map(|c| c.to_string()),
        kind: passed(source)?.map(|s| s.as_str().to_string()),
        from: passed(from)?,
        until: passed(until)?,
        ..Default::default()
    };
    let (rows, next_cursor) = store::list(&state, &caller, TYPE, filter, page).await?;
    respond::record_page(&caller, &rows, next_cursor)
}

fn from_batch(key: Option<&str>, body: &serde_json::Value) -> Result<AnyRecord, ApiError> {
    super::no_batch_key(key)?;
    Ok(record(&super::batch_body::<PresenceReportInput>(body)?)?.into())
}

fn routes(cfg: &mut ServiceConfig) {
    cfg.service(upsert_presence_report)
        .service(list_presence_reports)
        .service(get_presence_report)
        .service(delete_presence_report);
}

/// The record type's registration: its routes and its batch operations.
pub const API: RecordApi = RecordApi {
    record_type: TYPE,
    from_batch,
    routes,
};
