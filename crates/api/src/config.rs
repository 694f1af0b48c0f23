//! Typed settings, read once from the environment and passed in.

use crate::auth::kek::KeyEncryptionKey;

/// Service settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `postgres://...` or `sqlite://path` (default `sqlite://data/sinergi.db`).
    pub database_url: String,
    /// Listen address (default `127.0.0.1:8080`).
    pub bind: String,
    /// `iss` of issued tokens.
    pub issuer: String,
    /// `aud` of issued tokens.
    pub audience: String,
    /// Lifetime of an access token in seconds.
    pub token_ttl_secs: i64,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Database pool size.
    pub db_pool_size: u32,
    /// Requests a minute per client (and token requests a minute per client id).
    pub rate_limit_per_minute: u32,
    /// Largest burst of requests per client.
    pub rate_limit_burst: u32,
    /// Token requests with credentials a minute per source address (each costs a secret check).
    pub token_attempts_per_minute_per_address: u32,
    /// Largest burst of token requests per source address.
    pub token_attempts_burst_per_address: u32,
    /// Token requests with credentials a minute from every address together.
    pub token_attempts_per_minute: u32,
    /// Largest burst of token requests from every address together.
    pub token_attempts_burst: u32,
    /// Secret checks (Argon2) running at once.
    pub token_hash_concurrency: usize,
    /// Token requests waiting for a secret check; more get 503 at once.
    pub token_hash_queue: usize,
    /// Source addresses whose token budget is tracked; past that they share one.
    pub token_tracked_addresses: usize,
    /// Origins allowed to call the API from a browser (CORS); empty: none.
    pub cors_origins: Vec<String>,
    /// How often signing keys are re-read (to pick up a rotation), in seconds.
    pub key_refresh_secs: u64,
    /// How long a client read for a request is reused, in milliseconds (0: never).
    pub client_cache_ms: u64,
    /// Most operations in one batch.
    pub max_batch_operations: usize,
    /// Largest batch body in bytes.
    pub max_batch_bytes: usize,
    /// Days the change feed keeps changes.
    pub change_retention_days: i64,
    /// Webhook targets allowed although they are private, loopback or
    /// link-local: host names or IP addresses exactly as written in the URL.
    pub webhook_allow_hosts: Vec<String>,
    /// How often the webhook worker looks for work, in milliseconds.
    pub webhook_poll_ms: u64,
    /// First retry delay after a failed delivery, in milliseconds (doubles each time).
    pub webhook_backoff_base_ms: u64,
    /// Longest retry delay, in milliseconds.
    pub webhook_backoff_max_ms: u64,
    /// Seconds a failing event is retried before it becomes a dead letter.
    pub webhook_retry_window_secs: i64,
    /// Encrypts the signing keys stored in the database; required to serve.
    pub key_encryption_key: Option<crate::auth::kek::KeyEncryptionKey>,
    /// Names the audit log in its checkpoints (default: the issuer's host + `/audit`).
    pub audit_origin: String,
    /// Signs audit checkpoints; when absent, a key derived from the
    /// key-encryption key (the same on every instance) under `audit_origin`.
    pub audit_key: Option<sinergi_tlog::Signer>,
    /// How often new audit events are integrated and a checkpoint signed, in milliseconds.
    pub audit_checkpoint_ms: u64,
}

impl Settings {
    /// The key that signs audit checkpoints: the configured one, else one
    /// derived from the key-encryption key. `None` without either.
    pub fn audit_signer(&self) -> Option<sinergi_tlog::Signer> {
        if let Some(k) = &self.audit_key {
            return Some(k.clone());
        }
        let kek = self.key_encryption_key.as_ref()?;
        let seed = kek.derive("sinergi audit checkpoint signing key v1");
        sinergi_tlog::Signer::from_seed(&self.audit_origin, &seed).ok()
    }
}

/// `https://host:port/path` → `host:port/audit`.
fn origin_of(issuer: &str) -> String {
    let host = issuer
        .split_once("://")
        .map_or(issuer, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    let host = if host.is_empty() { "sinergi" } else { host };
    format!("{host}/audit")
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: "sqlite://data/sinergi.db".into(),
            bind: "127.0.0.1:8080".into(),
            issuer: "https://sinergi.local".into(),
            audience: "sinergi-api".into(),
            token_ttl_secs: 900,
            max_body_bytes: 4 * 1024 * 1024,
            db_pool_size: 8,
            rate_limit_per_minute: 6000,
            rate_limit_burst: 600,
            token_attempts_per_minute_per_address: 60,
            token_attempts_burst_per_address: 20,
            token_attempts_per_minute: 1200,
            token_attempts_burst: 200,
            // Half the cores: the other half keeps serving authenticated requests.
            token_hash_concurrency: std::thread::available_parallelism()
                .map_or(1, |n| (n.get() / 2).max(1)),
            token_hash_queue: 32,
            token_tracked_addresses: 65_536,
            cors_origins: vec![],
            key_refresh_secs: 60,
            client_cache_ms: 1000,
            max_batch_operations: 1000,
            max_batch_bytes: 32 * 1024 * 1024,
            change_retention_days: 30,
            webhook_allow_hosts: vec![],
            webhook_poll_ms: 500,
            webhook_backoff_base_ms: 5_000,
            webhook_backoff_max_ms: 3_600_000,
            webhook_retry_window_secs: 3 * 24 * 3600,
            key_encryption_key: None,
            audit_origin: origin_of("https://sinergi.local"),
            audit_key: None,
            audit_checkpoint_ms: 1000,
        }
    }
}

impl Settings {
    /// Reads `SINERGI_*` variables over the defaults.
    pub fn from_env() -> Result<Settings, String> {
        let mut s = Settings::default();
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        if let Some(v) = var("SINERGI_DATABASE_URL") {
            s.database_url = v;
        }
        if let Some(v) = var("SINERGI_BIND") {
            s.bind = v;
        }
        if let Some(v) = var("SINERGI_ISSUER") {
            s.issuer = v;
        }
        if let Some(v) = var("SINERGI_AUDIENCE") {
            s.audience = v;
        }
        if let Some(v) = var("SINERGI_TOKEN_TTL_SECS") {
            s.token_ttl_secs = v
                .parse()
                .ok()
                .filter(|n| (60..=86_400).contains(n))
                .ok_or("SINERGI_TOKEN_TTL_SECS must be 60..=86400")?;
        }
        if let Some(v) = var("SINERGI_MAX_BODY_BYTES") {
            s.max_body_bytes = v
                .parse()
                .ok()
                .filter(|n| *n >= 1024)
                .ok_or("SINERGI_MAX_BODY_BYTES must be a number >= 1024")?;
        }
        if let Some(v) = var("SINERGI_DB_POOL_SIZE") {
            s.db_pool_size = v
                .parse()
                .ok()
                .filter(|n| (1..=256).contains(n))
                .ok_or("SINERGI_DB_POOL_SIZE must be 1..=256")?;
        }
        if let Some(v) = var("SINERGI_RATE_LIMIT_PER_MINUTE") {
            s.rate_limit_per_minute = v
                .parse()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or("SINERGI_RATE_LIMIT_PER_MINUTE must be a number >= 1")?;
        }
        if let Some(v) = var("SINERGI_RATE_LIMIT_BURST") {
            s.rate_limit_burst = v
                .parse()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or("SINERGI_RATE_LIMIT_BURST must be a number >= 1")?;
        }
        let count = |name: &str, min: u64, max: u64| -> Result<Option<u64>, String> {
            match var(name) {
                None => Ok(None),
                Some(v) => v
                    .parse()
                    .ok()
                    .filter(|n| (min..=max).contains(n))
                    .map(Some)
                    .ok_or(format!("{name} must be {min}..={max}")),
            }
        };
        let per_minute = |name| count(name, 1, 1_000_000).map(|n| n.map(|n| n as u32));
        if let Some(n) = per_minute("SINERGI_TOKEN_ATTEMPTS_PER_MINUTE_PER_ADDRESS")? {
            s.token_attempts_per_minute_per_address = n;
        }
        if let Some(n) = per_minute("SINERGI_TOKEN_ATTEMPTS_BURST_PER_ADDRESS")? {
            s.token_attempts_burst_per_address = n;
        }
        if let Some(n) = per_minute("SINERGI_TOKEN_ATTEMPTS_PER_MINUTE")? {
            s.token_attempts_per_minute = n;
        }
        if let Some(n) = per_minute("SINERGI_TOKEN_ATTEMPTS_BURST")? {
            s.token_attempts_burst = n;
        }
        if let Some(n) = count("SINERGI_TOKEN_HASH_CONCURRENCY", 1, 256)? {
            s.token_hash_concurrency = n as usize;
        }
        if let Some(n) = count("SINERGI_TOKEN_HASH_QUEUE", 0, 10_000)? {
            s.token_hash_queue = n as usize;
        }
        if let Some(n) = count("SINERGI_TOKEN_TRACKED_ADDRESSES", 1, 10_000_000)? {
            s.token_tracked_addresses = n as usize;
        }
        if let Some(v) = var("SINERGI_BATCH_MAX_OPERATIONS") {
            s.max_batch_operations = v
                .parse()
                .ok()
                .filter(|n| (1..=100_000).contains(n))
                .ok_or("SINERGI_BATCH_MAX_OPERATIONS must be 1..=100000")?;
        }
        if let Some(v) = var("SINERGI_CHANGE_RETENTION_DAYS") {
            s.change_retention_days = v
                .parse()
                .ok()
                .filter(|n| (1..=3650).contains(n))
                .ok_or("SINERGI_CHANGE_RETENTION_DAYS must be 1..=3650")?;
        }
        if let Some(v) = var("SINERGI_KEY_REFRESH_SECS") {
            s.key_refresh_secs = v
                .parse()
                .ok()
                .filter(|n| *n <= 3600)
                .ok_or("SINERGI_KEY_REFRESH_SECS must be 0..=3600")?;
        }
        if let Some(v) = var("SINERGI_CLIENT_CACHE_MS") {
            s.client_cache_ms = v
                .parse()
                .ok()
                .filter(|n| *n <= 60_000)
                .ok_or("SINERGI_CLIENT_CACHE_MS must be 0..=60000")?;
        }
        if let Some(v) = var("SINERGI_WEBHOOK_ALLOW_HOSTS") {
            s.webhook_allow_hosts = v
                .split(',')
                .map(|h| h.trim().trim_start_matches('[').trim_end_matches(']'))
                .filter(|h| !h.is_empty())
                .map(str::to_ascii_lowercase)
                .collect();
        }
        if let Some(v) = var("SINERGI_WEBHOOK_POLL_MS") {
            s.webhook_poll_ms = v
                .parse()
                .ok()
                .filter(|n| (10..=60_000).contains(n))
                .ok_or("SINERGI_WEBHOOK_POLL_MS must be 10..=60000")?;
        }
        if let Some(v) = var("SINERGI_WEBHOOK_BACKOFF_BASE_MS") {
            s.webhook_backoff_base_ms = v
                .parse()
                .ok()
                .filter(|n| (10..=3_600_000).contains(n))
                .ok_or("SINERGI_WEBHOOK_BACKOFF_BASE_MS must be 10..=3600000")?;
        }
        if let Some(v) = var("SINERGI_WEBHOOK_BACKOFF_MAX_MS") {
            s.webhook_backoff_max_ms = v
                .parse()
                .ok()
                .filter(|n| *n >= s.webhook_backoff_base_ms && *n <= 86_400_000)
                .ok_or("SINERGI_WEBHOOK_BACKOFF_MAX_MS must be from the base delay to 86400000")?;
        }
        if let Some(v) = var("SINERGI_WEBHOOK_RETRY_WINDOW_SECS") {
            s.webhook_retry_window_secs = v
                .parse()
                .ok()
                .filter(|n| (1..=30 * 24 * 3600).contains(n))
                .ok_or("SINERGI_WEBHOOK_RETRY_WINDOW_SECS must be 1..=2592000")?;
        }
        s.key_encryption_key =
            match (
                var("SINERGI_KEY_ENCRYPTION_KEY"),
                var("SINERGI_KEY_ENCRYPTION_KEY_FILE"),
            ) {
                (Some(_), Some(_)) => return Err(
                    "set SINERGI_KEY_ENCRYPTION_KEY or SINERGI_KEY_ENCRYPTION_KEY_FILE, not both"
                        .into(),
                ),
                (Some(v), None) => Some(
                    KeyEncryptionKey::from_base64(&v)
                        .map_err(|e| format!("SINERGI_KEY_ENCRYPTION_KEY {e}"))?,
                ),
                (None, Some(path)) => Some(
                    KeyEncryptionKey::from_file(std::path::Path::new(&path))
                        .map_err(|e| format!("SINERGI_KEY_ENCRYPTION_KEY_FILE: {e}"))?,
                ),
                (None, None) => None,
            };
        s.audit_origin = origin_of(&s.issuer);
        if let Some(v) = var("SINERGI_AUDIT_ORIGIN") {
            if v.contains(|c: char| c.is_whitespace() || c == '+') {
                return Err("SINERGI_AUDIT_ORIGIN must be one word without '+'".into());
            }
            s.audit_origin = v;
        }
        s.audit_key = match (var("SINERGI_AUDIT_KEY"), var("SINERGI_AUDIT_KEY_FILE")) {
            (Some(_), Some(_)) => {
                return Err("set SINERGI_AUDIT_KEY or SINERGI_AUDIT_KEY_FILE, not both".into())
            }
            (Some(v), None) => Some(v),
            (None, Some(path)) => Some(
                std::fs::read_to_string(&path)
                    .map_err(|e| format!("SINERGI_AUDIT_KEY_FILE: cannot read {path}: {e}"))?,
            ),
            (None, None) => None,
        }
        .map(|text| {
            sinergi_tlog::Signer::parse(&text).map_err(|e| {
                format!("SINERGI_AUDIT_KEY: {e} (make one with `sinergi audit keygen`)")
            })
        })
        .transpose()?;
        if let Some(k) = &s.audit_key {
            if var("SINERGI_AUDIT_ORIGIN").is_some_and(|o| o != k.name()) {
                return Err(format!(
                    "SINERGI_AUDIT_ORIGIN differs from the audit key's name {}",
                    k.name()
                ));
            }
            s.audit_origin = k.name().to_string();
        }
        if let Some(v) = var("SINERGI_AUDIT_CHECKPOINT_MS") {
            s.audit_checkpoint_ms = v
                .parse()
                .ok()
                .filter(|n| (10..=3_600_000).contains(n))
                .ok_or("SINERGI_AUDIT_CHECKPOINT_MS must be 10..=3600000")?;
        }
        if let Some(v) = var("SINERGI_CORS_ORIGINS") {
            s.cors_origins = v
                .split(',')
                .map(|o| o.trim().to_string())
                .filter(|o| !o.is_empty())
                .collect();
            if let Some(bad) = s
                .cors_origins
                .iter()
                .find(|o| !(o.starts_with("https://") || o.starts_with("http://")))
            {
                return Err(format!(
                    "SINERGI_CORS_ORIGINS: {bad} is not an http(s) origin"
                ));
            }
        }
        Ok(s)
    }
}
