//! `/metrics`: what an operator's Prometheus scrapes.

use serde_json::json;

use crate::harness::{json, TestApp};
use crate::records::{agency_token, approval, assignment, post, put};

api_tests!(metrics_count_requests_and_show_pool_feed_and_findings);

fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no series {series} in:\n{text}"))
}

async fn metrics_count_requests_and_show_pool_feed_and_findings(app: TestApp) {
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let emp =
        json!({"name": "PT M", "capital": "PMA", "kbli": ["05100"], "region_code": "64.02.06"});
    json(
        put(&app, "/api/v1/employers/9120001234567", &mp, &emp).await,
        201,
    )
    .await;
    json(
        put(&app, "/api/v1/rptka-approvals/KEP-1-2026", &mp, &approval()).await,
        201,
    )
    .await;
    json(
        post(
            &app,
            "/api/v1/assignments",
            &mp,
            &assignment("A-1", "E51234567"),
        )
        .await,
        201,
    )
    .await;
    for _ in 0..3 {
        json(app.get("/api/v1/employers", &mp).send().await.unwrap(), 200).await;
    }
    let resp = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = resp.text().await.unwrap();
    let route = r#"method="GET",route="/api/v1/employers",status="200""#;
    assert_eq!(
        value(&text, &format!("sinergi_http_requests_total{{{route}}}")),
        3.0
    );
    assert_eq!(
        value(
            &text,
            &format!("sinergi_http_request_duration_seconds_count{{{route}}}")
        ),
        3.0
    );
    assert_eq!(
        value(
            &text,
            &format!("sinergi_http_request_duration_seconds_bucket{{{route},le=\"+Inf\"}}")
        ),
        3.0
    );
    assert!(value(&text, "sinergi_db_pool_connections") >= 1.0);
    assert!(
        value(&text, "sinergi_change_feed_head") >= 3.0,
        "three writes, and their findings"
    );
    assert!(value(&text, "sinergi_findings_recompute_seconds_count") >= 1.0);
    assert_eq!(value(&text, "sinergi_webhook_subscriptions"), 0.0);
    assert_eq!(value(&text, "sinergi_webhook_outbox_lag_changes"), 0.0);
    assert!(
        !text.contains("9120001234567") && !text.contains("E51234567"),
        "no keys or personal data in metrics"
    );
}
