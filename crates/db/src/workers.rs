//! Workers: one person resolved from (passport number, nationality), several
//! passports per person, and the identity each agency reports.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::error::StoreError;
use crate::kept::{Keep, Kept, Param};
use crate::lookups::Lookups;
use crate::schema::{worker_identities, worker_passports, workers};

/// The identity a record gives for the person it names (already validated).
#[derive(Debug, Clone, PartialEq)]
pub struct PersonRef {
    /// Passport number (ICAO 9303, upper-case).
    pub passport_no: String,
    /// Nationality, ISO 3166-1 alpha-3; also the passport's issuing state.
    pub nationality: String,
    /// Name as in the passport.
    pub full_name: String,
    /// `M`, `F` or `X`.
    pub sex: Option<String>,
    /// Date of birth.
    pub birth_date: Option<NaiveDate>,
    /// Passport expiry, if reported.
    pub passport_expires_on: Option<NaiveDate>,
    /// The passport this one replaced, if the record says so (a renewal).
    pub previous_passport_no: Option<String>,
}

/// A worker row.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable, PartialEq)]
#[diesel(table_name = workers)]
pub struct WorkerRow {
    /// Internal id.
    pub id: String,
    /// +1 with each write or batch that changes the identity or passports.
    pub version: i64,
    /// First seen.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
    /// The worker this one was merged into (a confirmed person link), if any.
    pub merged_into: Option<String>,
}

/// A passport row.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable, PartialEq)]
#[diesel(table_name = worker_passports)]
pub struct PassportRow {
    /// Passport number.
    pub number: String,
    /// Issuing state (alpha-3).
    pub country: String,
    /// The person holding it.
    pub worker_id: String,
    /// Expiry date, if known.
    pub expires_on: Option<NaiveDate>,
    /// Agency that first reported it.
    pub agency_code: String,
    /// First reported.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

/// The identity one agency reports for a person.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable, PartialEq)]
#[diesel(table_name = worker_identities)]
pub struct IdentityRow {
    /// The person.
    pub worker_id: String,
    /// Reporting agency.
    pub agency_code: String,
    /// Reporting client.
    pub client_id: String,
    /// Passport the agency used.
    pub passport_no: String,
    /// Nationality.
    pub nationality: String,
    /// Name as reported.
    pub full_name: String,
    /// Sex as reported.
    pub sex: Option<String>,
    /// Birth date as reported.
    pub birth_date: Option<NaiveDate>,
    /// Record type that carried it.
    pub record_type: String,
    /// Key of that record.
    pub record_key: String,
    /// When it was last reported differently.
    pub updated_at: NaiveDateTime,
    /// The passport the agency said this one replaced, if it said so.
    pub previous_passport_no: Option<String>,
    /// The name as the matcher compares it.
    pub name_key: Option<String>,
}

/// Finds the holder of a passport.
pub fn find_by_passport(
    conn: &mut DbConn,
    number: &str,
    country: &str,
) -> Result<Option<PassportRow>, StoreError> {
    Ok(worker_passports::table
        .find((number, country))
        .select(PassportRow::as_select())
        .first(conn)
        .optional()?)
}

/// Ensures a passport exists and returns its holder, creating the person if new.
/// A racing creator makes the insert fail on the primary key and the
/// transaction is retried, so one passport never yields two people.
#[allow(clippy::too_many_arguments)]
fn ensure_passport(
    conn: &mut DbConn,
    number: &str,
    country: &str,
    expires_on: Option<NaiveDate>,
    holder: Option<&str>,
    agency: &str,
    now: NaiveDateTime,
    lookups: &mut Lookups,
) -> Result<(String, bool), StoreError> {
    let found = match lookups.passport(number, country) {
        Some(found) => found,
        None => find_by_passport(conn, number, country)?,
    };
    if let Some(p) = found {
        if let Some(h) = holder {
            if h != p.worker_id {
                return Err(StoreError::Conflict {
                    code: "passport_held_by_other_worker",
                    message: format!(
                        "passport {number} ({country}) already belongs to another worker"
                    ),
                });
            }
        }
        if expires_on.is_some() && expires_on != p.expires_on {
            // The passport may be one this transaction still holds back.
            lookups.write_deferred(conn)?;
            Keep(
                diesel::update(worker_passports::table.find((number, country)))
                    .set((
                        worker_passports::expires_on.eq(expires_on),
                        worker_passports::updated_at.eq(now),
                    ))
                    .returning(worker_passports::number),
            )
            .changed::<String>(conn)?;
            lookups.forget_passport(number, country);
            lookups.bump_worker(conn, &p.worker_id, now)?;
        }
        return Ok((p.worker_id, false));
    }
    let (worker_id, created) = match holder {
        Some(h) => {
            lookups.bump_worker(conn, h, now)?;
            (h.to_string(), false)
        }
        None => {
            let id = uuid::Uuid::new_v4().to_string();
            let row = WorkerRow {
                id: id.clone(),
                version: 1,
                created_at: now,
                updated_at: now,
                merged_into: None,
            };
            lookups.insert_worker(conn, row)?;
            // A person seen for the first time has no reported identity yet.
            lookups.note_new_worker(&id, agency);
            (id, true)
        }
    };
    let passport = PassportRow {
        number: number.to_string(),
        country: country.to_string(),
        worker_id: worker_id.clone(),
        expires_on,
        agency_code: agency.to_string(),
        created_at: now,
        updated_at: now,
    };
    lookups.insert_passport(conn, passport)?;
    Ok((worker_id, created))
}

/// Resolves the person a record names and keeps the agency's view of their identity.
#[allow(clippy::too_many_arguments)]
pub fn resolve_person(
    conn: &mut DbConn,
    person: &PersonRef,
    agency: &str,
    client: &str,
    record_type: &str,
    record_key: &str,
    now: NaiveDateTime,
    lookups: &mut Lookups,
) -> Result<String, StoreError> {
    // A renewal names the passport it replaced: a new number joins the
    // holder of the old one instead of becoming a second person. When both
    // numbers are already held by two workers, the matcher proposes the pair.
    let renewed = match &person.previous_passport_no {
        Some(prev) if *prev != person.passport_no => {
            let current = match lookups.passport(&person.passport_no, &person.nationality) {
                Some(found) => found,
                None => find_by_passport(conn, &person.passport_no, &person.nationality)?,
            };
            if current.is_none() {
                let old = match lookups.passport(prev, &person.nationality) {
                    Some(found) => found,
                    None => find_by_passport(conn, prev, &person.nationality)?,
                };
                old.map(|p| p.worker_id)
            } else {
                None
            }
        }
        _ => None,
    };
    let (worker_id, _) = ensure_passport(
        conn,
        &person.passport_no,
        &person.nationality,
        person.passport_expires_on,
        renewed.as_deref(),
        agency,
        now,
        lookups,
    )?;
    // The replaced passport is this person's too, when nobody holds it yet.
    if let Some(prev) = person
        .previous_passport_no
        .as_deref()
        .filter(|p| *p != person.passport_no)
    {
        let held = match lookups.passport(prev, &person.nationality) {
            Some(found) => found,
            None => find_by_passport(conn, prev, &person.nationality)?,
        };
        if held.is_none() {
            ensure_passport(
                conn,
                prev,
                &person.nationality,
                None,
                Some(&worker_id),
                agency,
                now,
                lookups,
            )?;
        }
    }
    record_identity(
        conn,
        &worker_id,
        person,
        agency,
        client,
        record_type,
        record_key,
        now,
        lookups,
    )?;
    Ok(worker_id)
}

#[allow(clippy::too_many_arguments)]
fn record_identity(
    conn: &mut DbConn,
    worker_id: &str,
    person: &PersonRef,
    agency: &str,
    client: &str,
    record_type: &str,
    record_key: &str,
    now: NaiveDateTime,
    lookups: &mut Lookups,
) -> Result<(), StoreError> {
    let row = IdentityRow {
        worker_id: worker_id.to_string(),
        agency_code: agency.to_string(),
        client_id: client.to_string(),
        passport_no: person.passport_no.clone(),
        nationality: person.nationality.clone(),
        full_name: person.full_name.clone(),
        sex: person.sex.clone(),
        birth_date: person.birth_date,
        record_type: record_type.to_string(),
        record_key: record_key.to_string(),
        updated_at: now,
        previous_passport_no: person.previous_passport_no.clone(),
        name_key: Some(sinergi_domain::matching::name_key(&person.full_name)),
    };
    let current: Option<IdentityRow> = match lookups.identity(worker_id, agency) {
        Some(found) => found,
        None => worker_identities::table
            .find((worker_id, agency))
            .select(IdentityRow::as_select())
            .first(conn)
            .optional()?,
    };
    match current {
        None => {
            lookups.insert_identity(conn, row)?;
            lookups.bump_worker(conn, worker_id, now)?;
        }
        Some(cur)
            if cur.full_name != row.full_name
                || cur.sex != row.sex
                || cur.birth_date != row.birth_date
                || cur.passport_no != row.passport_no
                || cur.previous_passport_no != row.previous_passport_no
                || cur.name_key != row.name_key =>
        {
            // The identity may be one this transaction still holds back.
            lookups.write_deferred(conn)?;
            Keep(
                diesel::update(worker_identities::table.find((worker_id, agency)))
                    .set((
                        worker_identities::client_id.eq(&row.client_id),
                        worker_identities::passport_no.eq(&row.passport_no),
                        worker_identities::nationality.eq(&row.nationality),
                        worker_identities::full_name.eq(&row.full_name),
                        worker_identities::sex.eq(&row.sex),
                        worker_identities::birth_date.eq(row.birth_date),
                        worker_identities::record_type.eq(&row.record_type),
                        worker_identities::record_key.eq(&row.record_key),
                        worker_identities::updated_at.eq(now),
                        worker_identities::previous_passport_no.eq(&row.previous_passport_no),
                        worker_identities::name_key.eq(&row.name_key),
                    ))
                    .returning(worker_identities::worker_id),
            )
            .changed::<String>(conn)?;
            lookups.forget_identity(worker_id, agency);
            lookups.bump_worker(conn, worker_id, now)?;
        }
        Some(_) => {}
    }
    Ok(())
}

/// An extra passport to attach to a person.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraPassport {
    /// Number.
    pub number: String,
    /// Issuing state.
    pub country: String,
    /// Expiry.
    pub expires_on: Option<NaiveDate>,
}

/// Registers a person (identity plus every passport they hold); returns the
/// worker id and whether the person is new.
pub fn register_worker(
    conn: &mut DbConn,
    person: &PersonRef,
    extra: &[ExtraPassport],
    agency: &str,
    client: &str,
    now: NaiveDateTime,
) -> Result<(String, bool), StoreError> {
    // The person may already be known by any of their passports.
    let mut holder: Option<String> = None;
    let all = std::iter::once((person.passport_no.as_str(), person.nationality.as_str())).chain(
        extra
            .iter()
            .map(|p| (p.number.as_str(), p.country.as_str())),
    );
    for (number, country) in all {
        if let Some(p) = find_by_passport(conn, number, country)? {
            match &holder {
                Some(h) if *h != p.worker_id => {
                    return Err(StoreError::Conflict {
                        code: "passports_of_different_workers",
                        message: "these passports are held by different workers in Sinergi; \
                                  they cannot be merged by a push"
                            .into(),
                    })
                }
                _ => holder = Some(p.worker_id),
            }
        }
    }
    let lookups = &mut Lookups::default();
    let (worker_id, created) = ensure_passport(
        conn,
        &person.passport_no,
        &person.nationality,
        person.passport_expires_on,
        holder.as_deref(),
        agency,
        now,
        lookups,
    )?;
    for p in extra {
        ensure_passport(
            conn,
            &p.number,
            &p.country,
            p.expires_on,
            Some(&worker_id),
            agency,
            now,
            lookups,
        )?;
    }
    record_identity(
        conn, &worker_id, person, agency, client, "worker", &worker_id, now, lookups,
    )?;
    Ok((worker_id, created))
}

/// A person with everything known about their identity.
#[derive(Debug, Clone)]
pub struct WorkerDetail {
    /// The worker row.
    pub worker: WorkerRow,
    /// Passports held.
    pub passports: Vec<PassportRow>,
    /// Identity as reported by each agency.
    pub identities: Vec<IdentityRow>,
}

/// Reads one person.
pub fn get_worker(conn: &mut DbConn, id: &str) -> Result<Option<WorkerDetail>, StoreError> {
    Ok(get_workers(conn, &[id.to_string()])?.pop())
}

/// Filters for listing workers.
#[derive(Debug, Clone, Default)]
pub struct WorkerFilter {
    /// Holds a passport with this nationality.
    pub nationality: Option<String>,
    /// Holds this passport number.
    pub passport_no: Option<String>,
}

/// One page of workers in id order.
pub fn list_workers(
    conn: &mut DbConn,
    filter: &WorkerFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<WorkerDetail>, StoreError> {
    // A merged worker is part of another: listed under the survivor only.
    let mut q = workers::table
        .filter(workers::merged_into.is_null())
        .select(WorkerRow::as_select())
        .into_boxed();
    // Sub-queries stay unboxed: a boxed one does not compile for every backend.
    let holders = worker_passports::table.select(worker_passports::worker_id);
    match (&filter.nationality, &filter.passport_no) {
        (Some(n), Some(p)) => {
            q = q.filter(
                workers::id.eq_any(
                    holders
                        .filter(worker_passports::country.eq(n.clone()))
                        .filter(worker_passports::number.eq(p.clone())),
                ),
            )
        }
        (Some(n), None) => {
            q = q
                .filter(workers::id.eq_any(holders.filter(worker_passports::country.eq(n.clone()))))
        }
        (None, Some(p)) => {
            q = q.filter(workers::id.eq_any(holders.filter(worker_passports::number.eq(p.clone()))))
        }
        (None, None) => {}
    }
    if let Some(a) = after {
        q = q.filter(workers::id.gt(a.to_string()));
    }
    let rows: Vec<WorkerRow> = q.order(workers::id.asc()).limit(limit).load(conn)?;
    with_identity(conn, rows)
}

/// Reads many people at once (in the order of their ids; unknown ids are left out).
pub fn get_workers(conn: &mut DbConn, ids: &[String]) -> Result<Vec<WorkerDetail>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let rows: Vec<WorkerRow> = match conn {
            DbConn::Postgresql(pg) => pg_rows_of(pg, "workers", "id", chunk, "t.id")?,
            DbConn::Sqlite(_) => workers::table
                .filter(workers::id.eq_any(chunk))
                .order(workers::id.asc())
                .select(WorkerRow::as_select())
                .load(conn)?,
        };
        out.extend(with_identity(conn, rows)?);
    }
    Ok(out)
}

/// Adds passports and reported identities to worker rows (two queries).
fn with_identity(conn: &mut DbConn, rows: Vec<WorkerRow>) -> Result<Vec<WorkerDetail>, StoreError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let (passports, identities): (Vec<PassportRow>, Vec<IdentityRow>) = match conn {
        DbConn::Postgresql(pg) => (
            pg_rows_of(
                pg,
                "worker_passports",
                "worker_id",
                &ids,
                "t.country, t.number",
            )?,
            pg_rows_of(pg, "worker_identities", "worker_id", &ids, "t.agency_code")?,
        ),
        DbConn::Sqlite(_) => (
            worker_passports::table
                .filter(worker_passports::worker_id.eq_any(&ids))
                .order((
                    worker_passports::country.asc(),
                    worker_passports::number.asc(),
                ))
                .select(PassportRow::as_select())
                .load(conn)?,
            worker_identities::table
                .filter(worker_identities::worker_id.eq_any(&ids))
                .order(worker_identities::agency_code.asc())
                .select(IdentityRow::as_select())
                .load(conn)?,
        ),
    };
    let mut passports = group_by_worker(passports, |p| &p.worker_id);
    let mut identities = group_by_worker(identities, |i| &i.worker_id);
    Ok(rows
        .into_iter()
        .map(|w| WorkerDetail {
            passports: passports.remove(&w.id).unwrap_or_default(),
            identities: identities.remove(&w.id).unwrap_or_default(),
            worker: w,
        })
        .collect())
}

/// On PostgreSQL, the rows of `table` whose `column` is one of `ids`, in
/// `order`: an index look-up per id (`unnest` and a lateral sub-query), also
/// where the table has no statistics yet (a database being loaded), where
/// `= ANY` over hundreds of ids is planned as a full scan and a plain join
/// as a sort of the whole table.
pub(crate) fn pg_rows_of<T>(
    pg: &mut diesel::PgConnection,
    table: &str,
    column: &str,
    ids: &[String],
    order: &str,
) -> Result<Vec<T>, StoreError>
where
    T: diesel::deserialize::QueryableByName<diesel::pg::Pg> + 'static,
{
    Ok(Kept::new(
        per_id(table, column, "", "", order),
        vec![Param::Texts(ids)],
    )
    .load(pg)?)
}

/// [`pg_rows_of`] for the rows that also have `value` in column `also`
/// (the kind of a finding's subject, the type of a record).
pub(crate) fn pg_rows_of_where<T>(
    pg: &mut diesel::PgConnection,
    table: &str,
    column: &str,
    ids: &[String],
    (also, value): (&str, &str),
    order: &str,
) -> Result<Vec<T>, StoreError>
where
    T: diesel::deserialize::QueryableByName<diesel::pg::Pg> + 'static,
{
    Ok(Kept::new(
        per_id(table, column, &format!("AND x.{also} = $2"), "", order),
        vec![Param::Texts(ids), Param::Text(value)],
    )
    .load(pg)?)
}

/// On PostgreSQL, locks the rows of the workers `ids` for the rest of the
/// transaction, one after the other in the order given (callers give them
/// in id order, so two transactions never wait on each other in a cycle).
pub(crate) fn pg_lock_workers(
    pg: &mut diesel::PgConnection,
    ids: &[String],
) -> Result<(), StoreError> {
    Kept::new(
        per_id("workers", "id", "", "FOR NO KEY UPDATE", "t.id"),
        vec![Param::Texts(ids)],
    )
    .execute(pg)?;
    Ok(())
}

/// The statement of [`pg_rows_of`]: the rows of `table` whose `column` is one
/// of the values in `$1` (and that meet `also`, which may name further
/// parameters from `$2`). OFFSET 0 keeps the sub-query apart, one index read
/// per value whatever the planner guesses of the table's size.
pub(crate) fn per_id(table: &str, column: &str, also: &str, lock: &str, order: &str) -> String {
    format!(
        "SELECT t.* FROM unnest($1::text[]) AS w(id) \
         CROSS JOIN LATERAL (SELECT * FROM {table} x WHERE x.{column} = w.id {also} \
         OFFSET 0 {lock}) t ORDER BY {order}"
    )
}

/// Groups rows by the worker they belong to, keeping their order.
pub fn group_by_worker<T>(
    rows: Vec<T>,
    worker_of: impl Fn(&T) -> &String,
) -> std::collections::HashMap<String, Vec<T>> {
    let mut out: std::collections::HashMap<String, Vec<T>> = std::collections::HashMap::new();
    for r in rows {
        out.entry(worker_of(&r).clone()).or_default().push(r);
    }
    out
}

/// Every worker id.
pub fn all_ids(conn: &mut DbConn) -> Result<Vec<String>, StoreError> {
    Ok(workers::table
        .select(workers::id)
        .order(workers::id.asc())
        .load(conn)?)
}

/// A passport held by a worker.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PassportView {
    /// Number.
    pub number: String,
    /// Issuing state.
    pub country: String,
    /// Expiry date.
    pub expires_on: Option<NaiveDate>,
    /// Agency that first reported it.
    pub reported_by: String,
}

/// The identity one agency reports for the person.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct IdentityView {
    /// Reporting agency.
    pub agency: String,
    /// Reporting client.
    pub client_id: String,
    /// Passport used.
    pub passport_no: String,
    /// Nationality.
    pub nationality: String,
    /// Name.
    pub full_name: String,
    /// Sex.
    pub sex: Option<String>,
    /// Birth date.
    pub birth_date: Option<NaiveDate>,
    /// Record type that carried it.
    pub record_type: String,
    /// Key of that record.
    pub record_key: String,
    /// When it was last reported differently.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A worker's identity as reported by every agency: the API's summary of a
/// worker and the change feed's payload of a worker change.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct WorkerSummary {
    /// Sinergi id.
    pub id: String,
    /// +1 with each write or batch that changes the identity or passports.
    pub version: i64,
    /// Passports held.
    pub passports: Vec<PassportView>,
    /// Identity per reporting agency; more than one differing entry means the agencies disagree.
    pub identities: Vec<IdentityView>,
    /// Whether agencies report a different name or birth date for one
    /// passport (the test of the IDENTITY_CONFLICT rule).
    pub identity_conflict: bool,
    /// First seen.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Set when this worker was confirmed to be another (a person link):
    /// the worker that now holds their passports and records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
}

impl WorkerSummary {
    /// The summary of a person.
    pub fn of(d: WorkerDetail) -> WorkerSummary {
        let facts: Vec<sinergi_domain::rules::IdentityFact> = d
            .identities
            .iter()
            .map(|i| sinergi_domain::rules::IdentityFact {
                agency: i.agency_code.clone(),
                passport_no: i.passport_no.clone(),
                full_name: i.full_name.clone(),
                birth_date: i.birth_date,
                r: sinergi_domain::rules::RecordRef {
                    record_type: i.record_type.clone(),
                    key: i.record_key.clone(),
                    version: 0,
                    agency: i.agency_code.clone(),
                },
            })
            .collect();
        WorkerSummary {
            id: d.worker.id,
            version: d.worker.version,
            passports: d
                .passports
                .into_iter()
                .map(|p| PassportView {
                    number: p.number,
                    country: p.country,
                    expires_on: p.expires_on,
                    reported_by: p.agency_code,
                })
                .collect(),
            identities: d
                .identities
                .into_iter()
                .map(|i| IdentityView {
                    agency: i.agency_code,
                    client_id: i.client_id,
                    passport_no: i.passport_no,
                    nationality: i.nationality,
                    full_name: i.full_name,
                    sex: i.sex,
                    birth_date: i.birth_date,
                    record_type: i.record_type,
                    record_key: i.record_key,
                    updated_at: i.updated_at.and_utc(),
                })
                .collect(),
            identity_conflict: sinergi_domain::rules::identities_conflict(&facts),
            created_at: d.worker.created_at.and_utc(),
            updated_at: d.worker.updated_at.and_utc(),
            merged_into: d.worker.merged_into,
        }
    }
}

/// Registers a person for `prov`'s agency in one transaction: passports and
/// identity, the change-feed entry when anything changed, the audit event
/// and the findings recompute. Returns the worker id and whether the person is new.
pub fn register(
    db: &crate::Db,
    prov: &crate::store::Provenance,
    person: &sinergi_domain::records::Person,
    extra: &[ExtraPassport],
) -> Result<(String, bool), StoreError> {
    prov.allow(sinergi_domain::RecordType::Worker, &[])?;
    let person = PersonRef::of(person);
    db.write(|c| {
        crate::persons::share_merge_lock(c)?;
        let mut pending = crate::findings::engine::Pending::default();
        let before = match find_by_passport(c, &person.passport_no, &person.nationality)? {
            Some(p) => get_worker(c, &p.worker_id)?.map(|d| d.worker.version),
            None => None,
        };
        let (id, created) = register_worker(
            c,
            &person,
            extra,
            &prov.agency_code,
            &prov.client_id,
            chrono::Utc::now().naive_utc(),
        )?;
        let after = get_worker(c, &id)?.ok_or(StoreError::NotFound)?;
        if before != Some(after.worker.version) {
            let version = after.worker.version;
            pending.journal.change(crate::changes::NewChange {
                record_type: "worker".into(),
                record_key: id.clone(),
                op: "upsert",
                version,
                agency_code: prov.agency_code.clone(),
                worker_id: Some(id.clone()),
                payload: Some(serde_json::to_string(&WorkerSummary::of(after))?),
                source_ref: None,
            });
        }
        pending.note_subject(sinergi_domain::rules::Subject::Worker(id.clone()));
        pending.note_people([id.clone()]);
        pending.journal.audit(prov.audit(
            "worker",
            Some(&id),
            Some(&id),
            if created { 201 } else { 200 },
        ));
        pending.flush(c)?;
        Ok((id, created))
    })
}
