//! A panic in a handler answers that request alone with a 500
//! `application/problem+json`; the connection and the worker's other
//! requests carry on. The panic message is logged with the request id and
//! never sent to the client.

use std::panic::AssertUnwindSafe;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError};
use futures_util::FutureExt;

use crate::accountability::AuditHandle;
use crate::error::ApiError;

/// The text of a panic payload (`panic!` with a literal or a formatted message).
fn message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Middleware: turns a panic of the inner service into a 500 problem.
pub async fn catch_panics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let request_id = req
        .extensions()
        .get::<AuditHandle>()
        .map(AuditHandle::request_id);
    // The request's state is dropped with the panic; nothing else is shared
    // mutably across it, so answering with a fresh response is sound.
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(res) => res.map(ServiceResponse::map_into_boxed_body),
        Err(payload) => {
            let request_id = request_id.unwrap_or_else(|| "-".into());
            tracing::error!(
                request_id = %request_id,
                panic = message(payload.as_ref()),
                "request handler panicked; answered 500"
            );
            // The request went down with the handler, so the answer travels as
            // an error carrying its finished response (outer layers pass it on).
            let mut resp = ApiError::Internal("request handler panicked".into()).error_response();
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                resp.headers_mut()
                    .insert(HeaderName::from_static("x-request-id"), v);
            }
            Err(InternalError::from_response("request handler panicked", resp).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::{test, web, App, HttpResponse};

    use super::*;

    async fn boom() -> HttpResponse {
        let secret = "internal detail 0xdeadbeef";
        panic!("handler failed: {secret}");
    }

    #[actix_web::test]
    async fn a_panicking_handler_answers_500_problem_and_the_service_carries_on() {
        let app = test::init_service(
            App::new()
                .wrap(actix_web::middleware::from_fn(catch_panics))
                .route("/boom", web::get().to(boom))
                .route(
                    "/ok",
                    web::get().to(|| async { HttpResponse::Ok().body("fine") }),
                ),
        )
        .await;
        for _ in 0..3 {
            // What the server sends: the response the error carries.
            let err =
                test::try_call_service(&app, test::TestRequest::get().uri("/boom").to_request())
                    .await
                    .expect_err("the panic is answered as an error response");
            let resp = err.error_response();
            assert_eq!(resp.status(), 500);
            assert_eq!(
                resp.headers().get("content-type").unwrap(),
                "application/problem+json"
            );
            let body = actix_web::body::to_bytes(resp.into_body()).await.unwrap();
            let body = String::from_utf8(body.to_vec()).unwrap();
            assert!(body.contains("internal_error"), "{body}");
            assert!(
                !body.contains("deadbeef") && !body.contains("panick"),
                "{body}"
            );
            let resp =
                test::call_service(&app, test::TestRequest::get().uri("/ok").to_request()).await;
            assert_eq!(resp.status(), 200);
        }
    }
}
