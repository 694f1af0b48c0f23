//! Presence reports: a named worker, or a headcount, seen at a site or in a
//! region on a date. Written by regional, district (own area) and immigration
//! agencies, keyed by their `source_ref`.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sinergi_db::records::{
    IfMatch, Ownership, RecordFilter, RecordIndex, RecordRow, RecordWrite, WriteOutcome,
};
use sinergi_domain::{CountryCode, Nib, PresenceSource, RecordType, RegionCode, SourceRef};
use utoipa::{IntoParams, ToSchema};

use super::common::{self, date_param, passed, Checker, Meta, Page, Prepared};
use super::person::{PersonDoc, PersonInput};
use crate::auth::{Caller, Scope};
use crate::error::{ApiError, Problem};
use crate::extract::{if_match, page_request, parse_query, JsonBody};
use crate::state::AppState;

const TYPE: RecordType = RecordType::PresenceReport;

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
    #[schema(example = "field_check")]
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

/// A presence report as stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PresenceReportDoc {
    /// The writing agency's id.
    pub source_ref: String,
    /// Observation date.
    pub observed_on: NaiveDate,
    /// Source.
    pub source: String,
    /// Region.
    pub region_code: String,
    /// Work site ref.
    pub work_site_ref: Option<String>,
    /// Employer NIB.
    pub employer_nib: Option<String>,
    /// The person seen.
    pub worker: Option<PersonDoc>,
    /// Headcount seen.
    pub headcount: Option<u32>,
    /// Activity.
    pub activity: Option<String>,
    /// Notes.
    pub notes: Option<String>,
}

/// A presence report with its Sinergi id, worker and provenance.
#[derive(Debug, Serialize, ToSchema)]
pub struct PresenceReportRecord {
    /// Sinergi id.
    pub id: String,
    /// The report.
    #[serde(flatten)]
    pub data: PresenceReportDoc,
    /// Sinergi id of the worker seen.
    pub worker_id: Option<String>,
    /// Who stored it and when.
    pub meta: Meta,
}

/// The view of a stored report.
pub fn view(row: &RecordRow) -> Result<PresenceReportRecord, ApiError> {
    Ok(PresenceReportRecord {
        id: row.record_key.clone(),
        data: common::doc(row)?,
        worker_id: row.worker_id.clone(),
        meta: Meta::of(row),
    })
}

/// Validates a presence report for `caller` into a write ready to store.
pub fn prepare(
    caller: &Caller,
    input: &PresenceReportInput,
    precondition: Option<IfMatch>,
) -> Result<Prepared, ApiError> {
    caller.require_writer(TYPE)?;
    let mut ck = Checker::default();
    let sref = ck.check("source_ref", SourceRef::parse(&input.source_ref));
    if input.observed_on > chrono::Utc::now().date_naive() + chrono::Duration::days(1) {
        ck.fail(
            "observed_on",
            "invalid_date",
            "observed_on must not be in the future",
        );
    }
    let source = ck.check("source", PresenceSource::parse(&input.source));
    let region = ck.check("region_code", RegionCode::parse(&input.region_code));
    let site = ck.check_opt(
        "work_site_ref",
        input.work_site_ref.as_deref(),
        SourceRef::parse,
    );
    let nib = ck.check_opt("employer_nib", input.employer_nib.as_deref(), Nib::parse);
    let worker = match (&input.worker, input.headcount) {
        (Some(w), None) => w.check(&mut ck, "worker").map(Some),
        (None, Some(n)) if (1..=100_000).contains(&n) => Some(None),
        (None, Some(_)) => {
            ck.fail(
                "headcount",
                "invalid_headcount",
                "headcount must be 1 to 100000",
            );
            None
        }
        _ => {
            ck.fail(
                "worker",
                "worker_or_headcount",
                "give either worker (a person seen) or headcount, not both",
            );
            None
        }
    };
    let activity = ck.opt_text("activity", input.activity.as_deref(), 500);
    let notes = ck.opt_text("notes", input.notes.as_deref(), 2000);
    ck.finish()?;
    let region = passed(region)?;
    caller.require_within("region_code", &region)?;
    let doc = PresenceReportDoc {
        source_ref: passed(sref)?.as_str().to_string(),
        observed_on: input.observed_on,
        source: passed(source)?.as_str().to_string(),
        region_code: region.as_str().to_string(),
        work_site_ref: passed(site)?.map(|s| s.as_str().to_string()),
        employer_nib: passed(nib)?.map(|n| n.as_str().to_string()),
        worker: passed(worker)?,
        headcount: input.headcount,
        activity: passed(activity)?,
        notes: passed(notes)?,
    };
    let write = RecordWrite {
        record_type: TYPE.as_str(),
        natural_key: None,
        source_ref: Some(doc.source_ref.clone()),
        agency_code: caller.agency_code.clone(),
        client_id: caller.client_id.clone(),
        person: doc.worker.as_ref().map(PersonDoc::person_ref),
        index: RecordIndex {
            employer_nib: doc.employer_nib.clone(),
            region_code: Some(doc.region_code.clone()),
            kind: Some(doc.source.clone()),
            ref_key: doc.work_site_ref.clone(),
            valid_from: Some(doc.observed_on),
            valid_until: Some(doc.observed_on),
            ..Default::default()
        },
        doc: common::to_doc(&doc)?,
        if_match: precondition,
        ownership: Ownership::CreatorOnly,
        now: chrono::Utc::now().naive_utc(),
    };
    Ok(Prepared::unchecked(write))
}

/// Validates and stores a presence report for `caller`.
pub async fn push(
    state: &AppState,
    caller: &Caller,
    input: &PresenceReportInput,
    precondition: Option<IfMatch>,
) -> Result<(WriteOutcome, RecordRow), ApiError> {
    let prepared = prepare(caller, input, precondition)?;
    common::store(state, caller, prepared).await
}

/// Create or update a presence report by your `source_ref`.
///
/// Report either a named `worker` (resolved to one person by passport and
/// nationality) or a `headcount`. District agencies may only report inside
/// their kecamatan.
#[utoipa::path(
    tag = "presence-reports",
    params(("X-Purpose" = String, Header, description = "Why you read this personal data: supervision, permit-processing, enforcement or statistics (must be registered for your client)"), ("X-Case-Ref" = Option<String>, Header, description = "Your case or letter reference, kept in the audit log"), ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
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
    let (outcome, row) = push(&state, &caller, &body.0, if_match(&req)?).await?;
    let location = format!("/api/v1/presence-reports/{}", row.record_key);
    common::written(&caller, outcome, &row, location, view(&row)?)
}

/// Read one presence report.
#[utoipa::path(
    tag = "presence-reports",
    params(("id" = String, Path, description = "Sinergi id of the report")),
    responses(
        (status = 200, description = "The report", body = PresenceReportRecord, headers(("ETag" = String))),
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
    caller.require(Scope::RecordsRead)?;
    caller.require_purpose()?;
    let row = common::load(&state, TYPE.as_str(), id.into_inner()).await?;
    common::item(&caller, &row, view(&row)?)
}

/// Withdraw a presence report your agency made (e.g. reported in error).
///
/// The report is removed and the change feed carries a tombstone, so every
/// agency that copied it learns to drop it. Only the reporting agency may
/// withdraw it.
#[utoipa::path(
    tag = "presence-reports",
    params(("id" = String, Path, description = "Sinergi id of the report"),
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
    caller.require_writer(TYPE)?;
    common::withdraw(
        &state,
        &caller,
        TYPE.as_str(),
        id.into_inner(),
        if_match(&req)?,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Filters for listing presence reports.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PresenceReportQuery {
    /// Region prefix.
    pub region: Option<String>,
    /// Employer NIB.
    pub employer: Option<String>,
    /// Sinergi worker id.
    pub worker_id: Option<String>,
    /// Nationality of the person seen (alpha-3).
    pub nationality: Option<String>,
    /// `field_check`, `apoa` or `employer_report`.
    pub source: Option<String>,
    /// Observed on or after this date (YYYY-MM-DD).
    pub from: Option<String>,
    /// Observed on or before this date (YYYY-MM-DD).
    pub until: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List presence reports.
#[utoipa::path(
    tag = "presence-reports",
    params(("X-Purpose" = String, Header, description = "Why you read this personal data: supervision, permit-processing, enforcement or statistics (must be registered for your client)"), ("X-Case-Ref" = Option<String>, Header, description = "Your case or letter reference, kept in the audit log"), PresenceReportQuery),
    responses(
        (status = 200, description = "One page", body = Page<PresenceReportRecord>),
        (status = 400, description = "Invalid filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/presence-reports")]
pub async fn list_presence_reports(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::RecordsRead)?;
    caller.require_purpose()?;
    let q: PresenceReportQuery = parse_query(&req)?;
    let mut ck = Checker::default();
    let region = ck.check_opt("region", q.region.as_deref(), RegionCode::parse);
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
        region_prefix: passed(region)?.map(|r| r.as_str().to_string()),
        employer_nib: passed(employer)?.map(|n| n.as_str().to_string()),
        worker_id: q.worker_id.clone(),
        nationality: passed(nationality)?.map(|c| c.as_str().to_string()),
        kind: passed(source)?.map(|s| s.as_str().to_string()),
        from: passed(from)?,
        until: passed(until)?,
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
