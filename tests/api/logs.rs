//! The server's own logs over a full scenario: structured JSON with request
//! ids, and no personal data or secrets in them.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// The key-encryption key of this test's server (it must never be logged).
const KEK: &str = "bG9ncy10ZXN0LWtleS1lbmNyeXB0aW9uLWtleS0zMiE=";

fn sinergi(db_url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sinergi"));
    c.env("SINERGI_DATABASE_URL", db_url)
        .env("SINERGI_KEY_ENCRYPTION_KEY", KEK)
        .env("SINERGI_LOG", "debug")
        .env("SINERGI_LOG_FORMAT", "json");
    c
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run sinergi");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[actix_web::test]
async fn logs_hold_request_ids_but_no_personal_data_or_secrets() {
    let dir = std::env::temp_dir().join(format!("sinergi-logs-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let db_url = format!("sqlite://{}/s.db", dir.display());
    run_ok(sinergi(&db_url).args([
        "agency",
        "create",
        "--code",
        "IMI",
        "--name",
        "Imigrasi",
        "--kind",
        "immigration",
        "--jurisdiction",
        "64",
    ]));
    let creds: Value = serde_json::from_str(&run_ok(sinergi(&db_url).args([
        "client",
        "create",
        "--agency",
        "IMI",
        "--purposes",
        "supervision",
        "--json",
    ])))
    .unwrap();
    let (id, secret) = (
        creds["client_id"].as_str().unwrap(),
        creds["client_secret"].as_str().unwrap(),
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log_path = dir.join("server.log");
    let mut server = sinergi(&db_url)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if http.get(format!("{base}/health/live")).send().await.is_ok() {
            up = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "server did not start");

    let token: Value = http
        .post(format!("{base}/api/v1/oauth/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    let permit = json!({
        "worker": {"passport_no": "E51234567", "nationality": "CHN", "full_name": "ZHANG WEIMING", "birth_date": "1985-04-12"},
        "kind": "ITAS", "sponsor_nib": "9120001234567", "issued_on": "2026-01-05",
        "valid_from": "2026-01-05", "valid_until": "2027-01-04", "status": "active"
    });
    let stored: Value = http
        .put(format!("{base}/api/v1/residence-permits/ITAS-1"))
        .bearer_auth(&token)
        .json(&permit)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let worker = stored["worker_id"].as_str().unwrap();
    let mut bad = permit.clone();
    bad["worker"]["sex"] = json!("ZHANG WEIMING E51234567");
    for req in [
        http.put(format!("{base}/api/v1/residence-permits/ITAS-2"))
            .json(&bad),
        http.get(format!("{base}/api/v1/workers?passport_no=E51234567"))
            .header("X-Purpose", "supervision"),
        http.get(format!("{base}/api/v1/workers/{worker}"))
            .header("X-Purpose", "supervision"),
        http.get(format!("{base}/api/v1/residence-permits/E51234567"))
            .header("X-Purpose", "supervision"),
        http.get(format!("{base}/api/v1/workers?passport_no=E51234567")),
        http.get(format!("{base}/no/such/E51234567")),
    ] {
        let status = req.bearer_auth(&token).send().await.unwrap().status();
        assert!(status.is_success() || status.is_client_error(), "{status}");
    }
    server.kill().unwrap();
    server.wait().unwrap();

    let logs = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    for needle in [
        "E51234567",
        "e51234567",
        "ZHANG",
        "WEIMING",
        secret,
        &token,
        KEK,
    ] {
        assert!(!logs.contains(needle), "logs contain {needle:?}:\n{logs}");
    }
    let lines: Vec<Value> = logs
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not a JSON log line: {l}")))
        .collect();
    let requests: Vec<&Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "request")
        .collect();
    assert!(requests.len() >= 7, "one line per request: {logs}");
    assert!(requests
        .iter()
        .all(|l| l["fields"]["request_id"].is_string()));
    assert!(
        requests
            .iter()
            .any(|l| l["fields"]["route"] == "/api/v1/workers/{id}"),
        "route templates, not paths"
    );
}
