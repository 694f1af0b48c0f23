//! `/metrics`: what an operator's Prometheus scrapes.

use std::collections::{HashMap, HashSet};

use serde_json::json;
use sinergi_db::findings::RECOMPUTE_BUCKETS;

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

/// Reads the exposition as Prometheus' text parser (format 0.0.4) does and
/// checks what it relies on: each family is announced once, HELP before
/// TYPE; every sample follows the `# TYPE` of its family (counters and gauges
/// by their exact name, histograms with `_bucket`, `_sum` and `_count`);
/// every value is a number; no other comment lines.
fn assert_parses(text: &str) {
    let mut types: HashMap<&str, &str> = HashMap::new();
    let mut helped = HashSet::new();
    let mut current = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(helped.insert(name), "second HELP for {name}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(helped.contains(name), "TYPE {name} without HELP");
            assert!(matches!(kind, "counter" | "gauge" | "histogram"), "{line}");
            assert!(types.insert(name, kind).is_none(), "second TYPE for {name}");
            current = Some(name);
            continue;
        }
        assert!(
            !line.is_empty() && !line.starts_with('#'),
            "unexpected line {line:?}"
        );
        let name = &line[..line.find(['{', ' ']).unwrap()];
        let family = if types.contains_key(name) {
            name
        } else {
            ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .filter(|f| types.get(f) == Some(&"histogram"))
                .unwrap_or_else(|| panic!("sample {name} has no # TYPE family"))
        };
        assert_eq!(Some(family), current, "{name} outside its family");
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
}

/// The `le` bounds of one histogram series, in order.
fn bounds<'a>(text: &'a str, bucket_series: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|l| l.strip_prefix(bucket_series))
        .filter_map(|l| l.strip_prefix("le=\""))
        .map(|l| l.split('"').next().unwrap())
        .collect()
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
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("text/plain") && content_type.contains("version=0.0.4"),
        "{content_type}"
    );
    let text = resp.text().await.unwrap();
    assert_parses(&text);
    // The families (names and types) operators' queries and dashboards use.
    let families: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .collect();
    assert_eq!(
        families,
        [
            "sinergi_http_requests_total counter",
            "sinergi_http_request_duration_seconds histogram",
            "sinergi_db_pool_connections gauge",
            "sinergi_db_pool_idle gauge",
            "sinergi_db_pool_in_use gauge",
            "sinergi_db_pool_waits_total counter",
            "sinergi_db_pool_timeouts_total counter",
            "sinergi_change_feed_head gauge",
            "sinergi_change_feed_pruned_through gauge",
            "sinergi_change_feed_newest_age_seconds gauge",
            "sinergi_findings_recompute_seconds histogram",
            "sinergi_webhook_subscriptions gauge",
            "sinergi_webhook_outbox_lag_changes gauge",
        ]
    );
    assert!(text.contains(
        "# HELP sinergi_http_requests_total HTTP requests by route template and status.\n"
    ));
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
    let le: Vec<String> = RECOMPUTE_BUCKETS
        .iter()
        .map(|b| b.to_string())
        .chain(["+Inf".to_owned()])
        .collect();
    assert_eq!(
        bounds(
            &text,
            &format!("sinergi_http_request_duration_seconds_bucket{{{route},")
        ),
        le
    );
    assert_eq!(
        bounds(&text, "sinergi_findings_recompute_seconds_bucket{"),
        le
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
