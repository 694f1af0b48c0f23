//! Signed checkpoints in the signed-note form transparency logs publish:
//!
//! ```text
//! <origin>
//! <tree size, decimal>
//! <root, base64>
//! time <unix seconds>
//!
//! — <key name> <base64(key id ‖ Ed25519 signature)>
//! ```
//!
//! The signature covers the text up to the blank line. The key id is the first
//! four bytes of SHA-256(key name ‖ "\n" ‖ 0x01 ‖ public key), so a verifier
//! finds its line among several (both keys sign during a rotation).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::Hash;

const ALGORITHM_ED25519: u8 = 1;
const SIGNATURE_DASH: &str = "\u{2014} ";

/// A checkpoint: the log's origin, its size, its root and when it was signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Names the log (and its epoch); one line, no spaces.
    pub origin: String,
    /// Entries in the log.
    pub size: u64,
    /// Merkle tree root over those entries.
    pub root: Hash,
    /// Signing time, Unix seconds.
    pub time: i64,
}

/// Why a note or key was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteError {
    /// The text is not a checkpoint note.
    Malformed(&'static str),
    /// No signature line from a trusted key verifies.
    Unverified,
    /// A key string is not one this format knows.
    BadKey(&'static str),
}

impl std::fmt::Display for NoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoteError::Malformed(why) => write!(f, "not a checkpoint note: {why}"),
            NoteError::Unverified => f.write_str("checkpoint not signed by a trusted key"),
            NoteError::BadKey(why) => write!(f, "not a key: {why}"),
        }
    }
}

impl std::error::Error for NoteError {}

impl Checkpoint {
    /// The signed text.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\ntime {}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root),
            self.time
        )
    }

    fn parse_body(text: &str) -> Result<Checkpoint, NoteError> {
        let lines: Vec<&str> = text
            .strip_suffix('\n')
            .ok_or(NoteError::Malformed("the text must end with a newline"))?
            .split('\n')
            .collect();
        let [origin, size, root, time] = lines.as_slice() else {
            return Err(NoteError::Malformed(
                "expected origin, size, root and time lines",
            ));
        };
        if origin.is_empty() || origin.contains(char::is_whitespace) {
            return Err(NoteError::Malformed("bad origin line"));
        }
        let size = size
            .parse::<u64>()
            .ok()
            .filter(|_| !size.starts_with('+') && (size == &"0" || !size.starts_with('0')))
            .ok_or(NoteError::Malformed("bad size line"))?;
        let root = STANDARD
            .decode(root)
            .ok()
            .and_then(|b| Hash::try_from(b.as_slice()).ok())
            .ok_or(NoteError::Malformed("bad root line"))?;
        let time = time
            .strip_prefix("time ")
            .and_then(|t| t.parse::<i64>().ok())
            .ok_or(NoteError::Malformed("bad time line"))?;
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            time,
        })
    }

    /// Opens a note: parses it and checks that one of its signature lines is
    /// by one of `trusted` (whose name must also be the note's origin).
    pub fn open(note: &str, trusted: &[Verifier]) -> Result<Checkpoint, NoteError> {
        let (body, signatures) = note
            .split_once("\n\n")
            .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let body = format!("{body}\n");
        let checkpoint = Checkpoint::parse_body(&body)?;
        for line in signatures.lines() {
            let Some(rest) = line.strip_prefix(SIGNATURE_DASH) else {
                return Err(NoteError::Malformed(
                    "a signature line must start with an em dash",
                ));
            };
            let Some((name, sig)) = rest.split_once(' ') else {
                return Err(NoteError::Malformed("bad signature line"));
            };
            let Some(bytes) = STANDARD.decode(sig).ok().filter(|b| b.len() == 4 + 64) else {
                return Err(NoteError::Malformed("bad signature line"));
            };
            for v in trusted {
                if v.name == name && v.name == checkpoint.origin && bytes[..4] == v.key_id {
                    let signature =
                        Signature::from_bytes(bytes[4..].try_into().expect("64 bytes checked"));
                    if v.key.verify_strict(body.as_bytes(), &signature).is_ok() {
                        return Ok(checkpoint);
                    }
                }
            }
        }
        Err(NoteError::Unverified)
    }

    /// Every note in a text holding several (a file of checkpoints kept one
    /// after another), opened with `trusted`.
    pub fn open_all(text: &str, trusted: &[Verifier]) -> Result<Vec<Checkpoint>, NoteError> {
        let mut out = Vec::new();
        let mut note = String::new();
        let mut in_signatures = false;
        for line in text.split_inclusive('\n') {
            if in_signatures && !line.starts_with(SIGNATURE_DASH) {
                out.push(Checkpoint::open(&note, trusted)?);
                note.clear();
                in_signatures = false;
                if line.trim().is_empty() {
                    continue;
                }
            }
            if !in_signatures && line == "\n" && !note.is_empty() {
                in_signatures = true;
            }
            note.push_str(line);
        }
        if !note.trim().is_empty() {
            out.push(Checkpoint::open(&note, trusted)?);
        }
        if out.is_empty() {
            return Err(NoteError::Malformed("no checkpoint in the text"));
        }
        Ok(out)
    }
}

fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALGORITHM_ED25519]);
    h.update(public);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '+') {
        return Err(NoteError::BadKey("a key name is one word without '+'"));
    }
    Ok(())
}

/// Splits `name+hex id+base64` and checks the id against the public key.
fn parse_key(text: &str) -> Result<(String, [u8; 4], [u8; 32]), NoteError> {
    let mut parts = text.trim().splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::BadKey("expected name+keyid+key"));
    };
    check_name(name)?;
    let bytes = STANDARD
        .decode(key)
        .map_err(|_| NoteError::BadKey("the key is not base64"))?;
    let Some((&alg, key)) = bytes.split_first() else {
        return Err(NoteError::BadKey("empty key"));
    };
    if alg != ALGORITHM_ED25519 {
        return Err(NoteError::BadKey("not an Ed25519 key"));
    }
    let key: [u8; 32] = key
        .try_into()
        .map_err(|_| NoteError::BadKey("an Ed25519 key has 32 bytes"))?;
    let mut key_id = [0u8; 4];
    base16ct::mixed::decode(id, &mut key_id)
        .ok()
        .filter(|b| b.len() == 4)
        .ok_or(NoteError::BadKey("the key id is 8 hex digits"))?;
    let id = key_id;
    Ok((name.to_string(), id, key))
}

/// A checkpoint signing key. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct Signer {
    name: String,
    key_id: [u8; 4],
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Signer({}+{})",
            self.name,
            base16ct::lower::encode_string(&self.key_id)
        )
    }
}

impl Signer {
    /// The key named `name` (the log's origin) with an Ed25519 seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Signer, NoteError> {
        check_name(name)?;
        let key = SigningKey::from_bytes(seed);
        let key_id = key_id(name, key.verifying_key().as_bytes());
        Ok(Signer {
            name: name.to_string(),
            key_id,
            key,
        })
    }

    /// Reads the text form `PRIVATE+KEY+name+keyid+base64(0x01 ‖ seed)`.
    pub fn parse(text: &str) -> Result<Signer, NoteError> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::BadKey("a signing key starts with PRIVATE+KEY+"))?;
        let (name, id, seed) = parse_key(rest)?;
        let signer = Signer::from_seed(&name, &seed)?;
        if signer.key_id != id {
            return Err(NoteError::BadKey("the key id does not match the key"));
        }
        Ok(signer)
    }

    /// The text form [`Signer::parse`] reads (a secret: keep it in a 0600 file).
    pub fn to_secret_string(&self) -> String {
        let mut key = vec![ALGORITHM_ED25519];
        key.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            base16ct::lower::encode_string(&self.key_id),
            STANDARD.encode(key)
        )
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public half, to publish.
    pub fn verifier(&self) -> Verifier {
        Verifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// The signed note of a checkpoint (whose origin must be the key's name).
    pub fn sign(&self, checkpoint: &Checkpoint) -> String {
        let body = checkpoint.body();
        let signature = self.key.sign(body.as_bytes());
        let mut sig = self.key_id.to_vec();
        sig.extend_from_slice(&signature.to_bytes());
        format!(
            "{body}\n{SIGNATURE_DASH}{} {}\n",
            self.name,
            STANDARD.encode(sig)
        )
    }
}

/// A checkpoint verification key: `name+keyid+base64(0x01 ‖ public key)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    key_id: [u8; 4],
    key: VerifyingKey,
}

impl Verifier {
    /// Reads the text form.
    pub fn parse(text: &str) -> Result<Verifier, NoteError> {
        let (name, id, public) = parse_key(text)?;
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|_| NoteError::BadKey("not a valid Ed25519 public key"))?;
        if key_id(&name, &public) != id {
            return Err(NoteError::BadKey("the key id does not match the key"));
        }
        Ok(Verifier {
            name,
            key_id: id,
            key,
        })
    }

    /// The key's name (the origin of the log it signs).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Display for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut key = vec![ALGORITHM_ED25519];
        key.extend_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{}+{}",
            self.name,
            base16ct::lower::encode_string(&self.key_id),
            STANDARD.encode(key)
        )
    }
}
