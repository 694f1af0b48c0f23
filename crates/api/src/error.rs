//! The API's one error type and its RFC 9457 `application/problem+json` mapping.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use sinergi_db::StoreError;
use sinergi_domain::access::Denial;
use utoipa::ToSchema;

/// One problem with one request field.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct FieldProblem {
    /// JSON path of the field (`worker.passport_no`, `positions[1].headcount`) or the query parameter.
    #[schema(example = "passport_no")]
    pub field: String,
    /// Stable machine code.
    #[schema(example = "invalid_passport_no")]
    pub code: String,
    /// What is wrong and how to fix it.
    #[schema(example = "passport number must be 5 to 9 characters A-Z and 0-9")]
    pub message: String,
}

impl FieldProblem {
    /// A problem for `field`.
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        FieldProblem {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// RFC 9457 problem details, as every error is sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[schema(example = "https://sinergi.example/problems/validation_failed")]
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary.
    #[schema(example = "The request body is invalid")]
    pub title: String,
    /// HTTP status.
    #[schema(example = 400)]
    pub status: u16,
    /// Explanation for this occurrence.
    pub detail: String,
    /// Stable machine code.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// Per-field problems, when the request had invalid fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    /// The version currently stored (on 412).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Invalid fields (400).
    #[error("the request is invalid")]
    Validation(Vec<FieldProblem>),
    /// A malformed request that is not about one field (400).
    #[error("{1}")]
    BadRequest(&'static str, String),
    /// Missing or invalid credentials (401).
    #[error("{1}")]
    Unauthorized(&'static str, String),
    /// Authenticated but not allowed (403).
    #[error("{1}")]
    Forbidden(&'static str, String),
    /// No such resource (404).
    #[error("{0}")]
    NotFound(String),
    /// A state conflict (409).
    #[error("{1}")]
    Conflict(&'static str, String),
    /// The resource is gone for good (410).
    #[error("{1}")]
    Gone(&'static str, String),
    /// Stale `If-Match` (412).
    #[error("the record has changed since you read it")]
    PreconditionFailed(Option<i64>),
    /// Body too large (413).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Wrong content type (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many requests from one client (429); seconds to wait.
    #[error("too many requests; retry after {0} s")]
    TooManyRequests(u64),
    /// Valid JSON whose references do not fit stored data (422).
    #[error("the request refers to records that do not fit")]
    Unprocessable(&'static str, Vec<FieldProblem>),
    /// The request body did not arrive in time (408).
    #[error("the request body did not arrive in time; send it faster or in smaller parts")]
    RequestTimeout,
    /// The database is unreachable (503).
    #[error("service temporarily unavailable")]
    Unavailable,
    /// The database's disk is full (507): nothing of the request was stored.
    #[error("storage full")]
    StorageFull,
    /// A fault on our side (500); the cause is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A 400 for one field.
    pub fn field(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ApiError::Validation(vec![FieldProblem::new(field, code, message)])
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation_failed",
            ApiError::BadRequest(c, _)
            | ApiError::Unauthorized(c, _)
            | ApiError::Forbidden(c, _)
            | ApiError::Conflict(c, _)
            | ApiError::Gone(c, _) => c,
            ApiError::NotFound(_) => "not_found",
            ApiError::PreconditionFailed(_) => "precondition_failed",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Unprocessable(c, _) => c,
            ApiError::TooManyRequests(_) => "rate_limited",
            ApiError::Unavailable => "service_unavailable",
            ApiError::StorageFull => "storage_full",
            ApiError::RequestTimeout => "request_timeout",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "The request is invalid",
            ApiError::BadRequest(..) => "Bad request",
            ApiError::Unauthorized(..) => "Authentication required",
            ApiError::Forbidden(..) => "Not allowed",
            ApiError::NotFound(_) => "Not found",
            ApiError::Conflict(..) => "Conflict",
            ApiError::Gone(..) => "Gone",
            ApiError::PreconditionFailed(_) => "Precondition failed",
            ApiError::PayloadTooLarge(_) => "Payload too large",
            ApiError::UnsupportedMediaType(_) => "Unsupported media type",
            ApiError::Unprocessable(..) => "Unprocessable request",
            ApiError::TooManyRequests(_) => "Too many requests",
            ApiError::Unavailable => "Service unavailable",
            ApiError::StorageFull => "Storage full",
            ApiError::RequestTimeout => "Request timeout",
            ApiError::Internal(_) => "Internal error",
        }
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let detail = match self {
            ApiError::Validation(_) => "one or more fields are invalid; see errors".to_string(),
            ApiError::Unprocessable(..) => {
                "the request is well-formed but refers to records that are missing or do not fit; see errors".to_string()
            }
            ApiError::PreconditionFailed(_) => {
                "the record changed since the version in If-Match; read it again and retry".to_string()
            }
            ApiError::Internal(_) => "an unexpected error occurred; it has been logged".to_string(),
            ApiError::Unavailable => "the database is unavailable; retry later".to_string(),
            ApiError::StorageFull => {
                "the database has run out of storage space: nothing from this request was stored; \
                 reads still work; retry the write after the operators have freed space"
                    .to_string()
            }
            other => other.to_string(),
        };
        let errors = match self {
            ApiError::Validation(e) | ApiError::Unprocessable(_, e) => e.clone(),
            _ => vec![],
        };
        Problem {
            type_: format!("https://sinergi.example/problems/{}", self.code()),
            title: self.title().to_string(),
            status: self.status_code().as_u16(),
            detail,
            code: self.code().to_string(),
            errors,
            current_version: match self {
                ApiError::PreconditionFailed(v) => *v,
                _ => None,
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::BadRequest(..) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(..) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(..) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(..) => StatusCode::CONFLICT,
            ApiError::Gone(..) => StatusCode::GONE,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable(..) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(cause = %cause, "internal error");
        }
        let mut resp = HttpResponse::build(self.status_code());
        resp.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let ApiError::Unauthorized(..) = self {
            resp.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"sinergi\""));
        }
        if let ApiError::Unavailable = self {
            resp.insert_header((header::RETRY_AFTER, "5"));
        }
        if let ApiError::TooManyRequests(secs) = self {
            resp.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        resp.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("no such record".into()),
            StoreError::PreconditionFailed { current } => ApiError::PreconditionFailed(current),
            StoreError::OwnedByOtherAgency => ApiError::Forbidden(
                "owned_by_other_agency",
                "this record was created by another agency; only that agency may change it".into(),
            ),
            StoreError::Conflict { code, message } => ApiError::Conflict(code, message),
            StoreError::Denied(d) => denied(d),
            StoreError::Reference {
                field,
                code,
                message,
            } => ApiError::Unprocessable(
                "unresolved_reference",
                vec![FieldProblem::new(field, code, message)],
            ),
            StoreError::Unavailable(cause) => {
                tracing::error!(cause = %cause, "database unavailable");
                ApiError::Unavailable
            }
            StoreError::StorageFull(cause) => {
                tracing::error!(cause = %cause, "database disk full; writes are refused");
                ApiError::StorageFull
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(e.to_string())
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
                sinergi_domain::Purpose::ALL.map(|p| p.as_str()).join(", ")
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
