//! `sinergi sync pull`: follows `GET /api/v1/changes` into
//! `DIR/changes-YYYY-MM-DD.ndjson` (one change a line, the file of the day
//! the pull ran, UTC) and keeps the position in `DIR/cursor`.
//!
//! Order of durability: a page's lines are appended and fsynced first, then
//! the new cursor is written to a temporary file, fsynced and renamed over
//! `DIR/cursor`. A crash between the two re-delivers that one page on the next
//! run, never loses or skips a change; the re-delivered lines are recognised
//! by their `cursor` field (looked up in the tail of the newest files) and
//! not written twice.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::checkpoints::{self, Outcome, EXIT_AUDIT_ALARM};
use super::client::{Api, Request};
use super::{Progress, PullArgs, EXIT_CURSOR_EXPIRED};

/// How often `--follow` checks the audit log's newest checkpoint.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(60);

/// Seconds a `--follow` request waits for a change.
const LONG_POLL_SECS: u64 = 30;

/// Runs a pull; returns the exit status.
pub async fn run(args: PullArgs) -> anyhow::Result<i32> {
    fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let cursor_path = args.out.join("cursor");
    let mut cursor = match fs::read_to_string(&cursor_path) {
        Ok(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).context(format!("cannot read {}", cursor_path.display())),
    };
    let types = match &args.types {
        Some(t)
            if !t
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-,".contains(c)) =>
        {
            bail!(
                "--types takes record types separated by commas, e.g. residence_permit,assignment"
            )
        }
        Some(t) => format!("&types={t}"),
        None => String::new(),
    };
    // Changes already on disk from a page whose cursor was never saved.
    let recent = recent_cursors(&args.out, args.limit as usize)?;
    let mut api = Api::new(
        &args.from,
        &args.credentials.client_id,
        &args.credentials.client_secret,
    )?;
    let progress = Progress::counting("pull", "change");
    let (mut written, mut skipped) = (0usize, 0usize);
    let mut wait = 0;
    let mut checked: Option<std::time::Instant> = None;
    let mut audit = String::new();
    loop {
        let after = cursor
            .as_deref()
            .map(|c| format!("&after={c}"))
            .unwrap_or_default();
        let path = format!(
            "/api/v1/changes?limit={}&wait={wait}{types}{after}",
            args.limit
        );
        let reply = api
            .send(&Request {
                method: Method::GET,
                path: &path,
                headers: vec![("X-Purpose", args.purpose.clone())],
                body: None,
                timeout: Duration::from_secs(wait + 60),
            })
            .await?;
        if reply.status == StatusCode::GONE {
            progress.done();
            print_resync(&args, &cursor_path);
            return Ok(EXIT_CURSOR_EXPIRED);
        }
        if reply.status != StatusCode::OK {
            bail!(
                "the change feed refused the request{}: {}",
                if cursor.is_some() {
                    format!(" (with the cursor from {})", cursor_path.display())
                } else {
                    String::new()
                },
                reply.describe()
            );
        }
        let page = reply.json();
        let changes = page["changes"].as_array().cloned().unwrap_or_default();
        let next = page["next_cursor"]
            .as_str()
            .context("the change feed answered without next_cursor")?
            .to_string();
        let mut lines = String::new();
        for c in &changes {
            let id = c["cursor"].as_str().unwrap_or("");
            if !recent.is_empty() && recent.contains(id) {
                skipped += 1;
                continue;
            }
            lines.push_str(&c.to_string());
            lines.push('\n');
            written += 1;
        }
        let file = data_file(&args.out);
        if !lines.is_empty() {
            append_synced(&file, lines.as_bytes())?;
        }
        // Only after the lines are on disk does the cursor move past them.
        if cursor.as_deref() != Some(next.as_str()) {
            save_cursor(&args.out, &cursor_path, &next)?;
            cursor = Some(next);
        }
        let has_more = page["has_more"].as_bool().unwrap_or(false);
        progress.set(written as u64, format!("written to {}", file.display()));
        if !has_more && checked.is_none_or(|t| t.elapsed() >= CHECKPOINT_EVERY) {
            checked = Some(std::time::Instant::now());
            match checkpoints::keep(&mut api, &args.out, args.audit_key.as_deref()).await? {
                Outcome::Alarm(why) => {
                    progress.done();
                    eprintln!("AUDIT LOG DOES NOT EXTEND THE CHECKPOINT YOU HOLD: {why}");
                    println!("AUDIT LOG DOES NOT EXTEND THE CHECKPOINT YOU HOLD: {why}");
                    return Ok(EXIT_AUDIT_ALARM);
                }
                Outcome::Kept(n) => {
                    audit = format!("; audit log checkpoint of {n} events verified and kept")
                }
                Outcome::Unchanged(n) => {
                    audit = format!("; audit log checkpoint of {n} events unchanged")
                }
                Outcome::Unavailable(why) => {
                    audit = format!("; no audit log checkpoint kept ({why})")
                }
            }
        }
        if !has_more && !args.follow {
            break;
        }
        wait = if has_more { 0 } else { LONG_POLL_SECS };
    }
    progress.done();
    println!(
        "pulled {written} changes into {}{}; cursor saved in {}{audit}",
        args.out.display(),
        if skipped > 0 {
            format!(" ({skipped} already written by an interrupted run were skipped)")
        } else {
            String::new()
        },
        cursor_path.display()
    );
    Ok(0)
}

fn data_file(dir: &Path) -> PathBuf {
    dir.join(format!(
        "changes-{}.ndjson",
        chrono::Utc::now().date_naive().format("%Y-%m-%d")
    ))
}

fn append_synced(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")));
    Ok(())
}

/// Replaces the cursor file atomically.
fn save_cursor(dir: &Path, path: &Path, cursor: &str) -> anyhow::Result<()> {
    write_atomically(dir, path, &format!("{cursor}\n"))
}

/// Replaces `path` (in `dir`) atomically: temp file, fsync, rename, fsync the folder.
pub fn write_atomically(dir: &Path, path: &Path, text: &str) -> anyhow::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    sync_dir(dir);
    Ok(())
}

/// Makes a rename or a new file durable (a no-op where folders cannot be opened).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The `cursor` of the last `n` changes written in the two newest files
/// (two, for a page that was being written across midnight).
fn recent_cursors(dir: &Path, n: usize) -> anyhow::Result<HashSet<String>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("changes-") && n.ends_with(".ndjson"))
        })
        .collect();
    files.sort();
    let mut out = HashSet::new();
    for f in files.iter().rev().take(2) {
        for line in tail_lines(f, n)? {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if let Some(c) = v["cursor"].as_str() {
                    out.insert(c.to_string());
                }
            }
        }
    }
    Ok(out)
}

/// The last `n` complete lines of a file, read from the end in chunks.
fn tail_lines(path: &Path, n: usize) -> anyhow::Result<Vec<String>> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let mut start = len;
    let mut buf: Vec<u8> = vec![];
    while start > 0 && buf.iter().filter(|b| **b == b'\n').count() <= n {
        let step = start.min(64 * 1024);
        start -= step;
        f.seek(SeekFrom::Start(start))?;
        let mut chunk = vec![0; step as usize];
        f.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&buf);
        buf = chunk;
    }
    let text = String::from_utf8_lossy(&buf);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0); // Possibly cut in the middle.
    }
    let skip = lines.len().saturating_sub(n);
    Ok(lines.split_off(skip))
}

fn print_resync(args: &PullArgs, cursor_path: &Path) {
    let base = args.from.trim_end_matches('/');
    eprintln!(
        "the cursor in {} is older than the changes the server keeps (410 cursor_expired).\n\
         Changes were missed, so start again from a full copy:\n\
         1. export every type you follow, e.g.\n   \
            curl -H \"Authorization: Bearer $TOKEN\" -H \"X-Purpose: {}\" \
         {base}/api/v1/export/residence-permits > {}/export-residence_permit.ndjson\n\
         2. its last line {{\"export_complete\": true, ..., \"change_cursor\": \"...\"}} (also the \
            X-Sinergi-Change-Cursor header) is where the export stands: write that cursor into {}\n\
         3. run sync pull again; it continues from there with no gap and no duplicate.",
        cursor_path.display(),
        args.purpose,
        args.out.display(),
        cursor_path.display()
    );
}
