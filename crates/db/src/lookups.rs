//! What a batch of writes would otherwise look up row by row — the records
//! it targets, the passports and reported identities of the people it names —
//! read with a few multi-key queries at the start of its transaction.
//!
//! An entry says what the database held when the transaction read it; every
//! write forgets the entries it touches, so later lookups go to the database
//! and see the write (also after a savepoint was rolled back). A key that is
//! not here is simply looked up.
//!
//! When a batch runs without savepoints (any failure undoes the whole
//! transaction), new people and their passports, new records and reported
//! identities, and the version bumps of the workers they name are held back
//! and written with multi-row statements: before anything reads them from the
//! database (a reference check, an update, findings) and at the latest before
//! the commit. Until then the entries here stand for them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::error::StoreError;
use crate::kept::Keep;
use crate::records::{RecordRow, RecordWrite};
use crate::schema::{records, worker_identities, worker_passports, workers};
use crate::workers::{IdentityRow, PassportRow, WorkerRow};

/// Rows read ahead for one transaction; `None` records a known absence.
#[derive(Debug, Default)]
pub struct Lookups {
    by_key: HashMap<(String, String), Option<RecordRow>>,
    by_source_ref: HashMap<(String, String, String), Option<RecordRow>>,
    passports: HashMap<(String, String), Option<PassportRow>>,
    identities: HashMap<(String, String), Option<IdentityRow>>,
    deferring: bool,
    new_workers: Vec<WorkerRow>,
    new_passports: Vec<PassportRow>,
    new_records: Vec<RecordRow>,
    new_identities: Vec<IdentityRow>,
    bumps: BTreeSet<String>,
    bumped_at: Option<NaiveDateTime>,
    reidentified: BTreeSet<String>,
}

/// Keys per query: within both databases' bound-parameter limits.
const CHUNK: usize = 500;

impl Lookups {
    /// Reads ahead what `writes` will look up: their targets, the people
    /// they name, and the records they refer to (`referenced`, type and key).
    pub fn prefetch<'a>(
        conn: &mut DbConn,
        writes: impl IntoIterator<Item = &'a RecordWrite>,
        referenced: impl IntoIterator<Item = (&'static str, String)>,
    ) -> Result<Lookups, StoreError> {
        let mut keys: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for (rt, k) in referenced {
            keys.entry(rt).or_default().insert(k);
        }
        let mut srefs: BTreeMap<(&str, &str), BTreeSet<String>> = BTreeMap::new();
        let mut passports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut agencies: BTreeSet<String> = BTreeSet::new();
        for w in writes {
            if let Some(k) = &w.natural_key {
                keys.entry(w.record_type).or_default().insert(k.clone());
            }
            if let Some(s) = &w.source_ref {
                srefs
                    .entry((w.record_type, w.agency_code.as_str()))
                    .or_default()
                    .insert(s.clone());
            }
            if let Some(p) = &w.person {
                passports
                    .entry(p.nationality.clone())
                    .or_default()
                    .insert(p.passport_no.clone());
                agencies.insert(w.agency_code.clone());
            }
        }
        let mut out = Lookups::default();
        for (rt, wanted) in &keys {
            let wanted: Vec<String> = wanted.iter().cloned().collect();
            for k in &wanted {
                out.by_key.insert((rt.to_string(), k.clone()), None);
            }
            for r in crate::records::get_records(conn, rt, &wanted)? {
                out.by_key
                    .insert((r.record_type.clone(), r.record_key.clone()), Some(r));
            }
        }
        for ((rt, agency), wanted) in &srefs {
            let wanted: Vec<String> = wanted.iter().cloned().collect();
            for s in &wanted {
                out.by_source_ref
                    .insert((rt.to_string(), agency.to_string(), s.clone()), None);
            }
            for chunk in wanted.chunks(CHUNK) {
                let rows: Vec<RecordRow> = match conn {
                    DbConn::Postgresql(pg) => {
                        crate::records::pg_by_source_refs(pg, rt, agency, chunk)?
                    }
                    DbConn::Sqlite(_) => records::table
                        .filter(records::record_type.eq(*rt))
                        .filter(records::agency_code.eq(*agency))
                        .filter(records::source_ref.eq_any(chunk))
                        .select(RecordRow::as_select())
                        .load(conn)?,
                };
                for r in rows {
                    let sref = r.source_ref.clone().unwrap_or_default();
                    out.by_source_ref.insert(
                        (r.record_type.clone(), r.agency_code.clone(), sref),
                        Some(r),
                    );
                }
            }
        }
        let mut holders: BTreeSet<String> = BTreeSet::new();
        for (country, numbers) in &passports {
            let numbers: Vec<String> = numbers.iter().cloned().collect();
            for n in &numbers {
                out.passports.insert((n.clone(), country.clone()), None);
            }
            for chunk in numbers.chunks(CHUNK) {
                let rows: Vec<PassportRow> = worker_passports::table
                    .filter(worker_passports::country.eq(country))
                    .filter(worker_passports::number.eq_any(chunk))
                    .select(PassportRow::as_select())
                    .load(conn)?;
                for p in rows {
                    holders.insert(p.worker_id.clone());
                    out.passports
                        .insert((p.number.clone(), p.country.clone()), Some(p));
                }
            }
        }
        let holders: Vec<String> = holders.into_iter().collect();
        for agency in &agencies {
            for h in &holders {
                out.identities.insert((h.clone(), agency.clone()), None);
            }
            for chunk in holders.chunks(CHUNK) {
                let rows: Vec<IdentityRow> = worker_identities::table
                    .filter(worker_identities::agency_code.eq(agency))
                    .filter(worker_identities::worker_id.eq_any(chunk))
                    .select(IdentityRow::as_select())
                    .load(conn)?;
                for i in rows {
                    out.identities
                        .insert((i.worker_id.clone(), i.agency_code.clone()), Some(i));
                }
            }
        }
        Ok(out)
    }

    /// Holds new records and identities back until `write_deferred` (only
    /// where a failure rolls back the whole transaction).
    pub fn defer_writes(&mut self) {
        self.deferring = true;
    }

    /// Stores a new record, or holds it back; later lookups in this
    /// transaction find it either way.
    pub(crate) fn insert_record(
        &mut self,
        conn: &mut DbConn,
        row: &RecordRow,
    ) -> Result<(), StoreError> {
        if !self.deferring {
            diesel::insert_into(records::table)
                .values(row)
                .execute(conn)?;
            self.forget_record(row, None);
            return Ok(());
        }
        self.by_key.insert(
            (row.record_type.clone(), row.record_key.clone()),
            Some(row.clone()),
        );
        if let Some(s) = &row.source_ref {
            self.by_source_ref.insert(
                (row.record_type.clone(), row.agency_code.clone(), s.clone()),
                Some(row.clone()),
            );
        }
        self.new_records.push(row.clone());
        Ok(())
    }

    /// Stores a new reported identity, or holds it back; later lookups find it.
    pub(crate) fn insert_identity(
        &mut self,
        conn: &mut DbConn,
        row: IdentityRow,
    ) -> Result<(), StoreError> {
        if !self.deferring {
            diesel::insert_into(worker_identities::table)
                .values(&row)
                .execute(conn)?;
            self.forget_identity(&row.worker_id, &row.agency_code);
            return Ok(());
        }
        self.identities.insert(
            (row.worker_id.clone(), row.agency_code.clone()),
            Some(row.clone()),
        );
        self.new_identities.push(row);
        Ok(())
    }

    /// Stores a new person, or holds them back.
    pub(crate) fn insert_worker(
        &mut self,
        conn: &mut DbConn,
        row: WorkerRow,
    ) -> Result<(), StoreError> {
        if !self.deferring {
            diesel::insert_into(workers::table)
                .values(&row)
                .execute(conn)?;
            return Ok(());
        }
        self.new_workers.push(row);
        Ok(())
    }

    /// Stores a new passport, or holds it back; later lookups find it.
    pub(crate) fn insert_passport(
        &mut self,
        conn: &mut DbConn,
        row: PassportRow,
    ) -> Result<(), StoreError> {
        if !self.deferring {
            diesel::insert_into(worker_passports::table)
                .values(&row)
                .execute(conn)?;
            self.forget_passport(&row.number, &row.country);
            return Ok(());
        }
        self.passports
            .insert((row.number.clone(), row.country.clone()), Some(row.clone()));
        self.new_passports.push(row);
        Ok(())
    }

    /// Raises a worker's version, or holds the bump back (one per
    /// transaction: every worker the transaction bumps gets the time of its
    /// latest write, as the writes become visible together at the commit).
    pub(crate) fn bump_worker(
        &mut self,
        conn: &mut DbConn,
        worker: &str,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        // A worker's version moves when their identity or passports do: the
        // matcher looks at them again before the commit.
        self.reidentified.insert(worker.to_string());
        if !self.deferring {
            Keep(
                diesel::update(workers::table.find(worker))
                    .set((
                        workers::version.eq(workers::version + 1),
                        workers::updated_at.eq(now),
                    ))
                    .returning(workers::version),
            )
            .changed::<i64>(conn)?;
            return Ok(());
        }
        self.bumps.insert(worker.to_string());
        self.bumped_at = Some(self.bumped_at.map_or(now, |at| at.max(now)));
        Ok(())
    }

    /// The workers whose identity or passports this transaction changed.
    pub fn take_reidentified(&mut self) -> BTreeSet<String> {
        std::mem::take(&mut self.reidentified)
    }

    /// Writes what was held back: multi-row inserts, one update per 500 workers.
    pub fn write_deferred(&mut self, conn: &mut DbConn) -> Result<(), StoreError> {
        let mut new_workers = std::mem::take(&mut self.new_workers);
        if !new_workers.is_empty() {
            // A person created in this transaction is stored at its final version.
            for w in &mut new_workers {
                if let (true, Some(at)) = (self.bumps.remove(&w.id), self.bumped_at) {
                    w.version += 1;
                    w.updated_at = at;
                }
            }
            crate::insert_all!(conn, workers::table, &new_workers);
        }
        if !self.new_passports.is_empty() {
            crate::insert_all!(
                conn,
                worker_passports::table,
                &std::mem::take(&mut self.new_passports)
            );
        }
        if !self.new_records.is_empty() {
            crate::insert_all!(conn, records::table, &std::mem::take(&mut self.new_records));
        }
        if !self.new_identities.is_empty() {
            crate::insert_all!(
                conn,
                worker_identities::table,
                &std::mem::take(&mut self.new_identities)
            );
        }
        let ids: Vec<String> = std::mem::take(&mut self.bumps).into_iter().collect();
        if let Some(at) = self.bumped_at {
            for chunk in ids.chunks(CHUNK) {
                diesel::update(workers::table.filter(workers::id.eq_any(chunk)))
                    .set((
                        workers::version.eq(workers::version + 1),
                        workers::updated_at.eq(at),
                    ))
                    .execute(conn)?;
            }
        }
        Ok(())
    }

    /// The record a write targets, if read ahead.
    pub(crate) fn target(&self, w: &RecordWrite) -> Option<Option<RecordRow>> {
        match (&w.natural_key, &w.source_ref) {
            (Some(k), _) => self
                .by_key
                .get(&(w.record_type.to_string(), k.clone()))
                .cloned(),
            (None, Some(s)) => self.source_ref(w.record_type, &w.agency_code, s),
            (None, None) => Some(None),
        }
    }

    /// The record of `record_type` with `key`, if read ahead.
    pub(crate) fn record(&self, record_type: &str, key: &str) -> Option<Option<&RecordRow>> {
        self.by_key
            .get(&(record_type.to_string(), key.to_string()))
            .map(Option::as_ref)
    }

    /// The record an agency's own id names, if read ahead.
    pub(crate) fn source_ref(
        &self,
        record_type: &str,
        agency: &str,
        sref: &str,
    ) -> Option<Option<RecordRow>> {
        self.by_source_ref
            .get(&(
                record_type.to_string(),
                agency.to_string(),
                sref.to_string(),
            ))
            .cloned()
    }

    /// Forgets what a write to a record changes (its version before, if any, and after).
    pub(crate) fn forget_record(&mut self, row: &RecordRow, before: Option<&RecordRow>) {
        for r in std::iter::once(row).chain(before) {
            self.by_key
                .remove(&(r.record_type.clone(), r.record_key.clone()));
            if let Some(s) = &r.source_ref {
                self.by_source_ref.remove(&(
                    r.record_type.clone(),
                    r.agency_code.clone(),
                    s.clone(),
                ));
            }
        }
    }

    /// A passport, if read ahead.
    pub(crate) fn passport(&self, number: &str, country: &str) -> Option<Option<PassportRow>> {
        self.passports
            .get(&(number.to_string(), country.to_string()))
            .cloned()
    }

    /// Forgets a passport that was written.
    pub(crate) fn forget_passport(&mut self, number: &str, country: &str) {
        self.passports
            .remove(&(number.to_string(), country.to_string()));
    }

    /// The identity an agency reported for a worker, if read ahead.
    pub(crate) fn identity(&self, worker: &str, agency: &str) -> Option<Option<IdentityRow>> {
        self.identities
            .get(&(worker.to_string(), agency.to_string()))
            .cloned()
    }

    /// Notes a worker created in this transaction: no agency has reported them yet.
    pub(crate) fn note_new_worker(&mut self, worker: &str, agency: &str) {
        self.identities
            .insert((worker.to_string(), agency.to_string()), None);
    }

    /// Forgets an identity that was written.
    pub(crate) fn forget_identity(&mut self, worker: &str, agency: &str) {
        self.identities
            .remove(&(worker.to_string(), agency.to_string()));
    }
}
