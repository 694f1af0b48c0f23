//! Agency identity: OAuth 2.0 client credentials, signed JWTs, JWKS, and the
//! authenticated caller of each request.

pub mod authenticate;
pub mod caller;
pub mod claims;
pub mod clients;
pub mod kek;
pub mod keys;
pub mod secrets;
pub mod token;
pub mod verified;

pub use caller::{Caller, Purpose, Scope};
