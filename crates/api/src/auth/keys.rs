//! Token signing keys (Ed25519): created on first start, persisted in the
//! database sealed with the key-encryption key, rotated on demand, published
//! as a JWKS.

use std::sync::RwLock;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{Duration, NaiveDateTime, Utc};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::Serialize;
use sinergi_db::identity::{self, SigningKeyRow};
use sinergi_db::{Db, StoreError};
use utoipa::ToSchema;

use super::kek::{KeyEncryptionKey, SEALED_PREFIX};

/// PKCS#8 v1 wrapper for a raw Ed25519 seed (RFC 8410).
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

struct KeyEntry {
    kid: String,
    active: bool,
    public_x: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// One JSON Web Key.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    "kid": "2026-12-01-a1b2c3", "alg": "EdDSA", "use": "sig"}))]
pub struct Jwk {
    /// Key type (`OKP`).
    pub kty: String,
    /// Curve (`Ed25519`).
    pub crv: String,
    /// Public key, base64url.
    pub x: String,
    /// Key id, as in the token header.
    pub kid: String,
    /// Algorithm (`EdDSA`).
    pub alg: String,
    /// Use (`sig`).
    #[serde(rename = "use")]
    pub use_: String,
}

/// A JSON Web Key Set.
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwks {
    /// The keys that verify current tokens.
    pub keys: Vec<Jwk>,
}

/// The keys in use, loaded from the database.
pub struct KeyStore {
    db: Db,
    kek: KeyEncryptionKey,
    token_ttl: Duration,
    keys: RwLock<Vec<KeyEntry>>,
    // Unknown key ids trigger a reload at most this often, so forged kids cannot hammer the database.
    last_reload: std::sync::Mutex<Option<std::time::Instant>>,
    // Keys rotated by another instance or the CLI are picked up this often.
    refresh_every: std::time::Duration,
    last_refresh: std::sync::Mutex<std::time::Instant>,
}

/// The 32 secret bytes of `row`: sealed (`enc:v1:`), or base64 as stored
/// before keys were encrypted (sealed at the next start).
fn private_bytes(row: &SigningKeyRow, kek: &KeyEncryptionKey) -> Result<[u8; 32], StoreError> {
    let bytes = if row.private_key.starts_with(SEALED_PREFIX) {
        kek.open(&row.private_key, &row.kid)
            .map_err(|_| wrong_kek(&row.kid))?
    } else {
        STANDARD
            .decode(&row.private_key)
            .map_err(|_| StoreError::Corrupt(format!("signing key {} is malformed", row.kid)))?
    };
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("signing key {} is malformed", row.kid)))
}

fn wrong_kek(kid: &str) -> StoreError {
    StoreError::Config(format!(
        "stored key {kid} does not decrypt with the configured key-encryption key: \
         SINERGI_KEY_ENCRYPTION_KEY (or SINERGI_KEY_ENCRYPTION_KEY_FILE) is not the key \
         this database's signing keys were encrypted with"
    ))
}

/// Encrypts every key still stored in plain text (databases from before
/// keys were encrypted) and checks that every sealed one opens with `kek`,
/// so a wrong key-encryption key stops the start with a clear message.
/// Returns how many keys were sealed.
pub fn seal_stored_keys(db: &Db, kek: &KeyEncryptionKey) -> Result<usize, StoreError> {
    let rows = db.read(identity::all_signing_keys)?;
    let mut sealed = 0;
    for row in rows {
        let secret = private_bytes(&row, kek)?;
        if row.private_key.starts_with(SEALED_PREFIX) {
            continue;
        }
        let value = kek.seal(&secret, &row.kid).map_err(StoreError::Config)?;
        // Another instance may seal it meanwhile: then the row is left as it made it.
        if db.write(|c| identity::replace_private_key(c, &row.kid, &row.private_key, &value))? {
            sealed += 1;
        }
    }
    Ok(sealed)
}

fn entry(row: &SigningKeyRow, kek: &KeyEncryptionKey) -> Result<KeyEntry, StoreError> {
    let seed = private_bytes(row, kek)?;
    let mut der = PKCS8_ED25519_PREFIX.to_vec();
    der.extend_from_slice(&seed);
    let decoding = DecodingKey::from_ed_components(&row.public_key)
        .map_err(|e| StoreError::Corrupt(format!("signing key {}: {e}", row.kid)))?;
    Ok(KeyEntry {
        kid: row.kid.clone(),
        active: row.retired_at.is_none(),
        public_x: row.public_key.clone(),
        encoding: EncodingKey::from_ed_der(&der),
        decoding,
    })
}

/// The Ed25519 public key of `seed`.
pub fn public_key_of(seed: &[u8; 32]) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes()
}

/// A fresh Ed25519 key row, its seed sealed with `kek`.
pub fn generate_key(
    now: NaiveDateTime,
    kek: &KeyEncryptionKey,
) -> Result<SigningKeyRow, StoreError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| StoreError::Config(format!("no randomness: {e}")))?;
    let mut kid_bytes = [0u8; 9];
    getrandom::fill(&mut kid_bytes)
        .map_err(|e| StoreError::Config(format!("no randomness: {e}")))?;
    let public = public_key_of(&seed);
    let kid = URL_SAFE_NO_PAD.encode(kid_bytes);
    Ok(SigningKeyRow {
        private_key: kek.seal(&seed, &kid).map_err(StoreError::Config)?,
        kid,
        algorithm: "EdDSA".into(),
        public_key: URL_SAFE_NO_PAD.encode(public),
        created_at: now,
        retired_at: None,
    })
}

/// The secret that signs pagination cursors, shared by every instance
/// through the database (created on first use, never published).
pub fn cursor_secret(db: &Db, kek: &KeyEncryptionKey) -> Result<[u8; 32], StoreError> {
    let row = db.write(|c| {
        if let Some(row) = identity::find_key(c, CURSOR_KID)? {
            return Ok(row);
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|e| StoreError::Config(format!("no randomness: {e}")))?;
        let row = SigningKeyRow {
            kid: CURSOR_KID.into(),
            algorithm: "HMAC-SHA256".into(),
            private_key: kek.seal(&secret, CURSOR_KID).map_err(StoreError::Config)?,
            public_key: String::new(),
            created_at: Utc::now().naive_utc(),
            retired_at: None,
        };
        // A racing instance makes this insert fail on the key; the write is retried and finds it.
        identity::add_signing_key(c, &row, false)?;
        Ok(row)
    })?;
    private_bytes(&row, kek)
}

/// Key id of the cursor-signing secret.
const CURSOR_KID: &str = "cursor-hmac";

/// Adds a new signing key; the previous ones stay published until their tokens expire.
pub fn rotate(db: &Db, kek: &KeyEncryptionKey) -> Result<String, StoreError> {
    let row = generate_key(Utc::now().naive_utc(), kek)?;
    db.write(|c| identity::add_signing_key(c, &row, true))?;
    Ok(row.kid)
}

impl KeyStore {
    /// Loads the published keys, creating the first one if there is none.
    pub fn load(
        db: Db,
        kek: KeyEncryptionKey,
        token_ttl_secs: i64,
        refresh_secs: u64,
    ) -> Result<KeyStore, StoreError> {
        let store = KeyStore {
            db,
            kek,
            token_ttl: Duration::seconds(token_ttl_secs),
            keys: RwLock::new(Vec::new()),
            last_reload: std::sync::Mutex::new(None),
            refresh_every: std::time::Duration::from_secs(refresh_secs),
            last_refresh: std::sync::Mutex::new(std::time::Instant::now()),
        };
        store.reload()?;
        let has_active = store
            .keys
            .read()
            .map(|k| k.iter().any(|e| e.active))
            .unwrap_or(false);
        if !has_active {
            let row = generate_key(Utc::now().naive_utc(), &store.kek)?;
            store.db.write(|c| {
                // Another instance may have created one meanwhile.
                let now = Utc::now().naive_utc();
                let published = identity::published_keys(c, now)?;
                if published.iter().any(|k| k.retired_at.is_none()) {
                    return Ok(());
                }
                identity::add_signing_key(c, &row, false)
            })?;
            store.reload()?;
        }
        Ok(store)
    }

    /// Re-reads the keys from the database (after a rotation elsewhere).
    pub fn reload(&self) -> Result<(), StoreError> {
        let since = Utc::now().naive_utc() - self.token_ttl - Duration::seconds(60);
        let rows = self.db.read(|c| identity::published_keys(c, since))?;
        let entries = rows
            .iter()
            .map(|row| entry(row, &self.kek))
            .collect::<Result<Vec<_>, _>>()?;
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = entries;
        Ok(())
    }

    fn refresh_if_due(&self) {
        let due = {
            let mut last = self.last_refresh.lock().unwrap_or_else(|p| p.into_inner());
            if last.elapsed() >= self.refresh_every {
                *last = std::time::Instant::now();
                true
            } else {
                false
            }
        };
        if due {
            if let Err(e) = self.reload() {
                tracing::warn!(error = %e, "signing keys could not be refreshed; keeping the loaded ones");
            }
        }
    }

    /// The current signing key and its id.
    pub fn signing(&self) -> Option<(String, EncodingKey)> {
        self.refresh_if_due();
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        keys.iter()
            .find(|k| k.active)
            .map(|k| (k.kid.clone(), k.encoding.clone()))
    }

    /// The verification key for `kid`, reloading once if it is unknown.
    pub fn verifying(&self, kid: &str) -> Option<DecodingKey> {
        let find = |s: &Self| s.loaded(kid);
        find(self).or_else(|| {
            {
                let mut last = self.last_reload.lock().unwrap_or_else(|p| p.into_inner());
                if last.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(5)) {
                    return None;
                }
                *last = Some(std::time::Instant::now());
            }
            self.reload().ok()?;
            find(self)
        })
    }

    /// The verifying key of `kid` if it is loaded already (no database access).
    pub fn loaded(&self, kid: &str) -> Option<DecodingKey> {
        self.keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|k| k.kid == kid)
            .map(|k| k.decoding.clone())
    }

    /// The public keys as a JWKS.
    pub fn jwks(&self) -> Jwks {
        self.refresh_if_due();
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        Jwks {
            keys: keys
                .iter()
                .map(|k| Jwk {
                    kty: "OKP".into(),
                    crv: "Ed25519".into(),
                    x: k.public_x.clone(),
                    kid: k.kid.clone(),
                    alg: "EdDSA".into(),
                    use_: "sig".into(),
                })
                .collect(),
        }
    }
}
