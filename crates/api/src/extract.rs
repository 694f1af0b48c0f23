//! Request parsing shared by the handlers: JSON bodies with per-field errors,
//! query strings, `If-Match`, pagination cursors and ETags.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use sinergi_db::records::IfMatch;

pub use crate::cursor::CursorKey;
use crate::error::{ApiError, FieldProblem};

/// `X-Purpose` and `X-Case-Ref`: why personal data is read. Declared on
/// every operation that reads personal data, and on no other.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct PurposeHeaders {
    /// Why you read this personal data (must be registered for your client);
    /// missing is 400, not registered is 403.
    #[serde(rename = "X-Purpose")]
    pub purpose: sinergi_domain::Purpose,
    /// Your case or letter reference (1-64 characters A-Z, 0-9, space, - _ . /),
    /// kept in the audit log.
    #[serde(rename = "X-Case-Ref")]
    pub case_ref: Option<String>,
}

/// `X-Purpose` and `X-Case-Ref` where the answer holds personal data only
/// for some record types (the change feed, exports, subscriptions).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct PurposeWhenPersonal {
    /// Why you read this personal data (must be registered for your client):
    /// required when the answer includes workers, residence permits,
    /// assignments, presence reports or findings.
    #[serde(rename = "X-Purpose")]
    pub purpose: Option<sinergi_domain::Purpose>,
    /// Your case or letter reference, kept in the audit log.
    #[serde(rename = "X-Case-Ref")]
    pub case_ref: Option<String>,
}

/// Default page size of list endpoints.
pub const DEFAULT_LIMIT: i64 = 100;
/// Largest page size of list endpoints.
pub const MAX_LIMIT: i64 = 1000;

/// The largest JSON body a request may send (bytes), registered with the app.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON request body that names the offending field when it does not parse.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// `path.leaf`, or `leaf` at the top (serde_path_to_error shows the top as `.`).
pub(crate) fn join_path(path: &str, leaf: &str) -> String {
    if path.is_empty() || path == "." {
        leaf.to_string()
    } else {
        format!("{path}.{leaf}")
    }
}

fn backticked(msg: &str) -> Option<&str> {
    let start = msg.find('`')? + 1;
    let end = start + msg[start..].find('`')?;
    Some(&msg[start..end])
}

/// Turns a body parse failure into a 400 that names the field; when fields
/// are missing, every missing field of `value` (the body as JSON) that the
/// document's schema of `T` requires is named, not only the first.
pub fn body_error_of<T: utoipa::ToSchema>(
    err: serde_path_to_error::Error<serde_json::Error>,
    value: Option<&serde_json::Value>,
) -> ApiError {
    if err.inner().to_string().starts_with("missing field") {
        if let Some(value) = value {
            let missing = crate::contract::missing_fields(&T::name(), value);
            if !missing.is_empty() {
                return ApiError::Validation(
                    missing
                        .into_iter()
                        .map(|field| {
                            let leaf = field.rsplit('.').next().unwrap_or(&field).to_owned();
                            FieldProblem::new(
                                field,
                                "missing_field",
                                format!("missing field `{leaf}`"),
                            )
                        })
                        .collect(),
                );
            }
        }
    }
    body_error(err)
}

/// Turns a body parse failure into a 400 that names the field.
pub fn body_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    let msg = strip_position(&inner.to_string());
    match inner.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            ApiError::BadRequest(
                "malformed_json",
                format!("the body is not valid JSON: {msg}"),
            )
        }
        serde_json::error::Category::Io => ApiError::BadRequest("malformed_json", msg),
        serde_json::error::Category::Data => {
            // chrono's words for a date that does not parse name no field and no fix.
            const DATE_ERRORS: [&str; 5] = [
                "input is out of range",
                "input contains invalid characters",
                "premature end of input",
                "trailing input",
                "input is not enough",
            ];
            if DATE_ERRORS.iter().any(|d| msg.starts_with(d)) {
                let name = if path.is_empty() || path == "." {
                    "the date"
                } else {
                    path.as_str()
                };
                return ApiError::Validation(vec![FieldProblem::new(
                    path.clone(),
                    "invalid_date",
                    format!("{name} must be a real calendar date YYYY-MM-DD (got: {msg})"),
                )]);
            }
            let (field, code) = if msg.starts_with("unknown field") {
                (path, "unknown_field")
            } else if msg.starts_with("missing field") {
                (
                    join_path(&path, backticked(&msg).unwrap_or("?")),
                    "missing_field",
                )
            } else if msg.starts_with("invalid type") {
                (path, "invalid_type")
            } else {
                (path, "invalid_value")
            };
            ApiError::Validation(vec![FieldProblem::new(
                if field == "." { String::new() } else { field },
                code,
                msg,
            )])
        }
    }
}

/// Parses a JSON document, naming the offending fields on failure.
pub fn parse_json<T: DeserializeOwned + utoipa::ToSchema>(bytes: &[u8]) -> Result<T, ApiError> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(ApiError::BadRequest(
            "invalid_utf8",
            "the body must be UTF-8 encoded JSON".into(),
        ));
    }
    if crate::limits::too_deep(bytes, crate::limits::MAX_JSON_DEPTH) {
        return Err(ApiError::BadRequest(
            "json_too_deep",
            format!(
                "the body nests deeper than {} levels",
                crate::limits::MAX_JSON_DEPTH
            ),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let whole = serde_json::from_slice::<serde_json::Value>(bytes).ok();
        body_error_of::<T>(e, whole.as_ref())
    })?;
    de.end().map_err(|e| {
        ApiError::BadRequest(
            "malformed_json",
            format!(
                "trailing characters after the JSON document: {}",
                strip_position(&e.to_string())
            ),
        )
    })?;
    Ok(value)
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let mime = v
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

impl<T: DeserializeOwned + utoipa::ToSchema + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let limit = req
            .app_data::<web::Data<BodyLimit>>()
            .map(|l| l.0)
            .unwrap_or(4 * 1024 * 1024);
        let mut payload = payload.take();
        Box::pin(async move {
            if !json {
                return Err(ApiError::UnsupportedMediaType(
                    "send the body as Content-Type: application/json".into(),
                ));
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| {
                    ApiError::BadRequest(
                        "incomplete_body",
                        "the request body could not be read".into(),
                    )
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge(format!(
                        "the body exceeds {limit} bytes; split the data into smaller requests"
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(JsonBody)
        })
    }
}

/// Parses a query string into `T`; duplicates and type errors become a 400.
pub fn parse_query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    let qs = req.query_string();
    // A repeated parameter is ambiguous: refuse rather than pick one.
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(qs).map_err(|_| {
        ApiError::BadRequest(
            "invalid_query",
            "the query string is not valid URL encoding".into(),
        )
    })?;
    let mut seen = std::collections::HashSet::new();
    for (k, _) in &pairs {
        if !seen.insert(k.as_str()) {
            return Err(ApiError::field(
                k.clone(),
                "duplicate_parameter",
                format!("query parameter {k} is given more than once"),
            ));
        }
    }
    serde_urlencoded::from_str(qs).map_err(|e| {
        let msg = e.to_string();
        let field = backticked(&msg).unwrap_or("").to_string();
        let code = if msg.starts_with("unknown field") {
            "unknown_parameter"
        } else {
            "invalid_parameter"
        };
        ApiError::field(field, code, msg)
    })
}

/// The strong ETag of a record version.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// Reads the `If-Match` header: `*` or one strong ETag.
pub fn if_match(req: &HttpRequest) -> Result<Option<IfMatch>, ApiError> {
    let Some(v) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::field(
            "If-Match",
            "invalid_if_match",
            "If-Match must be * or the ETag of the record, e.g. \"3\"",
        )
    };
    let s = v.to_str().map_err(|_| bad())?.trim();
    if s == "*" {
        return Ok(Some(IfMatch::Any));
    }
    let inner = s
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .ok_or_else(bad)?;
    // "0" is well-formed: no record is ever at version 0, so it answers 412.
    inner
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .map(|n| Some(IfMatch::Version(n)))
        .ok_or_else(bad)
}

/// A validated page request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// Key to continue after.
    pub after: Option<String>,
    /// Page size.
    pub limit: i64,
}

/// Parses `limit` and `cursor`. A cursor is signed: it is only valid for the
/// collection and the client that received it, and cannot be edited.
pub fn page_request(
    key: &CursorKey,
    collection: &str,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<PageRequest, ApiError> {
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::field(
                    "limit",
                    "invalid_limit",
                    format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
                )
            })?,
    };
    let after = match cursor {
        None => None,
        Some(c) => {
            let bad = || {
                ApiError::field(
                    "cursor",
                    "invalid_cursor",
                    "cursor is not one this list returned to you; start again without a cursor",
                )
            };
            let (payload, tag) = c.trim().split_once('.').ok_or_else(bad)?;
            let raw = URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad())?;
            let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| bad())?;
            let text = String::from_utf8(raw).map_err(|_| bad())?;
            Some(position(key, collection, &text, &tag).ok_or_else(bad)?)
        }
    };
    Ok(PageRequest { after, limit })
}

/// The position in `collection` that a cursor's signed text names: either
/// `collection\nkey`, signed on its own ([`next_cursor`]), or
/// `collection\nposition\nfirst-last`, whose signature covers its page's range
/// ([`PageCursors`]) and whose position must lie within that range.
fn position(key: &CursorKey, collection: &str, text: &str, tag: &[u8]) -> Option<String> {
    let mut parts = text.splitn(3, '\n');
    let (coll, at) = (parts.next()?, parts.next()?);
    if coll != collection || at.is_empty() {
        return None;
    }
    let signed = match parts.next() {
        None => key.verify(text, tag),
        Some(range) => {
            let (first, last) = range.split_once('-')?;
            let (n, first, last) = (
                at.parse::<i64>().ok()?,
                first.parse::<i64>().ok()?,
                last.parse::<i64>().ok()?,
            );
            first <= n && n <= last && key.verify(&page_text(coll, first, last), tag)
        }
    };
    signed.then(|| at.to_string())
}

/// The text a page's signature covers: its collection and range.
fn page_text(collection: &str, first: i64, last: i64) -> String {
    format!("{collection}\n\n{first}-{last}")
}

/// The cursors of one page of a numbered collection (the change feed), signed
/// once for the page rather than once per item: the signature covers the
/// page's first and last position, and each item's cursor carries its own
/// position beside that range. A cursor is accepted for a position within
/// the range it carries; nobody can widen the range without the key.
pub struct PageCursors {
    collection: String,
    range: String,
    tag: String,
}

impl PageCursors {
    /// The signer of a page whose items lie at positions `first..=last`.
    pub fn new(key: &CursorKey, collection: &str, first: i64, last: i64) -> PageCursors {
        PageCursors {
            tag: URL_SAFE_NO_PAD.encode(key.tag(&page_text(collection, first, last))),
            collection: collection.to_string(),
            range: format!("{first}-{last}"),
        }
    }

    /// The cursor that continues the collection after position `at`.
    pub fn cursor(&self, at: i64) -> String {
        let mut out = Vec::new();
        self.push_cursor(&mut out, at);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Appends [`cursor`](Self::cursor) to `out` (a page writes many of them).
    /// Its characters are URL-safe base64 and a dot: inside a JSON string
    /// they need no escaping.
    pub fn push_cursor(&self, out: &mut Vec<u8>, at: i64) {
        use std::io::Write as _;
        // Written on the stack: a page writes a thousand of these.
        let mut buf = [0u8; 128];
        let mut w = std::io::Cursor::new(&mut buf[..]);
        let text: std::borrow::Cow<'_, [u8]> =
            match write!(w, "{}\n{at}\n{}", self.collection, self.range) {
                Ok(()) => {
                    let n = w.position() as usize;
                    std::borrow::Cow::Borrowed(&buf[..n])
                }
                Err(_) => format!("{}\n{at}\n{}", self.collection, self.range)
                    .into_bytes()
                    .into(),
            };
        let start = out.len();
        out.resize(
            start + base64::encoded_len(text.len(), false).unwrap_or(0),
            0,
        );
        let written = URL_SAFE_NO_PAD
            .encode_slice(&text, &mut out[start..])
            .unwrap_or(0);
        out.truncate(start + written);
        out.push(b'.');
        out.extend_from_slice(self.tag.as_bytes());
    }
}

/// The signed, opaque cursor that continues `collection` after `key`.
pub fn next_cursor(cursor_key: &CursorKey, collection: &str, key: &str) -> String {
    let text = format!("{collection}\n{key}");
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&text),
        URL_SAFE_NO_PAD.encode(cursor_key.tag(&text))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_cursor_resumes_at_its_own_position_only() {
        let key = CursorKey::new(std::sync::Arc::new([3; 32]), "");
        let cursors = PageCursors::new(&key, "changes", 1_001, 2_000);
        for at in [1_001, 1_500, 2_000] {
            let cursor = cursors.cursor(at);
            let mut pushed = b"[".to_vec();
            cursors.push_cursor(&mut pushed, at);
            assert_eq!(&pushed[1..], cursor.as_bytes());
            assert!(cursor
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c)));
            let page = page_request(&key, "changes", None, Some(&cursor)).expect("accepted");
            assert_eq!(page.after.as_deref(), Some(at.to_string().as_str()));
        }
        // Another collection's cursor, or one signed with another key, is refused.
        assert!(page_request(&key, "workers", None, Some(&cursors.cursor(1_500))).is_err());
        let other = CursorKey::new(std::sync::Arc::new([4; 32]), "");
        let forged = PageCursors::new(&other, "changes", 1, 9_999).cursor(1_500);
        assert!(page_request(&key, "changes", None, Some(&forged)).is_err());
    }
}
