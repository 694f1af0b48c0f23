//! The claims of Sinergi's access tokens.

use serde::{Deserialize, Serialize};

/// The claims of a Sinergi access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// The client id.
    pub sub: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not before (Unix seconds).
    pub nbf: i64,
    /// Expires (Unix seconds).
    pub exp: i64,
    /// Token id.
    pub jti: String,
    /// Agency code.
    pub agency: String,
    /// Agency kind.
    pub agency_kind: String,
    /// Granted scopes, space-separated.
    pub scope: String,
}
