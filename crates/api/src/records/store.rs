//! The API's side of storing and reading records: everything transactional
//! happens in the persistence crate's write path.

use actix_web::web;
use sinergi_db::records::{self, IfMatch, RecordFilter, RecordRow};
use sinergi_db::store::{self as write_path, Stored, Write};
use sinergi_domain::access::{Channel, Request};
use sinergi_domain::records::AnyRecord;
use sinergi_domain::RecordType;

use super::paging::read_page;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::PageRequest;
use crate::state::AppState;

/// Refuses at once a write the caller's kind or scopes can never make
/// (where the record lies is checked again when it is stored).
pub fn may_write(caller: &Caller, t: RecordType) -> Result<(), ApiError> {
    caller.allow(Request::new(Channel::Write, &[t])).map(|_| ())
}

/// Stores one validated record for `caller` in its own transaction.
pub async fn store(
    state: &AppState,
    caller: &Caller,
    record: AnyRecord,
    if_match: Option<IfMatch>,
) -> Result<Stored, ApiError> {
    let db = state.db.clone();
    let prov = caller.provenance("write");
    let write = Write { record, if_match };
    let stored = web::block(move || write_path::store_one(&db, &prov, &write)).await??;
    caller.audit.subject(stored.row.worker_id.as_deref());
    caller.audit.mark_audited();
    state.changes_notify.notify_waiters();
    Ok(stored)
}

/// Withdraws a record the caller's agency created.
pub async fn withdraw(
    state: &AppState,
    caller: &Caller,
    t: RecordType,
    key: String,
    if_match: Option<IfMatch>,
) -> Result<(), ApiError> {
    let db = state.db.clone();
    let prov = caller.provenance("delete");
    let row = web::block(move || write_path::withdraw(&db, &prov, t, &key, if_match)).await??;
    caller.audit.subject(row.worker_id.as_deref());
    caller.audit.mark_audited();
    state.changes_notify.notify_waiters();
    Ok(())
}

/// Reads one record for `caller` (the access policy asked first); the audit
/// event names the person it concerns, also when the read is refused.
pub async fn load(
    state: &AppState,
    caller: &Caller,
    t: RecordType,
    key: String,
) -> Result<RecordRow, ApiError> {
    let db = state.db.clone();
    let row = web::block(move || db.read(|c| records::get_record(c, t.as_str(), &key))).await??;
    caller
        .audit
        .subject(row.as_ref().and_then(|r| r.worker_id.as_deref()));
    caller.allow(Request::new(Channel::ReadItem, &[t]))?;
    row.ok_or_else(|| ApiError::NotFound(format!("no {t} with this key")))
}

/// Reads one page of records of `t` for `caller` (the access policy asked first).
pub async fn list(
    state: &AppState,
    caller: &Caller,
    t: RecordType,
    filter: RecordFilter,
    page: PageRequest,
) -> Result<(Vec<RecordRow>, Option<String>), ApiError> {
    read_page(
        state,
        &state.cursor_key(caller),
        t.as_str(),
        page,
        move |c, after, limit| records::list_records(c, t.as_str(), &filter, after, limit),
        |r: &RecordRow| r.record_key.clone(),
    )
    .await
}
