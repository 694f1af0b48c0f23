//! `sinergi sync pull` keeps the audit log's signed checkpoints: after each
//! drained pass (once a minute with `--follow`) it fetches the newest one,
//! checks its signature with the pinned key, and proves it extends the one
//! kept before (a consistency proof from the server). Kept checkpoints go to
//! `DIR/checkpoints/<size>.note`, the newest is `DIR/checkpoint`; any
//! auditor can later hold the server's log against them
//! (`sinergi audit verify --checkpoint`). A log that shrank or was rewritten
//! is an alarm: the pull exits with [`EXIT_AUDIT_ALARM`].

use std::fs;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::{Method, StatusCode};
use sinergi_tlog::{Checkpoint, Hash, Verifier};

use super::client::{Api, Reply, Request};

/// Exit status when the server's audit log does not extend a kept checkpoint.
pub const EXIT_AUDIT_ALARM: i32 = 5;

/// What checking the newest checkpoint found.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new checkpoint was proven to extend the one kept before, and kept.
    Kept(u64),
    /// The same checkpoint as the one kept.
    Unchanged(u64),
    /// The server has no checkpoint (yet), or does not publish them.
    Unavailable(String),
    /// The log does not extend what was kept, or the signature is wrong.
    Alarm(String),
}

async fn get(api: &mut Api, path: &str) -> anyhow::Result<Reply> {
    api.send(&Request {
        method: Method::GET,
        path,
        headers: vec![],
        body: None,
        timeout: Duration::from_secs(30),
    })
    .await
}

/// The key to trust: `--audit-key`, else the one pinned in `DIR/audit-key`,
/// else the server's (pinned now, on first use).
async fn trusted_key(
    api: &mut Api,
    dir: &Path,
    given: Option<&str>,
) -> anyhow::Result<Result<Verifier, String>> {
    if let Some(k) = given {
        return Ok(Ok(
            Verifier::parse(k).map_err(|e| anyhow::anyhow!("--audit-key: {e}"))?
        ));
    }
    let pin = dir.join("audit-key");
    if let Ok(text) = fs::read_to_string(&pin) {
        return Ok(Ok(
            Verifier::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", pin.display()))?
        ));
    }
    let reply = get(api, "/api/v1/audit/keys").await?;
    if reply.status != StatusCode::OK {
        return Ok(Err(format!("no audit keys: {}", reply.describe())));
    }
    let key = reply.json()["keys"][0].as_str().unwrap_or("").to_string();
    let verifier =
        Verifier::parse(&key).map_err(|e| anyhow::anyhow!("the server's audit key: {e}"))?;
    super::pull::write_atomically(dir, &pin, &format!("{verifier}\n"))?;
    super::say(&format!(
        "pinned the audit log's key {verifier} in {}; compare it with the one your agency was given",
        pin.display()
    ));
    Ok(Ok(verifier))
}

fn decode(list: &serde_json::Value) -> Option<Vec<Hash>> {
    list.as_array()?
        .iter()
        .map(|h| {
            STANDARD
                .decode(h.as_str()?)
                .ok()
                .and_then(|b| Hash::try_from(b.as_slice()).ok())
        })
        .collect()
}

/// Fetches, checks and keeps the newest checkpoint.
pub async fn keep(api: &mut Api, dir: &Path, given_key: Option<&str>) -> anyhow::Result<Outcome> {
    let key = match trusted_key(api, dir, given_key).await? {
        Ok(k) => k,
        Err(why) => return Ok(Outcome::Unavailable(why)),
    };
    let reply = get(api, "/api/v1/audit/checkpoint").await?;
    if reply.status != StatusCode::OK {
        return Ok(Outcome::Unavailable(reply.describe()));
    }
    let note = reply.body;
    let kept_dir = dir.join("checkpoints");
    fs::create_dir_all(&kept_dir)
        .with_context(|| format!("cannot create {}", kept_dir.display()))?;
    let alarm = |why: String, size: &str| -> anyhow::Result<Outcome> {
        let path = kept_dir.join(format!("conflict-{size}.note"));
        fs::write(&path, &note).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Outcome::Alarm(format!(
            "{why} (the server's checkpoint is kept in {})",
            path.display()
        )))
    };
    let new = match Checkpoint::open(&note, std::slice::from_ref(&key)) {
        Ok(c) => c,
        Err(e) => return alarm(format!("the server's checkpoint: {e}"), "unverified"),
    };
    let held_path = dir.join("checkpoint");
    let held = match fs::read_to_string(&held_path) {
        Ok(text) => Some(
            Checkpoint::open(&text, std::slice::from_ref(&key))
                .map_err(|e| anyhow::anyhow!("{}: {e}", held_path.display()))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).context(format!("cannot read {}", held_path.display())),
    };
    if let Some(old) = &held {
        let size = new.size.to_string();
        if new.size < old.size {
            return alarm(
                format!(
                    "the server's log has {} events, fewer than the {} of the checkpoint you hold",
                    new.size, old.size
                ),
                &size,
            );
        }
        if new.size == old.size {
            if new.root != old.root {
                return alarm(
                    format!(
                        "two checkpoints of {} events with different roots",
                        new.size
                    ),
                    &size,
                );
            }
            return Ok(Outcome::Unchanged(new.size));
        }
        let reply = get(
            api,
            &format!(
                "/api/v1/audit/consistency?first={}&second={}",
                old.size, new.size
            ),
        )
        .await?;
        let proof = (reply.status == StatusCode::OK)
            .then(|| decode(&reply.json()["proof"]))
            .flatten();
        let proven = proof.is_some_and(|p| {
            sinergi_tlog::verify_consistency(old.size, new.size, &old.root, &new.root, &p).is_ok()
        });
        if !proven {
            return alarm(
                format!(
                    "the server cannot prove its log of {} events extends the {} you hold",
                    new.size, old.size
                ),
                &size,
            );
        }
    }
    let keep_path = kept_dir.join(format!("{}.note", new.size));
    super::pull::write_atomically(&kept_dir, &keep_path, &note)?;
    super::pull::write_atomically(dir, &held_path, &note)?;
    Ok(Outcome::Kept(new.size))
}
