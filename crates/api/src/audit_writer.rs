//! Group commit for the audit events of reads: every request still waits
//! until its event is stored before it answers, but events arriving together
//! share one transaction (one lock of the chain's head row, one commit), so
//! concurrent readers no longer queue up behind each other's commits.

use std::sync::mpsc;

use sinergi_db::audit::{self, AuditEntry};
use sinergi_db::{Db, StoreError};
use tokio::sync::oneshot;

/// Most events stored in one transaction.
const MAX_GROUP: usize = 1000;

/// Why a group could not be stored (cloned to every waiter).
#[derive(Debug, Clone)]
enum Failure {
    /// The database's disk is full.
    Full(String),
    /// Anything else: the database is unavailable to this writer.
    Other(String),
}

type Waiter = oneshot::Sender<Result<(), Failure>>;

/// Hands audit events to the writer thread.
#[derive(Debug, Clone)]
pub struct AuditWriter {
    tx: mpsc::Sender<(AuditEntry, Waiter)>,
}

impl AuditWriter {
    /// Starts the writer thread; it stops when the last handle is dropped.
    pub fn start(db: Db) -> AuditWriter {
        let (tx, rx) = mpsc::channel::<(AuditEntry, Waiter)>();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || run(db, rx))
            .expect("the audit writer thread starts");
        AuditWriter { tx }
    }

    /// Stores one event; resolves once it is committed (or could not be).
    pub async fn store(&self, entry: AuditEntry) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send((entry, done))
            .map_err(|_| StoreError::Unavailable("the audit writer has stopped".into()))?;
        wait.await
            .map_err(|_| StoreError::Unavailable("the audit writer has stopped".into()))?
            .map_err(|f| match f {
                Failure::Full(m) => StoreError::StorageFull(m),
                Failure::Other(m) => StoreError::Unavailable(m),
            })
    }
}

fn run(db: Db, rx: mpsc::Receiver<(AuditEntry, Waiter)>) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let (entries, waiters): (Vec<AuditEntry>, Vec<Waiter>) = group.into_iter().unzip();
        let stored = db
            .write(|c| audit::append_many(c, &entries).map(|_| ()))
            .map_err(|e| match e {
                StoreError::StorageFull(m) => Failure::Full(m),
                other => Failure::Other(other.to_string()),
            });
        for w in waiters {
            // A waiter that gave up (its client left) needs no answer.
            let _ = w.send(stored.clone());
        }
    }
}
