//! The record store: every agency record as a normalised JSON document plus
//! the columns it is found by, with provenance and a version.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::AsSelect;
use diesel::expression::{AppearsOnTable, ValidGrouping};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Text};

use sinergi_domain::records::{AnyRecord, Record};
use sinergi_domain::RecordType;

use crate::conn::{DbBackend, DbConn};
use crate::error::StoreError;
use crate::kept::{Keep, Kept, Param};
use crate::lookups::Lookups;
use crate::schema::records;
use crate::workers::{resolve_person, PersonRef};

/// A stored record as read back.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable, PartialEq)]
#[diesel(table_name = records)]
pub struct RecordRow {
    /// Record type code (`employer`, `residence_permit`, ...).
    pub record_type: String,
    /// Natural key, or a generated id for records keyed by `source_ref`.
    pub record_key: String,
    /// Agency that wrote the current version.
    pub agency_code: String,
    /// Client that wrote the current version.
    pub client_id: String,
    /// The agency's own id for the record.
    pub source_ref: Option<String>,
    /// The person the record names, if any.
    pub worker_id: Option<String>,
    /// Employer NIB the record refers to.
    pub employer_nib: Option<String>,
    /// Kemendagri region code the record is located in.
    pub region_code: Option<String>,
    /// Status code.
    pub status: Option<String>,
    /// Kind code (permit kind, site kind, approval type, ...).
    pub kind: Option<String>,
    /// Nationality of the person named.
    pub nationality: Option<String>,
    /// A key of another record this one hangs from (approval number, work site ref).
    pub ref_key: Option<String>,
    /// First day the record is valid (or the observation date).
    #[diesel(deserialize_as = crate::stamp::Day)]
    pub valid_from: Option<NaiveDate>,
    /// Last day the record is valid (or the observation date).
    #[diesel(deserialize_as = crate::stamp::Day)]
    pub valid_until: Option<NaiveDate>,
    /// The normalised document (JSON).
    pub doc: String,
    /// Starts at 1, +1 on each change.
    pub version: i64,
    /// When the record was first stored.
    #[diesel(deserialize_as = crate::stamp::Stamp)]
    pub created_at: NaiveDateTime,
    /// When the record last changed.
    #[diesel(deserialize_as = crate::stamp::Stamp)]
    pub updated_at: NaiveDateTime,
}

impl RecordRow {
    /// The row's record type.
    pub fn typed_type(&self) -> Result<RecordType, StoreError> {
        RecordType::parse(&self.record_type)
            .map_err(|_| StoreError::Corrupt(format!("unknown record type {}", self.record_type)))
    }

    /// The stored document as its typed record.
    pub fn typed(&self) -> Result<AnyRecord, StoreError> {
        AnyRecord::from_json(self.typed_type()?, &self.doc).map_err(|e| {
            StoreError::Corrupt(format!(
                "{} {} cannot be read back: {e}",
                self.record_type, self.record_key
            ))
        })
    }

    /// The stored document as a record of type `T`.
    pub fn typed_as<T: Record>(&self) -> Result<T, StoreError> {
        serde_json::from_str(&self.doc).map_err(|e| {
            StoreError::Corrupt(format!(
                "{} {} cannot be read back: {e}",
                self.record_type, self.record_key
            ))
        })
    }
}

/// Columns a record is searched by, from its typed document.
pub use sinergi_domain::records::Index as RecordIndex;

/// An `If-Match` precondition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: the record must exist.
    Any,
    /// The record must be at this version.
    Version(i64),
}

pub use sinergi_domain::Ownership;

/// One write of a record.
#[derive(Debug, Clone)]
pub struct RecordWrite {
    /// Record type code.
    pub record_type: &'static str,
    /// Natural key; `None` for records keyed by the agency's `source_ref`.
    pub natural_key: Option<String>,
    /// The agency's own id.
    pub source_ref: Option<String>,
    /// Writing agency.
    pub agency_code: String,
    /// Writing client.
    pub client_id: String,
    /// The person named, resolved to a worker in the same transaction.
    pub person: Option<PersonRef>,
    /// Search columns.
    pub index: RecordIndex,
    /// The normalised document (canonical JSON).
    pub doc: String,
    /// Optional precondition.
    pub if_match: Option<IfMatch>,
    /// Who may update an existing record.
    pub ownership: Ownership,
    /// The time of the write.
    pub now: NaiveDateTime,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// A new record.
    Created,
    /// A new version of an existing record.
    Updated,
    /// Identical to the stored version: nothing changed.
    Unchanged,
}

/// Finds the record a write targets (its current version, if any).
pub fn find_target(
    conn: &mut DbConn,
    w: &RecordWrite,
    lookups: &mut Lookups,
) -> Result<Option<RecordRow>, StoreError> {
    if let Some(found) = lookups.target(w) {
        return Ok(found);
    }
    lookups.write_deferred(conn)?;
    let q = records::table
        .filter(records::record_type.eq(w.record_type))
        .select(RecordRow::as_select());
    Ok(match (&w.natural_key, &w.source_ref) {
        (Some(key), _) => q
            .filter(records::record_key.eq(key))
            .first(conn)
            .optional()?,
        (None, Some(sref)) => q
            .filter(records::agency_code.eq(&w.agency_code))
            .filter(records::source_ref.eq(sref))
            .first(conn)
            .optional()?,
        (None, None) => None,
    })
}

/// Refuses a write whose `If-Match` does not hold, or that changes a record
/// another agency created when only the creator may.
fn check_preconditions(w: &RecordWrite, existing: Option<&RecordRow>) -> Result<(), StoreError> {
    match (w.if_match, existing) {
        (Some(IfMatch::Version(v)), Some(row)) if row.version != v => {
            return Err(StoreError::PreconditionFailed {
                current: Some(row.version),
            })
        }
        (Some(_), None) => return Err(StoreError::PreconditionFailed { current: None }),
        _ => {}
    }
    match existing {
        Some(row) if row.agency_code != w.agency_code && w.ownership == Ownership::CreatorOnly => {
            Err(StoreError::OwnedByOtherAgency)
        }
        _ => Ok(()),
    }
}

/// The agency's own id must name one record only.
fn check_source_ref(
    conn: &mut DbConn,
    w: &RecordWrite,
    lookups: &mut Lookups,
) -> Result<(), StoreError> {
    let (Some(key), Some(sref)) = (&w.natural_key, &w.source_ref) else {
        return Ok(());
    };
    let clash: Option<String> = match lookups.source_ref(w.record_type, &w.agency_code, sref) {
        Some(found) => found.map(|r| r.record_key).filter(|k| k != key),
        None => {
            lookups.write_deferred(conn)?;
            records::table
                .filter(records::record_type.eq(w.record_type))
                .filter(records::agency_code.eq(&w.agency_code))
                .filter(records::source_ref.eq(sref))
                .filter(records::record_key.ne(key))
                .select(records::record_key)
                .first(conn)
                .optional()?
        }
    };
    match clash {
        Some(other) => Err(StoreError::Reference {
            field: "source_ref".into(),
            code: "source_ref_in_use",
            message: format!("source_ref is already used by your agency for {other}"),
        }),
        None => Ok(()),
    }
}

/// The row a write stores under `record_key` (new at version 1, or the next
/// version of `old`), with the worker the record names.
fn next_row(
    w: &RecordWrite,
    record_key: String,
    worker_id: Option<String>,
    old: Option<&RecordRow>,
) -> RecordRow {
    RecordRow {
        record_type: w.record_type.to_string(),
        record_key,
        agency_code: w.agency_code.clone(),
        client_id: w.client_id.clone(),
        source_ref: w
            .source_ref
            .clone()
            .or_else(|| old.and_then(|o| o.source_ref.clone())),
        worker_id,
        employer_nib: w.index.employer_nib.clone(),
        region_code: w.index.region_code.clone(),
        status: w.index.status.clone(),
        kind: w.index.kind.clone(),
        nationality: w.person.as_ref().map(|p| p.nationality.clone()),
        ref_key: w.index.ref_key.clone(),
        valid_from: w.index.valid_from,
        valid_until: w.index.valid_until,
        doc: w.doc.clone(),
        version: old.map_or(1, |o| o.version + 1),
        created_at: old.map_or(w.now, |o| o.created_at),
        updated_at: w.now,
    }
}

/// Replaces `old` with `row` if `old` is still the stored version.
fn update_row(conn: &mut DbConn, old: &RecordRow, row: &RecordRow) -> Result<(), StoreError> {
    let update = diesel::update(
        records::table
            .filter(records::record_type.eq(&old.record_type))
            .filter(records::record_key.eq(&old.record_key))
            .filter(records::version.eq(old.version)),
    )
    .set((
        records::agency_code.eq(&row.agency_code),
        records::client_id.eq(&row.client_id),
        records::source_ref.eq(&row.source_ref),
        records::worker_id.eq(&row.worker_id),
        records::employer_nib.eq(&row.employer_nib),
        records::region_code.eq(&row.region_code),
        records::status.eq(&row.status),
        records::kind.eq(&row.kind),
        records::nationality.eq(&row.nationality),
        records::ref_key.eq(&row.ref_key),
        records::valid_from.eq(row.valid_from),
        records::valid_until.eq(row.valid_until),
        records::doc.eq(&row.doc),
        records::version.eq(row.version),
        records::updated_at.eq(row.updated_at),
    ));
    let n = Keep(update.returning(records::version)).changed::<i64>(conn)?;
    if n == 0 {
        return Err(StoreError::Retry);
    }
    Ok(())
}

/// Creates or updates one record whose current version (`find_target`)
/// the caller has just read in the same transaction.
pub fn upsert_found(
    conn: &mut DbConn,
    w: &RecordWrite,
    existing: Option<RecordRow>,
    lookups: &mut Lookups,
) -> Result<(WriteOutcome, RecordRow), StoreError> {
    check_preconditions(w, existing.as_ref())?;
    if let Some(row) = existing.as_ref().filter(|row| row.doc == w.doc) {
        return Ok((WriteOutcome::Unchanged, row.clone()));
    }
    check_source_ref(conn, w, lookups)?;
    let record_key = match (&existing, &w.natural_key) {
        (Some(row), _) => row.record_key.clone(),
        (None, Some(key)) => key.clone(),
        (None, None) => uuid::Uuid::new_v4().to_string(),
    };
    let worker_id = match &w.person {
        Some(p) => Some(resolve_person(
            conn,
            p,
            &w.agency_code,
            &w.client_id,
            w.record_type,
            &record_key,
            w.now,
            lookups,
        )?),
        None => None,
    };
    let row = next_row(w, record_key, worker_id, existing.as_ref());
    match existing {
        None => {
            lookups.insert_record(conn, &row)?;
            Ok((WriteOutcome::Created, row))
        }
        Some(old) => {
            // The row may be one this transaction still holds back.
            lookups.write_deferred(conn)?;
            update_row(conn, &old, &row)?;
            lookups.forget_record(&row, Some(&old));
            Ok((WriteOutcome::Updated, row))
        }
    }
}

/// Reads one record by type and key.
pub fn get_record(
    conn: &mut DbConn,
    record_type: &str,
    key: &str,
) -> Result<Option<RecordRow>, StoreError> {
    Ok(records::table
        .filter(records::record_type.eq(record_type))
        .filter(records::record_key.eq(key))
        .select(RecordRow::as_select())
        .first(conn)
        .optional()?)
}

/// Filters for listing records of one type.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    /// Employer NIB.
    pub employer_nib: Option<String>,
    /// Kemendagri region prefix (segment-aware).
    pub region_prefix: Option<String>,
    /// Status code.
    pub status: Option<String>,
    /// Kind code.
    pub kind: Option<String>,
    /// Nationality (alpha-3).
    pub nationality: Option<String>,
    /// Worker id.
    pub worker_id: Option<String>,
    /// Parent record key.
    pub ref_key: Option<String>,
    /// Writing agency.
    pub agency_code: Option<String>,
    /// Valid (or observed) on this date.
    pub valid_on: Option<NaiveDate>,
    /// Observed or valid from this date on.
    pub from: Option<NaiveDate>,
    /// Observed or valid up to this date.
    pub until: Option<NaiveDate>,
}

/// One page of records of a type, in key order, after `after_key`.
pub fn list_records(
    conn: &mut DbConn,
    record_type: &str,
    filter: &RecordFilter,
    after_key: Option<&str>,
    limit: i64,
) -> Result<Vec<RecordRow>, StoreError> {
    let Some(p) = &filter.region_prefix else {
        let q = filtered(record_type, filter, after_key).order(records::record_key.asc());
        return Ok(q.select(RecordRow::as_select()).limit(limit).load(conn)?);
    };
    let sqlite = matches!(conn, DbConn::Sqlite(_));
    Ok(region_page(sqlite, record_type, p, filter, after_key, limit).load(conn)?)
}

/// The statement for a page of records of a type in a region and the codes
/// below it (`RegionPage`).
///
/// A region and the codes below it are a range of the region index, not in
/// key order, so the page is one statement in two parts. The code itself (a
/// district holds thousands of records) is one value of the index: with a
/// status it is read in key order and stops after the page. The codes below
/// it are a range whose keys are sorted (usually few or none). Only their
/// keys are sorted: those rows are then read by key (sorting whole documents
/// would spill to disk). Both parts take every other filter from `filtered`.
///
/// On SQLite, where a part's keys are not in the index's order, the part is
/// kept on the region index: its cursor and its order are written so that no
/// index can serve them (`+records.record_key`). Otherwise SQLite, which
/// keeps no statistics, walks every record of the type in key order from the
/// cursor, hoping to find the page soon; where the region holds few of them
/// (a district with nothing below it, a regency with nothing at its own
/// code) that read the whole rest of the table, for every page after the
/// first. This way every page reads what the first does: the region's own
/// entries of the index.
fn region_page<'a>(
    sqlite: bool,
    record_type: &'a str,
    p: &str,
    filter: &RecordFilter,
    after_key: Option<&str>,
    limit: i64,
) -> RegionPage<'a> {
    let plain = RecordFilter {
        region_prefix: None,
        ..filter.clone()
    };
    // Codes are digits and dots compared byte by byte, and '/' follows '.'.
    let below = |after_key| {
        filtered(record_type, &plain, after_key)
            .filter(records::region_code.ge(format!("{p}.")))
            .filter(records::region_code.lt(format!("{p}/")))
    };
    if !sqlite {
        // PostgreSQL plans each part from its statistics.
        let code = filtered(record_type, &plain, after_key)
            .filter(records::region_code.eq(p.to_string()))
            .order(records::record_key.asc())
            .select(RecordRow::as_select())
            .limit(limit);
        return RegionPage {
            record_type,
            code: CodePart::Rows(code),
            below: below(after_key)
                .order(records::record_key.asc())
                .select(records::record_key)
                .limit(limit),
            limit,
            columns: RecordRow::as_select(),
        };
    }
    let code = if filter.status.is_some() {
        // (type, code, status) is a prefix of the index, which then holds
        // the keys in order: the cursor is a seek and the page stops early.
        filtered(record_type, &plain, after_key)
            .filter(records::region_code.eq(p.to_string()))
            .order(records::record_key.asc())
            .select(records::record_key)
            .limit(limit)
    } else {
        sorted_keys(
            filtered(record_type, &plain, None).filter(records::region_code.eq(p.to_string())),
            after_key,
            limit,
        )
    };
    RegionPage {
        record_type,
        code: CodePart::Keys(code),
        below: sorted_keys(below(None), after_key, limit),
        limit,
        columns: RecordRow::as_select(),
    }
}

/// On SQLite, the first `limit` keys of `q` after the cursor, sorted, with
/// neither the cursor nor the order open to an index: the keys come from
/// whichever index serves the rest of `q`'s filters (see `region_page`).
fn sorted_keys<'a>(
    q: records::BoxedQuery<'a, DbBackend>,
    after_key: Option<&str>,
    limit: i64,
) -> records::BoxedQuery<'a, DbBackend, Text> {
    let q = match after_key {
        Some(k) => q.filter(UnindexedKey.gt(k.to_string())),
        None => q,
    };
    q.order(UnindexedKey)
        .select(records::record_key)
        .limit(limit)
}

/// `+records.record_key`: a record's key as an expression that no index
/// serves, in SQLite's way of saying so. Unlike an SQL literal, its text is
/// fixed, so the statements it is part of stay prepared.
#[derive(Debug, Clone, Copy, QueryId, ValidGrouping)]
struct UnindexedKey;

impl Expression for UnindexedKey {
    type SqlType = Text;
}

impl AppearsOnTable<records::table> for UnindexedKey {}

impl QueryFragment<DbBackend> for UnindexedKey {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DbBackend>) -> QueryResult<()> {
        out.push_sql("+records.record_key");
        Ok(())
    }
}

/// The SQL type of a whole record row.
type RowSql = <AsSelect<RecordRow, DbBackend> as Expression>::SqlType;

/// The part of a region page for the region's own code.
enum CodePart<'a> {
    /// Its rows, in key order, cut to the page (PostgreSQL).
    Rows(records::BoxedQuery<'a, DbBackend, RowSql>),
    /// Its keys, in key order, cut to the page (SQLite).
    Keys(records::BoxedQuery<'a, DbBackend, Text>),
}

/// The page of a region listing as one statement: the first `limit` records
/// after the cursor of the region's own code and of the codes below it, each
/// part read from the region index and cut to the page, merged and cut again.
///
/// ```sql
/// -- PostgreSQL: the code's rows straight from the region index, in key
/// -- order; the keys below it sorted, cut, then their rows by primary key;
/// -- the two merged (each is in key order) and cut.
/// SELECT <columns> FROM (
///   (<code part: rows> ORDER BY record_key LIMIT n)
///   UNION ALL
///   (SELECT <columns> FROM (<below part: keys> ORDER BY record_key LIMIT n) AS below
///    JOIN records ON records.record_type = $t AND records.record_key = below.record_key)
/// ) AS records ORDER BY records.record_key LIMIT n
/// -- SQLite: the page's keys as a sorted list that walks the primary key in
/// -- order (with a join it may walk every record of the type instead). A
/// -- part not in the index's key order has its cursor and order written as
/// -- `+records.record_key`, which keeps it on the region index.
/// SELECT <columns> FROM records
/// WHERE records.record_type = ? AND records.record_key IN (
///   SELECT record_key FROM (<code part: keys>) AS code
///   UNION ALL SELECT record_key FROM (<below part: keys>) AS below
///   ORDER BY record_key LIMIT n)
/// ORDER BY records.record_key
/// ```
///
/// Reading the code's rows directly halves what PostgreSQL reads for a page
/// of a district (an index entry and a row per record, where the keys then a
/// look-up by key read two index entries and the row twice). Each part is a
/// sub-query of its own: SQLite allows no ORDER BY or LIMIT on a member of a
/// UNION, and PostgreSQL only in parentheses, which SQLite refuses. (Diesel's
/// own UNION is not available on a `DbConn`, and could not be used as a
/// sub-query.) Every value is a bound parameter, and the statement's shape
/// depends only on the filters given, so it is prepared once per connection.
struct RegionPage<'a> {
    record_type: &'a str,
    code: CodePart<'a>,
    below: records::BoxedQuery<'a, DbBackend, Text>,
    limit: i64,
    columns: AsSelect<RecordRow, DbBackend>,
}

impl QueryFragment<DbBackend> for RegionPage<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DbBackend>) -> QueryResult<()> {
        out.push_sql("SELECT ");
        self.columns.walk_ast(out.reborrow())?;
        match &self.code {
            CodePart::Rows(code) => {
                out.push_sql(" FROM ((");
                <_ as QueryFragment<DbBackend>>::walk_ast(code, out.reborrow())?;
                out.push_sql(") UNION ALL (SELECT ");
                self.columns.walk_ast(out.reborrow())?;
                out.push_sql(" FROM (");
                <_ as QueryFragment<DbBackend>>::walk_ast(&self.below, out.reborrow())?;
                out.push_sql(") AS below JOIN records ON records.record_type = ");
                out.push_bind_param::<Text, _>(&self.record_type)?;
                out.push_sql(" AND records.record_key = below.record_key)) AS records");
                out.push_sql(" ORDER BY records.record_key LIMIT ");
                out.push_bind_param::<BigInt, _>(&self.limit)
            }
            CodePart::Keys(code) => {
                out.push_sql(" FROM records WHERE records.record_type = ");
                out.push_bind_param::<Text, _>(&self.record_type)?;
                out.push_sql(" AND records.record_key IN (SELECT record_key FROM (");
                <_ as QueryFragment<DbBackend>>::walk_ast(code, out.reborrow())?;
                out.push_sql(") AS code UNION ALL SELECT record_key FROM (");
                <_ as QueryFragment<DbBackend>>::walk_ast(&self.below, out.reborrow())?;
                out.push_sql(") AS below ORDER BY record_key LIMIT ");
                out.push_bind_param::<BigInt, _>(&self.limit)?;
                out.push_sql(") ORDER BY records.record_key");
                Ok(())
            }
        }
    }
}

impl QueryId for RegionPage<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for RegionPage<'_> {
    type SqlType = <AsSelect<RecordRow, DbBackend> as Expression>::SqlType;
}

impl RunQueryDsl<DbConn> for RegionPage<'_> {}

/// The records of a type matching `filter` after `after_key`, as a query to
/// choose columns, order and limit for.
fn filtered<'a>(
    record_type: &'a str,
    filter: &RecordFilter,
    after_key: Option<&str>,
) -> records::BoxedQuery<'a, <DbConn as diesel::Connection>::Backend> {
    let mut q = records::table
        .filter(records::record_type.eq(record_type))
        .into_boxed();
    if let Some(v) = &filter.employer_nib {
        q = q.filter(records::employer_nib.eq(v.clone()));
    }
    if let Some(p) = &filter.region_prefix {
        // The code itself and every code below it ("64.02" → "64.02.06", not
        // "64.021"): region codes are digits and dots, compared byte by byte
        // (BINARY in SQLite, COLLATE "C" in PostgreSQL), and '/' follows '.',
        // so this is one range over the region index.
        q = q
            .filter(records::region_code.ge(p.clone()))
            .filter(records::region_code.lt(format!("{p}/")));
    }
    if let Some(v) = &filter.status {
        q = q.filter(records::status.eq(v.clone()));
    }
    if let Some(v) = &filter.kind {
        q = q.filter(records::kind.eq(v.clone()));
    }
    if let Some(v) = &filter.nationality {
        q = q.filter(records::nationality.eq(v.clone()));
    }
    if let Some(v) = &filter.worker_id {
        q = q.filter(records::worker_id.eq(v.clone()));
    }
    if let Some(v) = &filter.ref_key {
        q = q.filter(records::ref_key.eq(v.clone()));
    }
    if let Some(v) = &filter.agency_code {
        q = q.filter(records::agency_code.eq(v.clone()));
    }
    if let Some(d) = filter.valid_on {
        q = q
            .filter(records::valid_from.le(d))
            .filter(records::valid_until.ge(d));
    }
    if let Some(d) = filter.from {
        q = q.filter(records::valid_until.ge(d));
    }
    if let Some(d) = filter.until {
        q = q.filter(records::valid_from.le(d));
    }
    if let Some(k) = after_key {
        q = q.filter(records::record_key.gt(k.to_string()));
    }
    q
}

/// All records that name one worker, by type, oldest first.
pub fn records_of_worker(conn: &mut DbConn, worker_id: &str) -> Result<Vec<RecordRow>, StoreError> {
    records_of_workers(conn, &[worker_id.to_string()])
}

/// All records that name any of the workers, in the order of `records_of_worker` per worker.
pub fn records_of_workers(
    conn: &mut DbConn,
    worker_ids: &[String],
) -> Result<Vec<RecordRow>, StoreError> {
    let mut out = Vec::new();
    for chunk in worker_ids.chunks(500) {
        if let DbConn::Postgresql(pg) = conn {
            out.extend(crate::workers::pg_rows_of(
                pg,
                "records",
                "worker_id",
                chunk,
                "t.worker_id, t.record_type, t.created_at, t.record_key",
            )?);
            continue;
        }
        out.extend(
            records::table
                .filter(records::worker_id.eq_any(chunk))
                .order((
                    records::worker_id.asc(),
                    records::record_type.asc(),
                    records::created_at.asc(),
                    records::record_key.asc(),
                ))
                .select(RecordRow::as_select())
                .load::<RecordRow>(conn)?,
        );
    }
    Ok(out)
}

/// On PostgreSQL, the records of a type that `agency` pushed under any of
/// `refs` (its own ids): one probe of the (type, agency, source_ref) index
/// per reference (`workers::per_id`). As `ANY($1)`, a table without
/// statistics yet (a database being loaded) was read by type and agency
/// alone and filtered, 350 ms a chunk at 30,000 records of one agency.
pub(crate) fn pg_by_source_refs(
    pg: &mut diesel::PgConnection,
    record_type: &str,
    agency: &str,
    refs: &[String],
) -> Result<Vec<RecordRow>, StoreError> {
    let sql = crate::workers::per_id(
        "records",
        "source_ref",
        "AND x.record_type = $2 AND x.agency_code = $3",
        "",
        "t.record_key",
    );
    let params = vec![
        Param::Texts(refs),
        Param::Text(record_type),
        Param::Text(agency),
    ];
    Ok(Kept::new(sql, params).load(pg)?)
}

/// The records of one type with any of `chunk`'s keys (keep a chunk within
/// the databases' bound-parameter limits).
fn with_keys<'a>(record_type: &'a str, chunk: &'a [String]) -> records::BoxedQuery<'a, DbBackend> {
    records::table
        .filter(records::record_type.eq(record_type))
        .filter(records::record_key.eq_any(chunk))
        .into_boxed()
}

/// Which of `keys` are stored as records of one type (only keys are read).
pub fn stored_keys(
    conn: &mut DbConn,
    record_type: &str,
    keys: &[String],
) -> Result<Vec<String>, StoreError> {
    crate::in_key_chunks(keys, |chunk| {
        Ok(with_keys(record_type, chunk)
            .select(records::record_key)
            .load::<String>(conn)?)
    })
}

/// The records of one type with any of the keys (unknown keys are left out).
pub fn get_records(
    conn: &mut DbConn,
    record_type: &str,
    keys: &[String],
) -> Result<Vec<RecordRow>, StoreError> {
    crate::in_key_chunks(keys, |chunk| {
        if let DbConn::Postgresql(pg) = conn {
            // One index read per key, whatever the planner guesses (see `pg_rows_of`).
            return crate::workers::pg_rows_of_where(
                pg,
                "records",
                "record_key",
                chunk,
                ("record_type", record_type),
                "t.record_key",
            );
        }
        Ok(with_keys(record_type, chunk)
            .select(RecordRow::as_select())
            .load::<RecordRow>(conn)?)
    })
}

/// Whether `agency` holds a record naming the worker, or reported their identity.
pub fn agency_names_worker(
    conn: &mut DbConn,
    agency: &str,
    worker_id: &str,
) -> Result<bool, StoreError> {
    use crate::schema::worker_identities;
    let records: i64 = records::table
        .filter(records::worker_id.eq(worker_id))
        .filter(records::agency_code.eq(agency))
        .count()
        .get_result(conn)?;
    if records > 0 {
        return Ok(true);
    }
    let identities: i64 = worker_identities::table
        .filter(worker_identities::worker_id.eq(worker_id))
        .filter(worker_identities::agency_code.eq(agency))
        .count()
        .get_result(conn)?;
    Ok(identities > 0)
}

/// Deletes one record; returns it as it was, or `None` when there was none.
pub fn delete_record(
    conn: &mut DbConn,
    record_type: &str,
    key: &str,
) -> Result<Option<RecordRow>, StoreError> {
    let Some(row) = get_record(conn, record_type, key)? else {
        return Ok(None);
    };
    let n = diesel::delete(
        records::table
            .filter(records::record_type.eq(record_type))
            .filter(records::record_key.eq(key))
            .filter(records::version.eq(row.version)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(StoreError::Retry);
    }
    Ok(Some(row))
}

/// Every record of a type matching `filter` (for derivations over a whole set).
pub fn find_all(
    conn: &mut DbConn,
    record_type: &str,
    filter: &RecordFilter,
) -> Result<Vec<RecordRow>, StoreError> {
    let mut out = Vec::new();
    for_each_record(conn, record_type, filter, |row| {
        out.push(row);
        Ok(())
    })?;
    Ok(out)
}

/// Records handed over per statement by the readers below.
const PAGE: i64 = 1000;

/// Hands every record of `record_type` matching `filter` to `f` in key
/// order, read a page of up to 1,000 at a time: a reader that keeps a
/// summary (the latest report per district) holds one page, not all of them.
pub fn for_each_record(
    conn: &mut DbConn,
    record_type: &str,
    filter: &RecordFilter,
    f: impl FnMut(RecordRow) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    for_each_record_after(conn, record_type, filter, None, f)
}

/// As [`for_each_record`], from the record after `after` on.
fn for_each_record_after(
    conn: &mut DbConn,
    record_type: &str,
    filter: &RecordFilter,
    mut after: Option<String>,
    mut f: impl FnMut(RecordRow) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    loop {
        let page = list_records(conn, record_type, filter, after.as_deref(), PAGE)?;
        let done = (page.len() as i64) < PAGE;
        after = page.last().map(|r| r.record_key.clone());
        page.into_iter().try_for_each(&mut f)?;
        if done {
            return Ok(());
        }
    }
}

/// Hands every record of `record_type` naming one of `nibs` to `f`, in
/// employer and key order, read a page of up to 1,000 at a time (for 500
/// employers per query): a reader that keeps a summary per employer holds
/// one page, not all of their records.
///
/// Most groups of employers fit in one page, read by one statement. Past
/// the first page the rest is read employer by employer: PostgreSQL 15
/// cannot take `employer_nib = ANY(...)` from the employer index in that
/// order, so a page of a group read every record of the group and sorted
/// them, again for each page (211 ms a page among 205,000 headcount
/// reports). The rest of the employer the first page ended in is read from
/// the index in key order; the others, counted first from the index, are
/// read in runs of whole employers that fill up to a page, and one with more
/// than a page on its own, in key order.
pub fn for_each_of_employers(
    conn: &mut DbConn,
    record_type: &str,
    nibs: &[String],
    mut f: impl FnMut(RecordRow) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let one = |nib: &str| RecordFilter {
        employer_nib: Some(nib.to_string()),
        ..RecordFilter::default()
    };
    for chunk in nibs.chunks(500) {
        let first: Vec<RecordRow> = of_employers(record_type, chunk).limit(PAGE).load(conn)?;
        let last = first
            .last()
            .filter(|_| first.len() as i64 == PAGE)
            .map(|r| {
                (
                    r.employer_nib.clone().unwrap_or_default(),
                    r.record_key.clone(),
                )
            });
        first.into_iter().try_for_each(&mut f)?;
        let Some((nib, key)) = last else {
            continue;
        };
        for_each_record_after(conn, record_type, &one(&nib), Some(key), &mut f)?;
        for part in parts_after(conn, record_type, chunk, &nib)? {
            match part {
                Part::Run(run) => of_employers(record_type, &run)
                    .load(conn)?
                    .into_iter()
                    .try_for_each(&mut f)?,
                Part::One(nib) => {
                    for_each_record_after(conn, record_type, &one(&nib), None, &mut f)?
                }
            }
        }
    }
    Ok(())
}

/// How the employers of a group after the first page are read.
enum Part {
    /// Employers whose records together fill at most a page: one statement.
    Run(Vec<String>),
    /// An employer with more than a page of records: read in key order.
    One(String),
}

/// The employers of `chunk` after `nib` that have records of `record_type`,
/// in order, counted from the employer index and cut into [`Part`]s. (NIBs
/// are 13 digits: they sort the same here as in either database.)
fn parts_after(
    conn: &mut DbConn,
    record_type: &str,
    chunk: &[String],
    nib: &str,
) -> Result<Vec<Part>, StoreError> {
    let rest: Vec<String> = chunk.iter().filter(|n| n.as_str() > nib).cloned().collect();
    let counts: BTreeMap<String, i64> = records::table
        .filter(records::record_type.eq(record_type))
        .filter(records::employer_nib.eq_any(&rest))
        .group_by(records::employer_nib)
        .select((records::employer_nib, diesel::dsl::count_star()))
        .load::<(Option<String>, i64)>(conn)?
        .into_iter()
        .filter_map(|(n, c)| n.map(|n| (n, c)))
        .collect();
    let mut parts = Vec::new();
    let mut size = 0;
    for (nib, count) in counts {
        match parts.last_mut() {
            _ if count > PAGE => parts.push(Part::One(nib)),
            Some(Part::Run(run)) if size + count <= PAGE => {
                run.push(nib);
                size += count;
            }
            _ => {
                parts.push(Part::Run(vec![nib]));
                size = count;
            }
        }
    }
    Ok(parts)
}

/// The records of `record_type` naming one of `nibs`, in employer and key order.
fn of_employers<'a>(
    record_type: &'a str,
    nibs: &'a [String],
) -> records::BoxedQuery<'a, DbBackend, RowSql> {
    records::table
        .filter(records::record_type.eq(record_type))
        .filter(records::employer_nib.eq_any(nibs))
        .order((records::employer_nib.asc(), records::record_key.asc()))
        .select(RecordRow::as_select())
        .into_boxed()
}

/// The workers placed by assignments under any of the RPTKA approvals `keys`.
pub fn workers_under_approvals(
    conn: &mut DbConn,
    keys: &[String],
) -> Result<Vec<String>, StoreError> {
    let ids: Vec<Option<String>> = crate::in_key_chunks(keys, |chunk| {
        Ok(records::table
            .filter(records::record_type.eq(RecordType::Assignment.as_str()))
            .filter(records::ref_key.eq_any(chunk))
            .filter(records::worker_id.is_not_null())
            .select(records::worker_id)
            .load(conn)?)
    })?;
    Ok(ids.into_iter().flatten().collect())
}

/// Every distinct employer NIB that any record names.
pub fn employer_nibs(conn: &mut DbConn) -> Result<Vec<String>, StoreError> {
    let nibs: Vec<Option<String>> = records::table
        .select(records::employer_nib)
        .filter(records::employer_nib.is_not_null())
        .distinct()
        .load(conn)?;
    let mut nibs: Vec<String> = nibs.into_iter().flatten().collect();
    nibs.sort();
    Ok(nibs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::ScratchDb;
    use diesel::sql_types::Integer;

    /// SQLite's plan for a statement, one line per step.
    struct Explain<Q>(Q);

    impl<Q: QueryFragment<DbBackend>> QueryFragment<DbBackend> for Explain<Q> {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DbBackend>) -> QueryResult<()> {
            out.push_sql("EXPLAIN QUERY PLAN ");
            self.0.walk_ast(out.reborrow())
        }
    }

    impl<Q> QueryId for Explain<Q> {
        type QueryId = ();
        const HAS_STATIC_QUERY_ID: bool = false;
    }

    impl<Q> Query for Explain<Q> {
        type SqlType = (Integer, Integer, Integer, Text);
    }

    impl<Q> RunQueryDsl<DbConn> for Explain<Q> {}

    /// Without statistics SQLite would rather walk every record of the type
    /// in key order from the cursor than sort a region's keys, and when the
    /// region holds few of them that read the rest of the table for each
    /// page. Every part of a region page, first or later, with or without
    /// other filters, reads the region index instead; the primary key is
    /// only used to fetch the page's own rows by their keys. The statement
    /// stays one that each connection prepares once.
    #[test]
    fn sqlite_region_pages_read_the_region_not_the_table() {
        let scratch = ScratchDb::new(2);
        let db = &scratch.db;
        let filters = [
            RecordFilter::default(),
            RecordFilter {
                status: Some("active".into()),
                ..Default::default()
            },
            RecordFilter {
                kind: Some("ITAS".into()),
                ..Default::default()
            },
            RecordFilter {
                nationality: Some("CHN".into()),
                status: Some("active".into()),
                ..Default::default()
            },
        ];
        for region in ["64.02", "64.02.06"] {
            for filter in &filters {
                for cursor in [None, Some("2C22MD4295864")] {
                    let filter = RecordFilter {
                        region_prefix: Some(region.into()),
                        ..filter.clone()
                    };
                    let page = region_page(true, "residence_permit", region, &filter, cursor, 20);
                    let sqlite = DbBackend::Sqlite(diesel::sqlite::Sqlite);
                    assert!(
                        page.is_safe_to_cache_prepared(&sqlite).expect("walk"),
                        "the statement is kept prepared"
                    );
                    let plan: Vec<(i32, i32, i32, String)> =
                        db.read(|c| Ok(Explain(&page).load(c)?)).expect("plan");
                    let steps: Vec<&str> = plan.iter().map(|s| s.3.as_str()).collect();
                    let case = format!("{region} {filter:?} after {cursor:?}: {steps:#?}");
                    let reads: Vec<&&str> = steps
                        .iter()
                        .filter(|s| {
                            s.starts_with("SEARCH records") || s.starts_with("SCAN records")
                        })
                        .collect();
                    assert_eq!(reads.len(), 3, "the page's rows and its two parts: {case}");
                    for read in reads {
                        assert!(
                            read.contains("INDEX records_region")
                                || read.ends_with("(record_type=? AND record_key=?)"),
                            "a part reads the table in key order: {case}"
                        );
                    }
                }
            }
        }
    }
}
