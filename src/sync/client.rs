//! HTTP to a Sinergi server for batch jobs: a client-credentials token that
//! is renewed before it expires (and when the server says `token_expired`),
//! and retries with backoff on 429, 502, 503, 504, connection errors and an
//! idempotency key still in flight (honouring `Retry-After`), for long enough
//! to outlast a server restart.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// How long one request is retried: a restarted server (or one whose
/// crashed predecessor still holds a batch's key for a few seconds) is back
/// well within it.
const RETRY_FOR: Duration = Duration::from_secs(120);

/// A server answer.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body text.
    pub body: String,
}

impl Reply {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The problem `code` of an error answer.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or("").to_string()
    }

    /// `status code: detail` of an error answer, for messages.
    pub fn describe(&self) -> String {
        let p = self.json();
        let mut text = match (p["code"].as_str(), p["detail"].as_str()) {
            (Some(c), Some(d)) => format!("{} {c}: {d}", self.status.as_u16()),
            _ => format!("{} {}", self.status.as_u16(), self.body.trim()),
        };
        for e in p["errors"].as_array().into_iter().flatten() {
            text.push_str(&format!(
                "; {}: {}: {}",
                e["field"].as_str().unwrap_or(""),
                e["code"].as_str().unwrap_or(""),
                e["message"].as_str().unwrap_or("")
            ));
        }
        text
    }
}

/// One request to send (rebuilt for every attempt).
pub struct Request<'a> {
    /// GET, POST...
    pub method: Method,
    /// Path and query, e.g. `/api/v1/batch`.
    pub path: &'a str,
    /// Extra headers.
    pub headers: Vec<(&'a str, String)>,
    /// JSON body, already serialised (sent byte for byte on every attempt).
    pub body: Option<Vec<u8>>,
    /// How long one attempt may take.
    pub timeout: Duration,
}

/// A logged-in connection to one server.
pub struct Api {
    http: reqwest::Client,
    base: String,
    client_id: String,
    client_secret: String,
    /// The token and when to renew it.
    token: Option<(String, Instant)>,
    /// Shown on stderr when waiting before a retry.
    pub on_retry: fn(&str),
    /// How long one request is retried before its last answer (or error) stands.
    pub retry_for: Duration,
}

impl Api {
    /// Prepares a connection; no request is made yet.
    pub fn new(base: &str, client_id: &str, client_secret: &str) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("sinergi-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot set up HTTP")?;
        Ok(Api {
            http,
            base: base.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            token: None,
            on_retry: super::say,
            retry_for: RETRY_FOR,
        })
    }

    /// Sends `req` with a valid token, retrying what is worth retrying.
    pub async fn send(&mut self, req: &Request<'_>) -> anyhow::Result<Reply> {
        let mut renewed = false;
        let mut attempt = 0;
        let give_up = Instant::now() + self.retry_for;
        loop {
            attempt += 1;
            let token = self.token().await?;
            let mut b = self
                .http
                .request(req.method.clone(), format!("{}{}", self.base, req.path))
                .bearer_auth(&token)
                .timeout(req.timeout);
            for (k, v) in &req.headers {
                b = b.header(*k, v);
            }
            if let Some(body) = &req.body {
                b = b
                    .header("content-type", "application/json")
                    .body(body.clone());
            }
            let reply = match read(b.send().await).await {
                Ok(r) => r,
                Err(e) if Instant::now() < give_up => {
                    self.pause(attempt, None, give_up, &format!("{e:#}")).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if reply.status == StatusCode::UNAUTHORIZED && !renewed {
                // Expired (or the signing key was rotated away): get a new token once.
                renewed = true;
                self.token = None;
                attempt -= 1;
                continue;
            }
            if retryable(&reply) && Instant::now() < give_up {
                let after = retry_after(&reply);
                self.pause(attempt, after, give_up, &reply.describe()).await;
                continue;
            }
            return Ok(reply);
        }
    }

    /// Waits before attempt `attempt + 1`: as `Retry-After` says, else a
    /// growing backoff; never past `give_up` (the last attempt is made then).
    async fn pause(&self, attempt: u32, after: Option<Duration>, give_up: Instant, why: &str) {
        let left = give_up.saturating_duration_since(Instant::now());
        let wait = after.unwrap_or_else(|| backoff(attempt)).min(left);
        (self.on_retry)(&format!(
            "retrying in {:.1} s (attempt {}, retrying for {:.0} s more): {why}",
            wait.as_secs_f64(),
            attempt + 1,
            left.as_secs_f64()
        ));
        tokio::time::sleep(wait).await;
    }

    /// A token that is not about to expire.
    async fn token(&mut self) -> anyhow::Result<String> {
        if let Some((t, renew_at)) = &self.token {
            if Instant::now() < *renew_at {
                return Ok(t.clone());
            }
        }
        let mut attempt = 0;
        let give_up = Instant::now() + self.retry_for;
        let reply = loop {
            attempt += 1;
            let sent = self
                .http
                .post(format!("{}/api/v1/oauth/token", self.base))
                .basic_auth(&self.client_id, Some(&self.client_secret))
                .form(&[("grant_type", "client_credentials")])
                .timeout(Duration::from_secs(30))
                .send()
                .await;
            match read(sent).await {
                Ok(r) if retryable(&r) && Instant::now() < give_up => {
                    self.pause(attempt, retry_after(&r), give_up, &r.describe())
                        .await
                }
                Ok(r) => break r,
                Err(e) if Instant::now() < give_up => {
                    self.pause(attempt, None, give_up, &format!("{e:#}")).await
                }
                Err(e) => return Err(e),
            }
        };
        if reply.status != StatusCode::OK {
            bail!(
                "the server refused the client credentials: {}",
                reply.describe()
            );
        }
        let v = reply.json();
        let token = v["access_token"]
            .as_str()
            .ok_or_else(|| anyhow!("the token answer has no access_token"))?
            .to_string();
        // Renew 30 s before expiry (a quarter of the lifetime for short-lived tokens).
        let ttl = Duration::from_secs(v["expires_in"].as_u64().unwrap_or(300));
        let margin = Duration::from_secs(30).min(ttl / 4);
        self.token = Some((token.clone(), Instant::now() + ttl - margin));
        Ok(token)
    }
}

/// Worth another try: overloaded, rate limited, restarting, or our earlier
/// attempt with this idempotency key is still being processed.
fn retryable(r: &Reply) -> bool {
    matches!(r.status.as_u16(), 429 | 502 | 503 | 504)
        || (r.status == StatusCode::CONFLICT && r.code() == "idempotency_key_in_flight")
}

/// The server's `Retry-After` in seconds, if it gave one.
fn retry_after(r: &Reply) -> Option<Duration> {
    r.headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// 0.5 s, 1 s, 2 s, ... up to 10 s (a restarted server is noticed soon),
/// with a little jitter so that many jobs restarted together do not retry in
/// step.
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(500) * 2u32.pow(attempt.saturating_sub(1).min(5));
    let jitter = Duration::from_millis(u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_millis() % 250),
    ));
    base.min(Duration::from_secs(10)) + jitter
}

async fn read(sent: reqwest::Result<reqwest::Response>) -> anyhow::Result<Reply> {
    let resp = sent.map_err(|e| anyhow::Error::new(e).context("cannot reach the server"))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .text()
        .await
        .map_err(|e| anyhow::Error::new(e).context("the answer was cut off"))?;
    Ok(Reply {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    /// A server that answers each request with the next scripted
    /// `(status, extra headers, body)` and records `METHOD path auth`.
    fn scripted(
        answers: Vec<(u16, &'static str, &'static str)>,
    ) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(vec![]));
        let seen = log.clone();
        std::thread::spawn(move || serve(listener, answers, seen));
        (url, log)
    }

    /// Answers the scripted requests on `listener`.
    fn serve(
        listener: TcpListener,
        answers: Vec<(u16, &'static str, &'static str)>,
        seen: Arc<Mutex<Vec<String>>>,
    ) {
        for (status, headers, body) in answers {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut first, mut auth, mut length) = (String::new(), String::new(), 0);
            reader.read_line(&mut first).unwrap();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if lower.starts_with("authorization:") {
                    // The bearer token itself, or just the scheme for Basic.
                    let v = line[14..].trim();
                    auth = v
                        .strip_prefix("Bearer ")
                        .unwrap_or_else(|| v.split(' ').next().unwrap_or(""))
                        .to_string();
                }
                if line.trim().is_empty() {
                    break;
                }
            }
            reader.read_exact(&mut vec![0; length]).unwrap();
            let target: Vec<&str> = first.split(' ').take(2).collect();
            seen.lock()
                .unwrap()
                .push(format!("{} {auth}", target.join(" ")));
            let mut out = stream;
            let _ = write!(
                    out,
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
                    body.len()
                );
        }
    }

    fn get(path: &str) -> Request<'_> {
        Request {
            method: Method::GET,
            path,
            headers: vec![],
            body: None,
            timeout: Duration::from_secs(5),
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    const TOKEN_1: &str = r#"{"access_token":"t1","expires_in":900}"#;
    const TOKEN_2: &str = r#"{"access_token":"t2","expires_in":900}"#;

    #[test]
    fn expired_token_is_renewed_once_and_the_request_repeated() {
        let (url, log) = scripted(vec![
            (200, "", TOKEN_1),
            (401, "", r#"{"code":"token_expired"}"#),
            (200, "", TOKEN_2),
            (200, "", "{}"),
        ]);
        let mut api = Api::new(&url, "c", "s").unwrap();
        let reply = block_on(api.send(&get("/x"))).unwrap();
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            *log.lock().unwrap(),
            [
                "POST /api/v1/oauth/token Basic",
                "GET /x t1",
                "POST /api/v1/oauth/token Basic",
                "GET /x t2"
            ]
        );
    }

    #[test]
    fn overload_is_retried_as_retry_after_says_and_only_so_long() {
        let (url, log) = scripted(vec![
            (200, "", TOKEN_1),
            (503, "retry-after: 0\r\n", "{}"),
            (429, "retry-after: 0\r\n", "{}"),
            (
                409,
                "retry-after: 0\r\n",
                r#"{"code":"idempotency_key_in_flight"}"#,
            ),
            (200, "", "{}"),
        ]);
        let mut api = Api::new(&url, "c", "s").unwrap();
        assert_eq!(
            block_on(api.send(&get("/x"))).unwrap().status,
            StatusCode::OK
        );
        assert_eq!(log.lock().unwrap().len(), 5);

        // Retry-After 1 s and 1.5 s to retry: attempts at 0, 1 and 1.5 s.
        let mut answers = vec![(200, "", TOKEN_1)];
        answers.extend((0..10).map(|_| (503, "retry-after: 1\r\n", "{}")));
        let (url, log) = scripted(answers);
        let mut api = Api::new(&url, "c", "s").unwrap();
        api.retry_for = Duration::from_millis(1500);
        let started = Instant::now();
        let reply = block_on(api.send(&get("/x"))).unwrap();
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(log.lock().unwrap().len(), 1 + 3);
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn a_server_that_is_down_for_a_while_is_waited_for() {
        // Nothing listens on the port for the first second (a restart).
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let log = Arc::new(Mutex::new(vec![]));
        let seen = log.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(1));
            let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
            serve(listener, vec![(200, "", TOKEN_1), (200, "", "{}")], seen);
        });
        let mut api = Api::new(&url, "c", "s").unwrap();
        api.retry_for = Duration::from_secs(20);
        assert_eq!(
            block_on(api.send(&get("/x"))).unwrap().status,
            StatusCode::OK
        );
        assert_eq!(log.lock().unwrap().len(), 2);
    }
}
