//! Webhooks: signed events in order to a real receiver, retries with
//! backoff, dead letters and redelivery, refused internal targets, agency
//! isolation, and two instances on one database delivering each event once.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sinergi_api::{AppState, Settings};
use sinergi_db::Db;

use crate::harness::{assert_field, json, problem, read, TestApp};
use crate::records::{permit, put, token_with};

/// Runs each scenario on both backends with webhook settings fit for tests:
/// 127.0.0.1 allowed, fast polling, short backoff and a 2 s retry window.
macro_rules! webhook_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    $crate::harness::run_with(sinergi_db::Backend::Sqlite, super::fast, super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[actix_web::test]
                async fn $name() {
                    $crate::harness::run_with(sinergi_db::Backend::Postgres, super::fast, super::$name).await;
                }
            )*
        }
    };
}

webhook_tests!(
    events_arrive_signed_in_order_and_minimised,
    failing_endpoint_is_retried_then_gets_each_event_once_in_order,
    dead_letter_after_the_retry_window_can_be_redelivered,
    internal_targets_and_bad_input_are_refused,
    another_agency_cannot_see_or_delete_a_subscription,
    two_instances_deliver_each_event_exactly_once,
);

fn fast(s: &mut Settings) {
    s.webhook_allow_hosts = vec!["127.0.0.1".into()];
    s.webhook_poll_ms = 50;
    s.webhook_backoff_base_ms = 50;
    s.webhook_backoff_max_ms = 200;
    s.webhook_retry_window_secs = 2;
}

/// One request the receiver accepted.
#[derive(Debug, Clone)]
struct Received {
    event_id: String,
    signature: String,
    content_type: String,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("event body is JSON")
    }
}

/// A webhook endpoint on 127.0.0.1 that records what it accepts and can be told to fail.
#[derive(Clone, Default)]
struct Receiver {
    accepted: Arc<Mutex<Vec<Received>>>,
    attempts: Arc<AtomicUsize>,
    fail_next: Arc<AtomicUsize>,
    fail_all: Arc<AtomicBool>,
}

async fn receive(req: HttpRequest, body: web::Bytes, rx: web::Data<Receiver>) -> HttpResponse {
    rx.attempts.fetch_add(1, Ordering::SeqCst);
    let failing_one = rx
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if rx.fail_all.load(Ordering::SeqCst) || failing_one {
        return HttpResponse::InternalServerError().finish();
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    rx.accepted.lock().unwrap().push(Received {
        event_id: header("sinergi-event-id"),
        signature: header("sinergi-signature"),
        content_type: header("content-type"),
        body: body.to_vec(),
    });
    HttpResponse::NoContent().finish()
}

impl Receiver {
    /// Starts the endpoint; returns its URL and the handle that stops it.
    fn start(&self) -> (String, ServerHandle) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let port = listener.local_addr().unwrap().port();
        let rx = self.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(rx.clone()))
                .route("/hook", web::post().to(receive))
        })
        .workers(1)
        .shutdown_timeout(1)
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        (format!("http://127.0.0.1:{port}/hook"), handle)
    }

    fn accepted(&self) -> Vec<Received> {
        self.accepted.lock().unwrap().clone()
    }

    /// Waits (at most 10 s) until `n` requests were accepted.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        wait_until(&format!("{n} accepted deliveries"), || {
            self.accepted().len() >= n
        })
        .await;
        self.accepted()
    }
}

/// Polls `done` every 25 ms; fails the test after 10 s.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        actix_web::rt::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Checks `Sinergi-Signature: t=..,v1=..` with an HMAC-SHA256 computed independently (jsonwebtoken's HS256).
fn assert_signed(secret: &str, r: &Received) {
    let mut t = None;
    let mut v1 = None;
    for part in r.signature.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v.to_string()),
            Some(("v1", v)) => v1 = Some(v.to_string()),
            _ => {}
        }
    }
    let (t, v1) = (t.expect("t="), v1.expect("v1="));
    let age = chrono::Utc::now().timestamp() - t.parse::<i64>().expect("numeric t");
    assert!(
        (0..300).contains(&age),
        "signature timestamp {t} is {age} s old"
    );
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(&r.body);
    let mac = jsonwebtoken::crypto::sign(
        &signed,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap(),
        jsonwebtoken::Algorithm::HS256,
    )
    .unwrap();
    let hex: String = URL_SAFE_NO_PAD
        .decode(mac)
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, hex, "signature does not verify for {}", r.event_id);
}

/// POSTs a subscription with a declared purpose.
async fn subscribe(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/subscriptions"))
        .bearer_auth(token)
        .header("X-Purpose", "supervision")
        .json(body)
        .send()
        .await
        .expect("request")
}

/// Creates a subscription; returns (id, secret).
async fn subscribed(app: &TestApp, token: &str, url: &str, types: &[&str]) -> (String, String) {
    let v = json(
        subscribe(
            app,
            token,
            &json!({"target_url": url, "event_types": types}),
        )
        .await,
        201,
    )
    .await;
    (
        v["id"].as_str().unwrap().to_string(),
        v["secret"].as_str().unwrap().to_string(),
    )
}

async fn get_as(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.get(path, token)
        .header("X-Purpose", "supervision")
        .send()
        .await
        .unwrap()
}

async fn post_as(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .bearer_auth(token)
        .header("X-Purpose", "supervision")
        .send()
        .await
        .unwrap()
}

async fn immigration(app: &TestApp, code: &str) -> String {
    app.agency(code, "immigration", Some("64"));
    token_with(app, code, &["records:read", "records:write"]).await
}

fn employer() -> Value {
    json!({"name": "PT Kukar Coal", "capital": "PMA", "kbli": ["05100"], "region_code": "64.02.06"})
}

async fn events_arrive_signed_in_order_and_minimised(app: TestApp) {
    let imi = immigration(&app, "IMI").await;
    app.agency("KEC-TGR", "district", Some("64.02.06"));
    let district = token_with(&app, "KEC-TGR", &["records:read"]).await;
    let (own_rx, own_dist) = (Receiver::default(), Receiver::default());
    let ((own_url, h1), (dist_url, h2)) = (own_rx.start(), own_dist.start());

    let resp = subscribe(
        &app,
        &imi,
        &json!({"target_url": own_url, "event_types": ["residence-permits"], "description": "SIMKIM"}),
    )
    .await;
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let created = json(resp, 201).await;
    let (id, secret) = (
        created["id"].as_str().unwrap(),
        created["secret"].as_str().unwrap(),
    );
    assert!(secret.starts_with("whsec_"), "{created}");
    assert_eq!(created["event_types"], json!(["residence_permit"]));
    assert_eq!(created["purpose"], "supervision");
    assert_eq!(location, format!("/api/v1/subscriptions/{id}"));
    let shown = json(get_as(&app, &location, &imi).await, 200).await;
    assert!(shown.get("secret").is_none(), "secret shown again: {shown}");
    let listed = json(get_as(&app, "/api/v1/subscriptions", &imi).await, 200).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let (_, dist_secret) = subscribed(
        &app,
        &district,
        &dist_url,
        &["employer", "residence_permit"],
    )
    .await;

    json(
        put(&app, "/api/v1/employers/9120001234567", &imi, &employer()).await,
        201,
    )
    .await;
    json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-1",
            &imi,
            &permit("E51234567"),
        )
        .await,
        201,
    )
    .await;
    let mut changed = permit("E51234567");
    changed["status"] = json!("cancelled");
    json(
        put(&app, "/api/v1/residence-permits/ITAS-1", &imi, &changed).await,
        200,
    )
    .await;
    json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-2",
            &imi,
            &permit("E59876543"),
        )
        .await,
        201,
    )
    .await;

    let got = own_rx.wait_for(3).await;
    let events: Vec<Value> = got.iter().map(Received::json).collect();
    let order: Vec<(String, i64)> = events
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap().to_string(),
                e["version"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("ITAS-1".into(), 1),
            ("ITAS-1".into(), 2),
            ("ITAS-2".into(), 1)
        ],
        "permits only (no employer), in commit order"
    );
    let mut last_seq = 0;
    for (r, e) in got.iter().zip(&events) {
        assert_signed(secret, r);
        assert_eq!(r.content_type, "application/json");
        assert_eq!(e["id"], r.event_id.as_str());
        let (sub, seq) = r.event_id.rsplit_once(':').unwrap();
        assert_eq!(sub, id);
        let seq: i64 = seq.parse().unwrap();
        assert!(seq > last_seq, "event ids follow the feed order");
        last_seq = seq;
        assert_eq!(e["type"], "residence_permit");
        assert_eq!(e["op"], "upsert");
        assert_eq!(e["agency"], "IMI");
        assert_eq!(
            e["record"]["worker"]["passport_no"].as_str().unwrap().len(),
            9
        );
    }
    assert_eq!(events[1]["record"]["status"], "cancelled");
    assert!(!events[0]["record"]["worker"]["passport_no"]
        .as_str()
        .unwrap()
        .contains('*'));

    // The district follows employers too, and sees passport numbers masked.
    let dist = own_dist.wait_for(4).await;
    assert_eq!(dist[0].json()["type"], "employer");
    for r in &dist {
        assert_signed(&dist_secret, r);
    }
    assert_eq!(
        dist[1].json()["record"]["worker"]["passport_no"],
        "******567"
    );
    assert!(own_dist
        .accepted()
        .iter()
        .all(|r| !String::from_utf8_lossy(&r.body).contains("E51234567")));

    let state = json(get_as(&app, &location, &imi).await, 200).await;
    assert!(
        state["delivery"]["last_delivered_at"].is_string(),
        "{state}"
    );
    assert_eq!(state["delivery"]["failed_attempts"], 0);

    // Each delivery is in the audit log, under the subscriber's purpose and naming the person.
    app.agency("AUDIT", "admin", None);
    let auditor = token_with(&app, "AUDIT", &["audit:read"]).await;
    let log = json(
        app.get(
            "/api/v1/audit-events?resource_type=webhook&limit=1000",
            &auditor,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    let delivered: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "deliver" && e["agency"] == "IMI")
        .collect();
    assert_eq!(delivered.len(), 3, "{log}");
    assert!(delivered.iter().all(|e| e["purpose"] == "supervision"
        && e["status"] == 204
        && e["subject_worker_id"].is_string()));
    h1.stop(false).await;
    h2.stop(false).await;
}

async fn failing_endpoint_is_retried_then_gets_each_event_once_in_order(app: TestApp) {
    let imi = immigration(&app, "IMI").await;
    let rx = Receiver::default();
    rx.fail_next.store(3, Ordering::SeqCst);
    let (url, handle) = rx.start();
    let (id, secret) = subscribed(&app, &imi, &url, &["residence_permit"]).await;
    for (key, passport) in [
        ("ITAS-1", "E51234567"),
        ("ITAS-2", "E52345678"),
        ("ITAS-3", "E53456789"),
    ] {
        json(
            put(
                &app,
                &format!("/api/v1/residence-permits/{key}"),
                &imi,
                &permit(passport),
            )
            .await,
            201,
        )
        .await;
    }
    let got = rx.wait_for(3).await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let got_after = rx.accepted();
    assert_eq!(got_after.len(), 3, "no event delivered twice");
    let keys: Vec<String> = got
        .iter()
        .map(|r| r.json()["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, ["ITAS-1", "ITAS-2", "ITAS-3"]);
    for r in &got {
        assert_signed(&secret, r);
    }
    assert_eq!(
        rx.attempts.load(Ordering::SeqCst),
        6,
        "three failures, then three deliveries"
    );
    let sub = json(
        get_as(&app, &format!("/api/v1/subscriptions/{id}"), &imi).await,
        200,
    )
    .await;
    assert_eq!(sub["delivery"]["failed_attempts"], 0, "{sub}");
    assert!(sub["delivery"]["failing_since"].is_null(), "{sub}");
    let dead = json(
        get_as(
            &app,
            &format!("/api/v1/subscriptions/{id}/dead-letters"),
            &imi,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(dead["items"], json!([]));
    handle.stop(false).await;
}

async fn dead_letter_after_the_retry_window_can_be_redelivered(app: TestApp) {
    let imi = immigration(&app, "IMI").await;
    let rx = Receiver::default();
    rx.fail_all.store(true, Ordering::SeqCst);
    let (url, handle) = rx.start();
    let (id, secret) = subscribed(&app, &imi, &url, &["residence_permit"]).await;
    let dead_path = format!("/api/v1/subscriptions/{id}/dead-letters");
    json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-1",
            &imi,
            &permit("E51234567"),
        )
        .await,
        201,
    )
    .await;

    // Retried with backoff while failing: visible on the subscription.
    wait_until("a failed attempt", || {
        rx.attempts.load(Ordering::SeqCst) >= 2
    })
    .await;
    let sub = json(
        get_as(&app, &format!("/api/v1/subscriptions/{id}"), &imi).await,
        200,
    )
    .await;
    assert!(sub["delivery"]["failing_since"].is_string(), "{sub}");
    assert_eq!(sub["delivery"]["last_status"], 500, "{sub}");
    // An event that piles up behind the failing one waits its turn.
    json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-9",
            &imi,
            &permit("E59999999"),
        )
        .await,
        201,
    )
    .await;

    // Past the 2 s window the first becomes a dead letter; the one behind it
    // then gets a single attempt before it follows.
    let deadline = Instant::now() + Duration::from_secs(10);
    let dead = loop {
        let v = json(get_as(&app, &dead_path, &imi).await, 200).await;
        if v["items"].as_array().unwrap().len() == 2 {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "no two dead letters after 10 s: {v}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(dead["items"][1]["key"], "ITAS-9");
    assert_eq!(dead["items"][1]["attempts"], 1, "{dead}");
    let letter = &dead["items"][0];
    assert_eq!(letter["key"], "ITAS-1");
    assert_eq!(letter["state"], "dead");
    assert_eq!(letter["last_status"], 500);
    assert!(letter["attempts"].as_i64().unwrap() >= 2, "{letter}");
    assert!(letter["event_id"].as_str().unwrap().starts_with(&id));
    assert!(letter.get("body").is_none() && letter.get("record").is_none());
    let missing_purpose = app.get(&dead_path, &imi).send().await.unwrap();
    problem(missing_purpose, 400, "validation_failed").await;

    // The endpoint is fixed: redeliver, then new events flow again.
    rx.fail_all.store(false, Ordering::SeqCst);
    let letter_id = letter["id"].as_str().unwrap();
    let redeliver = format!("{dead_path}/{letter_id}/redeliver");
    let queued = json(post_as(&app, &redeliver, &imi).await, 202).await;
    assert_ne!(queued["state"], "dead", "{queued}");
    let got = rx.wait_for(1).await;
    assert_eq!(got[0].json()["key"], "ITAS-1");
    assert_eq!(got[0].event_id, letter["event_id"].as_str().unwrap());
    assert_signed(&secret, &got[0]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = json(get_as(&app, &dead_path, &imi).await, 200).await;
        if v["items"][0]["state"] == "redelivered" {
            assert!(v["items"][0]["redelivered_at"].is_string());
            break;
        }
        assert!(Instant::now() < deadline, "redelivery not recorded: {v}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    problem(
        post_as(&app, &redeliver, &imi).await,
        409,
        "already_redelivered",
    )
    .await;
    problem(
        post_as(&app, &format!("{dead_path}/nope/redeliver"), &imi).await,
        404,
        "not_found",
    )
    .await;

    json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-2",
            &imi,
            &permit("E52345678"),
        )
        .await,
        201,
    )
    .await;
    let got = rx.wait_for(2).await;
    assert_eq!(got[1].json()["key"], "ITAS-2");
    let sub = json(
        get_as(&app, &format!("/api/v1/subscriptions/{id}"), &imi).await,
        200,
    )
    .await;
    assert!(sub["delivery"]["failing_since"].is_null(), "{sub}");
    handle.stop(false).await;
}

async fn internal_targets_and_bad_input_are_refused(app: TestApp) {
    let imi = immigration(&app, "IMI").await;
    for target in [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/hook",
        "http://localhost:8080/hook",
        "http://192.168.1.10/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::127.0.0.1]/hook",
        "http://[2002:7f00:1::]/hook",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",
        "http://[2001:0:7f00:1::f5ff:fffe]/hook",
        "http://0.0.0.0:8080/hook",
    ] {
        let p = problem(
            subscribe(&app, &imi, &json!({"target_url": target})).await,
            400,
            "validation_failed",
        )
        .await;
        assert_field(&p, "target_url", "target_not_allowed");
    }
    for (target, code) in [
        ("ftp://files.example.go.id/x", "invalid_scheme"),
        ("hooks.example.go.id/x", "invalid_url"),
        (
            "https://user:pw@hooks.example.go.id/x",
            "credentials_in_url",
        ),
    ] {
        let p = problem(
            subscribe(&app, &imi, &json!({"target_url": target})).await,
            400,
            "validation_failed",
        )
        .await;
        assert_field(&p, "target_url", code);
    }
    let p = problem(
        subscribe(
            &app,
            &imi,
            &json!({"target_url": "http://127.0.0.1:9/h", "event_types": ["employer", "visa"]}),
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "event_types[1]", "invalid_type");
    let p = problem(
        subscribe(
            &app,
            &imi,
            &json!({"target_url": "http://127.0.0.1:9/h", "secret": "mine"}),
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "secret", "unknown_field");

    // Personal record types need a declared purpose; employers alone do not.
    let no_purpose = |types: Value| {
        app.http
            .post(app.url("/api/v1/subscriptions"))
            .bearer_auth(&imi)
            .json(&json!({"target_url": "http://127.0.0.1:9/h", "event_types": types}))
            .send()
    };
    let p = problem(
        no_purpose(json!(["residence_permit"])).await.unwrap(),
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "X-Purpose", "purpose_required");
    json(no_purpose(json!(["employer"])).await.unwrap(), 201).await;
    let (status, _, _) = read(
        app.http
            .post(app.url("/api/v1/subscriptions"))
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
}

async fn another_agency_cannot_see_or_delete_a_subscription(app: TestApp) {
    let imi = immigration(&app, "IMI").await;
    let other = immigration(&app, "IMI-BPP").await;
    let rx = Receiver::default();
    let (url, handle) = rx.start();
    let (id, _) = subscribed(&app, &imi, &url, &[]).await;
    let item = format!("/api/v1/subscriptions/{id}");
    problem(get_as(&app, &item, &other).await, 404, "not_found").await;
    problem(
        get_as(&app, &format!("{item}/dead-letters"), &other).await,
        404,
        "not_found",
    )
    .await;
    problem(
        post_as(&app, &format!("{item}/dead-letters/x/redeliver"), &other).await,
        404,
        "not_found",
    )
    .await;
    let theirs = json(get_as(&app, "/api/v1/subscriptions", &other).await, 200).await;
    assert_eq!(theirs["items"], json!([]));
    let delete = |token: String| app.http.delete(app.url(&item)).bearer_auth(token).send();
    problem(delete(other.clone()).await.unwrap(), 404, "not_found").await;
    json(get_as(&app, &item, &imi).await, 200).await;

    // Another client of the same agency may manage it.
    let colleague = token_with(&app, "IMI", &["records:read"]).await;
    assert_eq!(delete(colleague).await.unwrap().status(), 204);
    problem(get_as(&app, &item, &imi).await, 404, "not_found").await;
    json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-1",
            &imi,
            &permit("E51234567"),
        )
        .await,
        201,
    )
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        rx.attempts.load(Ordering::SeqCst),
        0,
        "a deleted subscription gets nothing"
    );
    handle.stop(false).await;
}

async fn two_instances_deliver_each_event_exactly_once(app: TestApp) {
    // A second server with its own pool and worker on the same database.
    let db = Db::connect(&app.settings.database_url, 4).expect("connect second instance");
    let state = AppState::new(db, app.settings.clone()).expect("second state");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let second = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let server = sinergi_api::run(listener, state).expect("start second instance");
    let second_handle = server.handle();
    actix_web::rt::spawn(server);

    let imi = immigration(&app, "IMI").await;
    let receivers: Vec<Receiver> = (0..3).map(|_| Receiver::default()).collect();
    let mut handles = Vec::new();
    for rx in &receivers {
        let (url, h) = rx.start();
        handles.push(h);
        subscribed(&app, &imi, &url, &["residence_permit"]).await;
    }
    const N: usize = 12;
    for i in 0..N {
        // Alternate the instance that takes the write.
        let base = if i % 2 == 0 {
            app.address.clone()
        } else {
            second.clone()
        };
        let resp = app
            .http
            .put(format!("{base}/api/v1/residence-permits/ITAS-{i}"))
            .bearer_auth(&imi)
            .json(&permit(&format!("E5{:07}", i)))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    for rx in &receivers {
        rx.wait_for(N).await;
    }
    // Give a would-be duplicate time to arrive.
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    for rx in &receivers {
        let got = rx.accepted();
        let mut ids: Vec<String> = got.iter().map(|r| r.event_id.clone()).collect();
        assert_eq!(ids.len(), N, "each event exactly once: {ids:?}");
        let in_order: Vec<String> = got
            .iter()
            .map(|r| r.json()["key"].as_str().unwrap().to_string())
            .collect();
        let expected: Vec<String> = (0..N).map(|i| format!("ITAS-{i}")).collect();
        assert_eq!(in_order, expected, "commit order across instances");
        ids.dedup();
        assert_eq!(ids.len(), N);
    }
    second_handle.stop(false).await;
    for h in handles {
        h.stop(false).await;
    }
}
