//! Typed settings, read once from the environment and passed in.

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
        Ok(s)
    }
}
