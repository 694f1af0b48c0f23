//! Metrics that need a database read: the webhook outbox lag.

use actix_web::web;
use std::fmt::Write;

use crate::state::AppState;

/// Outbox lag: how many committed changes the slowest subscription has not delivered yet.
pub async fn render(state: &AppState) -> String {
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
