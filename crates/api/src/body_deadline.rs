//! A deadline on reading a request body, so slow or stalled uploads cannot
//! hold connections forever (the header timeout does not cover bodies).

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{HttpMessage, ResponseError};
use futures_util::Stream;

use crate::error::ApiError;

/// Base time allowed for any body.
const BASE_SECS: u64 = 15;
/// Slowest upload rate still accepted, bytes per second.
const MIN_RATE: u64 = 64 * 1024;
/// Time allowed for a body of unknown length.
const UNKNOWN_LENGTH_SECS: u64 = 60;

struct Deadline {
    inner: Payload,
    sleep: Pin<Box<tokio::time::Sleep>>,
    fired: Rc<Cell<bool>>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.fired.set(true);
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "request body too slow",
            )))));
        }
        Poll::Pending
    }
}

use std::future::Future;

/// Middleware: bodies must arrive within 15 s plus 1 s per 64 KiB; a body that
/// does not is answered 408 and its connection closed.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let secs = match length {
        Some(n) => BASE_SECS + n / MIN_RATE,
        None => UNKNOWN_LENGTH_SECS,
    };
    let fired = Rc::new(Cell::new(false));
    let stream = Deadline {
        inner: req.take_payload(),
        sleep: Box::pin(tokio::time::sleep(Duration::from_secs(secs))),
        fired: fired.clone(),
    };
    req.set_payload(Payload::Stream {
        payload: Box::pin(stream),
    });
    let res = next.call(req).await?;
    if fired.get() {
        let (http_req, _) = res.into_parts();
        let mut resp = ApiError::RequestTimeout.error_response();
        resp.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        return Ok(ServiceResponse::new(http_req, resp).map_into_right_body());
    }
    Ok(res.map_into_left_body())
}
