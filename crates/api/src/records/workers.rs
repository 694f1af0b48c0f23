//! Workers: one person resolved from passport number and nationality, with
//! every passport they hold, the identity each agency reports, and the joined
//! view of everything Sinergi knows about them.

use std::collections::HashSet;

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sinergi_db::changes::NewChange;
use sinergi_db::records as store;
use sinergi_db::workers::{self as people, ExtraPassport, WorkerDetail, WorkerFilter};
use sinergi_domain::{CountryCode, PassportNo, RecordType};
use utoipa::{IntoParams, ToSchema};

use super::assignments::{self, AssignmentRecord};
use super::common::{self, passed, Checker, Page};
use super::person::PersonInput;
use super::presence_reports::{self, PresenceReportRecord};
use super::residence_permits::{self, ResidencePermitRecord};
use crate::auth::{Caller, Scope};
use crate::error::{ApiError, Problem};
use crate::extract::{etag, next_cursor, page_request, parse_query, JsonBody};
use crate::state::AppState;

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
    pub sex: Option<String>,
    /// Date of birth.
    pub birth_date: Option<NaiveDate>,
    /// Expiry of the current passport.
    pub passport_expires_on: Option<NaiveDate>,
    /// Other passports of the same person (old or second nationality).
    #[serde(default)]
    pub other_passports: Vec<PassportInput>,
}

/// A passport held by a worker.
#[derive(Debug, Serialize, ToSchema)]
pub struct PassportView {
    /// Number.
    pub number: String,
    /// Issuing state.
    pub country: String,
    /// Expiry date.
    pub expires_on: Option<NaiveDate>,
    /// Agency that first reported it.
    pub reported_by: String,
}

/// The identity one agency reports for the person.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityView {
    /// Reporting agency.
    pub agency: String,
    /// Reporting client.
    pub client_id: String,
    /// Passport used.
    pub passport_no: String,
    /// Nationality.
    pub nationality: String,
    /// Name.
    pub full_name: String,
    /// Sex.
    pub sex: Option<String>,
    /// Birth date.
    pub birth_date: Option<NaiveDate>,
    /// Record type that carried it.
    pub record_type: String,
    /// Key of that record.
    pub record_key: String,
    /// When it was last reported differently.
    pub updated_at: DateTime<Utc>,
}

/// A worker's identity as reported by every agency.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerSummary {
    /// Sinergi id.
    pub id: String,
    /// +1 with each write or batch that changes the identity or passports.
    pub version: i64,
    /// Passports held.
    pub passports: Vec<PassportView>,
    /// Identity per reporting agency; more than one differing entry means the agencies disagree.
    pub identities: Vec<IdentityView>,
    /// Whether agencies report a different name or birth date.
    pub identity_conflict: bool,
    /// First seen.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Everything Sinergi knows about one worker, each piece with its provenance.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerView {
    /// Identity and passports.
    #[serde(flatten)]
    pub summary: WorkerSummary,
    /// Stay permits (immigration).
    pub residence_permits: Vec<ResidencePermitRecord>,
    /// Assignments (manpower).
    pub assignments: Vec<AssignmentRecord>,
    /// Presence reports (regional, district, immigration).
    pub presence_reports: Vec<PresenceReportRecord>,
    /// Compliance findings about the person that are not resolved.
    pub findings: Vec<crate::findings::view::FindingView>,
}

fn summary(d: WorkerDetail) -> WorkerSummary {
    let names: HashSet<&String> = d.identities.iter().map(|i| &i.full_name).collect();
    let births: HashSet<NaiveDate> = d.identities.iter().filter_map(|i| i.birth_date).collect();
    let conflict = names.len() > 1 || births.len() > 1;
    WorkerSummary {
        id: d.worker.id,
        version: d.worker.version,
        passports: d
            .passports
            .into_iter()
            .map(|p| PassportView {
                number: p.number,
                country: p.country,
                expires_on: p.expires_on,
                reported_by: p.agency_code,
            })
            .collect(),
        identities: d
            .identities
            .into_iter()
            .map(|i| IdentityView {
                agency: i.agency_code,
                client_id: i.client_id,
                passport_no: i.passport_no,
                nationality: i.nationality,
                full_name: i.full_name,
                sex: i.sex,
                birth_date: i.birth_date,
                record_type: i.record_type,
                record_key: i.record_key,
                updated_at: i.updated_at.and_utc(),
            })
            .collect(),
        identity_conflict: conflict,
        created_at: d.worker.created_at.and_utc(),
        updated_at: d.worker.updated_at.and_utc(),
    }
}

async fn joined(state: &AppState, id: String) -> Result<WorkerView, ApiError> {
    let db = state.db.clone();
    let (detail, rows, findings) = web::block(move || {
        db.read(|c| {
            let detail = people::get_worker(c, &id)?;
            let (rows, findings) = match &detail {
                Some(_) => (
                    store::records_of_worker(c, &id)?,
                    sinergi_db::findings::of_subject(c, "worker", &id)?,
                ),
                None => (vec![], vec![]),
            };
            Ok((detail, rows, findings))
        })
    })
    .await??;
    let detail = detail.ok_or_else(|| ApiError::NotFound("no worker with this id".into()))?;
    let of = |t: RecordType| rows.iter().filter(move |r| r.record_type == t.as_str());
    Ok(WorkerView {
        residence_permits: of(RecordType::ResidencePermit)
            .map(residence_permits::view)
            .collect::<Result<_, _>>()?,
        assignments: of(RecordType::Assignment)
            .map(assignments::view)
            .collect::<Result<_, _>>()?,
        presence_reports: of(RecordType::PresenceReport)
            .map(presence_reports::view)
            .collect::<Result<_, _>>()?,
        summary: summary(detail),
        findings: findings
            .iter()
            .filter(|f| f.status != "resolved")
            .map(crate::findings::view::FindingView::of)
            .collect(),
    })
}

/// Validates and registers a person for `caller`; returns the id and whether the person is new.
pub async fn register(
    state: &AppState,
    caller: &Caller,
    input: &WorkerInput,
) -> Result<(String, bool), ApiError> {
    caller.require_writer(RecordType::Worker)?;
    let mut ck = Checker::default();
    let person = PersonInput {
        passport_no: input.passport_no.clone(),
        nationality: input.nationality.clone(),
        full_name: input.full_name.clone(),
        sex: input.sex.clone(),
        birth_date: input.birth_date,
        passport_expires_on: input.passport_expires_on,
    }
    .check(&mut ck, "");
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
        if let (Some(n), Some(c)) = (number, country) {
            extra.push(ExtraPassport {
                number: n.as_str().to_string(),
                country: c.as_str().to_string(),
                expires_on: p.expires_on,
            });
        }
    }
    if input.other_passports.len() > 10 {
        ck.fail("other_passports", "too_many", "at most 10 other passports");
    }
    ck.finish()?;
    let person = passed(person)?.person_ref();
    let db = state.db.clone();
    let (agency, client) = (caller.agency_code.clone(), caller.client_id.clone());
    let audit = caller.audit.clone();
    let (id, created) = web::block(move || {
        db.write(|c| {
            let mut pending = crate::findings::engine::Pending::default();
            let before =
                match people::find_by_passport(c, &person.passport_no, &person.nationality)? {
                    Some(p) => people::get_worker(c, &p.worker_id)?.map(|d| d.worker.version),
                    None => None,
                };
            let (id, created) = people::register_worker(
                c,
                &person,
                &extra,
                &agency,
                &client,
                Utc::now().naive_utc(),
            )?;
            let after = people::get_worker(c, &id)?.ok_or(sinergi_db::StoreError::NotFound)?;
            if before != Some(after.worker.version) {
                let version = after.worker.version;
                let changed_at = after.worker.updated_at;
                let payload = serde_json::to_string(&summary(after))?;
                pending.journal.change(NewChange {
                    record_type: "worker".into(),
                    record_key: id.clone(),
                    op: "upsert",
                    version,
                    agency_code: agency.clone(),
                    worker_id: Some(id.clone()),
                    payload: Some(payload),
                    changed_at,
                });
            }
            pending.note_subject(sinergi_domain::rules::Subject::Worker(id.clone()));
            audit.subject(Some(&id));
            pending.journal.audit(audit.entry(
                "write",
                "worker",
                Some(&id),
                if created { 201 } else { 200 },
            ));
            pending.flush(c)?;
            Ok((id, created))
        })
    })
    .await??;
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
    let view = joined(&state, id.clone()).await?;
    let mut resp = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::ETAG, etag(view.summary.version)));
    if created {
        resp.insert_header((header::LOCATION, format!("/api/v1/workers/{id}")));
    }
    Ok(resp.json(common::body(&caller, &view)?))
}

/// The joined view of one worker.
///
/// Identity as each agency reports it, passports, residence permits,
/// assignments and presence reports, each with its provenance.
#[utoipa::path(
    tag = "workers",
    params(("X-Purpose" = String, Header, description = "Why you read this personal data: supervision, permit-processing, enforcement or statistics (must be registered for your client)"), ("X-Case-Ref" = Option<String>, Header, description = "Your case or letter reference, kept in the audit log"), ("id" = String, Path, description = "Sinergi worker id")),
    responses(
        (status = 200, description = "The worker", body = WorkerView, headers(("ETag" = String))),
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
    caller.require(Scope::RecordsRead)?;
    caller.require_purpose()?;
    let id = id.into_inner();
    caller.audit.subject(Some(&id));
    let view = joined(&state, id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.summary.version)))
        .json(common::body(&caller, &view)?))
}

/// Filters for listing workers.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorkerQuery {
    /// Holds a passport of this state (alpha-3).
    pub nationality: Option<String>,
    /// Holds this passport number.
    pub passport_no: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List workers (identity and passports; read one for the joined view).
#[utoipa::path(
    tag = "workers",
    params(("X-Purpose" = String, Header, description = "Why you read this personal data: supervision, permit-processing, enforcement or statistics (must be registered for your client)"), ("X-Case-Ref" = Option<String>, Header, description = "Your case or letter reference, kept in the audit log"), WorkerQuery),
    responses(
        (status = 200, description = "One page", body = Page<WorkerSummary>),
        (status = 400, description = "Invalid filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/workers")]
pub async fn list_workers(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::RecordsRead)?;
    caller.require_purpose()?;
    let q: WorkerQuery = parse_query(&req)?;
    let mut ck = Checker::default();
    let nationality = ck.check_opt("nationality", q.nationality.as_deref(), CountryCode::parse);
    let passport = ck.check_opt("passport_no", q.passport_no.as_deref(), PassportNo::parse);
    ck.finish()?;
    let page = page_request(
        &state.cursor_key(&caller),
        "worker",
        q.limit.as_deref(),
        q.cursor.as_deref(),
    )?;
    let filter = WorkerFilter {
        nationality: passed(nationality)?.map(|c| c.as_str().to_string()),
        passport_no: passed(passport)?.map(|p| p.as_str().to_string()),
    };
    let db = state.db.clone();
    let after = page.after.clone();
    let mut rows = web::block(move || {
        db.read(|c| people::list_workers(c, &filter, after.as_deref(), page.limit + 1))
    })
    .await??;
    let next = if rows.len() as i64 > page.limit {
        rows.truncate(page.limit as usize);
        rows.last()
            .map(|r| next_cursor(&state.cursor_key(&caller), "worker", &r.worker.id))
    } else {
        None
    };
    common::page(
        &caller,
        Page {
            items: rows.into_iter().map(summary).collect(),
            next_cursor: next,
        },
    )
}
