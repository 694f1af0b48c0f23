//! Shared application state.

use std::sync::Arc;

use sinergi_db::Db;

use crate::auth::keys::KeyStore;
use crate::config::Settings;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Database handle.
    pub db: Db,
    /// Token signing keys.
    pub keys: Arc<KeyStore>,
    /// Settings.
    pub settings: Arc<Settings>,
}

impl AppState {
    /// Builds the state, creating the first signing key if needed.
    pub fn new(db: Db, settings: Settings) -> Result<AppState, sinergi_db::StoreError> {
        let keys = KeyStore::load(db.clone(), settings.token_ttl_secs)?;
        Ok(AppState {
            db,
            keys: Arc::new(keys),
            settings: Arc::new(settings),
        })
    }
}
