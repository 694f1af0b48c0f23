//! Who is calling: the bearer token verified, the client and its agency read
//! (cached), the declared purpose parsed, and the request's rate limit applied.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use sinergi_db::identity;
use sinergi_domain::{AgencyKind, RegionCode};

use super::caller::{Caller, Claims, Purpose, Scope};
use crate::audit_handle::AuditHandle;
use crate::error::ApiError;
use crate::state::AppState;

fn unauthorized(code: &'static str, message: &str) -> ApiError {
    ApiError::Unauthorized(code, message.to_string())
}

fn declared_purpose(req: &HttpRequest) -> Result<(Option<Purpose>, Option<String>), ApiError> {
    let purpose = match req.headers().get("x-purpose") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| Purpose::parse(s.trim()).ok())
                .ok_or_else(|| {
                    ApiError::field(
                        "X-Purpose",
                        "invalid_purpose",
                        format!(
                            "X-Purpose must be one of: {}",
                            Purpose::ALL.map(|p| p.as_str()).join(", ")
                        ),
                    )
                })?,
        ),
    };
    let case_ref = match req.headers().get("x-case-ref") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .map(str::trim)
                .filter(|s| {
                    !s.is_empty()
                        && s.len() <= 64
                        && s.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_./ ".contains(c))
                })
                .map(str::to_string)
                .ok_or_else(|| {
                    ApiError::field(
                        "X-Case-Ref",
                        "invalid_case_ref",
                        "X-Case-Ref must be 1-64 characters A-Z, 0-9, space, - _ . /",
                    )
                })?,
        ),
    };
    Ok((purpose, case_ref))
}

/// Seconds of clock difference tolerated for `exp` and `nbf`.
const TOKEN_LEEWAY_SECS: i64 = 30;

/// Checks a token's signature and claims.
async fn verify(state: &AppState, token: &str) -> Result<Claims, ApiError> {
    let head = jsonwebtoken::decode_header(token)
        .map_err(|_| unauthorized("invalid_token", "the token is not a well-formed JWT"))?;
    if head.alg != Algorithm::EdDSA {
        return Err(unauthorized(
            "invalid_token",
            "the token must be signed with EdDSA",
        ));
    }
    let kid = head
        .kid
        .ok_or_else(|| unauthorized("invalid_token", "the token has no key id (kid)"))?;
    // A known key is in memory; only an unknown one sends us to the database.
    let key = match state.keys.loaded(&kid) {
        Some(k) => Some(k),
        None => {
            let keys = state.keys.clone();
            web::block(move || keys.verifying(&kid)).await?
        }
    }
    .ok_or_else(|| unauthorized("invalid_token", "the token was signed with an unknown key"))?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[state.settings.issuer.as_str()]);
    validation.set_audience(&[state.settings.audience.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "nbf"]);
    validation.validate_nbf = true;
    validation.leeway = TOKEN_LEEWAY_SECS as u64;
    let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => {
                unauthorized("token_expired", "the token has expired; request a new one")
            }
            _ => unauthorized("invalid_token", "the token is invalid"),
        })?
        .claims;
    Ok(claims)
}

async fn authenticate(req: HttpRequest) -> Result<Caller, ApiError> {
    let audit = req
        .extensions()
        .get::<AuditHandle>()
        .cloned()
        .unwrap_or_else(|| AuditHandle::new(uuid::Uuid::new_v4().to_string()));
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            unauthorized(
                "missing_token",
                "send Authorization: Bearer <token>; get a token from POST /api/v1/oauth/token",
            )
        })?
        .to_str()
        .map_err(|_| {
            unauthorized(
                "invalid_token",
                "the Authorization header is not valid text",
            )
        })?;
    // The scheme name is case-insensitive (RFC 7235).
    let token = value
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("bearer "))
        .map(|_| value[7..].trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            unauthorized(
                "invalid_token",
                "the Authorization header must be Bearer <token>",
            )
        })?;
    let now = chrono::Utc::now().timestamp();
    let claims = match state.verified.get(token, now, TOKEN_LEEWAY_SECS) {
        Some(claims) => claims,
        None => {
            let claims = verify(&state, token).await?;
            state.verified.put(token, &claims);
            claims
        }
    };
    // Read the revocation count first: a revocation while the client is
    // being read keeps that read out of the cache.
    let epoch = state.db.revocation_epoch();
    let found = match state.clients.get(&claims.sub, epoch) {
        Some(hit) => Some(hit),
        None => {
            let db = state.db.clone();
            let sub = claims.sub.clone();
            let read_at = std::time::Instant::now();
            let found = web::block(move || db.read(|c| identity::find_client(c, &sub))).await??;
            if let Some((client, agency)) = &found {
                state.clients.put(read_at, epoch, client, agency);
            }
            found
        }
    };
    let (client, agency) = found
        .filter(|(c, _)| c.revoked_at.is_none())
        .ok_or_else(|| {
            unauthorized(
                "client_revoked",
                "the client of this token is revoked or unknown",
            )
        })?;
    let agency_kind = AgencyKind::parse(&agency.kind)
        .map_err(|e| ApiError::Internal(format!("stored agency kind: {e}")))?;
    let jurisdiction = match &agency.jurisdiction {
        Some(j) => Some(
            RegionCode::parse(j)
                .map_err(|e| ApiError::Internal(format!("stored jurisdiction: {e}")))?,
        ),
        None => None,
    };
    state
        .limiter
        .check(&client.client_id)
        .map_err(ApiError::TooManyRequests)?;
    let (purpose, case_ref) = declared_purpose(&req)?;
    audit.identify(
        &client.client_id,
        &agency.code,
        purpose,
        case_ref.as_deref(),
    );
    let held: Vec<&str> = client.scopes.split_whitespace().collect();
    let scopes = claims
        .scope
        .split_whitespace()
        .filter(|s| held.contains(s))
        .filter_map(|s| Scope::parse(s).ok())
        .collect();
    Ok(Caller {
        client_id: client.client_id,
        agency_code: agency.code,
        agency_kind,
        jurisdiction,
        scopes,
        allowed_purposes: client
            .purposes
            .split_whitespace()
            .filter_map(|p| Purpose::parse(p).ok())
            .collect(),
        purpose,
        case_ref,
        audit,
    })
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}
