//! Answers: JSON bodies with personal identifiers masked where the caller
//! may not see them, ETags, and the audit facts an answer carries.

use actix_web::http::header;
use actix_web::HttpResponse;
use serde::Serialize;
use sinergi_db::records::{RecordRow, WriteOutcome};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::etag;

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    /// The items, in a stable order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A JSON body for `caller`: personal identifiers are masked when its role
/// may not see them (data minimisation).
pub fn body<V: Serialize>(caller: &Caller, v: &V) -> Result<serde_json::Value, ApiError> {
    let mut value = serde_json::to_value(v).map_err(|e| ApiError::Internal(e.to_string()))?;
    if caller.masks_pii() {
        mask_identifiers(&mut value);
    }
    Ok(value)
}

/// The JSON text of an answer for `caller`: written straight through when
/// nothing is to be masked (stored JSON passes as it is), else masked.
pub fn body_text<V: Serialize>(caller: &Caller, v: &V) -> Result<String, ApiError> {
    let text = if caller.masks_pii() {
        serde_json::to_string(&body(caller, v)?)
    } else {
        serde_json::to_string(v)
    };
    text.map_err(|e| ApiError::Internal(e.to_string()))
}

/// Keeps the last three characters of an identifier.
pub fn mask(s: &str) -> String {
    let n = s.chars().count();
    s.chars()
        .enumerate()
        .map(|(i, c)| if i + 3 < n { '*' } else { c })
        .collect()
}

fn mask_identifiers(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                match (k.as_str(), &mut *x) {
                    ("passport_no" | "nik", Value::String(s)) => *s = mask(s),
                    ("passports", Value::Array(items)) => {
                        for item in items {
                            if let Some(Value::String(s)) = item.get_mut("number") {
                                *s = mask(s);
                            }
                        }
                    }
                    _ => mask_identifiers(x),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_identifiers),
        _ => {}
    }
}

/// The response to a write: 201 with Location for a new record, else 200.
pub fn written<V: Serialize>(
    caller: &Caller,
    outcome: WriteOutcome,
    row: &RecordRow,
    location: String,
    view: V,
) -> Result<HttpResponse, ApiError> {
    let mut resp = match outcome {
        WriteOutcome::Created => HttpResponse::Created(),
        _ => HttpResponse::Ok(),
    };
    resp.insert_header((header::ETAG, etag(row.version)));
    if outcome == WriteOutcome::Created {
        resp.insert_header((header::LOCATION, location));
    }
    Ok(resp
        .content_type("application/json")
        .body(body_text(caller, &view)?))
}

/// The response to reading one record.
pub fn item<V: Serialize>(
    caller: &Caller,
    version: i64,
    view: V,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(version)))
        .content_type("application/json")
        .body(body_text(caller, &view)?))
}

/// The response to a list; the audit event counts the items.
pub fn page<V: Serialize + ToSchema>(
    caller: &Caller,
    page: Page<V>,
) -> Result<HttpResponse, ApiError> {
    caller.audit.count(page.items.len());
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body_text(caller, &page)?))
}

/// A page of stored records passed through as stored JSON (documented as
/// `Page` of the type's view).
#[derive(Debug, Serialize)]
pub struct RawPage {
    /// The items, in a stable order.
    pub items: Vec<Box<serde_json::value::RawValue>>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The response to a list of stored records; the audit event counts the items.
pub fn raw_page(caller: &Caller, page: RawPage) -> Result<HttpResponse, ApiError> {
    caller.audit.count(page.items.len());
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body_text(caller, &page)?))
}

/// The response to a page of stored records: a [`RawPage`] of their
/// published forms. Unless something is to be masked, it is written straight
/// around the stored documents ([`record_page_text`]).
pub fn record_page(
    caller: &Caller,
    rows: &[RecordRow],
    next_cursor: Option<String>,
) -> Result<HttpResponse, ApiError> {
    if caller.masks_pii() {
        let items = crate::records::view::raws(rows)?;
        return raw_page(caller, RawPage { items, next_cursor });
    }
    caller.audit.count(rows.len());
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(record_page_text(rows, next_cursor.as_deref())?))
}

/// The text serde writes for the [`RawPage`] of `rows`, written into one
/// buffer without building and checking each item's text on its own.
pub fn record_page_text(
    rows: &[RecordRow],
    next_cursor: Option<&str>,
) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::with_capacity(rows.iter().map(|r| r.doc.len() + 300).sum::<usize>() + 256);
    out.extend_from_slice(b"{\"items\":[");
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        sinergi_db::envelope::push_record_json(&mut out, row)?;
    }
    out.extend_from_slice(b"],\"next_cursor\":");
    serde_json::to_writer(&mut out, &next_cursor).map_err(|e| ApiError::Internal(e.to_string()))?;
    out.push(b'}');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn row(key: &str, doc: serde_json::Value, source_ref: Option<&str>) -> RecordRow {
        let mut r = crate::records::view::tests::row("residence_permit", doc, Some("w-1"));
        r.record_key = key.into();
        r.source_ref = source_ref.map(String::from);
        r
    }

    /// The page written around the stored documents is, byte for byte, the
    /// `RawPage` of the items' published forms.
    #[test]
    fn a_written_page_is_the_raw_page() {
        let rows = [
            row(
                "ITAS-\"1\"",
                json!({"permit_no": "ITAS-\"1\"", "worker": {"full_name": "\u{c9} B"}}),
                Some("S-1"),
            ),
            row("ITAS-2", json!({}), None),
            // A document holding a key the envelope adds takes the slow path.
            row("ITAS-3", json!({"meta": {"x": 1}, "n": [1, 2]}), None),
        ];
        for next in [Some("c.\"x"), None] {
            for rows in [&rows[..], &rows[..1], &[]] {
                let written = record_page_text(rows, next).expect("written");
                let raw = RawPage {
                    items: crate::records::view::raws(rows).expect("published"),
                    next_cursor: next.map(String::from),
                };
                let expected = serde_json::to_string(&raw).expect("serialised");
                assert_eq!(String::from_utf8(written).expect("UTF-8"), expected);
            }
        }
    }
}
