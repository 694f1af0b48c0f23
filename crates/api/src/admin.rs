//! Administration used by the command line and the demo: agencies and clients.

use chrono::Utc;
use sinergi_db::identity::{self, AgencyRow, ClientRow};
use sinergi_db::{Db, StoreError};
use sinergi_domain::{AgencyKind, RegionCode};

use crate::auth::secrets::{hash_secret, new_client_id, new_secret};
use crate::auth::{Purpose, Scope};

/// Why an administrative command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Invalid input.
    #[error("{0}")]
    Invalid(String),
    /// The store refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Registers an agency.
pub fn create_agency(
    db: &Db,
    code: &str,
    name: &str,
    kind: &str,
    jurisdiction: Option<&str>,
) -> Result<AgencyRow, AdminError> {
    let code = code.trim();
    if code.is_empty()
        || code.len() > 32
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(AdminError::Invalid(
            "agency code must be 1-32 characters A-Z, 0-9, - or _".into(),
        ));
    }
    if name.trim().is_empty() {
        return Err(AdminError::Invalid("agency name must not be empty".into()));
    }
    let kind = AgencyKind::parse(kind).map_err(|e| AdminError::Invalid(e.message))?;
    let jurisdiction = match jurisdiction {
        Some(j) => Some(RegionCode::parse_known(j).map_err(|e| AdminError::Invalid(e.message))?),
        None => None,
    };
    if kind == AgencyKind::District && jurisdiction.is_none() {
        return Err(AdminError::Invalid(
            "a district agency needs --jurisdiction (its kecamatan code)".into(),
        ));
    }
    let row = AgencyRow {
        code: code.to_string(),
        name: name.trim().to_string(),
        kind: kind.as_str().to_string(),
        jurisdiction: jurisdiction.map(|j| j.as_str().to_string()),
        created_at: Utc::now().naive_utc(),
    };
    db.write(|c| identity::create_agency(c, &row))?;
    Ok(row)
}

/// A newly created client; the secret is shown once and stored only hashed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NewClient {
    /// Client id.
    pub client_id: String,
    /// Client secret (not stored).
    pub client_secret: String,
    /// Agency code.
    pub agency: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
}

/// Creates a client for an agency with the given scopes and no declared
/// purposes (it cannot read personal data until given some).
pub fn create_client(
    db: &Db,
    agency_code: &str,
    name: &str,
    scopes: &[String],
) -> Result<NewClient, AdminError> {
    create_client_with_purposes(db, agency_code, name, scopes, &[])
}

/// Creates a client with the scopes and the purposes it may declare when reading personal data.
pub fn create_client_with_purposes(
    db: &Db,
    agency_code: &str,
    name: &str,
    scopes: &[String],
    purposes: &[String],
) -> Result<NewClient, AdminError> {
    for p in purposes {
        if Purpose::parse(p).is_err() {
            let known: Vec<&str> = Purpose::ALL.iter().map(|p| p.as_str()).collect();
            return Err(AdminError::Invalid(format!(
                "unknown purpose {p}; known purposes: {}",
                known.join(", ")
            )));
        }
    }
    for s in scopes {
        if Scope::parse(s).is_err() {
            let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
            return Err(AdminError::Invalid(format!(
                "unknown scope {s}; known scopes: {}",
                known.join(", ")
            )));
        }
    }
    if scopes.is_empty() {
        return Err(AdminError::Invalid("give at least one scope".into()));
    }
    let agency = db
        .read(|c| identity::find_agency(c, agency_code))?
        .ok_or_else(|| AdminError::Invalid(format!("no agency {agency_code}")))?;
    let client_id = new_client_id(&agency.code).map_err(AdminError::Invalid)?;
    let secret = new_secret().map_err(AdminError::Invalid)?;
    let row = ClientRow {
        client_id: client_id.clone(),
        agency_code: agency.code.clone(),
        name: if name.trim().is_empty() {
            client_id.clone()
        } else {
            name.trim().to_string()
        },
        secret_hash: hash_secret(&secret).map_err(AdminError::Invalid)?,
        scopes: scopes.join(" "),
        created_at: Utc::now().naive_utc(),
        revoked_at: None,
        purposes: purposes.join(" "),
    };
    db.write(|c| identity::create_client(c, &row))?;
    Ok(NewClient {
        client_id,
        client_secret: secret,
        agency: agency.code,
        scopes: scopes.to_vec(),
    })
}

/// Revokes a client; its tokens stop working at once on every server using
/// this handle, and within `SINERGI_CLIENT_CACHE_MS` on the others.
pub fn revoke_client(db: &Db, client_id: &str) -> Result<(), AdminError> {
    let done = db.write(|c| identity::revoke_client(c, client_id, Utc::now().naive_utc()))?;
    db.note_revocation();
    if done {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!("no active client {client_id}")))
    }
}
