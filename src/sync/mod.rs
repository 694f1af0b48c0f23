//! `sinergi sync`: the client that nightly batch jobs run against a Sinergi
//! server. `push` sends an agency's export (CSV, NDJSON, spreadsheet) through
//! `POST /api/v1/batch`; `pull` follows `GET /api/v1/changes` into NDJSON files.

mod body;
mod checkpoints;
mod client;
mod convert;
mod mapping;
mod pull;
mod push;
mod read;
mod schema;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::Value;

/// Exit status when the run completed but some rows were not stored
/// (1 is a run that could not complete, 2 a usage error).
pub const EXIT_ROWS_FAILED: i32 = 4;
/// Exit status when the saved change-feed cursor has expired (export again).
pub const EXIT_CURSOR_EXPIRED: i32 = 3;

/// `sinergi sync ...`.
#[derive(Subcommand)]
pub enum SyncCommand {
    /// Push a CSV, NDJSON or spreadsheet file as batches of upserts (safe to re-run).
    Push(PushArgs),
    /// Append the change feed to DIR/changes-YYYY-MM-DD.ndjson and keep the cursor in DIR/cursor.
    Pull(PullArgs),
}

/// API client credentials (prefer the environment variables to keep the secret out of `ps`).
#[derive(Args)]
pub struct Credentials {
    /// Client id.
    #[arg(long, env = "SINERGI_CLIENT_ID", allow_hyphen_values = true)]
    pub client_id: String,
    /// Client secret (may start with `-`: secrets are base64url).
    #[arg(
        long,
        env = "SINERGI_CLIENT_SECRET",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub client_secret: String,
}

/// `sinergi sync push`.
#[derive(Args)]
pub struct PushArgs {
    /// The file: .csv/.tsv, .ndjson/.jsonl, or .xlsx/.xlsm/.xls/.ods.
    pub file: PathBuf,
    /// Server base URL, e.g. https://sinergi.example.go.id
    #[arg(long, env = "SINERGI_URL")]
    pub to: String,
    #[command(flatten)]
    pub credentials: Credentials,
    /// Mapping file (docs/sync-mapping.md); without it, columns must be named as the fields.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Record type (residence_permit, employer, ...); required without a mapping.
    #[arg(long = "type")]
    pub type_: Option<String>,
    /// Sheet of a workbook (default: the mapping's, else the first).
    #[arg(long)]
    pub sheet: Option<String>,
    /// Check everything against the stored data but store nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Operations per request (1 to 1000).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub batch_size: u64,
    /// Each batch all or nothing; nothing is sent if any row fails the local checks.
    #[arg(long)]
    pub atomic: bool,
    /// Stop after this many batches, as if the job had been killed (for tests).
    #[arg(long, hide = true)]
    pub stop_after_batches: Option<usize>,
}

/// `sinergi sync pull`.
#[derive(Args)]
pub struct PullArgs {
    /// Server base URL.
    #[arg(long, env = "SINERGI_URL")]
    pub from: String,
    #[command(flatten)]
    pub credentials: Credentials,
    /// Folder for the NDJSON files and the cursor.
    #[arg(long)]
    pub out: PathBuf,
    /// Only these record types, comma-separated (e.g. residence_permit,assignment).
    #[arg(long)]
    pub types: Option<String>,
    /// Purpose declared for reading personal data (X-Purpose).
    #[arg(long, default_value = "supervision")]
    pub purpose: String,
    /// Keep waiting for new changes (long poll) instead of stopping when drained.
    #[arg(long)]
    pub follow: bool,
    /// Changes per request (1 to 1000).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub limit: u64,
    /// The audit log's verifier key (`name+keyid+key`, as your agency was
    /// given it); default: the key pinned in DIR/audit-key, or the server's
    /// on first use.
    #[arg(long)]
    pub audit_key: Option<String>,
}

/// Runs a sync command; returns the process exit status.
pub fn run(command: SyncCommand) -> anyhow::Result<i32> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match command {
        SyncCommand::Push(args) => rt.block_on(push::run(args)),
        SyncCommand::Pull(args) => rt.block_on(pull::run(args)),
    }
}

/// One row that was not stored, and why.
#[derive(Debug, Clone)]
pub struct Failure {
    /// File line or sheet row.
    pub line: usize,
    /// Body field (`worker.passport_no`), `permit_no` for the key, or empty for the whole row.
    pub field: String,
    /// The file's column for that field.
    pub column: Option<String>,
    /// Stable code (the server's, or a local one such as `invalid_date`).
    pub code: String,
    /// What is wrong.
    pub message: String,
}

/// One operation of a batch, from one row.
#[derive(Debug)]
pub struct Op {
    /// File line or sheet row it came from.
    pub line: usize,
    /// Record type.
    pub type_: &'static str,
    /// Natural key (employers, RPTKA approvals, residence permits).
    pub key: Option<String>,
    /// The record body.
    pub body: Value,
    /// Required stored version.
    pub if_match: Option<String>,
}

impl Op {
    /// The operation as `POST /api/v1/batch` takes it.
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("type".into(), self.type_.into());
        if let Some(k) = &self.key {
            m.insert("key".into(), k.clone().into());
        }
        m.insert("body".into(), self.body.clone());
        if let Some(v) = &self.if_match {
            m.insert("if_match".into(), v.clone().into());
        }
        Value::Object(m)
    }
}

/// Progress on stderr, drawn by indicatif on a terminal (count, rate and,
/// when the total is known, time left); nothing at all when stderr is not a
/// terminal, so a cron log holds only the summary printed on stdout.
pub struct Progress {
    bar: indicatif::ProgressBar,
}

/// The progress line on screen, if one is drawn, so that [`say`] prints
/// above it instead of under a redraw that would wipe the words out.
static DRAWN: std::sync::Mutex<Option<indicatif::ProgressBar>> = std::sync::Mutex::new(None);

/// Prints a line on stderr (a retry, the audit key pinned) that stays on
/// screen while a progress line is drawn; a plain line otherwise.
pub fn say(message: &str) {
    let drawn = DRAWN.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match drawn {
        Some(bar) => bar.suspend(|| eprintln!("{message}")),
        None => eprintln!("{message}"),
    }
}

impl Progress {
    /// Counts `unit`s when their total is not known yet.
    pub fn counting(prefix: &str, unit: &str) -> Progress {
        Progress::with(
            indicatif::ProgressBar::new_spinner(),
            &format!("{{prefix}} {{spinner}} {{human_pos}} {unit}s {{msg}} ({{rate}} {unit}s/s)"),
            prefix,
        )
    }

    /// Counts up to `total` `unit`s, with the time left.
    pub fn bar(prefix: &str, unit: &str, total: u64) -> Progress {
        Progress::with(
            indicatif::ProgressBar::new(total),
            &format!(
                "{{prefix}} [{{bar:30}}] {{human_pos}}/{{human_len}} {unit}s {{msg}} ({{rate}} {unit}s/s, {{eta}} left)"
            ),
            prefix,
        )
    }

    fn with(bar: indicatif::ProgressBar, template: &str, prefix: &str) -> Progress {
        let tty = std::io::stderr().is_terminal();
        bar.set_draw_target(if tty {
            indicatif::ProgressDrawTarget::stderr()
        } else {
            indicatif::ProgressDrawTarget::hidden()
        });
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> ").with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}", state.per_sec());
                },
            ));
        }
        bar.set_prefix(prefix.to_owned());
        if tty {
            // Nothing is drawn otherwise: no thread to redraw it.
            bar.enable_steady_tick(Duration::from_millis(200));
            *DRAWN.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
        }
        Progress { bar }
    }

    /// Sets the count and the words after it.
    pub fn set(&self, pos: u64, message: String) {
        self.bar.set_position(pos);
        self.bar.set_message(message);
    }

    /// Leaves the last state on screen; later output starts on a fresh line.
    pub fn done(&self) {
        if !self.bar.is_finished() {
            // One line is drawn at a time: the one ending is the one on screen.
            *DRAWN.lock().unwrap_or_else(|e| e.into_inner()) = None;
            self.bar.abandon();
        }
    }
}

impl Drop for Progress {
    /// An early return (`?`) ends the line before its error is printed.
    fn drop(&mut self) {
        self.done();
    }
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
