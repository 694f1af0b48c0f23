//! Pagination cursors are signed: bound to the server's secret and the client
//! they were issued to.

/// What a cursor is bound to: the server's secret and the client it was issued to.
#[derive(Clone)]
pub struct CursorKey {
    secret: std::sync::Arc<[u8; 32]>,
    client: String,
}

impl CursorKey {
    /// A key for `client`.
    pub fn new(secret: std::sync::Arc<[u8; 32]>, client: &str) -> CursorKey {
        CursorKey {
            secret,
            client: client.to_string(),
        }
    }

    /// The tag that signs `payload` for this client.
    pub fn tag(&self, payload: &str) -> Vec<u8> {
        use hmac::{KeyInit, Mac};
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.secret[..])
            .expect("HMAC takes any key length");
        mac.update(self.client.as_bytes());
        mac.update(b"\n");
        mac.update(payload.as_bytes());
        mac.finalize().into_bytes()[..16].to_vec()
    }

    /// Whether `tag` signs `payload` for this client (compared in full, in
    /// constant time).
    pub fn verify(&self, payload: &str, tag: &[u8]) -> bool {
        let expected = self.tag(payload);
        tag.len() == expected.len()
            && tag.iter().zip(&expected).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0
    }
}
