//! `/metrics`: the request metrics, pool and change-feed gauges, findings
//! recompute times and the webhook outbox lag, in the Prometheus text format.

use std::fmt::Write;

use actix_web::{get, web, HttpResponse};

use crate::metrics::Histogram;

use crate::state::AppState;

/// Outbox lag: how many committed changes the slowest subscription has not delivered yet.
async fn render_outbox(state: &AppState) -> String {
    let db = state.db.clone();
    let read = web::block(move || {
        db.read(|c| {
            let (head, _) = sinergi_db::changes::head(c)?;
            let (slowest, count) = sinergi_db::subscriptions::slowest_cursor(c)?;
            Ok((head, slowest, count))
        })
    })
    .await;
    let mut out = String::new();
    if let Ok(Ok((head, slowest, count))) = read {
        let lag = slowest.map(|s| (head - s).max(0)).unwrap_or(0);
        let _ = writeln!(
            out,
            "# HELP sinergi_webhook_subscriptions Webhook subscriptions.\n# TYPE sinergi_webhook_subscriptions gauge\nsinergi_webhook_subscriptions {count}"
        );
        let _ = writeln!(
            out,
            "# HELP sinergi_webhook_outbox_lag_changes Committed changes the slowest subscription has not delivered yet.\n# TYPE sinergi_webhook_outbox_lag_changes gauge\nsinergi_webhook_outbox_lag_changes {lag}"
        );
    }
    out
}

/// Time spent recomputing findings, as the persistence layer counted it.
fn recompute_histogram() -> Option<Histogram> {
    let (counts, count, sum) = sinergi_db::findings::recompute_times()?;
    Some(Histogram::from_parts(counts, count, sum))
}

fn gauge(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
    );
}

/// Prometheus metrics (route templates only; no personal data).
///
/// Request counts and latencies by route template and status, database pool,
/// change feed, findings recompute times and webhook outbox lag, in the
/// Prometheus text format. No identifiers or personal data appear in labels.
#[utoipa::path(
    tag = "health",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain",
        example = "# HELP sinergi_http_requests_total HTTP requests by route template and status.\n# TYPE sinergi_http_requests_total counter\nsinergi_http_requests_total{method=\"GET\",route=\"/api/v1/workers/{id}\",status=\"200\"} 1841\n")),
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
    out.push_str(&render_outbox(&state).await);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out)
}
