//! Prometheus metrics: request counts and latency per route template and status.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use actix_web::{get, web, HttpResponse};

use crate::state::AppState;

#[derive(Default)]
struct Series {
    count: u64,
    seconds: f64,
}

/// In-process request metrics.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
}

impl Metrics {
    /// Records one finished request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let e = s
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        e.count += 1;
        e.seconds += seconds;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str(
            "# HELP sinergi_http_requests_total HTTP requests by route template and status.\n",
        );
        out.push_str("# TYPE sinergi_http_requests_total counter\n");
        for ((m, r, st), v) in s.iter() {
            let _ = writeln!(
                out,
                "sinergi_http_requests_total{{method=\"{m}\",route=\"{r}\",status=\"{st}\"}} {}",
                v.count
            );
        }
        out.push_str("# HELP sinergi_http_request_seconds_sum Time spent answering, by route template and status.\n");
        out.push_str("# TYPE sinergi_http_request_seconds_sum counter\n");
        for ((m, r, st), v) in s.iter() {
            let _ = writeln!(out, "sinergi_http_request_seconds_sum{{method=\"{m}\",route=\"{r}\",status=\"{st}\"}} {:.6}", v.seconds);
        }
        out
    }
}

/// Prometheus metrics (route templates only; no personal data).
#[utoipa::path(
    tag = "health",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")),
    security(())
)]
#[get("/metrics")]
pub async fn get_metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
