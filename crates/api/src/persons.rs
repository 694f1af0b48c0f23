//! `/api/v1/person-links`: pairs of workers that are probably one person.
//! Read like findings (they name people: a purpose, audited); confirmed,
//! rejected or a merge undone by the agency kind responsible for rule 15
//! (immigration), within its jurisdiction.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sinergi_db::persons::{self, Decision, LinkFilter, LinkRow};
use sinergi_db::records::IfMatch;
use sinergi_domain::access::{Channel, Request};
use sinergi_domain::matching::Agreement;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{if_match, page_request, parse_query, JsonBody, PurposeHeaders};
use crate::records::input::{passed, Checker};
use crate::records::paging::read_page;
use crate::records::respond::{self, Page};
use crate::state::AppState;

/// A pair of workers that are probably one person, and what was decided.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonLink {
    /// Link id.
    #[schema(value_type = uuid::Uuid)]
    pub id: String,
    /// The first worker (the smaller id); the pair's `POSSIBLE_SAME_PERSON`
    /// finding is filed under this worker.
    #[schema(value_type = uuid::Uuid)]
    pub worker_a: String,
    /// The second worker.
    #[schema(value_type = uuid::Uuid)]
    pub worker_b: String,
    /// `candidate` (undecided), `confirmed` (merged), `rejected`,
    /// `unmerged` (a merge undone) or `dissolved` (the evidence went away).
    #[schema(schema_with = link_status)]
    pub status: String,
    /// Match probability from the field weights, 0 to 1.
    #[schema(example = 0.998)]
    pub score: f64,
    /// Field by field: what agreed, what differed, which agencies said so
    /// (never the values themselves).
    pub evidence: Vec<Agreement>,
    /// Once confirmed: the worker that holds both passports and every record.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub survivor: Option<String>,
    /// Reason given with the last decision.
    pub reason: Option<String>,
    /// Case reference given with the last decision.
    pub case_ref: Option<String>,
    /// `AGENCY/client` of the last decision.
    pub decided_by: Option<String>,
    /// When it was last decided (UTC).
    pub decided_at: Option<DateTime<Utc>>,
    /// When the matcher first found the pair (UTC).
    pub created_at: DateTime<Utc>,
    /// Last change (UTC).
    pub updated_at: DateTime<Utc>,
    /// +1 on each change; the ETag.
    pub version: i64,
}

fn link_status() -> utoipa::openapi::Object {
    crate::contract::one_of(&persons::STATUSES)
}

impl PersonLink {
    fn of(row: &LinkRow) -> Result<PersonLink, ApiError> {
        Ok(PersonLink {
            id: row.id.clone(),
            worker_a: row.worker_a.clone(),
            worker_b: row.worker_b.clone(),
            status: row.status.clone(),
            score: row.score,
            evidence: row.agreements()?,
            survivor: row.survivor.clone(),
            reason: row.reason.clone(),
            case_ref: row.case_ref.clone(),
            decided_by: row.decided_by.clone(),
            decided_at: row.decided_at.map(|t| t.and_utc()),
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            version: row.version,
        })
    }
}

/// Filters for listing person links.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PersonLinkQuery {
    /// `candidate`, `confirmed`, `rejected`, `unmerged` or `dissolved`.
    #[param(schema_with = link_status)]
    pub status: Option<String>,
    /// Either worker of the pair.
    #[param(value_type = Option<uuid::Uuid>)]
    pub worker_id: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List pairs of workers that are probably one person.
///
/// The matcher compares a worker with the workers sharing their nationality
/// and birth date or normalised name whenever an identity or passport
/// changes, and daily over everyone. Each unresolved pair is also a
/// `POSSIBLE_SAME_PERSON` finding. Send `X-Purpose`: the read is audited.
#[utoipa::path(
    tag = "workers",
    params(PurposeHeaders, PersonLinkQuery),
    responses(
        (status = 200, description = "One page of person links", body = Page<PersonLink>),
        (status = 400, description = "Invalid filter, limit or cursor, or no X-Purpose", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Purpose not registered for your client", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/person-links")]
pub async fn list_person_links(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(Request::new(Channel::Findings, &[]))?;
    let q: PersonLinkQuery = parse_query(&req)?;
    let mut ck = Checker::default();
    let status = ck.check_opt("status", q.status.as_deref(), |s| {
        persons::STATUSES
            .contains(&s)
            .then(|| s.to_string())
            .ok_or_else(|| {
                sinergi_domain::FieldError::new(
                    "invalid_value",
                    "status must be candidate, confirmed, rejected, unmerged or dissolved",
                )
            })
    });
    let worker = ck.check_opt("worker_id", q.worker_id.as_deref(), |s| {
        uuid::Uuid::parse_str(s)
            .map(|u| u.to_string())
            .map_err(|_| sinergi_domain::FieldError::new("invalid_id", "worker_id must be a UUID"))
    });
    ck.finish()?;
    let key = state.cursor_key(&caller);
    let page = page_request(&key, "person_link", q.limit.as_deref(), q.cursor.as_deref())?;
    let filter = LinkFilter {
        status: passed(status)?,
        worker_id: passed(worker)?,
    };
    let (rows, next_cursor) = read_page(
        &state,
        &key,
        "person_link",
        page,
        move |c, after, limit| persons::list(c, &filter, after, limit),
        |r: &LinkRow| r.id.clone(),
    )
    .await?;
    respond::page(
        &caller,
        Page {
            items: rows.iter().map(PersonLink::of).collect::<Result<_, _>>()?,
            next_cursor,
        },
    )
}

/// Read one person link.
///
/// The pair, the score, the evidence field by field and the last decision.
/// Send `X-Purpose`: the read is audited.
#[utoipa::path(
    tag = "workers",
    params(PurposeHeaders, ("id" = uuid::Uuid, Path, description = "Person link id")),
    responses(
        (status = 200, description = "The link", body = PersonLink, headers(("ETag" = String))),
        (status = 400, description = "No X-Purpose", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Purpose not registered for your client", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/person-links/{id}")]
pub async fn get_person_link(
    caller: Caller,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let id = id.into_inner();
    let row = web::block(move || db.read(|c| persons::get(c, &id))).await??;
    caller
        .audit
        .subject(row.as_ref().map(|r| r.worker_a.as_str()));
    caller.allow(Request::new(Channel::Findings, &[]))?;
    let row = row.ok_or_else(|| ApiError::NotFound("no person link with this id".into()))?;
    respond::item(&caller, row.version, PersonLink::of(&row)?)
}

/// Why a pair is confirmed, rejected or a merge undone.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonLinkDecision {
    /// What was checked and found (kept with the link and in the audit log).
    #[schema(
        example = "Passport E5123456 renewed as E51234567; same person per passport office record"
    )]
    pub reason: String,
    /// The case file the decision belongs to.
    #[schema(example = "IMI-SMD/2026/1187")]
    pub case_ref: String,
}

async fn decide(
    req: HttpRequest,
    caller: Caller,
    id: String,
    body: PersonLinkDecision,
    state: web::Data<AppState>,
    decision: Decision,
) -> Result<HttpResponse, ApiError> {
    // Whether the agency may decide is known once the pair is read.
    caller.require(crate::auth::Scope::RecordsWrite)?;
    let precondition = match if_match(&req)? {
        Some(IfMatch::Version(v)) => Some(v),
        _ => None,
    };
    let mut ck = Checker::default();
    let reason = ck.text("reason", &body.reason, 1000);
    let case_ref = ck.text("case_ref", &body.case_ref, 100);
    ck.finish()?;
    let (reason, case_ref) = (passed(reason)?, passed(case_ref)?);
    let db = state.db.clone();
    let mut prov = caller.provenance(decision.as_str());
    prov.case_ref = Some(case_ref.clone());
    let row = web::block(move || {
        persons::decide(&db, &prov, &id, decision, &reason, &case_ref, precondition)
    })
    .await??;
    caller.audit.subject(Some(&row.worker_a));
    caller.audit.mark_audited();
    state.changes_notify.notify_waiters();
    respond::item(&caller, row.version, PersonLink::of(&row)?)
}

/// Confirm a pair as one person: the workers are merged.
///
/// The worker Sinergi knew first stays; the other's passports, reported
/// identities and records move to it, and `GET /workers/{other}` answers
/// 307 to the survivor. Findings are recomputed on the merged person. The
/// change feed carries `worker` / `merged` with both ids. Immigration only
/// (the agency responsible for `POSSIBLE_SAME_PERSON`), within its
/// jurisdiction; undo with `/undo`.
#[utoipa::path(
    tag = "workers",
    params(("id" = uuid::Uuid, Path, description = "Person link id"),
           ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    request_body = PersonLinkDecision,
    responses(
        (status = 200, description = "Merged", body = PersonLink, headers(("ETag" = String))),
        (status = 400, description = "Missing reason or case reference", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your agency may not decide this pair", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The link is not a candidate, or a worker was merged meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/person-links/{id}/confirm")]
pub async fn confirm_person_link(
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
    body: JsonBody<PersonLinkDecision>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    decide(
        req,
        caller,
        id.into_inner(),
        body.0,
        state,
        Decision::Confirm,
    )
    .await
}

/// Reject a pair: two different people.
///
/// The pair's finding resolves, and the matcher does not propose the pair
/// again unless the evidence changes (a field agrees or differs in a new
/// way). Immigration only, within its jurisdiction.
#[utoipa::path(
    tag = "workers",
    params(("id" = uuid::Uuid, Path, description = "Person link id"),
           ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    request_body = PersonLinkDecision,
    responses(
        (status = 200, description = "Rejected", body = PersonLink, headers(("ETag" = String))),
        (status = 400, description = "Missing reason or case reference", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your agency may not decide this pair", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The link is not a candidate", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/person-links/{id}/reject")]
pub async fn reject_person_link(
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
    body: JsonBody<PersonLinkDecision>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    decide(
        req,
        caller,
        id.into_inner(),
        body.0,
        state,
        Decision::Reject,
    )
    .await
}

/// Undo a merge: the two workers are split back.
///
/// The passports and identities that moved go back, and so does every
/// record of the survivor that names one of those passports (also records
/// written since the merge). The change feed carries `worker` / `unmerged`
/// with both ids; findings are recomputed on both. Immigration only.
#[utoipa::path(
    tag = "workers",
    params(("id" = uuid::Uuid, Path, description = "Person link id"),
           ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    request_body = PersonLinkDecision,
    responses(
        (status = 200, description = "Split back", body = PersonLink, headers(("ETag" = String))),
        (status = 400, description = "Missing reason or case reference", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your agency may not decide this pair", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The link is not confirmed", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/person-links/{id}/undo")]
pub async fn undo_person_link(
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
    body: JsonBody<PersonLinkDecision>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    decide(req, caller, id.into_inner(), body.0, state, Decision::Undo).await
}
