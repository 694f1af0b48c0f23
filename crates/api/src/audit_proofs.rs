//! What lets an agency check that the audit log is not rewritten: signed
//! checkpoints (size and Merkle root), consistency proofs between two sizes,
//! inclusion proofs of one event, and the key the checkpoints are signed with.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sinergi_db::audit::tree;
use sinergi_domain::access::{Channel, Request};
use sinergi_domain::FieldError;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::parse_query;
use crate::records::input::Checker;
use crate::state::AppState;

/// A count or position: a whole number from 0.
fn count(ck: &mut Checker, field: &str, v: Option<&str>) -> Option<Option<u64>> {
    ck.check_opt(field, v, |s| {
        s.parse::<u64>()
            .ok()
            .filter(|n| *n <= i64::MAX as u64)
            .ok_or_else(|| FieldError::new("invalid_number", "must be a whole number from 0"))
    })
}

/// The newest checkpoint's size: proofs go up to it.
async fn newest(state: &AppState) -> Result<Option<tree::StoredCheckpoint>, ApiError> {
    let db = state.db.clone();
    Ok(web::block(move || db.read(|c| tree::checkpoint(c, None))).await??)
}

/// Choosing a checkpoint.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CheckpointQuery {
    /// The checkpoint of exactly this many events (default: the newest).
    #[param(value_type = Option<i64>, minimum = 0)]
    pub size: Option<String>,
}

/// The audit log's signed checkpoint (any authenticated client).
///
/// A signed note: the log's origin, its size (events), the base64 Merkle root
/// over those events (RFC 9162 tree hashing of each event's SHA-256) and the
/// signing time, then a blank line and an Ed25519 signature line by the key
/// `GET /api/v1/audit/keys` publishes. Keep the checkpoints you fetch (`sinergi
/// sync pull` does): whoever holds one can prove the log was not truncated or
/// rewritten since (`GET /api/v1/audit/consistency`, `sinergi audit verify
/// --checkpoint`). A new checkpoint is signed within about a second of new events.
#[utoipa::path(
    tag = "audit",
    params(CheckpointQuery),
    responses(
        (status = 200, description = "The signed note", body = String, content_type = "text/plain",
            example = "sinergi.kukarkab.go.id/audit\n1841\nq3XW0d1fVb2yHq8Qe2m3J0v7l5o0J6f2Qy0c6m1v8kY=\n\n\u{2014} sinergi.kukarkab.go.id/audit Az3mWt1v...\n"),
        (status = 400, description = "Invalid size", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No checkpoint (of that size) yet", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/audit/checkpoint")]
pub async fn get_checkpoint(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(Request::new(Channel::AuditCheckpoint, &[]))?;
    let q: CheckpointQuery = parse_query(&req)?;
    let mut ck = Checker::default();
    let size = count(&mut ck, "size", q.size.as_deref());
    ck.finish()?;
    let size = size.flatten();
    let db = state.db.clone();
    let found = web::block(move || db.read(|c| tree::checkpoint(c, size))).await??;
    let Some(found) = found else {
        return Err(ApiError::NotFound(match size {
            Some(n) => format!("no checkpoint of {n} events is kept; omit size for the newest"),
            None => {
                "no checkpoint yet: the log is empty or its first checkpoint is being signed".into()
            }
        }));
    };
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(found.note))
}

/// The key checkpoints are signed with.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditKeys {
    /// The log's origin: the first line of every checkpoint.
    #[schema(example = "sinergi.example.go.id/audit")]
    pub origin: String,
    /// Verifier keys, `name+keyid+base64(0x01 ‖ Ed25519 public key)`.
    pub keys: Vec<String>,
}

/// The audit log's checkpoint verification key (any authenticated client).
///
/// Pin it once, out of band if you can (`sinergi sync pull` pins the first
/// one it sees): a checkpoint signed by another key proves nothing.
#[utoipa::path(
    tag = "audit",
    responses(
        (status = 200, description = "The verifier keys", body = AuditKeys),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/audit/keys")]
pub async fn get_audit_keys(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(Request::new(Channel::AuditCheckpoint, &[]))?;
    Ok(HttpResponse::Ok().json(AuditKeys {
        origin: state.checkpointer.origin().to_string(),
        keys: vec![state.checkpointer.verifier().to_string()],
    }))
}

/// The sizes to prove consistent.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The size of the checkpoint you hold.
    #[param(value_type = i64, minimum = 0)]
    pub first: Option<String>,
    /// A later size, at most the newest checkpoint's.
    #[param(value_type = i64, minimum = 0)]
    pub second: Option<String>,
}

/// Proves the log of `first` events is a prefix of the log of `second` events.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"first": 1000, "second": 1841,
    "proof": ["q3XW0d1fVb2yHq8Qe2m3J0v7l5o0J6f2Qy0c6m1v8kY=", "N2c0Zm9yZXN0cm9vdGhhc2hleGFtcGxlYmFzZTY0PQ=="]}))]
pub struct ConsistencyProof {
    /// The earlier size.
    pub first: u64,
    /// The later size.
    pub second: u64,
    /// Subtree hashes, base64, in the order of RFC 9162 section 2.1.4.
    pub proof: Vec<String>,
}

/// Proof that the log only grew between two checkpoints (any authenticated client).
///
/// Verify it with the roots of the two signed checkpoints (RFC 9162 section
/// 2.1.4.2). A log that was truncated or rewritten below `first` cannot give
/// a proof that verifies.
#[utoipa::path(
    tag = "audit",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "The proof", body = ConsistencyProof),
        (status = 400, description = "Missing or impossible sizes", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/audit/consistency")]
pub async fn get_consistency(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(Request::new(Channel::AuditCheckpoint, &[]))?;
    let q: ConsistencyQuery = parse_query(&req)?;
    let mut ck = Checker::default();
    let first = count(&mut ck, "first", q.first.as_deref()).flatten();
    let second = count(&mut ck, "second", q.second.as_deref()).flatten();
    for (field, v) in [("first", &q.first), ("second", &q.second)] {
        if v.is_none() {
            ck.fail(field, "required", "a size is required");
        }
    }
    let newest = newest(&state).await?.map_or(0, |c| c.tree_size as u64);
    if let (Some(a), Some(b)) = (first, second) {
        if a > b {
            ck.fail(
                "first",
                "out_of_range",
                "first must not be larger than second",
            );
        }
        if b > newest {
            ck.fail(
                "second",
                "out_of_range",
                format!("the newest checkpoint has {newest} events"),
            );
        }
    }
    ck.finish()?;
    let (first, second) = (first.unwrap_or(0), second.unwrap_or(0));
    let db = state.db.clone();
    let proof = web::block(move || db.read(|c| tree::consistency(c, first, second))).await??;
    Ok(HttpResponse::Ok().json(ConsistencyProof {
        first,
        second,
        proof: proof.iter().map(|h| STANDARD.encode(h)).collect(),
    }))
}

/// The event to prove.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// The event's `seq`.
    #[param(value_type = i64, minimum = 1)]
    pub seq: Option<String>,
    /// The size of a checkpoint that covers it.
    #[param(value_type = i64, minimum = 1)]
    pub size: Option<String>,
}

/// Proves one event is in the log of `size` events.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"seq": 1841, "leaf_index": 1840, "size": 1900,
    "proof": ["q3XW0d1fVb2yHq8Qe2m3J0v7l5o0J6f2Qy0c6m1v8kY="]}))]
pub struct InclusionProof {
    /// The event's `seq`.
    pub seq: u64,
    /// Its leaf index (`seq − 1`).
    pub leaf_index: u64,
    /// The log size the proof is for.
    pub size: u64,
    /// Subtree hashes, base64, in the order of RFC 9162 section 2.1.3.
    pub proof: Vec<String>,
}

/// Proof that an event is in the log (auditors: `audit:read` scope).
///
/// The leaf is SHA-256(0x00 ‖ the event's 32-byte `hash`); verify with the
/// root of the checkpoint of `size` events (RFC 9162 section 2.1.3.2).
#[utoipa::path(
    tag = "audit",
    params(InclusionQuery),
    responses(
        (status = 200, description = "The proof", body = InclusionProof),
        (status = 400, description = "Missing or impossible seq or size", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "No audit:read scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/audit/inclusion")]
pub async fn get_inclusion(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(Request::new(Channel::AuditLog, &[]))?;
    let q: InclusionQuery = parse_query(&req)?;
    let mut ck = Checker::default();
    let seq = count(&mut ck, "seq", q.seq.as_deref()).flatten();
    let size = count(&mut ck, "size", q.size.as_deref()).flatten();
    for (field, v) in [("seq", &q.seq), ("size", &q.size)] {
        if v.is_none() {
            ck.fail(field, "required", "a value is required");
        }
    }
    let newest = newest(&state).await?.map_or(0, |c| c.tree_size as u64);
    if let (Some(s), Some(n)) = (seq, size) {
        if s == 0 || s > n {
            ck.fail("seq", "out_of_range", "seq must be from 1 to size");
        }
        if n > newest {
            ck.fail(
                "size",
                "out_of_range",
                format!("the newest checkpoint has {newest} events"),
            );
        }
    }
    ck.finish()?;
    let (seq, size) = (seq.unwrap_or(1), size.unwrap_or(1));
    let db = state.db.clone();
    let proof = web::block(move || db.read(|c| tree::inclusion(c, seq - 1, size))).await??;
    Ok(HttpResponse::Ok().json(InclusionProof {
        seq,
        leaf_index: seq - 1,
        size,
        proof: proof.iter().map(|h| STANDARD.encode(h)).collect(),
    }))
}
