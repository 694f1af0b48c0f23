//! `GET /api/v1/changes`: every committed change exactly once, in commit order.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use actix_web::http::header::ContentType;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sinergi_db::changes::{self, ChangeRow};
use utoipa::{IntoParams, ToSchema};

use sinergi_domain::access::{Channel, Request};
use sinergi_domain::RecordType;

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{
    next_cursor, page_request, parse_query, CursorKey, PageCursors, PurposeWhenPersonal,
};
use crate::records::respond;
use crate::state::AppState;

/// One committed change.
#[derive(Debug, Serialize, ToSchema)]
pub struct Change {
    /// Resume after this change by passing it as `after`.
    pub cursor: String,
    /// Record type (`employer`, `residence_permit`, `worker`, ...).
    #[serde(rename = "type")]
    pub type_: String,
    /// Record key (natural key or Sinergi id).
    pub key: String,
    /// The writing agency's own id of the record (`source_ref`), when it
    /// gave one: how it finds its work sites, assignments and presence
    /// reports in the feed, deletes included.
    pub source_ref: Option<String>,
    /// `upsert` or `delete` (a tombstone: `record` is null). For type
    /// `worker` also `merged` (the worker `key` was confirmed to be another:
    /// `record` is `{"worker_id", "merged_into", "link_id"}`, re-key what you
    /// hold under `key` to `merged_into`) and `unmerged` (that merge undone).
    #[schema(schema_with = crate::contract::change_op)]
    pub op: String,
    /// Version after the change.
    pub version: i64,
    /// Agency that made the change.
    pub agency: String,
    /// When the change took its place in the feed; never decreases in feed order (resume from `cursor`, not from this time).
    pub changed_at: DateTime<Utc>,
    /// The record after the change, as the item endpoint shows it; null for
    /// a delete; for `merged` / `unmerged` the two worker ids and the link.
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub record: Option<Box<RawValue>>,
}

/// A page of the change feed.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"changes": [{"cursor": "c1.412.Xk2v", "type": "presence_report",
    "key": "6b0f3d9e-0c55-4a8e-b0de-2f4f1b7c9a10", "source_ref": "PR-2026-0412", "op": "delete",
    "version": 2, "agency": "KEC-TENGGARONG", "changed_at": "2026-12-01T02:14:07Z", "record": null}],
    "next_cursor": "c1.412.Xk2v", "has_more": false}))]
pub struct ChangePage {
    /// Changes in commit order.
    pub changes: Vec<Change>,
    /// Pass as `after` next time (also when no change came).
    pub next_cursor: String,
    /// More changes are waiting: ask again at once.
    pub has_more: bool,
}

/// Parameters of the change feed.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangeQuery {
    /// The `next_cursor` (or a change's `cursor`) you have processed; omit to start from the oldest retained change.
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<String>,
    /// Comma-separated record types, e.g. `residence_permit,assignment` (and `finding`).
    pub types: Option<String>,
    /// Seconds to wait for a change when there is none yet (0 to 60; default 0).
    #[param(value_type = Option<i64>, minimum = 0, maximum = 60, default = 0)]
    pub wait: Option<String>,
}

/// Cursors of the feed name a position, not a client: any client of the
/// agency's sync job may resume from them.
pub fn feed_key(state: &AppState) -> CursorKey {
    CursorKey::new(state.cursor_secret.clone(), "")
}

/// The cursor for position `seq`.
pub fn feed_cursor(state: &AppState, seq: i64) -> String {
    next_cursor(&feed_key(state), "changes", &seq.to_string())
}

/// The stored record of a change as `caller` may see it: the stored text as
/// it is, or with personal identifiers masked.
fn record_text<'a>(caller: &Caller, payload: &'a str) -> Result<Cow<'a, str>, ApiError> {
    let stored = |e: serde_json::Error| ApiError::Internal(format!("stored change: {e}"));
    if caller.masks_pii() {
        let v: serde_json::Value = serde_json::from_str(payload).map_err(stored)?;
        return Ok(Cow::Owned(
            serde_json::to_string(&respond::body(caller, &v)?).map_err(stored)?,
        ));
    }
    // Written by Sinergi as a JSON object; a row that is not one is damage.
    if !(payload.starts_with('{') && payload.ends_with('}')) {
        return Err(ApiError::Internal(
            "stored change is not a JSON object".into(),
        ));
    }
    Ok(Cow::Borrowed(payload))
}

/// Appends `v` as JSON to `out`.
fn push_json<V: Serialize + ?Sized>(out: &mut Vec<u8>, v: &V) -> Result<(), ApiError> {
    serde_json::to_writer(&mut *out, v).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Appends one change as [`Change`] serialises it, with `record` (JSON text)
/// copied in as it is: a page is written around the stored payloads without
/// parsing or re-checking them.
fn push_change(
    out: &mut Vec<u8>,
    cursors: &PageCursors,
    row: &ChangeRow,
    record: Option<&str>,
) -> Result<(), ApiError> {
    out.extend_from_slice(b"{\"cursor\":\"");
    cursors.push_cursor(out, row.seq);
    out.push(b'"');
    out.extend_from_slice(b",\"type\":");
    push_json(out, &row.record_type)?;
    out.extend_from_slice(b",\"key\":");
    push_json(out, &row.record_key)?;
    out.extend_from_slice(b",\"source_ref\":");
    push_json(out, &row.source_ref)?;
    out.extend_from_slice(b",\"op\":");
    push_json(out, &row.op)?;
    out.extend_from_slice(b",\"version\":");
    push_json(out, &row.version)?;
    out.extend_from_slice(b",\"agency\":");
    push_json(out, &row.agency_code)?;
    out.extend_from_slice(b",\"changed_at\":");
    sinergi_db::stamp::push_utc(out, row.changed_at);
    out.extend_from_slice(b",\"record\":");
    out.extend_from_slice(record.unwrap_or("null").as_bytes());
    out.push(b'}');
    Ok(())
}

/// The JSON text of a [`ChangePage`] of `rows`, each stored payload given as
/// `record` makes it (for a caller: [`record_text`]).
fn page_body(
    cursors: &PageCursors,
    rows: &[ChangeRow],
    next_cursor: &str,
    has_more: bool,
    record: &dyn Fn(&str) -> Result<Cow<'_, str>, ApiError>,
) -> Result<Vec<u8>, ApiError> {
    let payloads: usize = rows
        .iter()
        .map(|r| r.payload.as_ref().map_or(0, String::len))
        .sum();
    let mut out = Vec::with_capacity(payloads + rows.len() * 400 + 256);
    out.extend_from_slice(b"{\"changes\":[");
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let record = row.payload.as_deref().map(record).transpose()?;
        push_change(&mut out, cursors, row, record.as_deref())?;
    }
    out.extend_from_slice(b"],\"next_cursor\":");
    push_json(&mut out, next_cursor)?;
    out.extend_from_slice(if has_more {
        b",\"has_more\":true}"
    } else {
        b",\"has_more\":false}"
    });
    Ok(out)
}

/// Follow every committed change, in commit order, exactly once.
///
/// Start without `after` (or after a bulk export, with the cursor it
/// returned), process the changes, then call again with `next_cursor`. A
/// transaction that took its place early and committed late is never
/// skipped: positions become visible strictly in order. Deletions come as
/// tombstones (`op: delete`). With `wait` the call returns as soon as a change
/// arrives. A cursor older than the retention horizon gets 410: export again
/// (`/api/v1/export/{type}`) and follow from the export's cursor.
#[utoipa::path(
    tag = "sync",
    params(ChangeQuery, PurposeWhenPersonal),
    responses(
        (status = 200, description = "Changes after the cursor", body = ChangePage),
        (status = 400, description = "Invalid cursor, limit, types or wait, or no X-Purpose", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Purpose not registered for your client", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Cursor older than the retention horizon; resync from an export", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/changes")]
pub async fn list_changes(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q: ChangeQuery = parse_query(&req)?;
    let page = page_request(
        &feed_key(&state),
        "changes",
        q.limit.as_deref(),
        q.after.as_deref(),
    )
    .map_err(|_| {
        ApiError::field(
            "after",
            "invalid_cursor",
            "after is not a cursor of this feed; start without it",
        )
    })?;
    let after: i64 = match &page.after {
        None => 0,
        Some(s) => s.parse().map_err(|_| {
            ApiError::field(
                "after",
                "invalid_cursor",
                "after is not a cursor of this feed",
            )
        })?,
    };
    let mut types = Vec::new();
    let mut record_types = Vec::new();
    for t in q
        .types
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        match RecordType::from_name(t) {
            Some(rt) => {
                types.push(rt.as_str().to_string());
                record_types.push(rt);
            }
            None if t == "finding" || t == "findings" => types.push("finding".into()),
            None => {
                return Err(ApiError::field(
                    "types",
                    "invalid_type",
                    format!("unknown record type {t}"),
                ))
            }
        }
    }
    // Findings name workers: a feed that includes them is personal like one of every type.
    if types.iter().any(|t| t == "finding") {
        record_types.clear();
    }
    caller.allow(Request::new(Channel::Feed, &record_types))?;
    let wait = match q.wait.as_deref() {
        None => 0,
        Some(w) => w
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= 60)
            .ok_or_else(|| {
                ApiError::field(
                    "wait",
                    "invalid_wait",
                    "wait must be a whole number of seconds from 0 to 60",
                )
            })?,
    };
    let deadline = Instant::now() + Duration::from_secs(wait);
    loop {
        let db = state.db.clone();
        let types = types.clone();
        let limit = page.limit;
        let (rows, (head, pruned)) = web::block(move || {
            db.read(|c| {
                let head = changes::head(c)?;
                Ok((
                    changes::list_after_as_sequenced(c, after, &types, limit + 1)?,
                    head,
                ))
            })
        })
        .await??;
        if after > 0 && after < pruned {
            return Err(ApiError::Gone(
                "cursor_expired",
                "this cursor is older than the retained changes; export the record types you follow \
                 (GET /api/v1/export/{type}) and continue from the cursor the export returns"
                    .into(),
            ));
        }
        if after > head {
            return Err(ApiError::field(
                "after",
                "invalid_cursor",
                "after is ahead of the feed",
            ));
        }
        let has_more = rows.len() as i64 > page.limit;
        let rows: Vec<ChangeRow> = rows.into_iter().take(page.limit as usize).collect();
        if rows.is_empty() && Instant::now() < deadline {
            // Woken by a local commit, or polling for commits of other instances.
            let left = deadline
                .saturating_duration_since(Instant::now())
                .min(Duration::from_secs(1));
            let _ = tokio::time::timeout(left, state.changes_notify.notified()).await;
            continue;
        }
        let last = rows.last().map(|r| r.seq).unwrap_or(after);
        caller.audit.count(rows.len());
        // One signature for the page's cursors (see `PageCursors`).
        let first = rows.first().map(|r| r.seq).unwrap_or(after);
        let cursors = PageCursors::new(&feed_key(&state), "changes", first, last);
        let body = page_body(
            &cursors,
            &rows,
            &feed_cursor(&state, last),
            has_more,
            &|p| record_text(&caller, p),
        )?;
        return Ok(HttpResponse::Ok()
            .content_type(ContentType::json())
            .body(crate::pieces::Pieces::new(body)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        seq: i64,
        key: &str,
        source_ref: Option<&str>,
        payload: Option<&str>,
        micros: u32,
    ) -> ChangeRow {
        ChangeRow {
            seq,
            record_type: "residence_permit".into(),
            record_key: key.into(),
            op: if payload.is_some() {
                "upsert"
            } else {
                "delete"
            }
            .into(),
            version: seq * 3,
            agency_code: "IMI-SMD".into(),
            worker_id: Some("w-1".into()),
            payload: payload.map(String::from),
            changed_at: chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
                .and_then(|d| d.and_hms_micro_opt(2, 14, 7, micros))
                .expect("valid time"),
            source_ref: source_ref.map(String::from),
        }
    }

    /// The change as the documented type holds it.
    fn documented(cursor: &str, r: &ChangeRow) -> Change {
        Change {
            cursor: cursor.to_string(),
            type_: r.record_type.clone(),
            key: r.record_key.clone(),
            source_ref: r.source_ref.clone(),
            op: r.op.clone(),
            version: r.version,
            agency: r.agency_code.clone(),
            changed_at: r.changed_at.and_utc(),
            record: r
                .payload
                .clone()
                .map(|p| RawValue::from_string(p).expect("JSON")),
        }
    }

    /// The hand-written change is byte for byte what the documented
    /// `Change` serialises to, escapes, nulls and fractions of seconds included.
    #[test]
    fn a_written_change_is_the_documented_change() {
        let rows = [
            row(
                1,
                "ITAS-\"1\"\\\n",
                Some("S-\u{e9}"),
                Some(r#"{"a":"\u00e9","b":[1,{"c":null}]}"#),
                0,
            ),
            row(2, "k2", None, None, 123_000),
            row(3, "k3", Some("S-3"), Some("{}"), 123_456),
        ];
        let key = CursorKey::new(std::sync::Arc::new([7; 32]), "");
        let cursors = PageCursors::new(&key, "changes", 1, 3);
        for r in &rows {
            let mut written = Vec::new();
            push_change(&mut written, &cursors, r, r.payload.as_deref()).expect("written");
            let expected =
                serde_json::to_string(&documented(&cursors.cursor(r.seq), r)).expect("serialised");
            assert_eq!(String::from_utf8(written).expect("UTF-8"), expected);
        }
    }

    /// A whole page, framing included, is what the documented `ChangePage`
    /// serialises to.
    #[test]
    fn a_page_is_one_json_document() {
        let rows = [
            row(7, "a", None, Some(r#"{"x":1}"#), 0),
            row(8, "b", None, None, 0),
        ];
        let key = CursorKey::new(std::sync::Arc::new([7; 32]), "");
        let cursors = PageCursors::new(&key, "changes", 7, 8);
        let out = page_body(&cursors, &rows, "next\"c", true, &|p| Ok(Cow::Borrowed(p)))
            .expect("written");
        let page: serde_json::Value = serde_json::from_slice(&out).expect("one JSON document");
        assert_eq!(page["changes"][0]["record"]["x"], 1);
        assert!(page["changes"][1]["record"].is_null());
        let documented = ChangePage {
            changes: rows
                .iter()
                .map(|r| documented(&cursors.cursor(r.seq), r))
                .collect(),
            next_cursor: "next\"c".into(),
            has_more: true,
        };
        let expected = serde_json::to_string(&documented).expect("serialised");
        assert_eq!(String::from_utf8(out).expect("UTF-8"), expected);
    }
}
