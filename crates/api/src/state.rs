//! Shared application state.

use std::sync::Arc;

use sinergi_db::Db;

use crate::auth::keys::KeyStore;
use crate::config::Settings;
use crate::limits::RateLimiter;
use crate::metrics::Metrics;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Database handle.
    pub db: Db,
    /// Token signing keys.
    pub keys: Arc<KeyStore>,
    /// Settings.
    pub settings: Arc<Settings>,
    /// Per-client request limiter.
    pub limiter: Arc<RateLimiter>,
    /// Budgets of credential checks on the token endpoint, per address and overall.
    pub token_attempts: Arc<crate::limits::AttemptLimiter>,
    /// Bounds the secret checks running at once and waiting.
    pub verify_gate: Arc<crate::auth::secrets::VerifyGate>,
    /// Request metrics.
    pub metrics: Arc<Metrics>,
    /// Secret that signs pagination cursors.
    pub cursor_secret: Arc<[u8; 32]>,
    /// Woken when this instance commits a change (long-polling readers of the feed).
    pub changes_notify: Arc<tokio::sync::Notify>,
    /// Stores the audit events of reads, many per transaction.
    pub audit_writer: crate::audit_writer::AuditWriter,
    /// Clients read recently.
    pub clients: Arc<crate::auth::clients::ClientCache>,
    /// Tokens verified already.
    pub verified: Arc<crate::auth::verified::VerifiedTokens>,
    /// Signs checkpoints of the audit log.
    pub checkpointer: Arc<crate::audit_checkpoints::Checkpointer>,
}

impl AppState {
    /// The cursor key of `caller`.
    pub fn cursor_key(&self, caller: &crate::auth::Caller) -> crate::cursor::CursorKey {
        crate::cursor::CursorKey::new(self.cursor_secret.clone(), &caller.client_id)
    }

    /// Builds the state, creating the first signing key if needed (and
    /// encrypting keys stored in plain text by an earlier version).
    pub fn new(db: Db, settings: Settings) -> Result<AppState, sinergi_db::StoreError> {
        let kek = settings.key_encryption_key.clone().ok_or_else(|| {
            sinergi_db::StoreError::Config(
                "no key-encryption key: set SINERGI_KEY_ENCRYPTION_KEY (base64 of 32 random \
                 bytes, e.g. `openssl rand -base64 32`) or SINERGI_KEY_ENCRYPTION_KEY_FILE; \
                 token signing keys are stored encrypted with it (serve --demo creates one \
                 next to its database)"
                    .into(),
            )
        })?;
        let sealed = crate::auth::keys::seal_stored_keys(&db, &kek)?;
        if sealed > 0 {
            tracing::info!(
                sealed,
                "stored signing keys encrypted with the key-encryption key"
            );
        }
        let keys = KeyStore::load(
            db.clone(),
            kek.clone(),
            settings.token_ttl_secs,
            settings.key_refresh_secs,
        )?;
        let cursor_secret = Arc::new(crate::auth::keys::cursor_secret(&db, &kek)?);
        let signer = settings.audit_signer().ok_or_else(|| {
            sinergi_db::StoreError::Config(format!(
                "no audit checkpoint key for the origin {:?}: set SINERGI_AUDIT_ORIGIN to one word \
                 without '+', or SINERGI_AUDIT_KEY_FILE",
                settings.audit_origin
            ))
        })?;
        Ok(AppState {
            checkpointer: Arc::new(crate::audit_checkpoints::Checkpointer::new(signer)),
            audit_writer: crate::audit_writer::AuditWriter::start(db.clone()),
            db,
            keys: Arc::new(keys),
            limiter: Arc::new(RateLimiter::new(
                settings.rate_limit_per_minute,
                settings.rate_limit_burst,
            )),
            token_attempts: Arc::new(crate::limits::AttemptLimiter::new(
                (
                    settings.token_attempts_per_minute_per_address,
                    settings.token_attempts_burst_per_address,
                ),
                (
                    settings.token_attempts_per_minute,
                    settings.token_attempts_burst,
                ),
                settings.token_tracked_addresses,
            )),
            verify_gate: Arc::new(crate::auth::secrets::VerifyGate::new(
                settings.token_hash_concurrency,
                settings.token_hash_queue,
            )),
            verified: Arc::default(),
            clients: Arc::new(crate::auth::clients::ClientCache::new(
                std::time::Duration::from_millis(settings.client_cache_ms),
            )),
            settings: Arc::new(settings),
            metrics: Arc::new(Metrics::default()),
            cursor_secret,
            changes_notify: Arc::new(tokio::sync::Notify::new()),
        })
    }
}
