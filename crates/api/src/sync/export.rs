//! `GET /api/v1/export/{type}`: every record of a type, streamed in constant
//! memory from one database snapshot, with the change-feed cursor that
//! snapshot is consistent with.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{Map, Value};
use sinergi_db::records::{self, RecordFilter, RecordRow};
use sinergi_db::workers::{self, WorkerFilter, WorkerSummary};
use sinergi_db::{changes, envelope, DbConn, StoreError};
use sinergi_domain::access::{Channel, Request};
use sinergi_domain::RecordType;
use utoipa::IntoParams;

use super::changes::feed_cursor;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{parse_query, PurposeWhenPersonal};
use crate::records::respond;
use crate::state::AppState;

/// Rows read per query while streaming.
const CHUNK: i64 = 1000;

/// Export format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `ndjson` (default) or `csv`.
    #[param(schema_with = format_schema)]
    pub format: Option<String>,
}

/// The record type exported.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ExportPath {
    /// Record type, by its collection name.
    #[serde(rename = "type")]
    #[param(schema_with = type_schema)]
    pub kind: String,
}

fn type_schema() -> utoipa::openapi::Object {
    let names: Vec<&str> = RecordType::ALL.iter().map(|t| t.collection()).collect();
    crate::contract::one_of(&names)
}

fn format_schema() -> utoipa::openapi::Object {
    crate::contract::one_of(&["ndjson", "csv"])
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Ndjson,
    Csv,
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        Value::Null => out.push((prefix.to_string(), String::new())),
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        Value::Array(_) => out.push((prefix.to_string(), v.to_string())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Turns records into output lines; remembers the CSV header of the first record.
struct Writer {
    format: Format,
    header: Option<Vec<String>>,
}

impl Writer {
    fn line(&mut self, record: &Value) -> String {
        match self.format {
            Format::Ndjson => format!("{record}\n"),
            Format::Csv => {
                let mut cells = Vec::new();
                flatten("", record, &mut cells);
                let mut out = String::new();
                let header = self.header.get_or_insert_with(|| {
                    let h: Vec<String> = cells.iter().map(|(k, _)| k.clone()).collect();
                    out.push_str(&h.iter().map(|k| csv_field(k)).collect::<Vec<_>>().join(","));
                    out.push_str("\r\n");
                    h
                });
                let map: Map<String, Value> = cells
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect();
                let row: Vec<String> = header
                    .iter()
                    .map(|k| csv_field(map.get(k).and_then(Value::as_str).unwrap_or("")))
                    .collect();
                out.push_str(&row.join(","));
                out.push_str("\r\n");
                out
            }
        }
    }
}

/// One line of an export for `caller`: the record's envelope, masked where
/// the caller may not see identifiers.
fn export_line(
    writer: &mut Writer,
    caller: &Caller,
    row: &RecordRow,
    out: &mut Vec<u8>,
) -> Result<(), StoreError> {
    if writer.format == Format::Ndjson && !caller.masks_pii() {
        // Nothing to mask or flatten: the line is built around the stored document.
        envelope::push_record_json(out, row)?;
        out.push(b'\n');
        return Ok(());
    }
    let v = respond::body(caller, &envelope::record_json(row)?)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    out.extend_from_slice(writer.line(&v).as_bytes());
    Ok(())
}

/// Pages read ahead of the one being written: the database reads the next
/// page while this one is formatted and sent.
const READ_AHEAD: usize = 1;

/// A page of an export as read from the database.
enum Page {
    Workers(Vec<workers::WorkerDetail>),
    Records(Vec<RecordRow>),
}

/// Reads the page of `record_type` after `after`; returns it with its last key.
fn read_page(
    c: &mut DbConn,
    record_type: RecordType,
    after: Option<&str>,
) -> Result<(Page, Option<String>), StoreError> {
    if record_type == RecordType::Worker {
        // People are not stored as documents: their summaries are exported.
        let page = workers::list_workers(c, &WorkerFilter::default(), after, CHUNK)?;
        let last = page.last().map(|w| w.worker.id.clone());
        return Ok((Page::Workers(page), last));
    }
    let rows = records::list_records(
        c,
        record_type.as_str(),
        &RecordFilter::default(),
        after,
        CHUNK,
    )?;
    let last = rows.last().map(|r| r.record_key.clone());
    Ok((Page::Records(rows), last))
}

/// The lines of one page, and how many records they hold.
fn format_page(
    writer: &mut Writer,
    caller: &Caller,
    page: Page,
) -> Result<(Vec<u8>, u64), StoreError> {
    let mut chunk = Vec::new();
    let mut count = 0;
    match page {
        Page::Workers(page) => {
            for w in page {
                let v = respond::body(caller, &WorkerSummary::of(w))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                chunk.extend_from_slice(writer.line(&v).as_bytes());
                count += 1;
            }
        }
        Page::Records(rows) => {
            // Each line is its document and about 300 bytes of envelope.
            chunk.reserve(rows.iter().map(|r| r.doc.len() + 300).sum());
            for row in &rows {
                export_line(writer, caller, row, &mut chunk)?;
                count += 1;
            }
        }
    }
    Ok((chunk, count))
}

/// Streams every item of `record_type` into `tx`, a chunk per page, and
/// returns how many were sent (`None` when the client went away).
///
/// Reading and writing overlap: this thread reads the pages (it holds the
/// snapshot's connection) and a second one formats and sends them, so the
/// database works on the next page while the last one is written out.
/// At most `READ_AHEAD` pages wait between the two: memory stays constant.
fn stream_items(
    c: &mut DbConn,
    record_type: RecordType,
    caller: &Caller,
    writer: &mut Writer,
    tx: &tokio::sync::mpsc::Sender<Result<web::Bytes, std::io::Error>>,
) -> Result<Option<u64>, StoreError> {
    let (pages, inbox) = std::sync::mpsc::sync_channel::<Page>(READ_AHEAD);
    std::thread::scope(|s| {
        let sender = s.spawn(move || -> Result<Option<u64>, StoreError> {
            let mut count: u64 = 0;
            for page in inbox {
                let (chunk, n) = format_page(writer, caller, page)?;
                count += n;
                // In pieces: the HTTP writer then reuses a small buffer (see `pieces`).
                let mut rest = web::Bytes::from(chunk);
                while let Some(piece) = crate::pieces::next_piece(&mut rest) {
                    if tx.blocking_send(Ok(piece)).is_err() {
                        return Ok(None);
                    }
                }
            }
            Ok(Some(count))
        });
        let mut after: Option<String> = None;
        let read = loop {
            let (page, last) = match read_page(c, record_type, after.as_deref()) {
                Ok(p) => p,
                Err(e) => break Err(e),
            };
            let Some(last) = last else {
                break Ok(());
            };
            after = Some(last);
            // The sender stopped (the client went away, or a line failed): stop reading.
            if pages.send(page).is_err() {
                break Ok(());
            }
        };
        drop(pages);
        let sent = sender
            .join()
            .map_err(|_| StoreError::Corrupt("the export's writer stopped".into()))?;
        read?;
        sent
    })
}

/// Export every record of a type (streamed).
///
/// The response header `X-Sinergi-Change-Cursor` is the change-feed position
/// this export is consistent with: follow `/api/v1/changes?after=` from it
/// and you get every later change, with no gap and no duplicate. NDJSON ends
/// with a line `{"export_complete": true, "count": N, "change_cursor": ...}`;
/// an export without it was cut short and should be retried. `workers`
/// exports each person's identity summary.
#[utoipa::path(
    tag = "sync",
    params(ExportPath, ExportQuery,
           PurposeWhenPersonal),
    responses(
        (status = 200, description = "NDJSON (one record a line, then the completion line) or CSV (a header line, then one record a line)",
            content((String = "application/x-ndjson", example = json!("{\"id\":\"…\",\"version\":3,\"data\":{…}}\n{\"export_complete\":true,\"count\":1,\"change_cursor\":\"…\"}\n")),
                    (String = "text/csv")),
            headers(("X-Sinergi-Change-Cursor" = String, description = "The change-feed position this export is consistent with"))),
        (status = 400, description = "Unknown type or format, or no X-Purpose for personal data", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Purpose not registered for your client", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/export/{type}")]
pub async fn export_records(
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q: ExportQuery = parse_query(&req)?;
    let record_type = RecordType::from_name(&path)
        .ok_or_else(|| ApiError::field("type", "invalid_type", "unknown record type"))?;
    caller.allow(Request::new(Channel::Export, &[record_type]))?;
    let format = match q.format.as_deref().unwrap_or("ndjson") {
        "ndjson" => Format::Ndjson,
        "csv" => Format::Csv,
        _ => {
            return Err(ApiError::field(
                "format",
                "invalid_format",
                "format must be ndjson or csv",
            ))
        }
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, std::io::Error>>(4);
    let (head_tx, head_rx) = tokio::sync::oneshot::channel::<Result<i64, ApiError>>();
    let mut conn = state.db.checked_conn()?;
    let stream_state = state.clone();
    let stream_caller = caller.clone();
    // A dedicated thread holds the snapshot while the client reads; the bounded
    // channel keeps memory constant whatever the number of rows.
    std::thread::spawn(move || {
        let mut head_tx = Some(head_tx);
        let result = sinergi_db::sequencer::feed_snapshot(&mut conn, |c| {
            let (head, _) = changes::head(c)?;
            if let Some(h) = head_tx.take() {
                let _ = h.send(Ok(head));
            }
            let mut writer = Writer {
                format,
                header: None,
            };
            let sent = stream_items(c, record_type, &stream_caller, &mut writer, &tx)?;
            if let (Some(count), Format::Ndjson) = (sent, format) {
                let end = serde_json::json!({"export_complete": true, "count": count, "change_cursor": feed_cursor(&stream_state, head)});
                let _ = tx.blocking_send(Ok(web::Bytes::from(format!("{end}\n"))));
            }
            Ok(())
        });
        if let Err(e) = result {
            tracing::error!(error = %e, "export stopped");
            if matches!(e, StoreError::Unavailable(_)) {
                // The database went away: the pool must not hand this connection out again.
                sinergi_db::conn::discard_connection();
                drop(conn);
            }
            match head_tx.take() {
                Some(h) => {
                    let _ = h.send(Err(ApiError::from(e)));
                }
                None => {
                    let _ = tx.blocking_send(Err(std::io::Error::other("export stopped")));
                }
            }
        }
    });
    let head = head_rx
        .await
        .map_err(|_| ApiError::Internal("export thread ended early".into()))??;
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let content_type = match format {
        Format::Ndjson => "application/x-ndjson",
        Format::Csv => "text/csv; charset=utf-8",
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header(("X-Sinergi-Change-Cursor", feed_cursor(&state, head)))
        .streaming(stream))
}
