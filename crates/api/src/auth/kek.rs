//! The key-encryption key: signing keys are stored encrypted with it
//! (XChaCha20-Poly1305), so a database backup or replica alone cannot mint
//! tokens. It comes from the environment or a file, never from the database.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// Prefix of an encrypted value: `enc:v1:` + base64(nonce || ciphertext).
pub const SEALED_PREFIX: &str = "enc:v1:";
const NONCE_LEN: usize = 24;

/// A 256-bit key-encryption key. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct KeyEncryptionKey([u8; 32]);

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyEncryptionKey(..)")
    }
}

/// A sealed value that does not open with this key (wrong key, or tampered).
#[derive(Debug, PartialEq, Eq)]
pub struct OpenError;

impl KeyEncryptionKey {
    /// The key from its base64 text (32 bytes once decoded).
    pub fn from_base64(text: &str) -> Result<KeyEncryptionKey, String> {
        STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .map(KeyEncryptionKey)
            .ok_or_else(|| {
                "must be the base64 encoding of 32 bytes (openssl rand -base64 32)".into()
            })
    }

    /// A new random key.
    pub fn generate() -> Result<KeyEncryptionKey, String> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| format!("no randomness: {e}"))?;
        Ok(KeyEncryptionKey(key))
    }

    /// The key as base64 text (what a key file holds).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Encrypts `secret`, bound to `label` (a key id: a sealed value copied
    /// to another row does not open there).
    pub fn seal(&self, secret: &[u8], label: &str) -> Result<String, String> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| format!("no randomness: {e}"))?;
        let sealed = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: label.as_bytes(),
                },
            )
            .map_err(|_| "encryption failed".to_string())?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(out)))
    }

    /// Decrypts a value made by [`seal`](Self::seal) with the same `label`.
    pub fn open(&self, stored: &str, label: &str) -> Result<Vec<u8>, OpenError> {
        let bytes = stored
            .strip_prefix(SEALED_PREFIX)
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or(OpenError)?;
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| OpenError)?;
        self.cipher()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: label.as_bytes(),
                },
            )
            .map_err(|_| OpenError)
    }

    /// A 32-byte key for another purpose, derived with HMAC-SHA256 under
    /// `label` (different labels give independent keys; none reveals this one).
    pub fn derive(&self, label: &str) -> [u8; 32] {
        use hmac::Mac;
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&self.0)
            .expect("HMAC takes any key length");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }

    /// Reads the key from a file holding its base64 text.
    pub fn from_file(path: &Path) -> Result<KeyEncryptionKey, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        KeyEncryptionKey::from_base64(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The key in `path`, created (readable by the owner only) if there is
    /// none: the zero-setup default of `serve --demo`.
    pub fn load_or_create(path: &Path) -> Result<KeyEncryptionKey, String> {
        if path.exists() {
            return KeyEncryptionKey::from_file(path);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let key = KeyEncryptionKey::generate()?;
        create_secret_file(path, &format!("{}\n", key.to_base64()))?;
        Ok(key)
    }
}

/// Writes `text` to a new file readable by its owner only (it must not
/// exist yet), synced to disk: how keys are kept on the hosts.
pub fn create_secret_file(path: &Path, text: &str) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Where `serve --demo` keeps its key-encryption key: next to the SQLite
/// database, or in `./data` for a PostgreSQL one.
pub fn demo_key_path(database_url: &str) -> PathBuf {
    let dir = database_url
        .strip_prefix("sqlite://")
        .map(Path::new)
        .and_then(Path::parent)
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("data"), Path::to_path_buf);
    dir.join("key-encryption-key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_label() {
        let kek = KeyEncryptionKey::generate().unwrap();
        let sealed = kek.seal(b"seed bytes", "kid-1").unwrap();
        assert!(sealed.starts_with(SEALED_PREFIX));
        assert!(!sealed.contains(&STANDARD.encode(b"seed bytes")));
        assert_eq!(kek.open(&sealed, "kid-1").unwrap(), b"seed bytes");
        assert_eq!(kek.open(&sealed, "kid-2"), Err(OpenError));
        let other = KeyEncryptionKey::generate().unwrap();
        assert_eq!(other.open(&sealed, "kid-1"), Err(OpenError));
        assert_ne!(
            kek.seal(b"seed bytes", "kid-1").unwrap(),
            sealed,
            "fresh nonce"
        );
    }

    #[test]
    fn keys_parse_from_base64_of_32_bytes_only() {
        let k = KeyEncryptionKey::generate().unwrap();
        let again = KeyEncryptionKey::from_base64(&format!(" {}\n", k.to_base64())).unwrap();
        assert_eq!(again.0, k.0);
        assert!(KeyEncryptionKey::from_base64("c2hvcnQ=").is_err());
        assert!(KeyEncryptionKey::from_base64("not base64!").is_err());
        assert_eq!(format!("{k:?}"), "KeyEncryptionKey(..)");
    }

    #[test]
    fn demo_key_file_is_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("sinergi-kek-{}", uuid::Uuid::new_v4()));
        let path = demo_key_path(&format!("sqlite://{}/sinergi.db", dir.display()));
        assert_eq!(path, dir.join("key-encryption-key"));
        let first = KeyEncryptionKey::load_or_create(&path).unwrap();
        let second = KeyEncryptionKey::load_or_create(&path).unwrap();
        assert_eq!(first.0, second.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
        assert_eq!(
            demo_key_path("postgres://db/sinergi"),
            Path::new("data/key-encryption-key")
        );
    }
}
