//! Person links: pairs of workers that are probably one person, found by the
//! matcher on every write that changes a worker's identity and by a sweep;
//! confirmed (the workers are merged), rejected, or a merge undone.
//! `docs/person-matching.md` gives the rules and the lifecycle.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use sinergi_domain::matching::{self, Block, Match, Person, Reported};

use crate::conn::DbConn;
use crate::error::StoreError;
use crate::kept::{Kept, Param};
use crate::schema::{person_links, records, worker_identities, worker_passports, workers};

/// Probably one person; nobody has decided yet.
pub const CANDIDATE: &str = "candidate";
/// Confirmed as one person: the workers are merged.
pub const CONFIRMED: &str = "confirmed";
/// Rejected: two people. Comes back only with new evidence.
pub const REJECTED: &str = "rejected";
/// A merge that was undone: two people again. Comes back only with new evidence.
pub const UNMERGED: &str = "unmerged";
/// The evidence went away (a corrected record) before anyone decided.
pub const DISSOLVED: &str = "dissolved";
/// Every status, for filters.
pub const STATUSES: [&str; 5] = [CANDIDATE, CONFIRMED, REJECTED, UNMERGED, DISSOLVED];

/// The advisory lock a merge or its undo holds alone, and every transaction
/// that writes records shares (PostgreSQL): a merge waits for the writes in
/// progress and the writes that start meanwhile wait for it, so no record
/// is resolved to a worker that is being merged away. Shared holders do not
/// wait for each other.
const MERGE_LOCK: (i32, i32) = (1_397_313_093, 3);

/// Taken first by every transaction that resolves people (a no-op on SQLite,
/// whose one writer already excludes a merge).
pub fn share_merge_lock(conn: &mut DbConn) -> Result<(), StoreError> {
    if let DbConn::Postgresql(pg) = conn {
        crate::sequencer::advisory(pg, MERGE_LOCK, crate::sequencer::Advisory::Shared)?;
    }
    Ok(())
}

fn hold_merge_lock(conn: &mut DbConn) -> Result<(), StoreError> {
    if let DbConn::Postgresql(pg) = conn {
        crate::sequencer::advisory(pg, MERGE_LOCK, crate::sequencer::Advisory::Wait)?;
    }
    Ok(())
}

/// A stored person link.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = person_links)]
pub struct LinkRow {
    /// Id.
    pub id: String,
    /// The smaller worker id.
    pub worker_a: String,
    /// The larger worker id.
    pub worker_b: String,
    /// One of [`STATUSES`].
    pub status: String,
    /// Match probability, 0 to 1.
    pub score: f64,
    /// JSON list of [`matching::Agreement`].
    pub evidence: String,
    /// What the evidence showed when last compared ([`Match::basis`]).
    pub basis: String,
    /// The worker that remained, once confirmed.
    pub survivor: Option<String>,
    /// JSON [`Moved`]: what the merge moved, so an undo moves it back.
    pub moved: Option<String>,
    /// Reason given with the last decision.
    pub reason: Option<String>,
    /// Case reference given with the last decision.
    pub case_ref: Option<String>,
    /// `AGENCY/client` of the last decision.
    pub decided_by: Option<String>,
    /// When it was last decided.
    pub decided_at: Option<NaiveDateTime>,
    /// First found.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
    /// +1 on each change.
    pub version: i64,
}

impl LinkRow {
    /// The evidence as stored.
    pub fn agreements(&self) -> Result<Vec<matching::Agreement>, StoreError> {
        Ok(serde_json::from_str(&self.evidence)?)
    }

    /// The other worker of the pair.
    pub fn other(&self, worker: &str) -> &str {
        if self.worker_a == worker {
            &self.worker_b
        } else {
            &self.worker_a
        }
    }
}

/// What a merge moved from the absorbed worker to the survivor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Moved {
    /// Passports (number, issuing state).
    pub passports: Vec<(String, String)>,
    /// Agencies whose reported identity moved (those the survivor did not
    /// have; the others stay with the absorbed worker, out of sight).
    pub identities: Vec<String>,
    /// Records (type, key).
    pub records: Vec<(String, String)>,
}

/// One link.
pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<LinkRow>, StoreError> {
    Ok(person_links::table
        .find(id)
        .select(LinkRow::as_select())
        .first(conn)
        .optional()?)
}

/// Filters for listing links.
#[derive(Debug, Clone, Default)]
pub struct LinkFilter {
    /// Status.
    pub status: Option<String>,
    /// Either worker of the pair.
    pub worker_id: Option<String>,
}

/// One page of links in id order after `after`.
pub fn list(
    conn: &mut DbConn,
    f: &LinkFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<LinkRow>, StoreError> {
    let mut q = person_links::table
        .select(LinkRow::as_select())
        .into_boxed();
    if let Some(s) = &f.status {
        q = q.filter(person_links::status.eq(s.clone()));
    }
    if let Some(w) = &f.worker_id {
        q = q.filter(
            person_links::worker_a
                .eq(w.clone())
                .or(person_links::worker_b.eq(w.clone())),
        );
    }
    if let Some(a) = after {
        q = q.filter(person_links::id.gt(a.to_string()));
    }
    Ok(q.order(person_links::id.asc()).limit(limit).load(conn)?)
}

/// Links with any of `ids` on either side.
fn of_workers(conn: &mut DbConn, ids: &[String]) -> Result<Vec<LinkRow>, StoreError> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(250) {
        for l in person_links::table
            .filter(
                person_links::worker_a
                    .eq_any(chunk)
                    .or(person_links::worker_b.eq_any(chunk)),
            )
            .select(LinkRow::as_select())
            .load::<LinkRow>(conn)?
        {
            out.insert(l.id.clone(), l);
        }
    }
    Ok(out.into_values().collect())
}

/// Unresolved candidate links whose first worker is one of `ids` (the
/// facts of rule 15).
pub fn candidates_of(conn: &mut DbConn, ids: &[String]) -> Result<Vec<LinkRow>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(
            person_links::table
                .filter(person_links::worker_a.eq_any(chunk))
                .filter(person_links::status.eq(CANDIDATE))
                .select(LinkRow::as_select())
                .load::<LinkRow>(conn)?,
        );
    }
    Ok(out)
}

/// Every unresolved candidate pair (for statistics).
pub fn all_candidates(conn: &mut DbConn) -> Result<Vec<(String, String)>, StoreError> {
    Ok(person_links::table
        .filter(person_links::status.eq(CANDIDATE))
        .select((person_links::worker_a, person_links::worker_b))
        .load(conn)?)
}

type IdentityCols = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<chrono::NaiveDate>,
);

/// The matcher's view of the workers `ids` (merged ones and those no
/// agency has reported an identity for left out).
pub fn people(conn: &mut DbConn, ids: &[String]) -> Result<Vec<Person>, StoreError> {
    Ok(crate::workers::get_workers(conn, ids)?
        .iter()
        .filter_map(person_of)
        .collect())
}

/// The matcher's view of every worker (the sweep): only the columns it compares.
fn everyone(conn: &mut DbConn) -> Result<Vec<Person>, StoreError> {
    let live = workers::table
        .filter(workers::merged_into.is_null())
        .select(workers::id);
    let identities = worker_identities::table
        .order((
            worker_identities::worker_id.asc(),
            worker_identities::agency_code.asc(),
        ))
        .select((
            worker_identities::worker_id,
            worker_identities::agency_code,
            worker_identities::nationality,
            worker_identities::passport_no,
            worker_identities::previous_passport_no,
            worker_identities::full_name,
            worker_identities::sex,
            worker_identities::birth_date,
        ));
    let passports = worker_passports::table
        .order(worker_passports::number.asc())
        .select((worker_passports::worker_id, worker_passports::number));
    let live: BTreeSet<String> = live.load::<String>(conn)?.into_iter().collect();
    Ok(assemble(
        &live,
        identities.load(conn)?,
        passports.load(conn)?,
    ))
}

fn assemble(
    live: &BTreeSet<String>,
    identities: Vec<IdentityCols>,
    passports: Vec<(String, String)>,
) -> Vec<Person> {
    let mut by: BTreeMap<String, Person> = BTreeMap::new();
    for (w, agency, nationality, passport_no, previous, full_name, sex, birth_date) in identities {
        if !live.contains(&w) {
            continue;
        }
        let p = by.entry(w.clone()).or_insert_with(|| Person {
            worker_id: w.clone(),
            // The first agency's, in agency order.
            nationality,
            passports: vec![],
            reported: vec![],
        });
        p.reported.push(Reported::new(
            agency,
            passport_no,
            previous,
            full_name,
            sex,
            birth_date,
        ));
    }
    for (w, number) in passports {
        if let Some(p) = by.get_mut(&w) {
            p.passports.push(number);
        }
    }
    by.into_values().collect()
}

/// The matcher's view of one worker read with their identity (`None` when
/// merged or when no agency has reported an identity), as [`everyone`]
/// assembles it for the sweep.
fn person_of(d: &crate::workers::WorkerDetail) -> Option<Person> {
    if d.worker.merged_into.is_some() {
        return None;
    }
    let mut identities: Vec<&crate::workers::IdentityRow> = d.identities.iter().collect();
    identities.sort_by(|a, b| a.agency_code.cmp(&b.agency_code));
    let mut passports: Vec<String> = d.passports.iter().map(|p| p.number.clone()).collect();
    passports.sort();
    let nationality = identities.first()?.nationality.clone();
    Some(Person {
        worker_id: d.worker.id.clone(),
        nationality,
        passports,
        reported: identities
            .into_iter()
            .map(|i| {
                Reported::new(
                    i.agency_code.clone(),
                    i.passport_no.clone(),
                    i.previous_passport_no.clone(),
                    i.full_name.clone(),
                    i.sex.clone(),
                    i.birth_date,
                )
            })
            .collect(),
    })
}

/// Workers (other than merged ones) sharing a block with any of `people`.
fn neighbours(conn: &mut DbConn, people: &[Person]) -> Result<BTreeSet<String>, StoreError> {
    let mut births = BTreeSet::new();
    let mut names = BTreeSet::new();
    let mut numbers = BTreeSet::new();
    for p in people {
        for b in matching::blocks(p) {
            match b {
                Block::Birth(n, d) => births.insert((n, d)),
                Block::Name(n, k) => names.insert((n, k)),
                Block::Passport(n, no) => numbers.insert((n, no)),
            };
        }
    }
    let mut out = BTreeSet::new();
    // A block too common to tell people apart (a placeholder birth date, a
    // name thousands share) is left out, as the sweep leaves it out.
    let births: Vec<(String, String)> = births
        .iter()
        .map(|(n, d)| (n.clone(), d.format("%Y-%m-%d").to_string()))
        .collect();
    let names: Vec<(String, String)> = names.into_iter().collect();
    out.extend(small_block_members(conn, BlockColumn::BirthDate, &births)?);
    out.extend(small_block_members(conn, BlockColumn::NameKey, &names)?);
    let nos: Vec<String> = numbers.iter().map(|(_, no)| no.clone()).collect();
    for chunk in nos.chunks(500) {
        // Who holds a number named as previous, and who names a held number as previous.
        let (held, naming) = holders_and_naming(conn, chunk)?;
        out.extend(
            held.into_iter()
                .filter(|(_, n, no)| numbers.contains(&(n.clone(), no.clone())))
                .map(|(w, _, _)| w),
        );
        out.extend(
            naming
                .into_iter()
                .filter(|(_, n, no)| {
                    no.as_ref()
                        .is_some_and(|no| numbers.contains(&(n.clone(), no.clone())))
                })
                .map(|(w, _, _)| w),
        );
    }
    Ok(out)
}

/// The identity column a block of people is keyed on, beside their nationality.
#[derive(Clone, Copy)]
enum BlockColumn {
    BirthDate,
    NameKey,
}

/// The workers in each of `blocks` (nationality, key on `column`; dates as
/// `YYYY-MM-DD`), leaving out every block of more than
/// [`matching::MAX_BLOCK`] identities. Each block is an index range of
/// `worker_identities` read no further than one identity past that bound,
/// so a name thousands share costs what a rare one costs.
fn small_block_members(
    conn: &mut DbConn,
    column: BlockColumn,
    blocks: &[(String, String)],
) -> Result<BTreeSet<String>, StoreError> {
    use diesel::sql_types::Text;
    #[derive(QueryableByName)]
    struct Member {
        #[diesel(sql_type = Text)]
        nationality: String,
        #[diesel(sql_type = Text)]
        block: String,
        #[diesel(sql_type = Text)]
        worker_id: String,
    }
    let (name, cast) = match column {
        BlockColumn::BirthDate => ("birth_date", "::date"),
        BlockColumn::NameKey => ("name_key", ""),
    };
    let bound = i64::try_from(matching::MAX_BLOCK).unwrap_or(i64::MAX) + 1;
    let mut members: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    match conn {
        DbConn::Postgresql(pg) => {
            let sql = format!(
                "SELECT k.n AS nationality, k.v AS block, m.worker_id \
                 FROM unnest($1::text[], $2::text[]) AS k(n, v) \
                 CROSS JOIN LATERAL (SELECT x.worker_id FROM worker_identities x \
                 WHERE x.nationality = k.n AND x.{name} = k.v{cast} LIMIT $3) m"
            );
            for chunk in blocks.chunks(500) {
                let (nats, keys): (Vec<&str>, Vec<&str>) =
                    chunk.iter().map(|(n, k)| (n.as_str(), k.as_str())).unzip();
                let params = vec![Param::Strs(nats), Param::Strs(keys), Param::BigInt(bound)];
                let rows: Vec<Member> = Kept::new(sql.as_str(), params).load(pg)?;
                for m in rows {
                    members
                        .entry((m.nationality, m.block))
                        .or_default()
                        .push(m.worker_id);
                }
            }
        }
        DbConn::Sqlite(lite) => {
            // One short statement per block, of one shape: prepared once per connection.
            for (n, k) in blocks {
                let found = worker_identities::table
                    .filter(worker_identities::nationality.eq(n))
                    .select(worker_identities::worker_id)
                    .limit(bound);
                let ids: Vec<String> = match column {
                    BlockColumn::BirthDate => {
                        let Ok(day) = chrono::NaiveDate::parse_from_str(k, "%Y-%m-%d") else {
                            continue;
                        };
                        found
                            .filter(worker_identities::birth_date.eq(day))
                            .load(lite)?
                    }
                    BlockColumn::NameKey => {
                        found.filter(worker_identities::name_key.eq(k)).load(lite)?
                    }
                };
                members
                    .entry((n.clone(), k.clone()))
                    .or_default()
                    .extend(ids);
            }
        }
    }
    Ok(members
        .into_values()
        .filter(|ids| ids.len() <= matching::MAX_BLOCK)
        .flatten()
        .collect())
}

/// Compares the workers `ids` (whose identity or passports just changed)
/// with every worker they share a block with, and brings the links up to
/// date: new candidates, refreshed evidence, a rejected pair back with new
/// evidence, a candidate whose evidence went away dissolved. Returns the
/// first worker of every link that changed (its rule-15 finding moves).
///
/// The workers `ids` are read with their identity and left in `read`, for
/// the findings that follow in the same transaction.
pub fn match_workers(
    conn: &mut DbConn,
    ids: &[String],
    now: NaiveDateTime,
    read: &mut BTreeMap<String, crate::workers::WorkerDetail>,
) -> Result<Vec<String>, StoreError> {
    let mut found: BTreeMap<(String, String), Match> = BTreeMap::new();
    // A slice of the workers at a time: each brings up to a block's worth of
    // neighbours per block it is in, and a batch's thousand workers with all
    // their neighbours held at once were the largest thing a batch kept in
    // memory (17 MiB at 100,000 workers). A pair of workers both in the
    // batch is found from either side and kept once.
    for slice in ids.chunks(MATCH_SLICE) {
        compare_with_neighbours(conn, slice, &mut found, read)?;
    }
    let found = matching::likeliest(found.into_values().collect())
        .into_iter()
        .map(|m| ((m.worker_a.clone(), m.worker_b.clone()), m))
        .collect();
    let existing = of_workers(conn, ids)?;
    reconcile(conn, found, existing, now)
}

/// Workers compared with their neighbours at a time (see [`match_workers`]).
const MATCH_SLICE: usize = 200;

/// Who holds one of the passport `numbers` (worker, country, number), and
/// who names one of them as their previous passport (worker, nationality,
/// number). On PostgreSQL one index read per number: most identities name no
/// previous passport, and a plan kept for `= ANY` reads them all.
#[allow(clippy::type_complexity)]
fn holders_and_naming(
    conn: &mut DbConn,
    numbers: &[String],
) -> Result<
    (
        Vec<(String, String, String)>,
        Vec<(String, String, Option<String>)>,
    ),
    StoreError,
> {
    if let DbConn::Postgresql(pg) = conn {
        let held: Vec<crate::workers::PassportRow> = crate::workers::pg_rows_of(
            pg,
            "worker_passports",
            "number",
            numbers,
            "t.number, t.country",
        )?;
        let naming: Vec<crate::workers::IdentityRow> = crate::workers::pg_rows_of(
            pg,
            "worker_identities",
            "previous_passport_no",
            numbers,
            "t.worker_id, t.agency_code",
        )?;
        return Ok((
            held.into_iter()
                .map(|p| (p.worker_id, p.country, p.number))
                .collect(),
            naming
                .into_iter()
                .map(|i| (i.worker_id, i.nationality, i.previous_passport_no))
                .collect(),
        ));
    }
    let held = worker_passports::table
        .filter(worker_passports::number.eq_any(numbers))
        .select((
            worker_passports::worker_id,
            worker_passports::country,
            worker_passports::number,
        ))
        .load(conn)?;
    let naming = worker_identities::table
        .filter(worker_identities::previous_passport_no.eq_any(numbers))
        .select((
            worker_identities::worker_id,
            worker_identities::nationality,
            worker_identities::previous_passport_no,
        ))
        .load(conn)?;
    Ok((held, naming))
}

/// Compares the workers `ids` with every worker they share a block with
/// and adds what matches to `found`; `ids` as read go to `read`.
fn compare_with_neighbours(
    conn: &mut DbConn,
    ids: &[String],
    found: &mut BTreeMap<(String, String), Match>,
    read: &mut BTreeMap<String, crate::workers::WorkerDetail>,
) -> Result<(), StoreError> {
    let details = crate::workers::get_workers(conn, ids)?;
    let touched: Vec<Person> = details.iter().filter_map(person_of).collect();
    read.extend(details.into_iter().map(|d| (d.worker.id.clone(), d)));
    if !touched.is_empty() {
        let mut around: Vec<String> = neighbours(conn, &touched)?.into_iter().collect();
        around.retain(|w| !ids.contains(w));
        let others = people(conn, &around)?;
        let all: Vec<&Person> = touched.iter().chain(others.iter()).collect();
        let mut by_block: BTreeMap<Block, Vec<usize>> = BTreeMap::new();
        for (i, p) in all.iter().enumerate() {
            for b in matching::blocks(p) {
                by_block.entry(b).or_default().push(i);
            }
        }
        // Also a block this transaction itself made too common.
        by_block.retain(|_, members| members.len() <= matching::MAX_BLOCK);
        for (i, t) in touched.iter().enumerate() {
            let mut seen = BTreeSet::new();
            for b in matching::blocks(t) {
                for &j in by_block.get(&b).into_iter().flatten() {
                    if j != i && seen.insert(j) {
                        if let Some(m) = matching::compare(t, all[j]) {
                            found.insert((m.worker_a.clone(), m.worker_b.clone()), m);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Writes what the matcher found against the links that exist for the same
/// workers: `existing` must hold every link of the workers compared.
fn reconcile(
    conn: &mut DbConn,
    found: BTreeMap<(String, String), Match>,
    existing: Vec<LinkRow>,
    now: NaiveDateTime,
) -> Result<Vec<String>, StoreError> {
    let mut changed = Vec::new();
    let mut by_pair: BTreeMap<(String, String), LinkRow> = existing
        .into_iter()
        .map(|l| ((l.worker_a.clone(), l.worker_b.clone()), l))
        .collect();
    for (pair, m) in &found {
        let evidence = serde_json::to_string(&m.evidence)?;
        let basis = m.basis();
        match by_pair.remove(pair) {
            None => {
                let row = LinkRow {
                    id: uuid::Uuid::new_v4().to_string(),
                    worker_a: m.worker_a.clone(),
                    worker_b: m.worker_b.clone(),
                    status: CANDIDATE.into(),
                    score: m.score,
                    evidence,
                    basis,
                    survivor: None,
                    moved: None,
                    reason: None,
                    case_ref: None,
                    decided_by: None,
                    decided_at: None,
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                diesel::insert_into(person_links::table)
                    .values(&row)
                    .execute(conn)?;
                changed.push(row.worker_a);
            }
            Some(l) => {
                let reopen = match l.status.as_str() {
                    CANDIDATE => false,
                    // Decided as two people: back only when the evidence is new.
                    REJECTED | UNMERGED => l.basis != basis,
                    DISSOLVED => true,
                    _ => continue,
                };
                if !reopen && l.evidence == evidence && l.score == m.score {
                    continue;
                }
                let status = if reopen { CANDIDATE } else { l.status.as_str() };
                let n = diesel::update(
                    person_links::table
                        .filter(person_links::id.eq(&l.id))
                        .filter(person_links::version.eq(l.version)),
                )
                .set((
                    person_links::status.eq(status),
                    person_links::score.eq(m.score),
                    person_links::evidence.eq(&evidence),
                    person_links::basis.eq(&basis),
                    person_links::updated_at.eq(now),
                    person_links::version.eq(l.version + 1),
                ))
                .execute(conn)?;
                if n == 0 {
                    return Err(StoreError::Retry);
                }
                changed.push(l.worker_a);
            }
        }
    }
    // Candidates of the compared workers that the matcher no longer finds.
    for l in by_pair.into_values().filter(|l| l.status == CANDIDATE) {
        set_status(conn, &l, DISSOLVED, now)?;
        changed.push(l.worker_a);
    }
    Ok(changed)
}

/// What a sweep did, and how long each step took.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SweepReport {
    /// Workers compared.
    pub workers: usize,
    /// Candidate pairs the matcher found.
    pub candidates: usize,
    /// Links written (new, refreshed, reopened or dissolved).
    pub changed: usize,
    /// Identities whose name key was filled in.
    pub keyed: usize,
    /// Seconds reading every identity and passport.
    pub load_seconds: f64,
    /// Seconds comparing within blocks.
    pub compare_seconds: f64,
    /// Seconds writing the links and their findings.
    pub write_seconds: f64,
}

/// The whole-population pass: fills in name keys missing from identities
/// stored before matching existed, then compares every worker with those
/// sharing a block and brings every link up to date, the findings with them.
pub fn sweep(db: &crate::Db) -> Result<SweepReport, StoreError> {
    let keyed = db.write(|c| {
        let missing: Vec<(String, String, String)> = worker_identities::table
            .filter(worker_identities::name_key.is_null())
            .select((
                worker_identities::worker_id,
                worker_identities::agency_code,
                worker_identities::full_name,
            ))
            .load(c)?;
        for (w, a, name) in &missing {
            diesel::update(worker_identities::table.find((w, a)))
                .set(worker_identities::name_key.eq(matching::name_key(name)))
                .execute(c)?;
        }
        Ok(missing.len())
    })?;
    let started = std::time::Instant::now();
    let everyone = db.read(everyone)?;
    let load_seconds = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let found: BTreeMap<(String, String), Match> = matching::sweep(&everyone)
        .into_iter()
        .map(|m| ((m.worker_a.clone(), m.worker_b.clone()), m))
        .collect();
    let candidates = found.len();
    let compare_seconds = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let changed = db.write(|c| {
        // A merge that committed since the read leaves its absorbed worker
        // out of every pair.
        share_merge_lock(c)?;
        let merged: BTreeSet<String> = workers::table
            .filter(workers::merged_into.is_not_null())
            .select(workers::id)
            .load::<String>(c)?
            .into_iter()
            .collect();
        let mut current = found.clone();
        current.retain(|(a, b), _| !merged.contains(a) && !merged.contains(b));
        let existing = person_links::table
            .select(LinkRow::as_select())
            .load::<LinkRow>(c)?;
        let now = chrono::Utc::now().naive_utc();
        let firsts = reconcile(c, current, existing, now)?;
        let mut journal = crate::journal::Journal::default();
        let subjects: Vec<sinergi_domain::rules::Subject> = firsts
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|w| sinergi_domain::rules::Subject::Worker(w.clone()))
            .collect();
        crate::findings::engine::recompute_subjects(
            c,
            &subjects,
            crate::findings::engine::today(),
            now,
            &mut journal,
        )?;
        journal.write(c)?;
        Ok(firsts.len())
    })?;
    Ok(SweepReport {
        workers: everyone.len(),
        candidates,
        changed,
        keyed,
        load_seconds,
        compare_seconds,
        write_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Seconds the on-write matcher takes for each of `ids`, each in its own
/// write transaction (as a write that changed that worker's identity would
/// run it; with the links already current it writes nothing).
pub fn time_on_write(db: &crate::Db, ids: &[String]) -> Result<Vec<f64>, StoreError> {
    ids.iter()
        .map(|id| {
            db.write(|c| {
                let started = std::time::Instant::now();
                match_workers(
                    c,
                    std::slice::from_ref(id),
                    chrono::Utc::now().naive_utc(),
                    &mut BTreeMap::new(),
                )?;
                Ok(started.elapsed().as_secs_f64())
            })
        })
        .collect()
}

/// A decision on a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// One person: merge the workers.
    Confirm,
    /// Two people.
    Reject,
    /// Undo a merge.
    Undo,
}

impl Decision {
    /// `confirm`, `reject` or `undo`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::Reject => "reject",
            Self::Undo => "undo",
        }
    }
}

fn conflict(code: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Conflict {
        code,
        message: message.into(),
    }
}

/// Regions where the pair's records are located (for the jurisdiction check).
fn regions_of(
    conn: &mut DbConn,
    ids: &[&str],
) -> Result<Vec<sinergi_domain::RegionCode>, StoreError> {
    let codes: Vec<Option<String>> = records::table
        .filter(records::worker_id.eq_any(ids))
        .select(records::region_code)
        .distinct()
        .load(conn)?;
    Ok(codes
        .into_iter()
        .flatten()
        .filter_map(|r| sinergi_domain::RegionCode::parse(&r).ok())
        .collect())
}

/// Applies a decision to a link for `prov`'s agency in one transaction:
/// the policy, the merge or its undo, the link, the findings recomputed,
/// the change feed (`worker` `merged` / `unmerged`) and the audit event.
pub fn decide(
    db: &crate::Db,
    prov: &crate::store::Provenance,
    id: &str,
    decision: Decision,
    reason: &str,
    case_ref: &str,
    if_match: Option<i64>,
) -> Result<LinkRow, StoreError> {
    use sinergi_domain::access::{self, Channel, Declared, Principal, Request};
    use sinergi_domain::rules::{RuleCode, Subject};
    db.write(|c| {
        hold_merge_lock(c)?;
        let old = get(c, id)?.ok_or(StoreError::NotFound)?;
        let regions = regions_of(c, &[&old.worker_a, &old.worker_b])?;
        let who = Principal {
            kind: prov.agency_kind,
            jurisdiction: prov.jurisdiction.as_ref(),
            scopes: &prov.scopes,
            purpose: Declared::Nothing,
        };
        // Deciding is acting on the pair's POSSIBLE_SAME_PERSON finding.
        let what = Request {
            responsible: Some(RuleCode::PossibleSamePerson.responsible()),
            ..Request::new(Channel::FindingAct, &[]).located(&regions)
        };
        access::decide(&who, &what).map_err(StoreError::Denied)?;
        if let Some(v) = if_match {
            if v != old.version {
                return Err(StoreError::PreconditionFailed {
                    current: Some(old.version),
                });
            }
        }
        let now = chrono::Utc::now().naive_utc();
        let mut row = old.clone();
        row.reason = Some(reason.to_string());
        row.case_ref = Some(case_ref.to_string());
        row.decided_by = Some(format!("{}/{}", prov.agency_code, prov.client_id));
        row.decided_at = Some(now);
        row.updated_at = now;
        row.version = old.version + 1;
        let mut pending = crate::findings::engine::Pending::default();
        match decision {
            Decision::Reject => {
                if old.status != CANDIDATE {
                    return Err(conflict(
                        "link_not_candidate",
                        format!(
                            "this link is {}; only a candidate can be rejected",
                            old.status
                        ),
                    ));
                }
                row.status = REJECTED.into();
            }
            Decision::Confirm => {
                if old.status != CANDIDATE {
                    return Err(conflict(
                        "link_not_candidate",
                        format!(
                            "this link is {}; only a candidate can be confirmed",
                            old.status
                        ),
                    ));
                }
                let (survivor, absorbed) = survivor_of(c, &old)?;
                let moved = merge(c, &survivor, &absorbed, now)?;
                row.status = CONFIRMED.into();
                row.survivor = Some(survivor.clone());
                row.moved = Some(serde_json::to_string(&moved)?);
                announce(&mut pending, prov, "merged", &absorbed, &survivor, &row, c)?;
                // The absorbed worker's other candidates are the survivor's now.
                for l in of_workers(c, std::slice::from_ref(&absorbed))?
                    .into_iter()
                    .filter(|l| l.status == CANDIDATE && l.id != old.id)
                {
                    set_status(c, &l, DISSOLVED, now)?;
                    pending.note_subject(Subject::Worker(l.worker_a.clone()));
                }
                pending.note_people([survivor.clone()]);
                pending.note_subject(Subject::Worker(survivor));
                pending.note_subject(Subject::Worker(absorbed));
            }
            Decision::Undo => {
                if old.status != CONFIRMED {
                    return Err(conflict(
                        "link_not_confirmed",
                        format!(
                            "this link is {}; only a confirmed link can be undone",
                            old.status
                        ),
                    ));
                }
                let survivor = old.survivor.clone().ok_or_else(|| {
                    StoreError::Corrupt("a confirmed person link names no survivor".into())
                })?;
                let absorbed = old.other(&survivor).to_string();
                let moved: Moved = serde_json::from_str(old.moved.as_deref().unwrap_or("{}"))?;
                unmerge(c, &survivor, &absorbed, &moved, now)?;
                row.status = UNMERGED.into();
                row.survivor = None;
                row.moved = None;
                announce(
                    &mut pending,
                    prov,
                    "unmerged",
                    &absorbed,
                    &survivor,
                    &row,
                    c,
                )?;
                pending.note_people([survivor.clone(), absorbed.clone()]);
                pending.note_subject(Subject::Worker(survivor));
                pending.note_subject(Subject::Worker(absorbed));
            }
        }
        let n = diesel::update(
            person_links::table
                .filter(person_links::id.eq(&row.id))
                .filter(person_links::version.eq(old.version)),
        )
        .set((
            person_links::status.eq(&row.status),
            person_links::survivor.eq(&row.survivor),
            person_links::moved.eq(&row.moved),
            person_links::reason.eq(&row.reason),
            person_links::case_ref.eq(&row.case_ref),
            person_links::decided_by.eq(&row.decided_by),
            person_links::decided_at.eq(row.decided_at),
            person_links::updated_at.eq(now),
            person_links::version.eq(row.version),
        ))
        .execute(c)?;
        if n == 0 {
            return Err(StoreError::Retry);
        }
        pending.note_subject(Subject::Worker(old.worker_a.clone()));
        let mut audit = prov.audit("person_link", Some(&row.id), Some(&old.worker_a), 200);
        audit.case_ref = Some(case_ref.to_string());
        pending.journal.audit(audit);
        if old.worker_b != old.worker_a {
            // The access touches both people: each has it in their access log.
            let mut other = prov.audit("person_link", Some(&row.id), Some(&old.worker_b), 200);
            other.case_ref = Some(case_ref.to_string());
            pending.journal.audit(other);
        }
        pending.flush(c)?;
        // The matcher may have refreshed the link while flushing: answer with what is stored.
        get(c, &row.id)?.ok_or(StoreError::NotFound)
    })
}

fn set_status(
    c: &mut DbConn,
    l: &LinkRow,
    status: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let n = diesel::update(
        person_links::table
            .filter(person_links::id.eq(&l.id))
            .filter(person_links::version.eq(l.version)),
    )
    .set((
        person_links::status.eq(status),
        person_links::updated_at.eq(now),
        person_links::version.eq(l.version + 1),
    ))
    .execute(c)?;
    if n == 0 {
        return Err(StoreError::Retry);
    }
    Ok(())
}

/// The worker that stays: the one Sinergi knew first (then the smaller id).
fn survivor_of(c: &mut DbConn, l: &LinkRow) -> Result<(String, String), StoreError> {
    let rows: Vec<(String, NaiveDateTime, Option<String>)> = workers::table
        .filter(workers::id.eq_any([&l.worker_a, &l.worker_b]))
        .select((workers::id, workers::created_at, workers::merged_into))
        .load(c)?;
    if rows.len() != 2 {
        return Err(conflict(
            "worker_missing",
            "one of the two workers no longer exists",
        ));
    }
    if rows.iter().any(|(_, _, m)| m.is_some()) {
        return Err(conflict(
            "worker_merged",
            "one of the two workers has been merged into another; decide that worker's links",
        ));
    }
    let mut rows = rows;
    rows.sort_by(|x, y| (x.1, &x.0).cmp(&(y.1, &y.0)));
    Ok((rows[0].0.clone(), rows[1].0.clone()))
}

fn bump(
    c: &mut DbConn,
    id: &str,
    merged_into: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(workers::table.find(id))
        .set((
            workers::version.eq(workers::version + 1),
            workers::updated_at.eq(now),
            workers::merged_into.eq(merged_into),
        ))
        .execute(c)?;
    Ok(())
}

/// Moves everything of `absorbed` to `survivor`; returns what moved.
fn merge(
    c: &mut DbConn,
    survivor: &str,
    absorbed: &str,
    now: NaiveDateTime,
) -> Result<Moved, StoreError> {
    let passports: Vec<(String, String)> = worker_passports::table
        .filter(worker_passports::worker_id.eq(absorbed))
        .order(worker_passports::number.asc())
        .select((worker_passports::number, worker_passports::country))
        .load(c)?;
    diesel::update(worker_passports::table.filter(worker_passports::worker_id.eq(absorbed)))
        .set((
            worker_passports::worker_id.eq(survivor),
            worker_passports::updated_at.eq(now),
        ))
        .execute(c)?;
    let theirs: Vec<String> = worker_identities::table
        .filter(worker_identities::worker_id.eq(survivor))
        .select(worker_identities::agency_code)
        .load(c)?;
    let identities: Vec<String> = worker_identities::table
        .filter(worker_identities::worker_id.eq(absorbed))
        .filter(worker_identities::agency_code.ne_all(&theirs))
        .order(worker_identities::agency_code.asc())
        .select(worker_identities::agency_code)
        .load(c)?;
    diesel::update(
        worker_identities::table
            .filter(worker_identities::worker_id.eq(absorbed))
            .filter(worker_identities::agency_code.eq_any(&identities)),
    )
    .set(worker_identities::worker_id.eq(survivor))
    .execute(c)?;
    let moved_records: Vec<(String, String)> = records::table
        .filter(records::worker_id.eq(absorbed))
        .order((records::record_type.asc(), records::record_key.asc()))
        .select((records::record_type, records::record_key))
        .load(c)?;
    diesel::update(records::table.filter(records::worker_id.eq(absorbed)))
        .set(records::worker_id.eq(survivor))
        .execute(c)?;
    bump(c, survivor, None, now)?;
    bump(c, absorbed, Some(survivor), now)?;
    Ok(Moved {
        passports,
        identities,
        records: moved_records,
    })
}

/// Splits a merge back: the passports and identities that moved go back,
/// and so does every record of the survivor that names one of those
/// passports (also records written since the merge).
fn unmerge(
    c: &mut DbConn,
    survivor: &str,
    absorbed: &str,
    moved: &Moved,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    for (number, country) in &moved.passports {
        diesel::update(
            worker_passports::table
                .find((number, country))
                .filter(worker_passports::worker_id.eq(survivor)),
        )
        .set((
            worker_passports::worker_id.eq(absorbed),
            worker_passports::updated_at.eq(now),
        ))
        .execute(c)?;
    }
    diesel::update(
        worker_identities::table
            .filter(worker_identities::worker_id.eq(survivor))
            .filter(worker_identities::agency_code.eq_any(&moved.identities)),
    )
    .set(worker_identities::worker_id.eq(absorbed))
    .execute(c)?;
    let numbers: BTreeSet<&str> = moved.passports.iter().map(|(n, _)| n.as_str()).collect();
    let listed: BTreeSet<(&str, &str)> = moved
        .records
        .iter()
        .map(|(t, k)| (t.as_str(), k.as_str()))
        .collect();
    let mut back = Vec::new();
    for row in crate::records::records_of_worker(c, survivor)? {
        let record = row.typed()?;
        let goes_back = match record.person() {
            Some(p) => numbers.contains(p.passport_no.as_str()),
            // A record naming no person (none today) goes back by the list.
            None => listed.contains(&(row.record_type.as_str(), row.record_key.as_str())),
        };
        if goes_back {
            back.push((row.record_type, row.record_key));
        }
    }
    for (t, k) in &back {
        diesel::update(records::table.find((t, k)))
            .set(records::worker_id.eq(absorbed))
            .execute(c)?;
    }
    bump(c, survivor, None, now)?;
    bump(c, absorbed, None, now)?;
    Ok(())
}

/// The change-feed entry of a merge or its undo: type `worker`, keyed by
/// the absorbed worker, with both ids in the payload.
fn announce(
    pending: &mut crate::findings::engine::Pending,
    prov: &crate::store::Provenance,
    op: &'static str,
    absorbed: &str,
    survivor: &str,
    link: &LinkRow,
    c: &mut DbConn,
) -> Result<(), StoreError> {
    let version: i64 = workers::table
        .find(absorbed)
        .select(workers::version)
        .first(c)?;
    let payload = serde_json::json!({
        "worker_id": absorbed,
        "merged_into": survivor,
        "link_id": link.id,
        "op": op,
    });
    pending.journal.touch(survivor);
    pending.journal.change(crate::changes::NewChange {
        record_type: "worker".into(),
        record_key: absorbed.to_string(),
        op,
        version,
        agency_code: prov.agency_code.clone(),
        worker_id: Some(absorbed.to_string()),
        payload: Some(payload.to_string()),
        source_ref: None,
    });
    Ok(())
}
