//! Client secrets: generated with the OS random source, stored as Argon2id
//! hashes, checked a bounded number at a time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// A new random secret (256 bits, base64url).
pub fn new_secret() -> Result<String, String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| e.to_string())?;
    Ok(URL_SAFE_NO_PAD.encode(b))
}

/// A new random client id with a readable prefix.
pub fn new_client_id(agency_code: &str) -> Result<String, String> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(|e| e.to_string())?;
    let prefix: String = agency_code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    Ok(format!("{prefix}-{}", base16ct::lower::encode_string(&b)))
}

/// Memory of one secret check, in KiB, and passes over it: Argon2id with
/// 7 MiB and five passes, the same work against guessing as 19 MiB and two
/// passes (the library's default, and the equivalent configurations
/// published for password storage), in the same time, with a third of the
/// memory. A server answering a burst of token requests grows by 7 MiB per
/// check running at once instead of 19. Hashes stored with other
/// parameters carry them in their PHC string and are checked with those.
const SECRET_MEMORY_KIB: u32 = 7 * 1024;
const SECRET_PASSES: u32 = 5;

/// The hasher new secrets are stored with.
fn hasher() -> Argon2<'static> {
    let params = Params::new(SECRET_MEMORY_KIB, SECRET_PASSES, 1, None)
        .expect("fixed Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string of an Argon2id hash of `secret`.
pub fn hash_secret(secret: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    hasher()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `secret` matches the stored hash (constant-time comparison inside).
pub fn verify_secret(secret: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            // The stored hash's own algorithm and parameters are used.
            hasher().verify_password(secret.as_bytes(), &h).is_ok()
        })
        .unwrap_or(false)
}

/// What a secret is checked against when the client id is unknown: a hash
/// with the parameters new secrets are stored with, so an unknown id costs
/// the same work as a known one and response times do not tell them apart.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=7168,t=5,p=1$j83PJpErY1rNRm2oJoHX0Q$X9v2B/JD6p2JjtjhcuOTFGPHwO41McGOspgrwjZ/2kE";

/// Bounds the secret checks running at once (each Argon2 check takes ~7 MiB
/// and tens of milliseconds of a core) and the requests waiting for one.
pub struct VerifyGate {
    slots: Arc<tokio::sync::Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// Why [`VerifyGate::run`] did not run the work.
#[derive(Debug, PartialEq, Eq)]
pub enum GateError {
    /// Every slot is busy and the queue is full: try again shortly.
    Busy,
    /// The work could not run to its end (the blocking pool is shut down or it panicked).
    Failed,
}

/// Counts a request as waiting until it is dropped (served or abandoned).
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl VerifyGate {
    /// At most `concurrency` checks at once, at most `queue` requests waiting.
    pub fn new(concurrency: usize, queue: usize) -> VerifyGate {
        VerifyGate {
            slots: Arc::new(tokio::sync::Semaphore::new(concurrency.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting: queue,
        }
    }

    /// Runs `work` on the blocking pool (off the request workers) once a slot
    /// is free; `Busy` at once when `queue` requests are waiting already.
    pub async fn run<T, F>(&self, work: F) -> Result<T, GateError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let slot = match self.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
                    self.waiting.fetch_sub(1, Ordering::AcqRel);
                    return Err(GateError::Busy);
                }
                let _queued = Queued(&self.waiting);
                self.slots
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| GateError::Failed)?
            }
        };
        // The slot moves into the work: a request abandoned meanwhile still
        // holds it until the check is over, so the bound is real.
        actix_web::web::block(move || {
            let _slot = slot;
            work()
        })
        .await
        .map_err(|_| GateError::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_costs_what_a_stored_hash_costs() {
        let stored = hash_secret("x").unwrap();
        let params = |phc: &str| {
            let h = PasswordHash::new(phc).unwrap();
            (
                h.algorithm.to_string(),
                argon2::Params::try_from(&h).unwrap(),
            )
        };
        assert_eq!(params(DUMMY_HASH), params(&stored));
        assert!(!verify_secret("sinergi-unknown-client-x", DUMMY_HASH));
    }

    #[actix_web::test]
    async fn a_full_gate_refuses_at_once() {
        let gate = Arc::new(VerifyGate::new(1, 1));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let first = {
            let gate = gate.clone();
            actix_web::rt::spawn(async move {
                gate.run(move || {
                    let _ = rx.recv_timeout(std::time::Duration::from_secs(10));
                })
                .await
            })
        };
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        let second = {
            let gate = gate.clone();
            actix_web::rt::spawn(async move { gate.run(|| 2).await })
        };
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        assert_eq!(gate.run(|| 3).await, Err(GateError::Busy));
        assert!(started.elapsed() < std::time::Duration::from_millis(100));
        tx.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Ok(()));
        assert_eq!(second.await.unwrap(), Ok(2));
        assert_eq!(gate.run(|| 4).await, Ok(4), "the queue is free again");
    }

    #[test]
    fn secret_round_trip() {
        let s = new_secret().unwrap();
        let h = hash_secret(&s).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_secret(&s, &h));
        assert!(!verify_secret("wrong", &h));
        assert!(!verify_secret(&s, "not a hash"));
    }

    #[test]
    fn new_secrets_take_7_mib_and_secrets_stored_with_19_mib_still_match() {
        let s = new_secret().unwrap();
        let new = PasswordHash::new(&hash_secret(&s).unwrap())
            .map(|h| argon2::Params::try_from(&h).unwrap())
            .unwrap();
        assert_eq!((new.m_cost(), new.t_cost(), new.p_cost()), (7168, 5, 1));
        // A client registered before the change keeps its secret.
        let salt = SaltString::encode_b64(b"sixteen bytes!!!").unwrap();
        let old = Argon2::default()
            .hash_password(s.as_bytes(), &salt)
            .unwrap()
            .to_string();
        assert!(old.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_secret(&s, &old));
        assert!(!verify_secret("wrong", &old));
    }
}
