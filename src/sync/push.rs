//! `sinergi sync push`: file -> rows -> checked operations -> batches.
//!
//! Every batch carries an `Idempotency-Key` derived from the file's content,
//! the mapping, the options and the batch's place, so running the same push
//! again (after a crash, a timeout, a killed job) sends the same keys: the
//! server answers batches it already applied from its record of them instead
//! of applying them twice.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::body::Compiled;
use super::client::{Api, Request};
use super::mapping::Mapping;
use super::read;
use super::schema;
use super::{hex, Failure, Op, Progress, PushArgs, EXIT_ROWS_FAILED};

/// Bump when the bodies built from the same file change shape, so that a new
/// client version does not reuse the keys (and meet `idempotency_key_reused`).
const KEY_VERSION: &str = "sinergi-sync-push/1";

/// Failures kept to be listed; more are counted, not listed.
const LISTED_FAILURES: usize = 1000;

/// Counts for the summary.
#[derive(Default)]
struct Tally {
    created: usize,
    updated: usize,
    unchanged: usize,
    not_applied: usize,
    replayed_batches: usize,
    batches: usize,
    /// Rows with at least one failure.
    failed_rows: usize,
    /// The first failures, for the list.
    failures: Vec<Failure>,
}

impl Tally {
    /// Records the failures of one row.
    fn failed(&mut self, row: impl IntoIterator<Item = Failure>) {
        self.failed_rows += 1;
        for f in row {
            if self.failures.len() < LISTED_FAILURES {
                self.failures.push(f);
            }
        }
    }
}

/// Opens the input and knows how to turn its rows into operations.
struct Input {
    sheet: Option<String>,
    compiled: Compiled,
}

impl Input {
    /// The operations of the file in order, rows that fail the local checks
    /// left out (the first pass counted them).
    fn ops(
        &self,
        args: &PushArgs,
    ) -> anyhow::Result<impl Iterator<Item = anyhow::Result<Op>> + '_> {
        let source = read::open(&args.file, self.sheet.as_deref())?;
        Ok(source.filter_map(move |item| match item {
            Err(e) => Some(Err(e)),
            Ok(read::Item::Broken(..)) => None,
            Ok(read::Item::Row(row)) => self.compiled.op(&row).ok().map(Ok),
        }))
    }
}

/// SHA-256 of a file, read in pieces.
fn file_digest(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            return Ok(h.finalize().to_vec());
        }
        h.update(&buf[..n]);
    }
}

/// Runs a push; returns the exit status. The file is read three times, row
/// by row, never whole: for its digest (which names the idempotency keys),
/// to check every row and count the batches, and to send the batches.
pub async fn run(args: PushArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let digest = file_digest(&args.file)?;
    let (mapping, mapping_text) = match &args.mapping {
        Some(p) => (
            Some(Mapping::load(p)?),
            std::fs::read(p).unwrap_or_default(),
        ),
        None => (None, vec![]),
    };
    let type_arg =
        match &args.type_ {
            Some(t) => Some(schema::record_schema(t).with_context(|| {
                format!("unknown --type {t:?}; one of {}", schema::type_names())
            })?),
            None => None,
        };
    let sheet = args
        .sheet
        .clone()
        .or_else(|| mapping.as_ref().and_then(|m| m.sheet.clone()));
    let source = read::open(&args.file, sheet.as_deref())?;
    let mapping = match (mapping, type_arg) {
        (Some(m), Some(t)) if m.schema.name != t.name => bail!(
            "--type {} disagrees with the mapping's type {}",
            t.name,
            m.schema.name
        ),
        (Some(m), _) => m,
        (None, Some(t)) => {
            let (m, ignored) = Mapping::identity(t, &source.headers);
            if !ignored.is_empty() {
                eprintln!(
                    "ignoring columns that are not {} fields: {}",
                    t.name,
                    ignored.join(", ")
                );
            }
            m
        }
        (None, None) => {
            bail!("give --mapping FILE, or --type TYPE when the columns are named as the fields")
        }
    };
    let compiled = mapping.compile(&source.headers)?;
    let unit = read::unit(&args.file);
    let mut tally = Tally::default();
    let checking = Progress::counting("push: checking", unit);
    let mut op_count = 0usize;
    for item in source {
        match item? {
            read::Item::Broken(line, why) => tally.failed([Failure {
                line,
                field: String::new(),
                column: None,
                code: "unreadable".into(),
                message: format!("this {unit} {why}"),
            }]),
            read::Item::Row(row) => match compiled.op(&row) {
                Ok(_) => op_count += 1,
                Err(f) => tally.failed(f),
            },
        }
        checking.set(
            (op_count + tally.failed_rows) as u64,
            format!("read from {}", args.file.display()),
        );
    }
    checking.done();
    let rows = op_count + tally.failed_rows;
    if args.atomic && tally.failed_rows > 0 {
        print_summary(&args, &tally, rows, unit, started.elapsed());
        println!("nothing was sent: --atomic and some {unit}s failed the local checks");
        return Ok(EXIT_ROWS_FAILED);
    }
    let run_id = run_id(
        &args,
        &digest,
        &mapping_text,
        compiled.type_name(),
        sheet.as_deref(),
    );
    let input = Input { sheet, compiled };
    let mut api = Api::new(
        &args.to,
        &args.credentials.client_id,
        &args.credentials.client_secret,
    )?;
    let size = args.batch_size as usize;
    let total_batches = op_count.div_ceil(size);
    let mut ops = input.ops(&args)?;
    let mut sent = 0usize;
    let progress = Progress::bar("push: sending", unit, op_count as u64);
    for index in 0..total_batches {
        let mut chunk = Vec::with_capacity(size);
        for op in ops.by_ref().take(size) {
            chunk.push(op?);
        }
        if chunk.is_empty() {
            break;
        }
        let key = format!("{run_id}-{index:05}");
        if let Err(e) = send(&mut api, &args, &input.compiled, &chunk, &key, &mut tally).await {
            progress.done();
            print_summary(&args, &tally, rows, unit, started.elapsed());
            // This batch may or may not have been stored: the rerun replays it.
            print_stop(op_count - sent, unit, index + 1, total_batches);
            return Err(e);
        }
        sent += chunk.len();
        progress.set(
            sent as u64,
            format!(
                "sent, batch {}/{total_batches}, {} failed",
                index + 1,
                tally.failed_rows + tally.not_applied
            ),
        );
        if args.stop_after_batches == Some(index + 1) && index + 1 < total_batches {
            progress.done();
            eprintln!(
                "stopping after {} batches (--stop-after-batches)",
                index + 1
            );
            print_summary(&args, &tally, rows, unit, started.elapsed());
            print_stop(op_count - sent, unit, index + 2, total_batches);
            return Ok(75);
        }
    }
    progress.done();
    if sent != op_count {
        bail!(
            "{} changed while it was sent: {sent} of {op_count} {unit}s went out; run again once it is complete",
            args.file.display()
        );
    }
    print_summary(&args, &tally, rows, unit, started.elapsed());
    Ok(if tally.failed_rows == 0 && tally.not_applied == 0 {
        0
    } else {
        EXIT_ROWS_FAILED
    })
}

/// The part of every idempotency key that names this run's input and options.
fn run_id(
    args: &PushArgs,
    digest: &[u8],
    mapping: &[u8],
    type_: &str,
    sheet: Option<&str>,
) -> String {
    let mut h = Sha256::new();
    for part in [
        KEY_VERSION.as_bytes(),
        digest,
        &Sha256::digest(mapping),
        type_.as_bytes(),
        sheet.unwrap_or("").as_bytes(),
        format!(
            "atomic={} dry_run={} batch_size={}",
            args.atomic, args.dry_run, args.batch_size
        )
        .as_bytes(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    format!("sync-{}", &hex(&h.finalize())[..32])
}

/// Sends one batch; a batch too large in bytes for the server (413) is split
/// in halves, each with a key derived from the batch's.
async fn send(
    api: &mut Api,
    args: &PushArgs,
    compiled: &Compiled,
    ops: &[Op],
    key: &str,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let body = json!({
        "atomic": args.atomic,
        "dry_run": args.dry_run,
        "operations": ops.iter().map(Op::to_json).collect::<Vec<_>>(),
    });
    let reply = api
        .send(&Request {
            method: Method::POST,
            path: "/api/v1/batch",
            headers: vec![("Idempotency-Key", key.to_string())],
            body: Some(serde_json::to_vec(&body)?),
            timeout: Duration::from_secs(300),
        })
        .await?;
    if reply.status == StatusCode::PAYLOAD_TOO_LARGE && ops.len() > 1 && !args.atomic {
        let half = ops.len().div_ceil(2);
        Box::pin(send(
            api,
            args,
            compiled,
            &ops[..half],
            &format!("{key}a"),
            tally,
        ))
        .await?;
        return Box::pin(send(
            api,
            args,
            compiled,
            &ops[half..],
            &format!("{key}b"),
            tally,
        ))
        .await;
    }
    let answer = reply.json();
    let batch_failed =
        reply.status == StatusCode::UNPROCESSABLE_ENTITY && answer["code"] == "batch_failed";
    if reply.status != StatusCode::OK && !batch_failed {
        bail!(
            "the server refused the batch of lines {}-{}: {}",
            ops.first().map_or(0, |o| o.line),
            ops.last().map_or(0, |o| o.line),
            reply.describe()
        );
    }
    tally.batches += 1;
    if reply.headers.get("idempotent-replayed").is_some() {
        tally.replayed_batches += 1;
    }
    let results = answer["results"].as_array().cloned().unwrap_or_default();
    if results.len() != ops.len() {
        bail!(
            "the server answered {} results for {} operations",
            results.len(),
            ops.len()
        );
    }
    for r in &results {
        let Some(op) = r["index"].as_u64().and_then(|i| ops.get(i as usize)) else {
            continue;
        };
        match r["outcome"].as_str().unwrap_or("") {
            "created" => tally.created += 1,
            "updated" => tally.updated += 1,
            "unchanged" => tally.unchanged += 1,
            _ if r["problem"]["code"] == "not_applied" => tally.not_applied += 1,
            _ => tally.failed(failures(compiled, op, &r["problem"])),
        }
    }
    Ok(())
}

/// The row failures in a problem: one per field error, else one for the row.
fn failures(compiled: &Compiled, op: &Op, problem: &Value) -> Vec<Failure> {
    let errors = problem["errors"].as_array().cloned().unwrap_or_default();
    let one = |field: String, code: &Value, message: &Value| Failure {
        line: op.line,
        column: compiled.column_of(&field),
        field,
        code: code.as_str().unwrap_or("failed").to_string(),
        message: message.as_str().unwrap_or("").to_string(),
    };
    if errors.is_empty() {
        return vec![one(String::new(), &problem["code"], &problem["detail"])];
    }
    errors
        .iter()
        .map(|e| {
            let raw = e["field"].as_str().unwrap_or("");
            // `operations[3].body.worker.passport_no` -> `worker.passport_no`.
            let field = match raw.split_once("].") {
                Some((head, rest)) if head.starts_with("operations[") => {
                    rest.strip_prefix("body.").unwrap_or(rest).to_string()
                }
                _ => raw.to_string(),
            };
            one(field, &e["code"], &e["message"])
        })
        .collect()
}

/// Says on stdout, beside the summary, how many rows were not sent and where
/// the same command goes on.
fn print_stop(not_sent: usize, unit: &str, from_batch: usize, total_batches: usize) {
    println!(
        "not sent: {not_sent} {unit}s (batches {from_batch} to {total_batches} of {total_batches}); \
         run the same command again to go on from batch {from_batch} \
         (batches already stored are replayed, not applied twice)"
    );
}

fn print_summary(args: &PushArgs, t: &Tally, rows: usize, unit: &str, took: Duration) {
    let failed_rows = t.failed_rows;
    let secs = took.as_secs_f64().max(0.001);
    println!(
        "{} {unit}s from {} in {} batch{}, {:.1} s ({:.0} {unit}s/s)",
        rows,
        args.file.display(),
        t.batches,
        if t.batches == 1 { "" } else { "es" },
        secs,
        rows as f64 / secs
    );
    println!(
        "{}created {}, updated {}, unchanged {}, failed {}",
        if args.dry_run {
            "dry run, nothing stored; would be: "
        } else {
            ""
        },
        t.created,
        t.updated,
        t.unchanged,
        failed_rows + t.not_applied
    );
    if t.replayed_batches > 0 {
        println!(
            "{} of {} batches had already been sent by an earlier run; the server replayed its answers",
            t.replayed_batches, t.batches
        );
    }
    if t.not_applied > 0 {
        println!(
            "{} {unit}s were not stored because their atomic batch had a failed {unit}",
            t.not_applied
        );
    }
    if t.failures.is_empty() {
        return;
    }
    println!("failed {unit}s:");
    let mut sorted = t.failures.clone();
    sorted.sort_by_key(|f| f.line);
    for f in sorted {
        let mut place = format!("  {unit} {}", f.line);
        if !f.field.is_empty() {
            place.push_str(&format!(", {}", f.field));
        }
        if let Some(c) = &f.column {
            place.push_str(&format!(" (column {c:?})"));
        }
        println!("{place}: {}: {}", f.code, f.message);
    }
    if failed_rows > LISTED_FAILURES {
        println!(
            "  (the first {LISTED_FAILURES} failures are listed; {failed_rows} {unit}s failed in all)"
        );
    }
}
