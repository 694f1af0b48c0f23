//! The authenticated caller of a request, from its bearer token.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};
use sinergi_db::identity;
use sinergi_db::store::Provenance;
use sinergi_domain::access::{self, Declared, Denial, Grant, Principal, Request};
use sinergi_domain::{AgencyKind, RegionCode};

use crate::accountability::AuditHandle;
use crate::error::ApiError;
use crate::state::AppState;

/// The claims of a Sinergi access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// The client id.
    pub sub: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not before (Unix seconds).
    pub nbf: i64,
    /// Expires (Unix seconds).
    pub exp: i64,
    /// Token id.
    pub jti: String,
    /// Agency code.
    pub agency: String,
    /// Agency kind.
    pub agency_kind: String,
    /// Granted scopes, space-separated.
    pub scope: String,
}

pub use sinergi_domain::access::{Purpose, Scope};

/// The verified client behind a request, with its agency as stored now.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Client id.
    pub client_id: String,
    /// Agency code.
    pub agency_code: String,
    /// Agency kind.
    pub agency_kind: AgencyKind,
    /// Region prefix the agency may write in, if limited.
    pub jurisdiction: Option<RegionCode>,
    /// Scopes granted by the token and still held by the client.
    pub scopes: Vec<Scope>,
    /// Purposes the client is registered for.
    pub allowed_purposes: Vec<Purpose>,
    /// Purpose declared on this request.
    pub purpose: Option<Purpose>,
    /// Case reference declared on this request (`X-Case-Ref`).
    pub case_ref: Option<String>,
    /// The request's audit record in the making.
    pub audit: AuditHandle,
}

impl Caller {
    /// A caller acting for an agency outside an HTTP request (demo loading, imports).
    pub fn system(
        client_id: &str,
        agency_code: &str,
        agency_kind: AgencyKind,
        jurisdiction: Option<RegionCode>,
        scopes: Vec<Scope>,
    ) -> Caller {
        Caller {
            client_id: client_id.to_string(),
            agency_code: agency_code.to_string(),
            agency_kind,
            jurisdiction,
            scopes,
            allowed_purposes: vec![],
            purpose: None,
            case_ref: None,
            audit: AuditHandle::new(format!("system-{}", uuid::Uuid::new_v4())),
        }
    }

    /// The caller as the access policy sees it.
    pub fn principal(&self) -> Principal<'_> {
        Principal {
            kind: self.agency_kind,
            jurisdiction: self.jurisdiction.as_ref(),
            scopes: &self.scopes,
            purpose: Declared::of(self.purpose, &self.allowed_purposes),
        }
    }

    /// Asks the access policy; a refusal is the error to answer with.
    pub fn allow(&self, request: Request<'_>) -> Result<Grant, ApiError> {
        access::decide(&self.principal(), &request).map_err(denied)
    }

    /// Whether personal identifiers must be masked for this caller (data minimisation).
    pub fn masks_pii(&self) -> bool {
        self.principal().masks()
    }

    /// 403 unless the token carries `scope` (routes outside the access policy's channels).
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(denied(Denial::Scope(scope)))
        }
    }

    /// Who writes and why, for the persistence layer's write path.
    pub fn provenance(&self, action: &'static str) -> Provenance {
        Provenance {
            agency_code: self.agency_code.clone(),
            agency_kind: self.agency_kind,
            jurisdiction: self.jurisdiction.clone(),
            client_id: self.client_id.clone(),
            scopes: self.scopes.clone(),
            request_id: self.audit.request_id(),
            purpose: self.purpose,
            case_ref: self.case_ref.clone(),
            action,
        }
    }
}

/// The answer to a request the access policy refuses.
pub fn denied(d: Denial) -> ApiError {
    match d {
        Denial::Scope(s) => ApiError::Forbidden(
            "insufficient_scope",
            format!("this operation needs the {} scope", s.as_str()),
        ),
        Denial::KindNotAllowed(k, t) => ApiError::Forbidden(
            "agency_kind_not_allowed",
            format!(
                "{} agencies may not write {} records",
                k.as_str(),
                t.as_str()
            ),
        ),
        Denial::OutsideJurisdiction {
            region,
            jurisdiction,
        } => ApiError::Forbidden(
            "outside_jurisdiction",
            format!("{region} is outside your agency's jurisdiction {jurisdiction}"),
        ),
        Denial::Unlocated => ApiError::Forbidden(
            "outside_jurisdiction",
            "this finding is not placed in any region, so an agency limited to a \
             jurisdiction may not act on it"
                .into(),
        ),
        Denial::PurposeRequired => ApiError::field(
            "X-Purpose",
            "purpose_required",
            format!(
                "reading personal data needs an X-Purpose header, one of: {}",
                Purpose::ALL.map(|p| p.as_str()).join(", ")
            ),
        ),
        Denial::PurposeNotRegistered(p) => ApiError::Forbidden(
            "purpose_not_allowed",
            format!(
                "this client is not registered for the purpose {}",
                p.as_str()
            ),
        ),
        Denial::NotResponsible(k) => ApiError::Forbidden(
            "not_responsible",
            format!("only {} agencies act on this finding", k.as_str()),
        ),
        // The same answer as for an unknown id: no hint that the person exists.
        Denial::NoRecordAboutPerson => {
            ApiError::NotFound("no worker with this id among your agency's records".into())
        }
        Denial::MaskedIdentifier => ApiError::Forbidden(
            "identifier_masked",
            "your client sees passport numbers masked, so it may not look people up by \
             passport number; ask for the pii:read scope"
                .into(),
        ),
    }
}

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
