//! The supervisors' dashboard: served offline-safe with a strict CSP, and,
//! in headless Chromium over the real binary with demo data, showing the
//! charts and the same numbers the statistics endpoints return.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sinergi_db::Backend;

use crate::harness::{read, TestApp};

// ---- Served files (no browser needed) ----------------------------------------

/// The SVG namespace name is an identifier the browser never fetches.
const ALLOWED_URLS: [&str; 1] = ["http://www.w3.org/2000/svg"];

#[actix_web::test]
async fn dashboard_files_are_served_offline_safe() {
    crate::harness::run(Backend::Sqlite, assets_scenario).await;
}

async fn assets_scenario(app: TestApp) {
    let mut texts = Vec::new();
    for (path, ctype) in [
        ("/dashboard", "text/html"),
        ("/dashboard/app.js", "text/javascript"),
        ("/dashboard/app.css", "text/css"),
    ] {
        let resp = app.http.get(app.url(path)).send().await.unwrap();
        let headers = resp.headers().clone();
        let (status, got, text) = read(resp).await;
        assert_eq!(status, 200, "{path}: {text}");
        assert!(got.starts_with(ctype), "{path}: {got}");
        assert!(got.contains("charset=utf-8"), "{path}: {got}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(
                csp.contains(directive),
                "{path}: {directive} missing in {csp}"
            );
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(headers["cache-control"], "no-cache", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        // Revalidation is cheap: the ETag answers 304.
        let etag = headers["etag"].to_str().unwrap().to_string();
        let again = app
            .http
            .get(app.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");

        let mut rest = text.clone();
        for allowed in ALLOWED_URLS {
            rest = rest.replace(allowed, "");
        }
        for scheme in ["http://", "https://", "//cdn", "@import"] {
            assert!(
                !rest.contains(scheme),
                "{path} refers to another host ({scheme}); the dashboard must work offline"
            );
        }
        texts.push(text);
    }
    let (html, js) = (&texts[0], &texts[1]);
    // No inline script or style: the CSP would block them.
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert!(html.contains(r#"<script src="dashboard/app.js" defer></script>"#));
    assert!(html.contains(r#"href="dashboard/app.css""#));
    assert!(
        !html.contains("<style") && !html.contains(" style="),
        "{html}"
    );
    assert!(html.contains(r#"<html lang="id">"#));
    // The token lives in sessionStorage only; API labels never become markup.
    assert!(js.contains("sessionStorage"));
    assert!(
        !js.contains("localStorage"),
        "tokens must not outlive the tab"
    );
    assert!(!js.contains("innerHTML") && !js.contains("eval("));

    let resp = app.http.get(app.url("/dashboard/")).send().await.unwrap();
    assert!(resp.status().is_redirection(), "{}", resp.status());
    assert_eq!(resp.headers()["location"], "../dashboard");
}

// ---- In headless Chromium -------------------------------------------------------

/// The `sinergi serve --demo` binary on a free port, killed when dropped.
struct DemoServer {
    child: Child,
    base: String,
    dir: PathBuf,
    client_id: String,
    client_secret: String,
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sinergi-dashboard-{what}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The credentials of the demo client of `kind`, from the table `print_credentials` writes.
fn demo_client(stdout: &[String], kind: &str) -> Option<(String, String)> {
    stdout.iter().find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        (cols.len() == 4 && cols[1] == kind).then(|| (cols[2].to_string(), cols[3].to_string()))
    })
}

async fn start_demo() -> DemoServer {
    let dir = temp_dir("server");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sinergi"))
        .args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}")])
        .env(
            "SINERGI_DATABASE_URL",
            format!("sqlite://{}/s.db", dir.display()),
        )
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("server.log")).unwrap())
        .spawn()
        .expect("start sinergi");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    // Keeps draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut server = DemoServer {
        child,
        base: format!("http://127.0.0.1:{port}"),
        dir,
        client_id: String::new(),
        client_secret: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l.contains("Swagger UI:")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(_) => panic!(
                "the demo server did not print its credentials within 60 s; stdout: {lines:?}; log: {}",
                std::fs::read_to_string(server.dir.join("server.log")).unwrap_or_default()
            ),
        }
    }
    // A supervisor's agency: Kesbangpol (regional).
    let (id, secret) = demo_client(&lines, "regional").expect("a regional demo client");
    server.client_id = id;
    server.client_secret = secret;
    let http = reqwest::Client::new();
    loop {
        let live = http
            .get(format!("{}/health/live", server.base))
            .send()
            .await;
        if live.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the demo server did not answer within 60 s"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    server
}

impl DemoServer {
    async fn token(&self) -> String {
        let resp = reqwest::Client::new()
            .post(format!("{}/api/v1/oauth/token", self.base))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    async fn get(&self, token: &str, path: &str) -> Value {
        let resp = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        resp.json().await.unwrap()
    }
}

/// Whether Chromium can run here; without it the test is skipped, except in CI.
fn chromium_available() -> bool {
    let found = Command::new("chromium")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var("CI").is_ok_and(|v| !v.trim().is_empty()) {
            panic!("chromium is not installed and CI is set: install Debian's chromium package");
        }
        eprintln!("NOTE: chromium is not installed; skipping the dashboard browser test");
    }
    found
}

/// Runs headless Chromium on `url` with `extra` arguments; returns its stdout.
/// Killed (with its helper processes) after 60 s.
fn chromium(url: &str, extra: &[String]) -> String {
    let profile = temp_dir("chromium");
    let mut child = Command::new("chromium")
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=15000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(&profile);
            panic!("chromium did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = reader.join().unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    assert!(status.success(), "chromium failed: {status}");
    out
}

/// The start tag of the element with `id`.
fn start_tag<'a>(dom: &'a str, id: &str) -> &'a str {
    let at = dom
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no element #{id} in the page"));
    let open = dom[..at].rfind('<').unwrap();
    let close = at + dom[at..].find('>').unwrap();
    &dom[open..=close]
}

/// The whole `<svg>` element with `id`.
fn svg<'a>(dom: &'a str, id: &str) -> &'a str {
    let tag = start_tag(dom, id);
    assert!(tag.starts_with("<svg"), "#{id} is not an SVG chart: {tag}");
    let open = dom.find(tag).unwrap();
    let close = open + dom[open..].find("</svg>").unwrap();
    &dom[open..close]
}

fn attr(tag: &str, name: &str) -> String {
    let key = format!(r#"{name}=""#);
    let at = tag
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {tag}"))
        + key.len();
    tag[at..at + tag[at..].find('"').unwrap()].to_string()
}

/// Bars drawn, and "< 3" markers, in a bar chart.
fn bars(chart: &str) -> (usize, usize) {
    (
        chart.matches(r#"class="bar""#).count(),
        chart.matches(r#"class="bar-value suppressed""#).count(),
    )
}

/// Groups a statistics answer shows as bars, and as "< 3".
fn expected_bars(groups: &Value) -> (usize, usize) {
    let groups = groups.as_array().unwrap();
    let hidden = groups.iter().filter(|g| g["suppressed"] == true).count();
    (groups.len() - hidden, hidden)
}

/// `n` as the page writes it in Bahasa Indonesia (1.234).
fn thousands(n: u64) -> String {
    let digits: Vec<char> = n.to_string().chars().rev().collect();
    let groups: Vec<String> = digits
        .chunks(3)
        .map(|c| c.iter().rev().collect())
        .rev()
        .collect();
    groups.join(".")
}

fn dashboard_url(server: &DemoServer, query: &str, token: &str) -> String {
    format!("{}/dashboard{query}#token={token}", server.base)
}

#[actix_web::test]
async fn dashboard_shows_the_demo_numbers_in_chromium() {
    if !chromium_available() {
        return;
    }
    let server = start_demo().await;
    let token = server.token().await;
    let dom = chromium(
        &dashboard_url(&server, "", &token),
        &["--dump-dom".to_string()],
    );
    assert!(
        dom.contains(r#"data-state="ready""#),
        "the page did not finish loading: {dom}"
    );
    assert!(dom.contains(r#"<html lang="id">"#));
    // The token came in the fragment and is gone from the page.
    assert!(!dom.contains(&token));

    let as_of = attr(&dom[dom.find("<body").unwrap()..], "data-as-of");
    let stats =
        |group: &str| format!("/api/v1/stats/workers?group_by={group}&as_of={as_of}&region=64.02");
    let sector = server.get(&token, &stats("sector")).await;
    let nationality = server.get(&token, &stats("nationality")).await;
    let district = server.get(&token, &stats("region")).await;
    let findings = server
        .get(&token, "/api/v1/stats/findings?status=open&region=64.02")
        .await;
    let total = sector["total"].as_u64().unwrap();
    assert!(total > 100, "demo data: {sector}");

    // The numbers, in text.
    assert_eq!(
        attr(start_tag(&dom, "kpi-workers"), "data-value"),
        total.to_string()
    );
    assert_eq!(
        attr(start_tag(&dom, "kpi-findings"), "data-value"),
        findings["total"].to_string()
    );
    assert!(findings["total"].as_u64().unwrap() > 0);
    assert!(
        dom.contains("Pertambangan"),
        "sector labels in Bahasa Indonesia"
    );
    assert!(dom.contains("Pekerja asing aktif"));
    assert!(dom.contains("Tabang"), "district labels");
    let kpi = &dom[dom.find(start_tag(&dom, "kpi-workers")).unwrap()..];
    assert!(
        kpi.contains(&format!(">{}</strong>", thousands(total))),
        "the total is written out"
    );

    // The charts: one bar per shown group, "< 3" for the suppressed ones.
    for (id, answer) in [
        ("chart-sector", &sector),
        ("chart-nationality", &nationality),
        ("chart-district", &district),
    ] {
        assert_eq!(
            bars(svg(&dom, id)),
            expected_bars(&answer["groups"]),
            "{id}"
        );
    }
    assert!(
        bars(svg(&dom, "chart-district")).1 > 0,
        "demo districts with 1-2 workers show < 3"
    );
    assert!(dom.contains("&lt; 3"));
    assert_eq!(
        bars(svg(&dom, "chart-findings-rule")).0,
        findings["by_rule"].as_array().unwrap().len()
    );
    assert_eq!(
        bars(svg(&dom, "chart-findings-district")).0,
        findings["by_district"].as_array().unwrap().len()
    );
    let trend = svg(&dom, "chart-trend");
    let points = if as_of.ends_with("-01") { 12 } else { 13 };
    assert!(trend.contains(r#"class="trend-line" d="M"#), "{trend}");
    assert_eq!(trend.matches("<circle").count(), points, "{trend}");
    assert!(
        trend.contains(&format!(r#"data-value="{total}""#)),
        "the trend ends at today's total: {trend}"
    );
    // The employer table: permitted and seen, with the largest gap first.
    let presence = server
        .get(
            &token,
            &format!("/api/v1/stats/presence?as_of={as_of}&region=64.02"),
        )
        .await;
    let table = &dom[dom.find(r#"id="table-gap""#).expect("employer table")..];
    let first = presence["employers"][0]["label"].as_str().unwrap();
    assert!(table.contains(first), "{first}");

    // A screenshot to look at, kept in target/.
    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dashboard.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &dashboard_url(&server, "", &token),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1400,2200".to_string(),
        ],
    );
    let png = std::fs::read(&shot).expect("the screenshot was written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    println!("dashboard screenshot: {}", shot.display());
}

#[actix_web::test]
async fn dashboard_speaks_english_on_request() {
    if !chromium_available() {
        return;
    }
    let server = start_demo().await;
    let token = server.token().await;
    let dom = chromium(
        &dashboard_url(&server, "?lang=en", &token),
        &["--dump-dom".to_string()],
    );
    assert!(dom.contains(r#"data-state="ready""#), "{dom}");
    assert!(dom.contains(r#"<html lang="en">"#));
    for label in [
        "Active foreign workers",
        "Mining and quarrying",
        "Open findings by rule",
        "Employers: permitted and seen on site",
        "Sign out",
    ] {
        assert!(dom.contains(label), "{label} missing");
    }
    assert!(!dom.contains("Pertambangan"));
    assert!(!dom.contains("Pekerja asing aktif"));
}
