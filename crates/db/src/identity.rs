//! Agencies, API clients and token signing keys.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::error::StoreError;
use crate::schema::{agencies, api_clients, signing_keys};

/// An agency row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = agencies)]
pub struct AgencyRow {
    /// Short code, e.g. `IMI-SMD`.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Agency kind code (`immigration`, `manpower`, ...).
    pub kind: String,
    /// Kemendagri region prefix the agency may write in, if limited.
    pub jurisdiction: Option<String>,
    /// When it was registered.
    pub created_at: NaiveDateTime,
}

/// An API client row (the secret is stored only as an Argon2 hash).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_clients)]
pub struct ClientRow {
    /// Public client id.
    pub client_id: String,
    /// Agency the client acts for.
    pub agency_code: String,
    /// Human label.
    pub name: String,
    /// PHC-format Argon2 hash of the secret.
    pub secret_hash: String,
    /// Space-separated scopes.
    pub scopes: String,
    /// When it was created.
    pub created_at: NaiveDateTime,
    /// When it was revoked, if it was.
    pub revoked_at: Option<NaiveDateTime>,
    /// Space-separated purposes the client may declare when reading personal data.
    pub purposes: String,
}

/// A token signing key row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    /// Key id published in JWKS and token headers.
    pub kid: String,
    /// JWS algorithm (`EdDSA`).
    pub algorithm: String,
    /// Base64 private key material.
    pub private_key: String,
    /// Base64url public key.
    pub public_key: String,
    /// When it was created.
    pub created_at: NaiveDateTime,
    /// When it stopped signing (still published until tokens expire).
    pub retired_at: Option<NaiveDateTime>,
}

/// Registers an agency; a duplicate code is a conflict.
pub fn create_agency(conn: &mut DbConn, row: &AgencyRow) -> Result<(), StoreError> {
    match diesel::insert_into(agencies::table)
        .values(row)
        .execute(conn)
    {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(StoreError::Conflict {
            code: "agency_exists",
            message: format!("agency {} already exists", row.code),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Finds an agency by code.
pub fn find_agency(conn: &mut DbConn, code: &str) -> Result<Option<AgencyRow>, StoreError> {
    Ok(agencies::table
        .find(code)
        .select(AgencyRow::as_select())
        .first(conn)
        .optional()?)
}

/// All agencies, by code.
pub fn list_agencies(conn: &mut DbConn) -> Result<Vec<AgencyRow>, StoreError> {
    Ok(agencies::table
        .order(agencies::code.asc())
        .select(AgencyRow::as_select())
        .load(conn)?)
}

/// Registers an API client.
pub fn create_client(conn: &mut DbConn, row: &ClientRow) -> Result<(), StoreError> {
    diesel::insert_into(api_clients::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Finds a client with its agency.
pub fn find_client(
    conn: &mut DbConn,
    client_id: &str,
) -> Result<Option<(ClientRow, AgencyRow)>, StoreError> {
    Ok(api_clients::table
        .inner_join(agencies::table)
        .filter(api_clients::client_id.eq(client_id))
        .select((ClientRow::as_select(), AgencyRow::as_select()))
        .first(conn)
        .optional()?)
}

/// Revokes a client at once; returns false when no such active client exists.
pub fn revoke_client(
    conn: &mut DbConn,
    client_id: &str,
    at: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        api_clients::table
            .filter(api_clients::client_id.eq(client_id))
            .filter(api_clients::revoked_at.is_null()),
    )
    .set(api_clients::revoked_at.eq(Some(at)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Finds a key by id.
pub fn find_key(conn: &mut DbConn, kid: &str) -> Result<Option<SigningKeyRow>, StoreError> {
    Ok(signing_keys::table
        .find(kid)
        .select(SigningKeyRow::as_select())
        .first(conn)
        .optional()?)
}

/// Token keys (EdDSA) still published (not retired, or retired after `since`), newest first.
pub fn published_keys(
    conn: &mut DbConn,
    since: NaiveDateTime,
) -> Result<Vec<SigningKeyRow>, StoreError> {
    Ok(signing_keys::table
        .filter(signing_keys::algorithm.eq("EdDSA"))
        .filter(
            signing_keys::retired_at
                .is_null()
                .or(signing_keys::retired_at.gt(since)),
        )
        .order(signing_keys::created_at.desc())
        .select(SigningKeyRow::as_select())
        .load(conn)?)
}

/// Stores a new signing key and retires the previous active ones.
pub fn add_signing_key(
    conn: &mut DbConn,
    row: &SigningKeyRow,
    retire_others: bool,
) -> Result<(), StoreError> {
    if retire_others {
        diesel::update(
            signing_keys::table
                .filter(signing_keys::retired_at.is_null())
                .filter(signing_keys::algorithm.eq(&row.algorithm)),
        )
        .set(signing_keys::retired_at.eq(Some(row.created_at)))
        .execute(conn)?;
    }
    diesel::insert_into(signing_keys::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Every stored key and secret (token keys, retired ones, the cursor secret).
pub fn all_signing_keys(conn: &mut DbConn) -> Result<Vec<SigningKeyRow>, StoreError> {
    Ok(signing_keys::table
        .order(signing_keys::created_at.asc())
        .select(SigningKeyRow::as_select())
        .load(conn)?)
}

/// Replaces the stored private material of `kid` if it is still `expected`
/// (so two instances sealing the same key at once do not overwrite each other).
pub fn replace_private_key(
    conn: &mut DbConn,
    kid: &str,
    expected: &str,
    private_key: &str,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        signing_keys::table
            .filter(signing_keys::kid.eq(kid))
            .filter(signing_keys::private_key.eq(expected)),
    )
    .set(signing_keys::private_key.eq(private_key))
    .execute(conn)?;
    Ok(n == 1)
}
