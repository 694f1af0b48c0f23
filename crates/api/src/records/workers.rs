//! Workers: one person resolved from passport number and nationality, with
//! every passport they hold, the identity each agency reports, and the joined
//! view of everything Sinergi knows about them.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sinergi_db::findings::FindingView;
use sinergi_db::worker_docs::{self, StoredDocument};
use sinergi_db::workers::{self as people, ExtraPassport, WorkerFilter, WorkerSummary};
use sinergi_domain::access::{Channel, Request};
use sinergi_domain::{CountryCode, PassportNo, RecordType};
use utoipa::{IntoParams, ToSchema};

use super::input::{passed, Checker};
use super::paging::read_page;
use super::person::PersonInput;
use super::respond::{self, Page};
use super::view::{AssignmentRecord, PresenceReportRecord, ResidencePermitRecord};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{etag, page_request, parse_query, JsonBody, PurposeHeaders};
use crate::state::AppState;

const TYPE: RecordType = RecordType::Worker;

/// Another passport the same person holds.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PassportInput {
    /// Passport number.
    #[schema(example = "EA1234567")]
    pub number: String,
    /// Issuing state, alpha-3.
    #[schema(example = "CHN")]
    pub country: String,
    /// Expiry date.
    pub expires_on: Option<NaiveDate>,
}

/// A person as immigration or manpower registers them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerInput {
    /// Current passport number.
    #[schema(example = "E51234567")]
    pub passport_no: String,
    /// Nationality and issuing state of that passport, alpha-3.
    #[schema(example = "CHN")]
    pub nationality: String,
    /// Name as in the passport.
    #[schema(example = "ZHANG WEI")]
    pub full_name: String,
    /// `M`, `F` or `X`.
    #[schema(value_type = Option<sinergi_domain::Sex>)]
    pub sex: Option<String>,
    /// Date of birth.
    pub birth_date: Option<NaiveDate>,
    /// Expiry of the current passport.
    pub passport_expires_on: Option<NaiveDate>,
    /// Other passports of the same person (old or second nationality).
    #[serde(default)]
    pub other_passports: Vec<PassportInput>,
}

/// The answer for a worker merged into another.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergedWorker {
    /// The id asked for.
    #[schema(value_type = uuid::Uuid)]
    pub id: String,
    /// The worker holding their passports and records now.
    #[schema(value_type = uuid::Uuid)]
    pub merged_into: String,
}

// The answer's schema only: the body is the stored document
// (`sinergi_db::worker_docs::WorkerDocument`); a test holds the two to the
// same fields.
/// Everything Sinergi knows about one worker, each piece with its provenance.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct WorkerView {
    /// Identity and passports.
    #[serde(flatten)]
    pub summary: WorkerSummary,
    /// Stay permits (immigration).
    #[schema(value_type = Vec<ResidencePermitRecord>)]
    pub residence_permits: Vec<Box<RawValue>>,
    /// Assignments (manpower).
    #[schema(value_type = Vec<AssignmentRecord>)]
    pub assignments: Vec<Box<RawValue>>,
    /// Presence reports (regional, district, immigration).
    #[schema(value_type = Vec<PresenceReportRecord>)]
    pub presence_reports: Vec<Box<RawValue>>,
    /// Compliance findings about the person that are not resolved.
    pub findings: Vec<FindingView>,
}

/// The worker's stored joined view: one indexed read. A worker stored
/// before views were kept gets theirs built from the tables until the
/// start-up backfill has written it.
async fn joined(state: &AppState, id: String) -> Result<StoredDocument, ApiError> {
    let db = state.db.clone();
    web::block(move || {
        db.read(|c| match worker_docs::read(c, &id)? {
            Some(doc) => Ok(Some(doc)),
            None => Ok(worker_docs::build(c, std::slice::from_ref(&id))?.pop()),
        })
    })
    .await??
    .ok_or_else(|| ApiError::NotFound("no worker with this id".into()))
}

/// The stored view as `caller` may see it: passed through as stored, or
/// with identifiers masked.
fn view_text(caller: &Caller, doc: StoredDocument) -> Result<String, ApiError> {
    if !caller.masks_pii() {
        return Ok(doc.body);
    }
    let value: serde_json::Value =
        serde_json::from_str(&doc.body).map_err(|e| ApiError::Internal(e.to_string()))?;
    respond::body_text(caller, &value)
}

/// Validates and registers a person for `caller`; returns the id and whether the person is new.
pub async fn register(
    state: &AppState,
    caller: &Caller,
    input: &WorkerInput,
) -> Result<(String, bool), ApiError> {
    caller.allow(Request::new(Channel::Write, &[TYPE]))?;
    let mut ck = Checker::default();
    let person = PersonInput {
        passport_no: input.passport_no.clone(),
        nationality: input.nationality.clone(),
        full_name: input.full_name.clone(),
        sex: input.sex.clone(),
        birth_date: input.birth_date,
        passport_expires_on: input.passport_expires_on,
        previous_passport_no: None,
    }
    .person(&mut ck, "");
    if let Some(p) = &person {
        ck.violations(p.violations("", sinergi_db::findings::engine::today()));
    }
    let mut extra = Vec::new();
    for (i, p) in input.other_passports.iter().enumerate() {
        let number = ck.check(
            &format!("other_passports[{i}].number"),
            PassportNo::parse(&p.number),
        );
        let country = ck.check(
            &format!("other_passports[{i}].country"),
            CountryCode::parse(&p.country),
        );
        if let Some(v) = p.expires_on.and_then(|d| {
            sinergi_domain::records::date_in_range(&format!("other_passports[{i}].expires_on"), d)
        }) {
            ck.violations(vec![v]);
        }
        if let (Some(n), Some(c)) = (number, country) {
            extra.push(ExtraPassport {
                number: n.to_string(),
                country: c.to_string(),
                expires_on: p.expires_on,
            });
        }
    }
    if input.other_passports.len() > 10 {
        ck.fail("other_passports", "too_many", "at most 10 other passports");
    }
    ck.finish()?;
    let person = passed(person)?;
    let db = state.db.clone();
    let prov = caller.provenance("write");
    let (id, created) = web::block(move || people::register(&db, &prov, &person, &extra)).await??;
    caller.audit.subject(Some(&id));
    caller.audit.mark_audited();
    state.changes_notify.notify_waiters();
    Ok((id, created))
}

/// Register a person, or add passports and this agency's view of their identity.
///
/// The person is found by any of the passports given (number + issuing state);
/// 201 when new, 200 when already known. If the passports belong to two
/// different people in Sinergi the request is refused with 409.
#[utoipa::path(
    tag = "workers",
    request_body = WorkerInput,
    responses(
        (status = 201, description = "New person", body = WorkerView, headers(("ETag" = String), ("Location" = String))),
        (status = 200, description = "Known person, updated", body = WorkerView, headers(("ETag" = String))),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Agency may not register workers", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Passports of different people", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/workers")]
pub async fn register_worker(
    caller: Caller,
    body: JsonBody<WorkerInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (id, created) = register(&state, &caller, &body.0).await?;
    let doc = joined(&state, id.clone()).await?;
    let mut resp = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::ETAG, etag(doc.version)));
    if created {
        resp.insert_header((header::LOCATION, format!("/api/v1/workers/{id}")));
    }
    Ok(resp
        .content_type("application/json")
        .body(view_text(&caller, doc)?))
}

/// The joined view of one worker.
///
/// Identity as each agency reports it, passports, residence permits,
/// assignments, presence reports and open findings, each with its provenance.
#[utoipa::path(
    tag = "workers",
    params(PurposeHeaders, ("id" = uuid::Uuid, Path, description = "Sinergi worker id")),
    responses(
        (status = 200, description = "The worker", body = WorkerView, headers(("ETag" = String))),
        (status = 307, description = "This worker was merged into another (a confirmed person link): `Location` and `merged_into` name the worker that holds their records now", body = MergedWorker, headers(("Location" = String))),
        (status = 400, description = "No X-Purpose", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Purpose not registered for your client", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/workers/{id}")]
pub async fn get_worker(
    caller: Caller,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    // Named in the audit event also when the read is refused.
    caller.audit.subject(Some(&id));
    caller.allow(Request::new(Channel::ReadItem, &[TYPE]))?;
    let doc = joined(&state, id).await?;
    if let Some(survivor) = &doc.merged_into {
        // Confirmed to be another worker: that one holds everything now.
        // Temporary, as an undo splits them back.
        return Ok(HttpResponse::TemporaryRedirect()
            .insert_header((header::LOCATION, format!("/api/v1/workers/{survivor}")))
            .content_type("application/json")
            .body(
                serde_json::json!({ "id": doc.worker_id, "merged_into": survivor }).to_string(),
            ));
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(doc.version)))
        .content_type("application/json")
        .body(view_text(&caller, doc)?))
}

/// Filters for listing workers.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorkerQuery {
    /// Holds a passport of this state (alpha-3).
    #[param(value_type = Option<sinergi_domain::CountryCode>)]
    pub nationality: Option<String>,
    /// Holds this passport number (not for clients that see passport numbers masked).
    pub passport_no: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List workers (identity and passports; read one for the joined view).
///
/// One item per person known to Sinergi: the identity each agency reported and
/// the passports. Filter by nationality or by passport number (not for clients
/// that see passport numbers masked). Personal data: send `X-Purpose`; the list
/// read is audited with its count.
#[utoipa::path(
    tag = "workers",
    params(PurposeHeaders, WorkerQuery),
    responses(
        (status = 200, description = "One page", body = Page<WorkerSummary>),
        (status = 400, description = "Invalid filter, limit or cursor, or no X-Purpose", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Purpose not registered, or a passport look-up by a client that sees numbers masked", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/workers")]
pub async fn list_workers(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(Request::new(Channel::List, &[TYPE]))?;
    let q: WorkerQuery = parse_query(&req)?;
    if q.passport_no.is_some() {
        // A look-up by number: refused where the number would be masked.
        caller.allow(Request {
            by_identifier: true,
            ..Request::new(Channel::List, &[TYPE])
        })?;
    }
    let mut ck = Checker::default();
    let nationality = ck.check_opt("nationality", q.nationality.as_deref(), CountryCode::parse);
    let passport = ck.check_opt("passport_no", q.passport_no.as_deref(), PassportNo::parse);
    ck.finish()?;
    let key = state.cursor_key(&caller);
    let page = page_request(&key, "worker", q.limit.as_deref(), q.cursor.as_deref())?;
    let filter = WorkerFilter {
        nationality: passed(nationality)?.map(|c| c.to_string()),
        passport_no: passed(passport)?.map(|p| p.to_string()),
    };
    let (rows, next_cursor) = read_page(
        &state,
        &key,
        "worker",
        page,
        move |c, after, limit| people::list_workers(c, &filter, after, limit),
        |w: &people::WorkerDetail| w.worker.id.clone(),
    )
    .await?;
    respond::page(
        &caller,
        Page {
            items: rows.into_iter().map(WorkerSummary::of).collect(),
            next_cursor,
        },
    )
}
