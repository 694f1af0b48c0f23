//! Keyset pagination, written once: read one item more than the page, keep
//! the page, and sign a cursor after its last item when there is more.

use actix_web::web;
use sinergi_db::{DbConn, StoreError};

use crate::error::ApiError;
use crate::extract::{next_cursor, CursorKey, PageRequest};
use crate::state::AppState;

/// Reads the page `page` of `collection` with `read(after, limit)`; returns
/// the items and the cursor of the next page (`key_of` names an item's position).
pub async fn read_page<T, R, K>(
    state: &AppState,
    cursor_key: &CursorKey,
    collection: &str,
    page: PageRequest,
    read: R,
    key_of: K,
) -> Result<(Vec<T>, Option<String>), ApiError>
where
    T: Send + 'static,
    R: Fn(&mut DbConn, Option<&str>, i64) -> Result<Vec<T>, StoreError> + Send + 'static,
    K: Fn(&T) -> String,
{
    let db = state.db.clone();
    let after = page.after.clone();
    let limit = page.limit;
    let mut rows = web::block(move || db.read(|c| read(c, after.as_deref(), limit + 1))).await??;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|r| next_cursor(cursor_key, collection, &key_of(r)))
    } else {
        None
    };
    Ok((rows, next))
}
