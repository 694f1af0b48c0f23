//! The published form of a stored record: its document with Sinergi's id,
//! the worker it names and its provenance. The change feed stores it as each
//! change's payload; exports and the API's item views send the same shape.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::StoreError;
use crate::records::RecordRow;

/// Who stored a record, and when.
#[derive(Debug, Serialize, ToSchema)]
pub struct Meta {
    /// Agency that wrote the current version.
    #[schema(example = "KEMNAKER")]
    pub agency: String,
    /// Client that wrote it.
    pub client_id: String,
    /// The agency's own id for the record.
    pub source_ref: Option<String>,
    /// Starts at 1, +1 on each change; the ETag is this number in quotes.
    #[schema(example = 1)]
    pub version: i64,
    /// When first stored.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
}

impl Meta {
    /// Provenance of a stored row.
    pub fn of(row: &RecordRow) -> Meta {
        Meta {
            agency: row.agency_code.clone(),
            client_id: row.client_id.clone(),
            source_ref: row.source_ref.clone(),
            version: row.version,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// The envelope of a row as a JSON value.
pub fn record_json(row: &RecordRow) -> Result<serde_json::Value, StoreError> {
    let mut value: serde_json::Value = serde_json::from_str(&row.doc).map_err(corrupt)?;
    let obj = value
        .as_object_mut()
        .ok_or_else(|| corrupt("stored document is not an object"))?;
    let mut out = serde_json::Map::new();
    out.insert("id".into(), row.record_key.clone().into());
    out.append(obj);
    out.insert("worker_id".into(), row.worker_id.clone().into());
    out.insert(
        "meta".into(),
        serde_json::to_value(Meta::of(row)).map_err(corrupt)?,
    );
    Ok(serde_json::Value::Object(out))
}

/// [`record_json`] as text, assembled around the stored document without
/// parsing it (the hot path of exports and the feed). Falls back to
/// `record_json` when the document might hold a key the envelope adds.
pub fn record_json_text(row: &RecordRow) -> Result<String, StoreError> {
    let mut out = Vec::with_capacity(row.doc.len() + 256);
    push_record_json(&mut out, row)?;
    String::from_utf8(out).map_err(corrupt)
}

/// Appends the text [`record_json_text`] gives to `out`: the stored document
/// copied in as it is, between Sinergi's id and the worker and provenance
/// (a page of many records is written into one buffer this way).
pub fn push_record_json(out: &mut Vec<u8>, row: &RecordRow) -> Result<(), StoreError> {
    let inner = row
        .doc
        .strip_prefix('{')
        .and_then(|d| d.strip_suffix('}'))
        .filter(|d| {
            !["\"id\":", "\"worker_id\":", "\"meta\":"]
                .iter()
                .any(|k| d.contains(k))
        });
    let Some(inner) = inner else {
        return serde_json::to_writer(out, &record_json(row)?).map_err(corrupt);
    };
    out.extend_from_slice(b"{\"id\":");
    serde_json::to_writer(&mut *out, &row.record_key).map_err(corrupt)?;
    if !inner.is_empty() {
        out.push(b',');
        out.extend_from_slice(inner.as_bytes());
    }
    out.extend_from_slice(b",\"worker_id\":");
    serde_json::to_writer(&mut *out, &row.worker_id).map_err(corrupt)?;
    // `Meta` as serde writes it, without copying the row's text into one.
    out.extend_from_slice(b",\"meta\":{\"agency\":");
    serde_json::to_writer(&mut *out, &row.agency_code).map_err(corrupt)?;
    out.extend_from_slice(b",\"client_id\":");
    serde_json::to_writer(&mut *out, &row.client_id).map_err(corrupt)?;
    out.extend_from_slice(b",\"source_ref\":");
    serde_json::to_writer(&mut *out, &row.source_ref).map_err(corrupt)?;
    out.extend_from_slice(b",\"version\":");
    serde_json::to_writer(&mut *out, &row.version).map_err(corrupt)?;
    out.extend_from_slice(b",\"created_at\":");
    crate::stamp::push_utc(out, row.created_at);
    out.extend_from_slice(b",\"updated_at\":");
    crate::stamp::push_utc(out, row.updated_at);
    out.extend_from_slice(b"}}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;

    fn row(doc: &str) -> RecordRow {
        let t = chrono::NaiveDate::from_ymd_opt(2030, 1, 2)
            .and_then(|d| d.and_hms_micro_opt(3, 4, 5, 6))
            .expect("valid time");
        RecordRow {
            record_type: "residence_permit".into(),
            record_key: "ITAS-\"1\"".into(),
            agency_code: "IMI".into(),
            client_id: "c1".into(),
            source_ref: Some("S-1".into()),
            worker_id: Some("w-1".into()),
            employer_nib: None,
            region_code: None,
            status: None,
            kind: None,
            nationality: None,
            ref_key: None,
            valid_from: None,
            valid_until: None,
            doc: doc.into(),
            version: 3,
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn record_text_is_the_record_json() {
        for doc in [
            r#"{"permit_no":"ITAS-1","worker":{"passport_no":"E1","full_name":"A \"B\""},"kind":"ITAS","positions":[1,2]}"#,
            r#"{}"#,
            r#"{"id":"inside","x":1}"#,
            r#"{"worker":{"meta":{"k":1}}}"#,
        ] {
            // Also without a source_ref, on a whole second, by a client whose id needs escaping.
            let mut plain = row(doc);
            plain.source_ref = None;
            plain.client_id = "c\"1\\".into();
            plain.updated_at = plain.updated_at.with_nanosecond(0).expect("a time");
            for r in [row(doc), plain] {
                let fast: serde_json::Value =
                    serde_json::from_str(&record_json_text(&r).expect("text")).expect("valid JSON");
                let slow = record_json(&r).expect("value");
                assert_eq!(fast, slow, "{doc}");
                assert_eq!(
                    record_json_text(&r).expect("text"),
                    slow.to_string(),
                    "same key order: {doc}"
                );
            }
        }
    }
}
