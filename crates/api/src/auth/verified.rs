//! Tokens whose signature and claims were verified, kept until they expire:
//! a batch job sends the same token with thousands of requests, and checking
//! an Ed25519 signature costs more than the rest of authenticating a request.
//! Signing keys are never withdrawn before the tokens they signed expire
//! (`sinergi keys rotate` keeps the old key published), so a token that was
//! valid stays valid until its `exp`; a revoked client is refused by the
//! client check that follows, cached or not.

use std::collections::HashMap;
use std::sync::Mutex;

use super::caller::Claims;

/// Most tokens kept; beyond that the cache starts over.
const MAX_ENTRIES: usize = 4096;

/// Verified tokens and their claims.
#[derive(Default)]
pub struct VerifiedTokens {
    entries: Mutex<HashMap<String, Claims>>,
}

impl std::fmt::Debug for VerifiedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedTokens").finish_non_exhaustive()
    }
}

impl VerifiedTokens {
    /// The claims of `token` if it was verified and has not expired at `now`
    /// (Unix seconds, with the same leeway as the verification).
    pub fn get(&self, token: &str, now: i64, leeway: i64) -> Option<Claims> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(token) {
            Some(c) if now <= c.exp + leeway => Some(c.clone()),
            Some(_) => {
                entries.remove(token);
                None
            }
            None => None,
        }
    }

    /// Keeps the claims of a token that passed verification.
    pub fn put(&self, token: &str, claims: &Claims) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(token.to_string(), claims.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: "i".into(),
            aud: "a".into(),
            sub: "c".into(),
            iat: 0,
            nbf: 0,
            exp,
            jti: "j".into(),
            agency: "IMI".into(),
            agency_kind: "immigration".into(),
            scope: "records:read".into(),
        }
    }

    #[test]
    fn a_kept_token_is_answered_until_it_expires_then_forgotten() {
        let cache = VerifiedTokens::default();
        assert!(cache.get("t", 100, 30).is_none());
        cache.put("t", &claims(100));
        assert_eq!(cache.get("t", 130, 30).map(|c| c.sub), Some("c".into()));
        assert!(cache.get("t", 131, 30).is_none());
        assert!(
            cache.get("t", 100, 30).is_none(),
            "an expired token is dropped"
        );
        assert!(cache.get("other", 100, 30).is_none());
    }
}
