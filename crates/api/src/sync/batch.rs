//! `POST /api/v1/batch`: many writes in one request, atomic or per item, with
//! idempotency keys so a batch job can safely send the same batch again.

use actix_web::http::header;
use actix_web::{post, web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sinergi_db::idempotency::{self, IdemStart};
use sinergi_db::records::WriteOutcome;
use sinergi_db::store::{self as write_path, BatchMode, BatchOutcome, Provenance, Stored, Write};
use sinergi_domain::RecordType;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, FieldProblem, Problem};
use crate::extract::parse_json;
use crate::state::AppState;

/// One operation of a batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchOperation {
    /// `employer`, `rptka_approval`, `residence_permit` (need `key`), `work_site`, `assignment`, `presence_report`.
    #[serde(rename = "type")]
    #[schema(example = "residence_permit")]
    pub type_: String,
    /// Natural key for `employer` (NIB), `rptka_approval` (approval number), `residence_permit` (permit number).
    pub key: Option<String>,
    /// The record, exactly as the single-record endpoint takes it.
    //
    // Kept as its JSON text until the operation's turn comes: a batch of
    // 1,000 operations parsed into values at once held about ten times its
    // text in memory, while one operation's value lives only as long as its
    // validation.
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub body: Box<serde_json::value::RawValue>,
    /// ETag the stored record must have (as `If-Match`).
    pub if_match: Option<String>,
}

/// A batch of writes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// All or nothing: if any operation fails, none is stored (422).
    #[serde(default)]
    pub atomic: bool,
    /// Validate and check everything against stored data, store nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// The operations, applied in order.
    pub operations: Vec<BatchOperation>,
}

/// The result of one operation.
#[derive(Debug, Serialize, ToSchema, Clone)]
pub struct BatchResult {
    /// Position in `operations`.
    pub index: usize,
    /// HTTP status the single-record endpoint would have answered (424: not applied because another operation failed).
    pub status: u16,
    /// `created`, `updated`, `unchanged` or `failed`.
    #[schema(schema_with = outcome_schema)]
    pub outcome: String,
    /// Record type.
    #[serde(rename = "type")]
    pub type_: String,
    /// Record key or Sinergi id.
    pub key: Option<String>,
    /// Version after the write.
    pub version: Option<i64>,
    /// Why it failed.
    pub problem: Option<serde_json::Value>,
}

/// Counts per outcome.
#[derive(Debug, Serialize, ToSchema, Default, Clone)]
pub struct BatchSummary {
    /// New records.
    pub created: usize,
    /// Changed records.
    pub updated: usize,
    /// Identical records.
    pub unchanged: usize,
    /// Failed operations.
    pub failed: usize,
}

/// The answer to a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    /// Whether the batch was atomic.
    pub atomic: bool,
    /// Whether nothing was stored on purpose.
    pub dry_run: bool,
    /// Counts.
    pub summary: BatchSummary,
    /// One result per operation, in order.
    pub results: Vec<BatchResult>,
}

/// What a result names of its operation: the operation's body is let go as
/// soon as it has been validated into a typed record, so a batch holds one
/// form of its records while it is written, not two.
struct OpLabel {
    type_: String,
    key: Option<String>,
}

impl OpLabel {
    fn of(op: BatchOperation) -> OpLabel {
        OpLabel {
            type_: op.type_,
            key: op.key,
        }
    }
}

/// Names fields of operation `index` as `operations[i].body.<field>`.
fn prefix(index: usize, e: ApiError) -> ApiError {
    let re = |problems: Vec<FieldProblem>| {
        problems
            .into_iter()
            .map(|p| FieldProblem {
                field: match p.field.as_str() {
                    "" => format!("operations[{index}].body"),
                    // The natural key travels beside the body.
                    "key" => format!("operations[{index}].key"),
                    f => format!("operations[{index}].body.{f}"),
                },
                ..p
            })
            .collect()
    };
    match e {
        ApiError::Validation(p) => ApiError::Validation(re(p)),
        ApiError::Unprocessable(c, p) => ApiError::Unprocessable(c, re(p)),
        other => other,
    }
}

fn if_match_of(
    op: &BatchOperation,
    index: usize,
) -> Result<Option<sinergi_db::records::IfMatch>, ApiError> {
    let Some(v) = op.if_match.as_deref() else {
        return Ok(None);
    };
    let bad = || {
        ApiError::field(
            format!("operations[{index}].if_match"),
            "invalid_if_match",
            "if_match must be * or an ETag like \"3\"",
        )
    };
    if v.trim() == "*" {
        return Ok(Some(sinergi_db::records::IfMatch::Any));
    }
    v.trim()
        .trim_matches('"')
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .map(|n| Some(sinergi_db::records::IfMatch::Version(n)))
        .ok_or_else(bad)
}

/// Validates one operation into a write (the single-record endpoints' rules).
fn prepare(caller: &Caller, op: &BatchOperation, index: usize) -> Result<Write, ApiError> {
    let if_match = if_match_of(op, index)?;
    let api = RecordType::from_name(&op.type_)
        .and_then(crate::records::api_of)
        .ok_or_else(|| {
            ApiError::field(
                format!("operations[{index}].type"),
                "invalid_type",
                "unknown record type, or one that is not written in batches (workers are \
                 registered through the records that name them or POST /api/v1/workers)",
            )
        })?;
    let record = crate::records::store::may_write(caller, api.record_type)
        .and_then(|_| {
            // The batch was parsed whole, so its text is well-formed JSON.
            let body: serde_json::Value = serde_json::from_str(op.body.get())
                .map_err(|e| ApiError::field("", "malformed_json", e.to_string()))?;
            (api.from_batch)(op.key.as_deref(), &body)
        })
        .map_err(|e| prefix(index, e))?;
    Ok(Write { record, if_match })
}

fn problem_json(e: &ApiError) -> serde_json::Value {
    serde_json::to_value(e.problem()).unwrap_or_default()
}

fn failed(index: usize, op: &OpLabel, e: &ApiError) -> BatchResult {
    BatchResult {
        index,
        status: actix_web::ResponseError::status_code(e).as_u16(),
        outcome: "failed".into(),
        type_: op.type_.clone(),
        key: op.key.clone(),
        version: None,
        problem: Some(problem_json(e)),
    }
}

fn succeeded(index: usize, op: &OpLabel, stored: &Stored) -> BatchResult {
    BatchResult {
        index,
        status: if stored.outcome == WriteOutcome::Created {
            201
        } else {
            200
        },
        outcome: match stored.outcome {
            WriteOutcome::Created => "created",
            WriteOutcome::Updated => "updated",
            WriteOutcome::Unchanged => "unchanged",
        }
        .into(),
        type_: op.type_.clone(),
        key: Some(stored.row.record_key.clone()),
        version: Some(stored.row.version),
        problem: None,
    }
}

/// Runs the validated operations through the write path and returns one
/// result per operation and whether the batch failed as a whole.
fn execute(
    db: &sinergi_db::Db,
    prov: &Provenance,
    ops: &[OpLabel],
    prepared: Vec<Result<Write, ApiError>>,
    atomic: bool,
    dry_run: bool,
) -> Result<(Vec<BatchResult>, bool), ApiError> {
    if atomic {
        if let Some(i) = prepared.iter().position(Result::is_err) {
            let results = ops
                .iter()
                .zip(&prepared)
                .enumerate()
                .map(|(j, (op, p))| match p {
                    Err(e) => failed(j, op, e),
                    Ok(_) => not_applied(j, op, i),
                })
                .collect();
            return Ok((results, true));
        }
    }
    // The write path sees only the valid operations; `index` maps them back,
    // and `invalid` keeps each refused operation's error at its place.
    let mut index = Vec::with_capacity(prepared.len());
    let mut writes = Vec::with_capacity(prepared.len());
    let mut invalid: Vec<Option<ApiError>> = Vec::with_capacity(prepared.len());
    for (i, p) in prepared.into_iter().enumerate() {
        match p {
            Ok(w) => {
                index.push(i);
                writes.push(w);
                invalid.push(None);
            }
            Err(e) => invalid.push(Some(e)),
        }
    }
    let mode = if atomic {
        BatchMode::Atomic
    } else {
        BatchMode::PerItem
    };
    match write_path::store_batch(db, prov, &writes, mode, dry_run)? {
        BatchOutcome::Failed { index: k, error } => {
            let culprit = index[k];
            let mut error = Some(ApiError::from(error));
            let results = ops
                .iter()
                .enumerate()
                .map(
                    |(j, op)| match (j == culprit).then(|| error.take()).flatten() {
                        Some(e) => failed(j, op, &e),
                        None => not_applied(j, op, culprit),
                    },
                )
                .collect();
            Ok((results, true))
        }
        BatchOutcome::Applied(stored) => {
            let mut stored = stored.into_iter();
            let results = ops
                .iter()
                .zip(invalid)
                .enumerate()
                .map(|(j, (op, p))| match p {
                    Some(e) => failed(j, op, &e),
                    None => match stored.next() {
                        Some(Ok(s)) => succeeded(j, op, &s),
                        Some(Err(e)) => failed(j, op, &ApiError::from(e)),
                        None => failed(j, op, &ApiError::Internal("result missing".into())),
                    },
                })
                .collect();
            Ok((results, false))
        }
    }
}

fn not_applied(index: usize, op: &OpLabel, culprit: usize) -> BatchResult {
    BatchResult {
        index,
        status: 424,
        outcome: "failed".into(),
        type_: op.type_.clone(),
        key: op.key.clone(),
        version: None,
        problem: Some(serde_json::json!({
            "code": "not_applied",
            "detail": format!("not stored: the batch is atomic and operation {culprit} failed"),
        })),
    }
}

fn summary(results: &[BatchResult]) -> BatchSummary {
    let mut s = BatchSummary::default();
    for r in results {
        match r.outcome.as_str() {
            "created" => s.created += 1,
            "updated" => s.updated += 1,
            "unchanged" => s.unchanged += 1,
            _ => s.failed += 1,
        }
    }
    s
}

/// Apply many writes in one request.
///
/// Up to 1,000 operations (more is 413). With `atomic: true` either every
/// operation is stored or none (422 `batch_failed`, with each operation's
/// result); otherwise each operation succeeds or fails on its own and the
/// answer is 200 with a result per operation. `dry_run: true` checks
/// everything against stored data and stores nothing. Send an
/// `Idempotency-Key` (1-255 characters) to make retries safe: the same key
/// with the same body returns the stored answer (`Idempotent-Replayed: true`),
/// with a different body 422, and while the first request is still running 409.
/// Keys are kept 48 hours.
#[utoipa::path(
    tag = "sync",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries of this batch safe")),
    request_body = BatchRequest,
    responses(
        (status = 200, description = "Per-operation results", body = BatchResponse),
        (status = 400, description = "Malformed batch", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request with this Idempotency-Key is still running", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too many operations", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Atomic batch failed (nothing stored), or Idempotency-Key reused with another body", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/batch")]
pub async fn post_batch(
    req: HttpRequest,
    caller: Caller,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(crate::auth::Scope::RecordsWrite)?;
    let body = read_body(&req, payload, state.settings.max_batch_bytes).await?;
    let idem_key = idempotency_key(&req)?;
    let batch = parse_batch(&body, state.settings.max_batch_operations)?;
    let client = caller.client_id.clone();
    if let Some(key) = &idem_key {
        if let Some(replay) = claim(&state, &client, key, &body).await? {
            return Ok(replay);
        }
    }
    drop(body);
    let (atomic, dry_run) = (batch.atomic, batch.dry_run);
    let n = batch.operations.len();
    let mut prepared: Vec<Result<Write, ApiError>> = Vec::with_capacity(n);
    let mut ops = Vec::with_capacity(n);
    for (i, op) in batch.operations.into_iter().enumerate() {
        prepared.push(prepare(&caller, &op, i));
        ops.push(OpLabel::of(op));
    }
    let db = state.db.clone();
    let prov = caller.provenance("batch_write");
    // The claim is renewed while the batch runs, so it lapses soon after a crash.
    let heartbeat = idem_key
        .as_ref()
        .map(|k| actix_web::rt::spawn(renew_claim(state.clone(), client.clone(), k.clone())));
    let run = web::block(move || execute(&db, &prov, &ops, prepared, atomic, dry_run))
        .await
        .map_err(ApiError::from)
        .and_then(|r| r);
    if let Some(h) = heartbeat {
        h.abort();
    }
    let (results, batch_failed) = match run {
        Ok(done) => done,
        Err(e) => {
            release(&state, &idem_key, &client).await;
            return Err(e);
        }
    };
    caller.audit.count(n);
    if !dry_run && !batch_failed && results.iter().any(|r| r.outcome != "failed") {
        caller.audit.mark_committed();
    }
    let (status, text) = answer(results, batch_failed, atomic, dry_run);
    if let Some(key) = &idem_key {
        let db = state.db.clone();
        let (k, c, t) = (key.clone(), client.clone(), text.clone());
        web::block(move || {
            db.write(|conn| {
                idempotency::finish(conn, &c, &k, i32::from(status), &t, Utc::now().naive_utc())
            })
        })
        .await??;
    }
    if !dry_run {
        state.changes_notify.notify_waiters();
    }
    Ok(respond(status, text, false))
}

/// The batch body, read up to its own limit (larger than a single record's).
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    let json_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        });
    if !json_type {
        return Err(ApiError::UnsupportedMediaType(
            "send the batch as Content-Type: application/json".into(),
        ));
    }
    // Grown as the data arrives: a declared length is not trusted with memory.
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = futures_util::StreamExt::next(&mut payload).await {
        let chunk = chunk.map_err(|_| {
            ApiError::BadRequest(
                "incomplete_body",
                "the request body could not be read".into(),
            )
        })?;
        if buf.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(format!(
                "the batch exceeds {limit} bytes; split it"
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// The `Idempotency-Key` header, if sent.
fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.chars().all(|c| c.is_ascii_graphic()))
        .map(|k| Some(k.to_string()))
        .ok_or_else(|| {
            ApiError::field(
                "Idempotency-Key",
                "invalid_idempotency_key",
                "Idempotency-Key must be 1-255 visible ASCII characters",
            )
        })
}

/// The batch, with 1 to `max` operations.
fn parse_batch(body: &[u8], max: usize) -> Result<BatchRequest, ApiError> {
    let batch: BatchRequest = parse_json(body)?;
    if batch.operations.len() > max {
        return Err(ApiError::PayloadTooLarge(format!(
            "a batch holds at most {max} operations; split it"
        )));
    }
    if batch.operations.is_empty() {
        return Err(ApiError::field(
            "operations",
            "required",
            "give at least one operation",
        ));
    }
    Ok(batch)
}

/// Claims the idempotency key for this body: `None` to go ahead, or the
/// stored answer of the earlier request to send again.
async fn claim(
    state: &AppState,
    client: &str,
    key: &str,
    body: &[u8],
) -> Result<Option<HttpResponse>, ApiError> {
    let db = state.db.clone();
    let hash = base16ct::lower::encode_string(&Sha256::digest(body));
    let (k, c) = (key.to_string(), client.to_string());
    let start = web::block(move || {
        db.write(|conn| idempotency::begin(conn, &c, &k, &hash, Utc::now().naive_utc()))
    })
    .await??;
    match start {
        IdemStart::Proceed => Ok(None),
        IdemStart::Replay { status, body } => Ok(Some(respond(
            u16::try_from(status).unwrap_or(200),
            body,
            true,
        ))),
        IdemStart::InFlight => Err(ApiError::Conflict(
            "idempotency_key_in_flight",
            "a request with this Idempotency-Key is still being processed; retry later".into(),
        )),
        IdemStart::Mismatch => Err(ApiError::Unprocessable(
            "idempotency_key_reused",
            vec![FieldProblem::new(
                "Idempotency-Key",
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different batch; use a new key",
            )],
        )),
    }
}

/// The status and body of a batch's answer: 200 with a result per
/// operation, or 422 `batch_failed` for an atomic batch that stored nothing.
fn answer(
    results: Vec<BatchResult>,
    batch_failed: bool,
    atomic: bool,
    dry_run: bool,
) -> (u16, String) {
    let summary = summary(&results);
    if !batch_failed {
        let resp = BatchResponse {
            atomic,
            dry_run,
            summary,
            results,
        };
        return (200, serde_json::to_string(&resp).unwrap_or_default());
    }
    let mut problem = serde_json::to_value(
        ApiError::Conflict(
            "batch_failed",
            "the atomic batch failed; nothing was stored".into(),
        )
        .problem(),
    )
    .unwrap_or_default();
    problem["status"] = 422.into();
    problem["title"] = "Batch failed".into();
    problem["type"] = "https://sinergi.example/problems/batch_failed".into();
    problem["summary"] = serde_json::to_value(&summary).unwrap_or_default();
    problem["results"] = serde_json::to_value(&results).unwrap_or_default();
    (422, problem.to_string())
}

/// A batch answer (or its replay) with its content type.
fn respond(status: u16, body: String, replayed: bool) -> HttpResponse {
    let mut resp = HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::OK),
    );
    resp.insert_header((
        header::CONTENT_TYPE,
        if status == 200 {
            "application/json"
        } else {
            "application/problem+json"
        },
    ));
    if replayed {
        resp.insert_header(("Idempotent-Replayed", "true"));
    }
    resp.body(body)
}

/// Renews the idempotency claim every few seconds until aborted.
async fn renew_claim(state: web::Data<AppState>, client: String, key: String) {
    let every = std::time::Duration::from_secs(idempotency::RENEW_EVERY_SECONDS);
    loop {
        actix_web::rt::time::sleep(every).await;
        let db = state.db.clone();
        let (c, k) = (client.clone(), key.clone());
        let renewed = web::block(move || {
            db.write(|conn| idempotency::renew(conn, &c, &k, Utc::now().naive_utc()))
        })
        .await;
        if !matches!(renewed, Ok(Ok(()))) {
            tracing::warn!("an idempotency claim could not be renewed");
        }
    }
}

async fn release(state: &AppState, key: &Option<String>, client: &str) {
    if let Some(k) = key.clone() {
        let db = state.db.clone();
        let c = client.to_string();
        let _ = web::block(move || db.write(|conn| idempotency::release(conn, &c, &k))).await;
    }
}

#[allow(dead_code)]
fn _problem_schema(_: Problem) {}

fn outcome_schema() -> utoipa::openapi::Object {
    crate::contract::one_of(&["created", "updated", "unchanged", "failed"])
}
