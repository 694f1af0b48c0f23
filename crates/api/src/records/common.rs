//! What every record handler shares: validation collection, provenance,
//! storing with ownership checks, responses with ETags, pagination.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sinergi_db::changes::NewChange;
use sinergi_db::lookups::Lookups;
use sinergi_db::records::{self, IfMatch, RecordFilter, RecordRow, RecordWrite, WriteOutcome};
use sinergi_db::{DbConn, StoreError};
use sinergi_domain::FieldError;
use utoipa::ToSchema;

use crate::accountability::AuditHandle;
use crate::auth::Caller;
use crate::error::{ApiError, FieldProblem};
use crate::extract::{etag, next_cursor, PageRequest};
use crate::findings::engine::Pending;
use crate::state::AppState;

/// Collects every field problem of a request before answering.
#[derive(Debug, Default)]
pub struct Checker {
    problems: Vec<FieldProblem>,
}

impl Checker {
    /// Keeps the value, or records the problem under `field`.
    pub fn check<T>(&mut self, field: &str, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.problems
                    .push(FieldProblem::new(field, e.code, e.message));
                None
            }
        }
    }

    /// Records a problem directly.
    pub fn fail(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.problems.push(FieldProblem::new(field, code, message));
    }

    /// Parses an optional value.
    pub fn check_opt<T>(
        &mut self,
        field: &str,
        v: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, FieldError>,
    ) -> Option<Option<T>> {
        match v {
            None => Some(None),
            Some(s) => self.check(field, parse(s)).map(Some),
        }
    }

    /// Requires text of bounded length (trimmed).
    pub fn text(&mut self, field: &str, v: &str, max: usize) -> Option<String> {
        let t = v.trim();
        if t.is_empty() {
            self.fail(field, "required", format!("{field} must not be empty"));
            None
        } else if t.chars().count() > max {
            self.fail(
                field,
                "too_long",
                format!("{field} must be at most {max} characters"),
            );
            None
        } else if t.chars().any(char::is_control) {
            self.fail(
                field,
                "invalid_characters",
                format!("{field} must not contain control characters"),
            );
            None
        } else {
            Some(t.to_string())
        }
    }

    /// Optional bounded text.
    pub fn opt_text(&mut self, field: &str, v: Option<&str>, max: usize) -> Option<Option<String>> {
        match v.map(str::trim).filter(|s| !s.is_empty()) {
            None => Some(None),
            Some(s) => self.text(field, s, max).map(Some),
        }
    }

    /// 400 with every problem found, or Ok.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.problems))
        }
    }
}

/// Unwraps the values a `Checker` passed once `finish` returned Ok.
pub fn passed<T>(v: Option<T>) -> Result<T, ApiError> {
    v.ok_or_else(|| ApiError::Internal("validated value missing".into()))
}

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

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    /// The items, in a stable order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The stored document of a row.
pub fn doc<D: DeserializeOwned>(row: &RecordRow) -> Result<D, ApiError> {
    serde_json::from_str(&row.doc).map_err(|e| ApiError::Internal(format!("stored document: {e}")))
}

/// Canonical JSON of a document.
pub fn to_doc<D: Serialize>(d: &D) -> Result<String, ApiError> {
    serde_json::to_string(d).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Checks a write makes against stored data, inside its transaction.
pub type ReferenceCheck = Box<dyn Fn(&mut DbConn) -> Result<(), StoreError> + Send>;

/// A validated write, ready to run inside a transaction.
pub struct Prepared {
    /// The record write.
    pub write: RecordWrite,
    check: Option<ReferenceCheck>,
}

impl Prepared {
    /// A write and the reference checks to run first, in the same transaction.
    pub fn new(
        write: RecordWrite,
        check: impl Fn(&mut DbConn) -> Result<(), StoreError> + Send + 'static,
    ) -> Prepared {
        Prepared {
            write,
            check: Some(Box::new(check)),
        }
    }

    /// A write that refers to no other stored record.
    pub fn unchecked(write: RecordWrite) -> Prepared {
        Prepared { write, check: None }
    }
}

/// The record as the change feed and exports carry it: the document with its
/// Sinergi id, the worker it names, and provenance.
pub fn record_json(row: &RecordRow) -> Result<serde_json::Value, ApiError> {
    let mut value: serde_json::Value = doc(row)?;
    let obj = value
        .as_object_mut()
        .ok_or_else(|| ApiError::Internal("stored document is not an object".into()))?;
    let mut out = serde_json::Map::new();
    out.insert("id".into(), row.record_key.clone().into());
    out.append(obj);
    out.insert("worker_id".into(), row.worker_id.clone().into());
    out.insert(
        "meta".into(),
        serde_json::to_value(Meta::of(row)).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    Ok(serde_json::Value::Object(out))
}

/// `record_json` as JSON text, assembled around the stored document without
/// parsing it (the hot path of exports). Falls back to `record_json` when
/// the document might hold a key the envelope adds.
pub fn record_json_text(row: &RecordRow) -> Result<String, ApiError> {
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
        return record_json(row).map(|v| v.to_string());
    };
    let text = |e: serde_json::Error| ApiError::Internal(e.to_string());
    let mut out = String::with_capacity(row.doc.len() + 256);
    out.push_str("{\"id\":");
    out.push_str(&serde_json::to_string(&row.record_key).map_err(text)?);
    if !inner.is_empty() {
        out.push(',');
        out.push_str(inner);
    }
    out.push_str(",\"worker_id\":");
    out.push_str(&serde_json::to_string(&row.worker_id).map_err(text)?);
    out.push_str(",\"meta\":");
    out.push_str(&serde_json::to_string(&Meta::of(row)).map_err(text)?);
    out.push('}');
    Ok(out)
}

/// Runs a prepared write in the current transaction: reference checks, the
/// upsert, its audit event and, when something changed, its change-feed entry
/// (both queued in `pending` until the transaction's end). `lookups` holds
/// what was read ahead for a batch (empty for a single write).
pub fn apply(
    c: &mut DbConn,
    p: &Prepared,
    audit: &AuditHandle,
    action: &str,
    pending: &mut Pending,
    lookups: &mut Lookups,
) -> Result<(WriteOutcome, RecordRow), StoreError> {
    if let Some(check) = &p.check {
        // The check reads stored records: those this batch still holds back go in first.
        lookups.write_deferred(c)?;
        check(c)?;
    }
    let previous = records::find_target(c, &p.write, lookups)?;
    let (outcome, row) = records::upsert_found(c, &p.write, previous.clone(), lookups)?;
    audit.subject(row.worker_id.as_deref());
    let status = if outcome == WriteOutcome::Created {
        201
    } else {
        200
    };
    pending
        .journal
        .audit(audit.entry(action, &row.record_type, Some(&row.record_key), status));
    if outcome != WriteOutcome::Unchanged {
        let payload = record_json(&row).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        pending.journal.change(NewChange {
            record_type: row.record_type.clone(),
            record_key: row.record_key.clone(),
            op: "upsert",
            version: row.version,
            agency_code: row.agency_code.clone(),
            worker_id: row.worker_id.clone(),
            payload: Some(payload.to_string()),
            changed_at: row.updated_at,
        });
        // Findings follow in the same transaction (flushed before it commits):
        // a write is never left without them.
        pending.note(&row);
        // The worker or employer the record named before may have lost a cause or gained one.
        if let Some(prev) =
            previous.filter(|p| p.worker_id != row.worker_id || p.employer_nib != row.employer_nib)
        {
            pending.note(&prev);
        }
    }
    Ok((outcome, row))
}

/// Withdraws a record its agency created: deleted, audited, and announced in
/// the change feed as a tombstone (version one past the last).
pub async fn withdraw(
    state: &AppState,
    caller: &Caller,
    record_type: &'static str,
    key: String,
    precondition: Option<IfMatch>,
) -> Result<(), ApiError> {
    let db = state.db.clone();
    let audit = caller.audit.clone();
    let agency = caller.agency_code.clone();
    web::block(move || {
        db.write(|c| {
            let current = records::get_record(c, record_type, &key)?.ok_or(StoreError::NotFound)?;
            if current.agency_code != agency {
                return Err(StoreError::OwnedByOtherAgency);
            }
            match precondition {
                Some(IfMatch::Version(v)) if v != current.version => {
                    return Err(StoreError::PreconditionFailed {
                        current: Some(current.version),
                    })
                }
                _ => {}
            }
            let row = records::delete_record(c, record_type, &key)?.ok_or(StoreError::Retry)?;
            audit.subject(row.worker_id.as_deref());
            let mut pending = Pending::default();
            pending
                .journal
                .audit(audit.entry("delete", record_type, Some(&key), 204));
            pending.journal.change(NewChange {
                record_type: record_type.to_string(),
                record_key: key.clone(),
                op: "delete",
                version: row.version + 1,
                agency_code: agency.clone(),
                worker_id: row.worker_id.clone(),
                payload: None,
                changed_at: chrono::Utc::now().naive_utc(),
            });
            pending.note(&row);
            pending.flush(c)
        })
    })
    .await??;
    caller.audit.mark_audited();
    state.changes_notify.notify_waiters();
    Ok(())
}

/// Stores one prepared write in its own transaction.
pub async fn store(
    state: &AppState,
    caller: &Caller,
    prepared: Prepared,
) -> Result<(WriteOutcome, RecordRow), ApiError> {
    let db = state.db.clone();
    let audit = caller.audit.clone();
    let result = web::block(move || {
        db.write(|c| {
            let mut pending = Pending::default();
            let result = apply(
                c,
                &prepared,
                &audit,
                "write",
                &mut pending,
                &mut Lookups::default(),
            )?;
            pending.flush(c)?;
            Ok(result)
        })
    })
    .await??;
    caller.audit.mark_audited();
    state.changes_notify.notify_waiters();
    Ok(result)
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
    Ok(resp.json(body(caller, &view)?))
}

/// The response to reading one record; the audit event names the person concerned.
pub fn item<V: Serialize>(
    caller: &Caller,
    row: &RecordRow,
    view: V,
) -> Result<HttpResponse, ApiError> {
    caller.audit.subject(row.worker_id.as_deref());
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(row.version)))
        .json(body(caller, &view)?))
}

/// The response to a list; the audit event counts the items.
pub fn page<V: Serialize + ToSchema>(
    caller: &Caller,
    page: Page<V>,
) -> Result<HttpResponse, ApiError> {
    caller.audit.count(page.items.len());
    Ok(HttpResponse::Ok().json(body(caller, &page)?))
}

/// Reads one record or 404.
pub async fn load(
    state: &AppState,
    record_type: &'static str,
    key: String,
) -> Result<RecordRow, ApiError> {
    let db = state.db.clone();
    web::block(move || db.read(|c| records::get_record(c, record_type, &key)))
        .await??
        .ok_or_else(|| ApiError::NotFound(format!("no {record_type} with this key")))
}

/// Reads one page of records and the cursor for the next.
pub async fn list_page(
    state: &AppState,
    caller: &Caller,
    record_type: &'static str,
    filter: RecordFilter,
    page: PageRequest,
) -> Result<(Vec<RecordRow>, Option<String>), ApiError> {
    let db = state.db.clone();
    let after = page.after.clone();
    let mut rows = web::block(move || {
        db.read(|c| {
            records::list_records(c, record_type, &filter, after.as_deref(), page.limit + 1)
        })
    })
    .await??;
    let next = if rows.len() as i64 > page.limit {
        rows.truncate(page.limit as usize);
        rows.last()
            .map(|r| next_cursor(&state.cursor_key(caller), record_type, &r.record_key))
    } else {
        None
    };
    Ok((rows, next))
}

/// Maps rows to views.
pub fn views<V>(
    rows: &[RecordRow],
    f: impl Fn(&RecordRow) -> Result<V, ApiError>,
) -> Result<Vec<V>, ApiError> {
    rows.iter().map(f).collect()
}

/// Parses an optional `YYYY-MM-DD` query value.
pub fn date_param(ck: &mut Checker, field: &str, v: Option<&str>) -> Option<Option<NaiveDate>> {
    ck.check_opt(field, v, |s| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
            sinergi_domain::FieldError::new(
                "invalid_date",
                format!("{field} must be a real date YYYY-MM-DD"),
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let r = row(doc);
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
