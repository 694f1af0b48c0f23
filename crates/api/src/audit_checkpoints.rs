//! Signs the audit log: every instance runs [`run`]; in each round one of
//! them (an advisory lock on PostgreSQL, the writer lock on SQLite)
//! integrates the events committed since the last round into the Merkle tree
//! and signs a checkpoint with a key that is never in the database. An
//! instance remembers the last checkpoint it signed or saw and refuses to
//! sign a log that no longer extends it.

use std::sync::{Mutex, Weak};
use std::time::Duration;

use sinergi_db::audit::tree::{self, Round};
use sinergi_db::{Db, StoreError};
use sinergi_tlog::{Checkpoint, Signer, Verifier};

use crate::state::AppState;

/// The signing key and what this instance last trusted.
#[derive(Debug)]
pub struct Checkpointer {
    signer: Signer,
    trusted: Mutex<Option<Checkpoint>>,
    halted: Mutex<Option<String>>,
}

impl Checkpointer {
    /// A checkpointer signing with `signer`.
    pub fn new(signer: Signer) -> Checkpointer {
        Checkpointer {
            signer,
            trusted: Mutex::new(None),
            halted: Mutex::new(None),
        }
    }

    /// The public key agencies verify checkpoints with.
    pub fn verifier(&self) -> Verifier {
        self.signer.verifier()
    }

    /// The log's origin (the first line of every checkpoint).
    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    /// One round: integrate, check, sign.
    pub fn round(&self, db: &Db) -> Result<Round, StoreError> {
        let trusted = self
            .trusted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        // What is committed so far joins the log first, in a transaction of
        // its own (unless a round is moving it already: the next checkpoint
        // takes it).
        db.read(sinergi_db::sequencer::drain_if_free)?;
        let now = chrono::Utc::now().naive_utc();
        let round = tree::round(db, &self.signer, trusted.as_ref(), now)?;
        let mut halted = self.halted.lock().unwrap_or_else(|p| p.into_inner());
        match &round {
            Round::Signed { checkpoint, .. } => {
                *self.trusted.lock().unwrap_or_else(|p| p.into_inner()) = Some(checkpoint.clone());
                *halted = None;
            }
            Round::Halted { reason } => {
                if halted.as_deref() != Some(reason) {
                    tracing::error!(
                        reason = %reason,
                        "audit checkpoints halted: the stored audit log does not extend the last signed checkpoint; run `sinergi audit verify --checkpoint`"
                    );
                }
                *halted = Some(reason.clone());
            }
            Round::Busy | Round::Unchanged { .. } => *halted = None,
        }
        Ok(round)
    }
}

/// Runs rounds every `audit_checkpoint_ms` until the server drops its state.
pub async fn run(state: Weak<AppState>) {
    let Some(first) = state.upgrade() else { return };
    let every = Duration::from_millis(first.settings.audit_checkpoint_ms.max(10));
    drop(first);
    let mut tick = actix_web::rt::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(s) = state.upgrade() else { return };
        let (db, checkpointer) = (s.db.clone(), s.checkpointer.clone());
        drop(s);
        match actix_web::web::block(move || checkpointer.round(&db)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "audit checkpoint round failed; will retry"),
            Err(e) => tracing::warn!(error = %e, "audit checkpoint round failed; will retry"),
        }
    }
}
