//! `/metrics`: the request metrics, pool and change-feed gauges, findings
//! recompute times and the webhook outbox lag, in the Prometheus text format.

use actix_web::{get, web, HttpResponse};
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::error::ApiError;
use crate::metrics::HistogramValues;
use crate::state::AppState;

/// Database pool use.
fn register_pool(registry: &mut Registry, state: &AppState) {
    let pool = state.db.pool_stats();
    registry.register(
        "sinergi_db_pool_connections",
        "Open database connections",
        ConstGauge::new(pool.connections),
    );
    registry.register(
        "sinergi_db_pool_idle",
        "Idle database connections",
        ConstGauge::new(pool.idle),
    );
    registry.register(
        "sinergi_db_pool_in_use",
        "Database connections in use",
        ConstGauge::new(pool.connections.saturating_sub(pool.idle)),
    );
    // The encoder appends `_total` to counters.
    registry.register(
        "sinergi_db_pool_waits",
        "Checkouts that had to wait for a connection",
        ConstCounter::new(pool.waits),
    );
    registry.register(
        "sinergi_db_pool_timeouts",
        "Checkouts that gave up waiting",
        ConstCounter::new(pool.timeouts),
    );
}

/// Change-feed position; left out when the database cannot be read.
async fn register_feed(registry: &mut Registry, state: &AppState) {
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
        registry.register(
            "sinergi_change_feed_head",
            "Newest committed change-feed position",
            ConstGauge::new(head),
        );
        registry.register(
            "sinergi_change_feed_pruned_through",
            "Changes up to this position were pruned (older cursors get 410)",
            ConstGauge::new(pruned),
        );
        registry.register(
            "sinergi_change_feed_newest_age_seconds",
            "Seconds since the newest committed change",
            ConstGauge::new(age.unwrap_or(0)),
        );
    }
}

/// Time spent recomputing findings, as the persistence layer counted it;
/// left out before the first recomputation.
fn register_recompute(registry: &mut Registry) {
    if let Some((counts, count, sum)) = sinergi_db::findings::recompute_times() {
        registry.register(
            "sinergi_findings_recompute_seconds",
            "Time to recompute one subject's findings",
            HistogramValues::from_cumulative(counts, count, sum),
        );
    }
}

/// Outbox lag: how many committed changes the slowest subscription has not
/// delivered yet; left out when the database cannot be read.
async fn register_outbox(registry: &mut Registry, state: &AppState) {
    let db = state.db.clone();
    let read = web::block(move || {
        db.read(|c| {
            let (head, _) = sinergi_db::changes::head(c)?;
            let (slowest, count) = sinergi_db::subscriptions::slowest_cursor(c)?;
            Ok((head, slowest, count))
        })
    })
    .await;
    if let Ok(Ok((head, slowest, count))) = read {
        let lag = slowest.map(|s| (head - s).max(0)).unwrap_or(0);
        registry.register(
            "sinergi_webhook_subscriptions",
            "Webhook subscriptions",
            ConstGauge::new(count),
        );
        registry.register(
            "sinergi_webhook_outbox_lag_changes",
            "Committed changes the slowest subscription has not delivered yet",
            ConstGauge::new(lag),
        );
    }
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
pub async fn get_metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    // Built per scrape: the request families are shared with the recording
    // side, the rest are values read now.
    let mut registry = Registry::default();
    state.metrics.register(&mut registry);
    register_pool(&mut registry, &state);
    register_feed(&mut registry, &state).await;
    register_recompute(&mut registry);
    register_outbox(&mut registry, &state).await;
    let mut out = String::new();
    prometheus_text::encode(&mut out, &registry)
        .map_err(|e| ApiError::Internal(format!("encoding metrics: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type(prometheus_text::CONTENT_TYPE)
        .body(out))
}
