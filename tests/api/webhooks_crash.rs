//! A server killed while delivering loses no event.
//!
//! Instance A posts the first event to a receiver that accepts the request
//! but never answers it, and is killed while the request is in flight: its
//! runtime is torn down with the delivery worker and the open request, as a
//! crashed process would leave things (its lease still held, the position
//! not moved). Instance B, started on the same database, may take over only
//! when A's lease has run out (30 s, fixed in `webhooks/delivery.rs`) and
//! then delivers every event from the unmoved position, the in-flight one
//! again. Delivery is at least once: the in-flight event reaches the receiver
//! twice (held by A, answered for B); every other event exactly once.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{NaiveDateTime, Utc};
use serde_json::{json, Value};
use sinergi_api::{admin, AppState, Settings};
use sinergi_db::{changes, subscriptions, Backend, Db};

use crate::harness::{read, TestDb};
use crate::records::permit;

mod sqlite {
    #[actix_web::test]
    async fn killed_mid_delivery_loses_no_event() {
        super::killed_mid_delivery_loses_no_event(sinergi_db::Backend::Sqlite).await;
    }
}

mod postgres {
    #[actix_web::test]
    async fn killed_mid_delivery_loses_no_event() {
        super::killed_mid_delivery_loses_no_event(sinergi_db::Backend::Postgres).await;
    }
}

/// How long A's lease can keep B waiting (30 s), with room for a slow machine.
const TAKEOVER: Duration = Duration::from_secs(45);

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    event_id: String,
    signature: String,
    body: Vec<u8>,
    at: NaiveDateTime,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("event body is JSON")
    }
}

/// A webhook endpoint that holds every request unanswered until told to
/// answer; from then on it answers 200.
#[derive(Clone, Default)]
struct Receiver {
    /// Every request, in arrival order.
    seen: Arc<Mutex<Vec<Received>>>,
    /// The requests answered 200, in arrival order.
    acked: Arc<Mutex<Vec<Received>>>,
    answering: Arc<AtomicBool>,
}

async fn receive(req: HttpRequest, body: web::Bytes, rx: web::Data<Receiver>) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let got = Received {
        event_id: header("sinergi-event-id"),
        signature: header("sinergi-signature"),
        body: body.to_vec(),
        at: Utc::now().naive_utc(),
    };
    rx.seen.lock().unwrap().push(got.clone());
    if !rx.answering.load(Ordering::SeqCst) {
        // Accepted, never answered: the sender is left waiting.
        std::future::pending::<()>().await;
    }
    rx.acked.lock().unwrap().push(got);
    HttpResponse::Ok().finish()
}

impl Receiver {
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

    fn seen(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    fn acked(&self) -> Vec<Received> {
        self.acked.lock().unwrap().clone()
    }
}

/// Polls `done` every 25 ms; fails the test after `limit`.
async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        actix_web::rt::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A Sinergi instance with its own thread and runtime, as a process of its own would have.
struct Instance {
    address: String,
    handle: ServerHandle,
    thread: std::thread::JoinHandle<()>,
}

impl Instance {
    async fn start(settings: &Settings) -> Instance {
        let settings = settings.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let db = Db::connect(&settings.database_url, settings.db_pool_size)
                    .expect("connect instance");
                let state = AppState::new(db, settings).expect("instance state");
                let listener = TcpListener::bind("127.0.0.1:0").expect("bind instance");
                let port = listener.local_addr().unwrap().port();
                let server = sinergi_api::run(listener, state).expect("start instance");
                let _ = tx.send((port, server.handle()));
                let _ = server.await;
            });
            // The runtime is dropped here, and with it every task of the
            // instance: the webhook worker and its open request included.
        });
        let started = tokio::time::timeout(Duration::from_secs(30), rx).await;
        let (port, handle) = started
            .expect("instance started within 30 s")
            .expect("instance thread died while starting");
        Instance {
            address: format!("http://127.0.0.1:{port}"),
            handle,
            thread,
        }
    }

    /// Stops the server without grace and tears its runtime down.
    async fn kill(self) {
        self.handle.stop(false).await;
        wait_until("the instance to die", Duration::from_secs(20), || {
            self.thread.is_finished()
        })
        .await;
        self.thread.join().expect("instance thread panicked");
    }
}

/// Checks `Sinergi-Signature: t=..,v1=..` with an HMAC-SHA256 computed independently.
fn assert_signed(secret: &str, r: &Received) {
    let part = |name: &str| {
        r.signature
            .split(',')
            .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("no {name}= in {:?}", r.signature))
            .to_string()
    };
    let (t, v1) = (part("t"), part("v1"));
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(&r.body);
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap();
    let mac = jsonwebtoken::crypto::sign(&signed, &key, jsonwebtoken::Algorithm::HS256).unwrap();
    let hex: String = URL_SAFE_NO_PAD
        .decode(mac)
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, hex, "signature does not verify for {}", r.event_id);
}

async fn ok(resp: reqwest::Response) -> Value {
    let (status, _, text) = read(resp).await;
    assert!((200..300).contains(&status), "status {status}: {text}");
    serde_json::from_str(&text).expect("JSON body")
}

async fn killed_mid_delivery_loses_no_event(backend: Backend) {
    let Some(database) = TestDb::create(backend) else {
        return;
    };
    let settings = Settings {
        database_url: database.url().to_string(),
        bind: "127.0.0.1:0".into(),
        db_pool_size: 4,
        key_refresh_secs: 0,
        webhook_allow_hosts: vec!["127.0.0.1".into()],
        webhook_poll_ms: 50,
        webhook_backoff_base_ms: 50,
        webhook_backoff_max_ms: 200,
        key_encryption_key: Some(crate::harness::test_kek()),
        ..Settings::default()
    };
    let db = Db::connect(&settings.database_url, 2).expect("connect");
    db.migrate().expect("migrate");
    admin::create_agency(&db, "IMI", "IMI", "immigration", Some("64")).expect("agency");
    let scopes = ["records:read".to_string(), "records:write".to_string()];
    let client =
        admin::create_client_with_purposes(&db, "IMI", "test", &scopes, &["supervision".into()])
            .expect("client");

    let rx = Receiver::default();
    let (hook, rx_handle) = rx.start();
    let a = Instance::start(&settings).await;
    let http = reqwest::Client::new();
    let token = ok(http
        .post(format!("{}/api/v1/oauth/token", a.address))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client.client_id.as_str()),
            ("client_secret", client.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap())
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let created = ok(http
        .post(format!("{}/api/v1/subscriptions", a.address))
        .bearer_auth(&token)
        .header("X-Purpose", "supervision")
        .json(&json!({"target_url": hook, "event_types": ["residence_permit"]}))
        .send()
        .await
        .unwrap())
    .await;
    let (sub_id, secret) = (
        created["id"].as_str().unwrap().to_string(),
        created["secret"].as_str().unwrap().to_string(),
    );
    let sub = |db: &Db| {
        let id = sub_id.clone();
        db.read(move |c| subscriptions::get(c, &id))
            .unwrap()
            .expect("subscription")
    };
    let start = sub(&db).cursor_seq;

    // Five changes to three permits, all committed on A.
    let writes = [
        ("ITAS-1", "active"),
        ("ITAS-2", "active"),
        ("ITAS-1", "cancelled"),
        ("ITAS-3", "active"),
        ("ITAS-2", "cancelled"),
    ];
    for (no, status) in writes {
        let mut body = permit(&format!("E5000000{}", &no[5..]));
        body["status"] = json!(status);
        let url = format!("{}/api/v1/residence-permits/{no}", a.address);
        ok(http
            .put(url)
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap())
        .await;
    }
    let types = ["residence_permit".to_string()];
    let expected = db
        .read(|c| changes::list_after(c, start, &types, 100))
        .unwrap();
    assert_eq!(expected.len(), writes.len(), "one change per write");

    // A has sent the first event and waits for an answer that never comes.
    wait_until("A's first delivery", Duration::from_secs(10), || {
        !rx.seen().is_empty()
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let held = rx.seen();
    assert_eq!(held.len(), 1, "A is stuck on the first event: {held:?}");
    let in_flight = format!("{sub_id}:{}", expected[0].seq);
    assert_eq!(held[0].event_id, in_flight);
    let before = sub(&db);
    assert_eq!(before.cursor_seq, start, "no answer, no move");
    assert_eq!(before.attempts, 0, "A's request is still in flight");
    let lease_until = before.lease_until.expect("A holds the lease");
    assert!(before.lease_owner.is_some());

    a.kill().await;
    rx.answering.store(true, Ordering::SeqCst);
    let b = Instance::start(&settings).await;
    wait_until("B to deliver every event", TAKEOVER, || {
        rx.acked().len() >= expected.len()
    })
    .await;
    // Room for a would-be extra delivery to show.
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let (seen, acked) = (rx.seen(), rx.acked());

    let ids: Vec<String> = expected
        .iter()
        .map(|c| format!("{sub_id}:{}", c.seq))
        .collect();
    let acked_ids: Vec<&str> = acked.iter().map(|r| r.event_id.as_str()).collect();
    assert_eq!(acked_ids, ids, "every event answered, once, in feed order");
    assert!(
        acked[0].at > lease_until,
        "B took over only after A's lease ran out ({} <= {lease_until})",
        acked[0].at
    );
    // At least once: the in-flight event twice, every other event once.
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &seen {
        *count.entry(r.event_id.as_str()).or_default() += 1;
    }
    for id in &ids {
        let want = if *id == in_flight { 2 } else { 1 };
        assert_eq!(count.get(id.as_str()), Some(&want), "deliveries of {id}");
    }
    assert_eq!(count.len(), ids.len(), "no unknown event: {count:?}");
    for r in &seen {
        assert_signed(&secret, r);
        let event = r.json();
        assert_eq!(event["id"], r.event_id.as_str());
        let change = &expected[ids.iter().position(|i| *i == r.event_id).unwrap()];
        assert_eq!(event["key"], change.record_key.as_str());
        assert_eq!(event["version"], change.version);
    }
    // In order per record: versions 1, 2, ... as committed.
    let mut versions: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for r in &acked {
        let event = r.json();
        let key = event["key"].as_str().unwrap().to_string();
        versions
            .entry(key)
            .or_default()
            .push(event["version"].as_i64().unwrap());
    }
    let want = BTreeMap::from([
        ("ITAS-1".to_string(), vec![1, 2]),
        ("ITAS-2".to_string(), vec![1, 2]),
        ("ITAS-3".to_string(), vec![1]),
    ]);
    assert_eq!(versions, want, "each record's versions in commit order");
    // Caught up: past the last event, and past the findings it does not receive.
    let after = sub(&db);
    let head = db.read(changes::head).unwrap().0;
    assert!(head >= expected.last().unwrap().seq);
    assert_eq!(after.cursor_seq, head);
    assert_eq!(after.attempts, 0);
    assert_eq!(after.last_error, None);

    b.kill().await;
    rx_handle.stop(false).await;
}
