//! The token endpoint under attack: credential checks are budgeted per source
//! address and overall, and only a few run at once, so unknown client ids
//! cannot exhaust the server.

use std::time::{Duration, Instant};

use reqwest::Response;
use sinergi_api::Settings;

use crate::harness::{json, run_with, TestApp};

const TOKEN: &str = "/api/v1/oauth/token";

async fn attempt(app: &TestApp, id: &str, secret: &str) -> Response {
    app.http
        .post(app.url(TOKEN))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap()
}

fn retry_after(resp: &Response) -> u64 {
    resp.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After on {}", resp.status()))
}

/// Unknown client ids, each new, from one address: once the address has used
/// its budget it gets 429 `slow_down` with `Retry-After`, and so does a real
/// client's request from that address; the budget comes back with time.
mod address_budget {
    use super::*;

    async fn scenario(app: TestApp) {
        app.agency("KEMNAKER", "manpower", None);
        let real = app.client("KEMNAKER", &["records:read"]);
        for n in 0..3 {
            let resp = attempt(&app, &format!("nobody-{n}"), "guess").await;
            assert_eq!(json(resp, 401).await["error"], "invalid_client");
        }
        let resp = attempt(&app, "nobody-3", "guess").await;
        let wait = retry_after(&resp);
        assert!((1..=2).contains(&wait), "Retry-After {wait}");
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let body = json(resp, 429).await;
        assert_eq!(body["error"], "slow_down");
        let resp = attempt(&app, &real.0, &real.1).await;
        assert_eq!(json(resp, 429).await["error"], "slow_down");
        // 60 a minute: one more check a second.
        actix_web::rt::time::sleep(Duration::from_millis(1100)).await;
        json(attempt(&app, &real.0, &real.1).await, 200).await;
    }

    fn tight(s: &mut Settings) {
        s.token_attempts_per_minute_per_address = 60;
        s.token_attempts_burst_per_address = 3;
    }

    #[actix_web::test]
    async fn sqlite() {
        run_with(sinergi_db::Backend::Sqlite, tight, scenario).await;
    }

    #[actix_web::test]
    async fn postgres() {
        run_with(sinergi_db::Backend::Postgres, tight, scenario).await;
    }
}

/// A burst of concurrent token requests: one secret check at a time and one
/// waiting; the others get 503 `temporarily_unavailable` with `Retry-After`
/// at once instead of queueing.
mod bounded_checks {
    use super::*;

    async fn scenario(app: TestApp) {
        let started = Instant::now();
        let requests = (0..16).map(|n| {
            let app = &app;
            async move {
                let resp = attempt(app, &format!("nobody-{n}"), "guess").await;
                let wait = resp
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_string());
                let status = resp.status().as_u16();
                let body = json(resp, status).await;
                (status, body["error"].as_str().unwrap().to_string(), wait)
            }
        });
        let answers = futures_util::future::join_all(requests).await;
        let busy: Vec<_> = answers.iter().filter(|a| a.0 == 503).collect();
        assert!(
            busy.len() >= 8,
            "most of the burst is refused at once: {answers:?}"
        );
        for (status, error, wait) in &answers {
            match status {
                401 => assert_eq!(error, "invalid_client"),
                503 => {
                    assert_eq!(error, "temporarily_unavailable");
                    assert_eq!(wait.as_deref(), Some("1"));
                }
                _ => panic!("unexpected answer {answers:?}"),
            }
        }
        assert!(answers.iter().any(|a| a.0 == 401), "{answers:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    fn one_at_a_time(s: &mut Settings) {
        s.token_hash_concurrency = 1;
        s.token_hash_queue = 1;
    }

    #[actix_web::test]
    async fn sqlite() {
        run_with(sinergi_db::Backend::Sqlite, one_at_a_time, scenario).await;
    }

    #[actix_web::test]
    async fn postgres() {
        run_with(sinergi_db::Backend::Postgres, one_at_a_time, scenario).await;
    }
}
