//! The test application: the real server on port 0 over a fresh database
//! per test, plus helpers to get tokens and check responses.

use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::header::CONTENT_TYPE;
use reqwest::{RequestBuilder, Response};
use serde_json::Value;
use sinergi_api::{admin, AppState, Settings};
use sinergi_db::{Backend, Db};

/// The server that holds the test databases.
pub fn pg_admin_url() -> String {
    std::env::var("SINERGI_TEST_PG_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.trim().is_empty())
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[host_start..]
        .find('/')
        .map_or(base.len(), |i| i + host_start);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// The key-encryption key of test servers.
pub fn test_kek() -> sinergi_api::auth::kek::KeyEncryptionKey {
    sinergi_api::auth::kek::KeyEncryptionKey::from_base64(
        "c2luZXJnaS10ZXN0LWtleS1lbmNyeXB0aW9uLWtleSE=",
    )
    .expect("test key")
}

/// A database that exists for one test and is removed afterwards.
pub enum TestDb {
    /// A SQLite file in its own temporary folder.
    Sqlite { dir: PathBuf, url: String },
    /// A database created on the test PostgreSQL server.
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

impl TestDb {
    /// Creates a fresh, empty database; `None` when PostgreSQL is unreachable
    /// outside CI (the test is skipped), a panic inside CI.
    pub fn create(backend: Backend) -> Option<TestDb> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("sinergi-test-{id}"));
                std::fs::create_dir_all(&dir).expect("create temp dir");
                let url = format!("sqlite://{}/t.db", dir.display());
                Some(TestDb::Sqlite { dir, url })
            }
            Backend::Postgres => {
                let admin_url = pg_admin_url();
                let mut conn = match PgConnection::establish(&admin_url) {
                    Ok(c) => c,
                    Err(e) if in_ci() => panic!(
                        "PostgreSQL at {admin_url} is unreachable and CI is set, so the \
                         PostgreSQL suite must not be skipped: {e}"
                    ),
                    Err(e) => {
                        eprintln!("skipping: PostgreSQL at {admin_url} is unreachable ({e}); set SINERGI_TEST_PG_URL");
                        return None;
                    }
                };
                let name = format!("sinergi_t_{id}");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .expect("create test database");
                let url = with_database(&admin_url, &name);
                Some(TestDb::Postgres {
                    admin_url,
                    name,
                    url,
                })
            }
        }
    }

    /// The URL the service connects with.
    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            TestDb::Sqlite { dir, .. } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            TestDb::Postgres {
                admin_url, name, ..
            } => {
                // FORCE: a failed test may leave pooled connections open.
                if let Ok(mut c) = PgConnection::establish(admin_url) {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut c);
                }
            }
        }
    }
}

/// A running server on a fresh database.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// A client that does not follow redirects.
    pub http: reqwest::Client,
    /// The server's database, for administration the API does not offer.
    pub db: Db,
    /// The server's settings.
    pub settings: Settings,
    counter: AtomicUsize,
    _database: Arc<TestDb>,
}

/// Stops the server, then drops the database (after the scenario has dropped its `TestApp`).
pub struct Teardown {
    server: ServerHandle,
    _database: Arc<TestDb>,
}

impl Teardown {
    async fn finish(self) {
        self.server.stop(false).await;
    }
}

/// Runs one scenario on `backend`; the generated `#[actix_web::test]`s call this.
pub async fn run<F, Fut>(backend: Backend, scenario: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    run_with(backend, |_| {}, scenario).await
}

/// Runs one scenario on `backend` with adjusted settings.
pub async fn run_with<F, Fut>(backend: Backend, tweak: impl FnOnce(&mut Settings), scenario: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some((app, teardown)) = TestApp::start(backend, tweak) else {
        return;
    };
    scenario(app).await;
    teardown.finish().await;
}

impl TestApp {
    fn start(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Option<(TestApp, Teardown)> {
        let database = Arc::new(TestDb::create(backend)?);
        let mut settings = Settings {
            database_url: database.url().to_string(),
            bind: "127.0.0.1:0".into(),
            db_pool_size: 8,
            // Pick up key rotations at once.
            key_refresh_secs: 0,
            key_encryption_key: Some(test_kek()),
            ..Settings::default()
        };
        tweak(&mut settings);
        let db = Db::connect(&settings.database_url, settings.db_pool_size).expect("connect");
        db.migrate().expect("migrate");
        let state = AppState::new(db.clone(), settings.clone()).expect("state");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let port = listener.local_addr().expect("local addr").port();
        let server = sinergi_api::run(listener, state).expect("start server");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        let app = TestApp {
            address: format!("http://127.0.0.1:{port}"),
            http,
            db,
            settings,
            counter: AtomicUsize::new(0),
            _database: database.clone(),
        };
        let teardown = Teardown {
            server: handle,
            _database: database,
        };
        Some((app, teardown))
    }

    /// The absolute URL of `path`.
    /// The URL of the server's database (to open a second handle, as the CLI does).
    pub fn database_url(&self) -> &str {
        self._database.url()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Registers an agency; returns its code.
    pub fn agency(&self, code: &str, kind: &str, jurisdiction: Option<&str>) -> String {
        admin::create_agency(&self.db, code, code, kind, jurisdiction)
            .expect("create agency")
            .code
    }

    /// Creates a client of `agency` holding `scopes`; returns (client_id, secret).
    pub fn client(&self, agency: &str, scopes: &[&str]) -> (String, String) {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let c = admin::create_client(&self.db, agency, "test", &scopes).expect("create client");
        (c.client_id, c.client_secret)
    }

    /// A token for the client, from the real token endpoint.
    pub async fn token(&self, client: &(String, String)) -> String {
        let resp = self
            .http
            .post(self.url("/api/v1/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client.0.as_str()),
                ("client_secret", client.1.as_str()),
            ])
            .send()
            .await
            .expect("token request");
        let body = json(resp, 200).await;
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// A read-write token of a new agency of `kind` (districts get Tenggarong).
    pub async fn token_for(&self, kind: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let jurisdiction = (kind == "district").then_some("64.02.06");
        let code = self.agency(&format!("{}-{n}", kind.to_uppercase()), kind, jurisdiction);
        let client = self.client(&code, &["records:read", "records:write"]);
        self.token(&client).await
    }

    /// GET with a bearer token.
    pub fn get(&self, path: &str, token: &str) -> RequestBuilder {
        self.http.get(self.url(path)).bearer_auth(token)
    }

    /// PUT a JSON body with a bearer token.
    pub fn put(&self, path: &str, token: &str, body: &Value) -> RequestBuilder {
        self.http.put(self.url(path)).bearer_auth(token).json(body)
    }
}

/// Status, content type and body text of a response.
pub async fn read(resp: Response) -> (u16, String, String) {
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = resp.text().await.expect("response body");
    (status, ctype, text)
}

/// Asserts the status and a JSON body; returns the body.
pub async fn json(resp: Response, status: u16) -> Value {
    let (got, ctype, text) = read(resp).await;
    assert_eq!(got, status, "unexpected status; body: {text}");
    assert!(
        ctype.starts_with("application/json"),
        "content-type {ctype}: {text}"
    );
    serde_json::from_str(&text).expect("JSON body")
}

/// Asserts an `application/problem+json` error with `status` and `code`; returns it.
pub async fn problem(resp: Response, status: u16, code: &str) -> Value {
    let (got, ctype, text) = read(resp).await;
    assert_eq!(got, status, "unexpected status; body: {text}");
    assert_eq!(ctype, "application/problem+json", "body: {text}");
    let body: Value = serde_json::from_str(&text).expect("problem body");
    assert_eq!(body["code"], code, "problem: {body}");
    assert_eq!(body["status"], status, "problem: {body}");
    body
}

/// Asserts that the problem's `errors[]` names `field` with `code`.
pub fn assert_field(problem: &Value, field: &str, code: &str) {
    let errors = problem["errors"].as_array().cloned().unwrap_or_default();
    assert!(
        errors
            .iter()
            .any(|e| e["field"] == field && e["code"] == code),
        "no error {code} for field {field:?} in {problem}"
    );
}

/// Asserts that the problem's `errors[]` names `field`, whatever the code.
pub fn assert_names(problem: &Value, field: &str) {
    let errors = problem["errors"].as_array().cloned().unwrap_or_default();
    assert!(
        errors.iter().any(|e| e["field"] == field),
        "no error for field {field:?} in {problem}"
    );
}
