//! Request ids, one access-log line per request without personal data, and
//! the audit event of every request that touches personal data.

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use sinergi_domain::RecordType;

pub use crate::audit_handle::AuditHandle;
use crate::error::ApiError;
use crate::state::AppState;

/// Which routes touch personal data: (action, resource type, path parameter
/// holding the key). Record routes follow the record type table's personal
/// flag; the others are listed.
fn personal_route<'a>(
    method: &Method,
    pattern: &'a str,
) -> Option<(&'static str, &'static str, Option<&'a str>)> {
    let write = matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let action = |item: bool| match (write, item) {
        (true, _) => "write",
        (false, true) => "read",
        (false, false) => "list",
    };
    let mut segments = pattern.strip_prefix("/api/v1/")?.split('/');
    let collection = segments.next()?;
    let param = segments.next();
    let rest = segments.next();
    if let Some(t) = RecordType::from_name(collection).filter(RecordType::is_personal) {
        let key = param.and_then(|p| p.strip_prefix('{')?.strip_suffix('}'));
        return match (key, rest) {
            (None, None) => Some((action(false), t.as_str(), None)),
            (Some(k), None) => Some((action(true), t.as_str(), Some(k))),
            (Some(k), Some("access-log")) if t == RecordType::Worker => {
                Some(("read", "access_log", Some(k)))
            }
            _ => None,
        };
    }
    Some(match pattern {
        "/api/v1/findings" => (action(false), "finding", None),
        "/api/v1/findings/{id}" => (action(true), "finding", Some("id")),
        "/api/v1/batch" => ("batch", "batch", None),
        "/api/v1/changes" => ("list", "change", None),
        "/api/v1/export/{type}" => ("export", "export", Some("type")),
        // A subscription opens a flow of personal data to the agency's endpoint.
        "/api/v1/subscriptions" if write => ("subscribe", "subscription", None),
        "/api/v1/subscriptions/{id}" if write => ("unsubscribe", "subscription", Some("id")),
        "/api/v1/subscriptions/{id}/dead-letters" => ("list", "dead_letter", Some("id")),
        "/api/v1/subscriptions/{id}/dead-letters/{dead_letter_id}/redeliver" => {
            ("redeliver", "dead_letter", Some("dead_letter_id"))
        }
        _ => return None,
    })
}

fn request_id_of(req: &ServiceRequest) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| {
            !s.is_empty()
                && s.len() <= 64
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Middleware: request id, access log, and the audit event of personal-data routes.
pub async fn accountability(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let started = Instant::now();
    let request_id = request_id_of(&req);
    let handle = AuditHandle::new(request_id.clone());
    req.extensions_mut().insert(handle.clone());
    let method = req.method().clone();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let mut res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let status = res.status().as_u16();
    // Only the route template is logged: paths and queries may hold personal identifiers.
    tracing::info!(
        request_id = %request_id,
        method = %method,
        route = %route,
        status,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    if let Some(state) = &state {
        state
            .metrics
            .observe(method.as_str(), &route, status, started.elapsed());
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), v);
    }
    if let (Some((action, rtype, key_param)), Some(state)) =
        (personal_route(&method, &route), state)
    {
        if !handle.audited() {
            let key = key_param
                .and_then(|p| res.request().match_info().get(p))
                .map(|k| k.chars().take(128).collect::<String>());
            let entry = handle.entry(action, rtype, key.as_deref(), status);
            let stored = state.audit_writer.store(entry).await;
            if stored.is_err() && handle.committed() {
                // The writes themselves were audited in their transaction;
                // answering 503 would tell the client they were not stored.
                tracing::error!(
                    request_id = %request_id,
                    "the summary audit event of a committed batch could not be stored"
                );
            } else if stored.is_err() {
                // No answer about personal data leaves without its audit event.
                tracing::error!(request_id = %request_id, "audit event could not be stored");
                let (http_req, _) = res.into_parts();
                let resp = ApiError::Unavailable.error_response();
                return Ok(ServiceResponse::new(http_req, resp).map_into_right_body());
            }
        }
    }
    Ok(res.map_into_left_body())
}
