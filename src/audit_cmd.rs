//! `sinergi audit`: verify the log against checkpoints held outside the
//! database, make a checkpoint signing key, sign a checkpoint now.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use sinergi_api::Settings;
use sinergi_db::audit::{self, ChainReport, CheckpointVerdict};
use sinergi_db::Db;
use sinergi_tlog::{Checkpoint, Signer, Verifier};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain, recomputing every event's hash, and prove the log
    /// extends each checkpoint given (exit 1 if anything does not hold, 2 if
    /// a checkpoint is not signed by the trusted key).
    Verify {
        /// A file of one or more signed checkpoints (as `sync pull` keeps them
        /// or `GET /api/v1/audit/checkpoint` answers); repeatable.
        #[arg(long = "checkpoint", value_name = "FILE")]
        checkpoints: Vec<PathBuf>,
        /// The verifier key (`GET /api/v1/audit/keys`); default: the
        /// configured signing key's public half.
        #[arg(long)]
        key: Option<String>,
    },
    /// Make a checkpoint signing key, written to FILE (readable by the owner
    /// only); set SINERGI_AUDIT_KEY_FILE to it on every instance.
    Keygen {
        /// Where to write the key.
        #[arg(long)]
        out: PathBuf,
        /// The log's origin (default: SINERGI_AUDIT_ORIGIN or the issuer's host + /audit).
        #[arg(long)]
        origin: Option<String>,
    },
    /// Integrate new events and sign a checkpoint now; prints it.
    Checkpoint,
}

pub fn run(
    command: AuditCommand,
    settings: &Settings,
    db: impl Fn() -> anyhow::Result<Db>,
) -> anyhow::Result<i32> {
    match command {
        AuditCommand::Verify { checkpoints, key } => {
            let trusted = match key {
                Some(k) => Verifier::parse(&k).map_err(|e| anyhow::anyhow!("--key: {e}"))?,
                None if checkpoints.is_empty() => {
                    return report(&db()?.read(|c| audit::verify_with(c, &[]))?)
                }
                None => settings
                    .audit_signer()
                    .context(
                        "give --key (from GET /api/v1/audit/keys) or configure the signing key \
                         (SINERGI_AUDIT_KEY_FILE, or SINERGI_KEY_ENCRYPTION_KEY_FILE it derives from)",
                    )?
                    .verifier(),
            };
            let mut held = Vec::new();
            for path in &checkpoints {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                match Checkpoint::open_all(&text, std::slice::from_ref(&trusted)) {
                    Ok(c) => held.extend(c),
                    Err(e) => {
                        println!("{}: {e}", path.display());
                        return Ok(2);
                    }
                }
            }
            let db = db()?;
            report(&db.read(|c| audit::verify_with(c, &held))?)
        }
        AuditCommand::Keygen { out, origin } => {
            let origin = origin.unwrap_or_else(|| settings.audit_origin.clone());
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            let signer = Signer::from_seed(&origin, &seed).map_err(|e| anyhow::anyhow!("{e}"))?;
            sinergi_api::auth::kek::create_secret_file(
                &out,
                &format!("{}\n", signer.to_secret_string()),
            )
            .map_err(anyhow::Error::msg)?;
            println!("{}", signer.verifier());
            eprintln!(
                "signing key written to {}; publish the verifier key above to the agencies",
                out.display()
            );
            Ok(0)
        }
        AuditCommand::Checkpoint => {
            let signer = settings.audit_signer().context(
                "configure the signing key (SINERGI_AUDIT_KEY_FILE, or SINERGI_KEY_ENCRYPTION_KEY_FILE it derives from)",
            )?;
            let db = db()?;
            let checkpointer = sinergi_api::audit_checkpoints::Checkpointer::new(signer);
            let stored = |db: &Db| db.read(|c| sinergi_db::audit::tree::checkpoint(c, None));
            match checkpointer.round(&db)? {
                sinergi_db::audit::tree::Round::Halted { reason } => {
                    println!("NOT SIGNED: {reason}");
                    Ok(1)
                }
                sinergi_db::audit::tree::Round::Signed { note, .. } => {
                    print!("{note}");
                    Ok(0)
                }
                _ => match stored(&db)? {
                    Some(c) => {
                        print!("{}", c.note);
                        Ok(0)
                    }
                    None => {
                        println!("the audit log is empty: nothing to sign");
                        Ok(0)
                    }
                },
            }
        }
    }
}

fn report(v: &audit::Verification) -> anyhow::Result<i32> {
    match &v.chain {
        ChainReport::Intact { events } => {
            println!("audit log intact: {events} events, every link verified")
        }
        ChainReport::Broken { seq, reason } => {
            println!("audit log BROKEN at event {seq}: {reason}")
        }
    }
    for (c, verdict) in &v.checkpoints {
        let root = base64_root(&c.root);
        match verdict {
            CheckpointVerdict::Extends => {
                println!("audit log extends checkpoint size {} (root {root})", c.size)
            }
            CheckpointVerdict::Truncated { held } => println!(
                "TRUNCATED: checkpoint commits to {} events (root {root}), the log holds {held}",
                c.size
            ),
            CheckpointVerdict::Rewritten => println!(
                "REWRITTEN within the first {} events: their root is not the checkpoint's {root}",
                c.size
            ),
        }
    }
    if let Some(t) = &v.tree {
        println!("STORED TREE differs: {t}");
    }
    Ok(if v.holds() { 0 } else { 1 })
}

fn base64_root(root: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(root)
}
