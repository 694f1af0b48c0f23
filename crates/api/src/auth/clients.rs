//! Clients and their agencies, kept in memory for a moment so that a busy
//! client's requests do not each read them again. Clients never change
//! except by revocation: a revocation made through this process's database
//! handle takes effect at once, one made elsewhere (the CLI, another
//! instance) within the cache's lifetime (`SINERGI_CLIENT_CACHE_MS`, one
//! second by default; 0 reads the client on every request).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sinergi_db::identity::{AgencyRow, ClientRow};

/// Most clients kept; beyond that the cache starts over (clients are few).
const MAX_ENTRIES: usize = 10_000;

struct Entry {
    read_at: Instant,
    epoch: u64,
    client: ClientRow,
    agency: AgencyRow,
}

/// Active clients read recently.
pub struct ClientCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for ClientCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCache")
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl ClientCache {
    /// A cache whose entries live `ttl` (zero: nothing is kept).
    pub fn new(ttl: Duration) -> ClientCache {
        ClientCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The client and agency read within the lifetime, unless a revocation
    /// was noted since (`epoch` is the database handle's revocation count).
    pub fn get(&self, client_id: &str, epoch: u64) -> Option<(ClientRow, AgencyRow)> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(client_id)
            .filter(|e| e.epoch == epoch && e.read_at.elapsed() < self.ttl)
            .map(|e| (e.client.clone(), e.agency.clone()))
    }

    /// Keeps an active client read at `read_at` under revocation count `epoch`.
    pub fn put(&self, read_at: Instant, epoch: u64, client: &ClientRow, agency: &AgencyRow) {
        if self.ttl.is_zero() || client.revoked_at.is_some() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            client.client_id.clone(),
            Entry {
                read_at,
                epoch,
                client: client.clone(),
                agency: agency.clone(),
            },
        );
    }
}
