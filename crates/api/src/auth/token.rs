//! `POST /api/v1/oauth/token`: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4).

use std::net::{IpAddr, Ipv6Addr};

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::Utc;
use jsonwebtoken::{Algorithm, Header};
use serde::{Deserialize, Serialize};
use sinergi_db::identity::{self, AgencyRow, ClientRow};
use utoipa::{IntoParams, ToSchema};

use super::caller::{Claims, Scope};
use super::secrets::{verify_secret, GateError, DUMMY_HASH};
use crate::limits::AttemptRefused;
use crate::state::AppState;

/// The form fields of a token request.
#[derive(Debug, Deserialize, ToSchema, IntoParams)]
pub struct TokenRequest {
    /// Must be `client_credentials`.
    #[schema(example = "client_credentials")]
    pub grant_type: Option<String>,
    /// The client id (or send it with HTTP Basic).
    pub client_id: Option<String>,
    /// The client secret (or send it with HTTP Basic).
    pub client_secret: Option<String>,
    /// Space-separated scopes to request; default all the client holds.
    #[schema(example = "records:read records:write")]
    pub scope: Option<String>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// The signed JWT to send as `Authorization: Bearer ...`.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the token expires.
    #[schema(example = 900)]
    pub expires_in: i64,
    /// The scopes granted.
    #[schema(example = "records:read records:write")]
    pub scope: String,
}

/// An error response of the token endpoint (RFC 6749 §5.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `unsupported_grant_type`,
    /// `invalid_scope`, `slow_down` (429) or `temporarily_unavailable` (503).
    #[schema(schema_with = oauth_error_schema)]
    pub error: String,
    /// Human explanation.
    pub error_description: String,
}

fn oauth_error(status: u16, error: &str, description: &str) -> HttpResponse {
    let mut resp = HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
    );
    resp.insert_header((header::CACHE_CONTROL, "no-store"));
    if status == 401 {
        resp.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"sinergi\""));
    }
    resp.json(OAuthError {
        error: error.into(),
        error_description: description.into(),
    })
}

fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("basic "))
        .map(|_| &value[6..])?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded.
    let unescape = |s: &str| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
            .ok()
            .and_then(|v| v.into_iter().next().map(|(_, v)| v))
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// 429 with `Retry-After`: the token budget of this address, of every address or of this client is used up.
fn slow_down(secs: u64) -> HttpResponse {
    HttpResponse::TooManyRequests()
        .insert_header((header::RETRY_AFTER, secs.to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(OAuthError {
            error: "slow_down".into(),
            error_description: format!("too many token requests; retry after {secs} s"),
        })
}

/// 503 with `Retry-After`: credentials cannot be checked now.
fn temporarily_unavailable(description: &str) -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .insert_header((header::RETRY_AFTER, "1"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(OAuthError {
            error: "temporarily_unavailable".into(),
            error_description: description.into(),
        })
}

/// Exchange client credentials for an access token.
///
/// Send `grant_type=client_credentials` form-encoded, with the client id and
/// secret either in the form or as HTTP Basic. The token is an EdDSA-signed
/// JWT (verify it with `/.well-known/jwks.json`), valid for `expires_in`
/// seconds; request a new one when it expires. Errors follow RFC 6749 §5.2.
#[utoipa::path(
    tag = "auth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Token issued", body = TokenResponse),
        (status = 400, description = "Malformed request, unsupported grant or scope", body = OAuthError),
        (status = 401, description = "Unknown client or wrong secret", body = OAuthError),
        (status = 429, description = "Too many token requests from this address, from everyone, or for this client (`slow_down`, with `Retry-After`)", body = OAuthError),
        (status = 503, description = "Credentials cannot be checked now (`temporarily_unavailable`, with `Retry-After`)", body = OAuthError),
    ),
    security(())
)]
#[post("/api/v1/oauth/token")]
pub async fn issue_token(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let steps = async {
        let (form, client_id, secret) = credentials(&req, &body)?;
        // The peer address is the TCP one (forwarding headers can be forged).
        let addr = req
            .peer_addr()
            .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |a| a.ip());
        let (client, agency) = check_client(&state, addr, client_id, secret).await?;
        // A client's own token budget, counted once it has proved who it is (so
        // unknown ids neither fill this map nor learn which ids exist).
        if let Err(secs) = state.limiter.check(&format!("token:{}", client.client_id)) {
            return Err(slow_down(secs));
        }
        let granted = granted_scopes(&client.scopes, form.scope.as_deref())?;
        Ok(sign(&state, &client.client_id, &agency, granted))
    };
    steps.await.unwrap_or_else(|refusal| refusal)
}

/// The form and the client credentials (HTTP Basic or in the form, not both).
// The refusal is the finished answer, returned once per request.
#[allow(clippy::result_large_err)]
fn credentials(
    req: &HttpRequest,
    body: &[u8],
) -> Result<(TokenRequest, String, String), HttpResponse> {
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return Err(oauth_error(
            400,
            "invalid_request",
            "send the request as application/x-www-form-urlencoded",
        ));
    }
    let mut form: TokenRequest = serde_urlencoded::from_bytes(body).map_err(|_| {
        oauth_error(
            400,
            "invalid_request",
            "the form body could not be parsed (a parameter repeated?)",
        )
    })?;
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        None => {
            return Err(oauth_error(
                400,
                "invalid_request",
                "grant_type is required",
            ))
        }
        Some(_) => {
            return Err(oauth_error(
                400,
                "unsupported_grant_type",
                "only grant_type=client_credentials is supported",
            ))
        }
    }
    let (id, secret) = (form.client_id.take(), form.client_secret.take());
    match (basic_credentials(req), id, secret) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(oauth_error(
            400,
            "invalid_request",
            "send client credentials either with HTTP Basic or in the form, not both",
        )),
        (Some((id, secret)), None, None) | (None, Some(id), Some(secret)) => Ok((form, id, secret)),
        _ => Err(oauth_error(
            401,
            "invalid_client",
            "client_id and client_secret are required",
        )),
    }
}

/// The client and its agency when the secret checks out. Every check costs an
/// Argon2 hash: budgeted per source address and overall before any work, run
/// a few at a time off the request workers, and the same work for an unknown
/// id (one lookup, one hash check) as for a known one.
// The refusal is the finished answer, returned once per request.
#[allow(clippy::result_large_err)]
async fn check_client(
    state: &AppState,
    addr: IpAddr,
    client_id: String,
    secret: String,
) -> Result<(ClientRow, AgencyRow), HttpResponse> {
    if let Err(refused) = state.token_attempts.check(addr) {
        let (AttemptRefused::Address(secs) | AttemptRefused::Overall(secs)) = refused;
        return Err(slow_down(secs));
    }
    let db = state.db.clone();
    let checked = state
        .verify_gate
        .run(move || {
            let found = db.read(|c| identity::find_client(c, &client_id))?;
            Ok::<_, sinergi_db::StoreError>(match found {
                Some((client, agency)) => {
                    let ok =
                        verify_secret(&secret, &client.secret_hash) && client.revoked_at.is_none();
                    ok.then_some((client, agency))
                }
                None => {
                    verify_secret(&secret, DUMMY_HASH);
                    None
                }
            })
        })
        .await;
    match checked {
        Ok(Ok(Some(pair))) => Ok(pair),
        Ok(Ok(None)) => Err(oauth_error(
            401,
            "invalid_client",
            "unknown client or wrong secret",
        )),
        Err(GateError::Busy) => Err(temporarily_unavailable(
            "too many token requests are being checked; retry in a second",
        )),
        Ok(Err(_)) | Err(GateError::Failed) => Err(temporarily_unavailable(
            "the service cannot check credentials right now; retry later",
        )),
    }
}

/// The scopes a token gets: those asked for (each held by the client), or all it holds.
// The refusal is the finished answer, returned once per request.
#[allow(clippy::result_large_err)]
fn granted_scopes(held: &str, requested: Option<&str>) -> Result<Vec<String>, HttpResponse> {
    let held: Vec<&str> = held.split_whitespace().collect();
    match requested.map(str::trim) {
        None | Some("") => Ok(held.iter().map(|s| s.to_string()).collect()),
        Some(requested) => requested
            .split_whitespace()
            .map(|s| {
                if Scope::parse(s).is_err() || !held.contains(&s) {
                    Err(oauth_error(
                        400,
                        "invalid_scope",
                        &format!("scope {s} is unknown or not granted to this client"),
                    ))
                } else {
                    Ok(s.to_string())
                }
            })
            .collect(),
    }
}

/// The signed token for `client`.
fn sign(
    state: &AppState,
    client_id: &str,
    agency: &AgencyRow,
    granted: Vec<String>,
) -> HttpResponse {
    let Some((kid, key)) = state.keys.signing() else {
        return HttpResponse::ServiceUnavailable().finish();
    };
    let now = Utc::now().timestamp();
    let ttl = state.settings.token_ttl_secs;
    let claims = Claims {
        iss: state.settings.issuer.clone(),
        aud: state.settings.audience.clone(),
        sub: client_id.to_string(),
        iat: now,
        nbf: now,
        exp: now + ttl,
        jti: uuid::Uuid::new_v4().to_string(),
        agency: agency.code.clone(),
        agency_kind: agency.kind.clone(),
        scope: granted.join(" "),
    };
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid);
    match jsonwebtoken::encode(&header, &claims, &key) {
        Ok(token) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(TokenResponse {
                access_token: token,
                token_type: "Bearer".into(),
                expires_in: ttl,
                scope: claims.scope,
            }),
        Err(e) => {
            tracing::error!(error = %e, "token signing failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// Publishes the public keys that verify Sinergi's access tokens.
///
/// A JSON Web Key Set of the Ed25519 keys whose private halves sign access
/// tokens. Cache it; fetch it again when a token names a key id (`kid`) you do
/// not hold. Several keys are listed while keys are rotated.
#[utoipa::path(
    tag = "auth",
    responses((status = 200, description = "The JSON Web Key Set", body = super::keys::Jwks)),
    security(())
)]
#[get("/.well-known/jwks.json")]
pub async fn get_jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(state.keys.jwks())
}

fn oauth_error_schema() -> utoipa::openapi::Object {
    crate::contract::one_of(&[
        "invalid_request",
        "invalid_client",
        "unsupported_grant_type",
        "invalid_scope",
        "slow_down",
        "temporarily_unavailable",
    ])
}
