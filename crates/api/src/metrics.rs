//! Prometheus metrics: request counts and latency per route template and
//! status, database pool use, change-feed position, findings recompute time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use actix_web::{get, web, HttpResponse};

use crate::state::AppState;

/// Upper bounds (seconds) of the latency buckets.
const BUCKETS: [f64; 12] = sinergi_db::findings::RECOMPUTE_BUCKETS;

/// A latency histogram.
#[derive(Debug, Default, Clone)]
pub struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&mut self, seconds: f64) {
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, le) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {}",
                self.counts[i]
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {:.6}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// Time spent recomputing findings, as the persistence layer counted it.
fn recompute_histogram() -> Option<Histogram> {
    let (counts, count, sum) = sinergi_db::findings::recompute_times()?;
    Some(Histogram { counts, count, sum })
}

/// In-process request metrics.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String, u16), Histogram>>,
}

impl Metrics {
    /// Records one finished request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        s.entry((method.to_string(), route.to_string(), status))
            .or_default()
            .observe(seconds);
    }

    /// The request part of the Prometheus text exposition.
    pub fn render(&self) -> String {
        let s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str(
            "# HELP sinergi_http_requests_total HTTP requests by route template and status.\n",
        );
        out.push_str("# TYPE sinergi_http_requests_total counter\n");
        for ((m, r, st), h) in s.iter() {
            let _ = writeln!(
                out,
                "sinergi_http_requests_total{{method=\"{m}\",route=\"{r}\",status=\"{st}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP sinergi_http_request_duration_seconds Time to answer, by route template and status.\n");
        out.push_str("# TYPE sinergi_http_request_duration_seconds histogram\n");
        for ((m, r, st), h) in s.iter() {
            h.render(
                &mut out,
                "sinergi_http_request_duration_seconds",
                &format!("method=\"{m}\",route=\"{r}\",status=\"{st}\""),
            );
        }
        out
    }
}

fn gauge(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
    );
}

/// Prometheus metrics (route templates only; no personal data).
#[utoipa::path(
    tag = "health",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")),
    security(())
)]
#[get("/metrics")]
pub async fn get_metrics(state: web::Data<AppState>) -> HttpResponse {
    let mut out = state.metrics.render();
    let pool = state.db.pool_stats();
    gauge(
        &mut out,
        "sinergi_db_pool_connections",
        "Open database connections.",
        pool.connections,
    );
    gauge(
        &mut out,
        "sinergi_db_pool_idle",
        "Idle database connections.",
        pool.idle,
    );
    gauge(
        &mut out,
        "sinergi_db_pool_in_use",
        "Database connections in use.",
        pool.connections.saturating_sub(pool.idle),
    );
    let _ = writeln!(out, "# HELP sinergi_db_pool_waits_total Checkouts that had to wait for a connection.\n# TYPE sinergi_db_pool_waits_total counter\nsinergi_db_pool_waits_total {}", pool.waits);
    let _ = writeln!(out, "# HELP sinergi_db_pool_timeouts_total Checkouts that gave up waiting.\n# TYPE sinergi_db_pool_timeouts_total counter\nsinergi_db_pool_timeouts_total {}", pool.timeouts);
    let db = state.db.clone();
    let feed = web::block(move || {
        db.read(|c| {
            Ok((
                sinergi_db::changes::head(c)?,
                sinergi_db::changes::newest_age_seconds(c)?,
            ))
        })
    })
    .await;
    if let Ok(Ok(((head, pruned), age))) = feed {
        gauge(
            &mut out,
            "sinergi_change_feed_head",
            "Newest committed change-feed position.",
            head,
        );
        gauge(
            &mut out,
            "sinergi_change_feed_pruned_through",
            "Changes up to this position were pruned (older cursors get 410).",
            pruned,
        );
        gauge(
            &mut out,
            "sinergi_change_feed_newest_age_seconds",
            "Seconds since the newest committed change.",
            age.unwrap_or(0),
        );
    }
    if let Some(h) = recompute_histogram() {
        out.push_str(
            "# HELP sinergi_findings_recompute_seconds Time to recompute one subject's findings.\n",
        );
        out.push_str("# TYPE sinergi_findings_recompute_seconds histogram\n");
        h.render(&mut out, "sinergi_findings_recompute_seconds", "");
    }
    out.push_str(&crate::metrics_extra::render(&state).await);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut h = Histogram::default();
        h.observe(0.002);
        h.observe(0.2);
        let mut out = String::new();
        h.render(&mut out, "x", "a=\"b\"");
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.001\"} 0"));
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.0025\"} 1"));
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.25\"} 2"));
        assert!(out.contains("x_bucket{a=\"b\",le=\"+Inf\"} 2"));
        assert!(out.contains("x_count{a=\"b\"} 2"));
    }
}
