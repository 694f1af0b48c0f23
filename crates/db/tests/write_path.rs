//! The persistence crate's write path without HTTP, on SQLite and PostgreSQL:
//! store, update, identical re-push, reference failures, the access policy
//! on where a record lies, ownership, concurrent upserts, batches, withdrawal.

use std::sync::Arc;

use chrono::Utc;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{json, Value};
use sinergi_db::records::{IfMatch, WriteOutcome};
use sinergi_db::store::{self, BatchMode, BatchOutcome, Provenance, Write};
use sinergi_db::{audit, changes, findings, Backend, Db, StoreError};
use sinergi_domain::access::{Denial, Scope};
use sinergi_domain::records::AnyRecord;
use sinergi_domain::{AgencyKind, RecordType, RegionCode};

/// A database for one test, removed afterwards.
struct TestDb {
    db: Db,
    url: String,
    drop_pg: Option<(String, String)>,
    dir: Option<std::path::PathBuf>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.drop_pg {
            if let Ok(mut c) = PgConnection::establish(admin) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut c);
            }
        }
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn open(backend: Backend) -> Option<TestDb> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (url, drop_pg, dir) = match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("sinergi-db-test-{id}"));
            std::fs::create_dir_all(&dir).expect("temp dir");
            (format!("sqlite://{}/t.db", dir.display()), None, Some(dir))
        }
        Backend::Postgres => {
            let admin = std::env::var("SINERGI_TEST_PG_URL")
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let mut c = match PgConnection::establish(&admin) {
                Ok(c) => c,
                Err(e) if std::env::var("CI").is_ok_and(|v| !v.is_empty()) => {
                    panic!("PostgreSQL at {admin} is unreachable and CI is set: {e}")
                }
                Err(e) => {
                    eprintln!("skipping: PostgreSQL at {admin} is unreachable ({e})");
                    return None;
                }
            };
            let name = format!("sinergi_w_{id}");
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut c)
                .expect("create database");
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            (format!("{base}/{name}"), Some((admin.clone(), name)), None)
        }
    };
    let db = Db::connect(&url, 8).expect("connect");
    db.migrate().expect("migrate");
    for (code, kind, jurisdiction) in [
        ("IMI", "immigration", None),
        ("IMI2", "immigration", None),
        ("KEMNAKER", "manpower", None),
        ("MP-TGR", "manpower", Some("64.02.06")),
        ("KESBANG", "regional", None),
    ] {
        db.write(|c| {
            use sinergi_db::schema::agencies::dsl as a;
            diesel::insert_into(a::agencies)
                .values((
                    a::code.eq(code),
                    a::name.eq(code),
                    a::kind.eq(kind),
                    a::jurisdiction.eq(jurisdiction),
                    a::created_at.eq(Utc::now().naive_utc()),
                ))
                .execute(c)?;
            Ok(())
        })
        .expect("agency");
    }
    Some(TestDb {
        db,
        url,
        drop_pg,
        dir,
    })
}

use diesel::ExpressionMethods;

fn prov(agency: &str, kind: AgencyKind, jurisdiction: Option<&str>) -> Provenance {
    Provenance {
        agency_code: agency.into(),
        agency_kind: kind,
        jurisdiction: jurisdiction.map(|j| RegionCode::parse(j).expect("region")),
        client_id: format!("{agency}-client"),
        scopes: vec![Scope::RecordsRead, Scope::RecordsWrite],
        request_id: format!("req-{}", uuid::Uuid::new_v4()),
        purpose: None,
        case_ref: None,
        action: "write",
    }
}

fn imi() -> Provenance {
    prov("IMI", AgencyKind::Immigration, None)
}

fn kemnaker() -> Provenance {
    prov("KEMNAKER", AgencyKind::Manpower, None)
}

const NIB: &str = "9120001234567";

fn record(t: RecordType, v: Value) -> AnyRecord {
    AnyRecord::from_value(t, v).expect("a valid record")
}

fn permit(no: &str, passport: &str, valid_until: &str) -> Write {
    let today = sinergi_db::findings::engine::today();
    let from = today - chrono::Duration::days(30);
    Write {
        record: record(
            RecordType::ResidencePermit,
            json!({"permit_no": no,
                   "worker": {"passport_no": passport, "nationality": "CHN", "full_name": "ZHANG WEI",
                              "sex": "M", "birth_date": "1985-04-12", "passport_expires_on": null},
                   "kind": "ITAS", "visa_index": "E23", "sponsor_nib": NIB,
                   "issued_on": from, "valid_from": from, "valid_until": valid_until,
                   "issuing_office": null, "address_region_code": "64.02.06", "status": "active"}),
        ),
        if_match: None,
    }
}

fn approval(no: &str, nib: &str, scope: &str) -> Write {
    Write {
        record: record(
            RecordType::RptkaApproval,
            json!({"approval_no": no, "employer_nib": nib, "type": "new",
                   "issued_on": "2026-01-01", "valid_from": "2026-01-01", "valid_until": "2030-12-31",
                   "location_scope": [scope],
                   "positions": [{"code": "P01", "title": "Engineer", "level": "professional",
                                  "headcount": 2, "closed_position": false}],
                   "status": "active"}),
        ),
        if_match: None,
    }
}

fn assignment(sref: &str, approval_no: &str) -> Write {
    Write {
        record: record(
            RecordType::Assignment,
            json!({"source_ref": sref,
                   "worker": {"passport_no": "E51234567", "nationality": "CHN", "full_name": "ZHANG WEI",
                              "sex": null, "birth_date": null, "passport_expires_on": null},
                   "approval_no": approval_no, "position_code": "P01", "employer_nib": NIB,
                   "start_on": "2026-01-01", "end_on": "2030-06-30", "status": "active",
                   "companion": null, "legacy_notifikasi_no": null}),
        ),
        if_match: None,
    }
}

fn employer(region: &str, name: &str) -> Write {
    Write {
        record: record(
            RecordType::Employer,
            json!({"nib": NIB, "npwp": null, "name": name, "capital": "PMA", "kbli": ["05100"],
                   "sector": "mining", "address": null, "region_code": region}),
        ),
        if_match: None,
    }
}

#[derive(diesel::QueryableByName)]
struct Number {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// The value of one SQL expression that gives a whole number (PostgreSQL).
fn number(db: &Db, expression: &str) -> i64 {
    db.read(|c| {
        Ok(
            diesel::sql_query(format!("SELECT ({expression})::bigint AS n"))
                .get_result::<Number>(c)?
                .n,
        )
    })
    .expect(expression)
}

fn feed(db: &Db) -> Vec<changes::ChangeRow> {
    db.read(|c| changes::list_after(c, 0, &[], 1000))
        .expect("feed")
}

fn events(db: &Db) -> Vec<audit::AuditRow> {
    db.read(|c| audit::list(c, &audit::AuditFilter::default(), 0, 1000))
        .expect("audit")
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[test] fn $name() { if let Some(t) = super::open(sinergi_db::Backend::Sqlite) { super::$name(&t.db); } } )* }
        mod postgres { $( #[test] fn $name() { if let Some(t) = super::open(sinergi_db::Backend::Postgres) { super::$name(&t.db); } } )* }
    };
}

both!(
    store_resolves_audits_announces_and_recomputes,
    update_bumps_the_version_and_if_match_guards_it,
    identical_repush_changes_nothing,
    references_must_exist_and_fit,
    the_policy_refuses_where_the_record_lies,
    only_the_creator_changes_its_record,
    concurrent_upserts_make_one_record,
    batches_per_item_atomic_and_dry_run,
    withdrawal_is_a_tombstone,
    a_batch_refers_to_what_it_stores_itself,
    employers_are_judged_together_each_on_their_own_records,
);

fn store_resolves_audits_announces_and_recomputes(db: &Db) {
    let p = imi();
    let s = store::store_one(db, &p, &permit("ITAS-1", "E51234567", "2030-12-31")).expect("stored");
    assert_eq!((s.outcome, s.row.version), (WriteOutcome::Created, 1));
    let worker = s.row.worker_id.clone().expect("a worker");
    let ev = events(db);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].client_id.as_deref(), Some("IMI-client"));
    assert_eq!(ev[0].request_id, p.request_id);
    assert_eq!(ev[0].subject_worker_id.as_deref(), Some(worker.as_str()));
    assert_eq!((ev[0].action.as_str(), ev[0].status), ("write", 201));
    let f = feed(db);
    let upserts: Vec<_> = f
        .iter()
        .filter(|c| c.record_type == "residence_permit")
        .collect();
    assert_eq!(upserts.len(), 1);
    let payload: Value =
        serde_json::from_str(upserts[0].payload.as_deref().expect("payload")).unwrap();
    assert_eq!(payload["id"], "ITAS-1");
    assert_eq!(payload["worker"]["passport_no"], "E51234567");
    assert_eq!(payload["worker_id"], worker.as_str());
    assert_eq!(payload["meta"]["version"], 1);
    let open: Vec<String> = db
        .read(|c| findings::of_subject(c, "worker", &worker))
        .expect("findings")
        .into_iter()
        .filter(|f| f.status == "open")
        .map(|f| f.rule)
        .collect();
    assert!(
        open.contains(&"PERMIT_WITHOUT_ASSIGNMENT".to_string()),
        "{open:?}"
    );
}

fn update_bumps_the_version_and_if_match_guards_it(db: &Db) {
    store::store_one(db, &imi(), &permit("ITAS-1", "E51234567", "2030-12-31")).expect("stored");
    let s = store::store_one(db, &imi(), &permit("ITAS-1", "E51234567", "2031-12-31"))
        .expect("updated");
    assert_eq!((s.outcome, s.row.version), (WriteOutcome::Updated, 2));
    let permits = feed(db)
        .into_iter()
        .filter(|c| c.record_type == "residence_permit")
        .count();
    assert_eq!(permits, 2);
    let mut stale = permit("ITAS-1", "E51234567", "2032-12-31");
    stale.if_match = Some(IfMatch::Version(1));
    match store::store_one(db, &imi(), &stale) {
        Err(StoreError::PreconditionFailed { current }) => assert_eq!(current, Some(2)),
        other => panic!("{other:?}"),
    }
}

fn identical_repush_changes_nothing(db: &Db) {
    store::store_one(db, &imi(), &permit("ITAS-1", "E51234567", "2030-12-31")).expect("stored");
    let before = feed(db).len();
    let s =
        store::store_one(db, &imi(), &permit("ITAS-1", "E51234567", "2030-12-31")).expect("again");
    assert_eq!((s.outcome, s.row.version), (WriteOutcome::Unchanged, 1));
    assert_eq!(feed(db).len(), before, "no change for an identical re-push");
    assert_eq!(events(db).len(), 2, "the re-push is audited all the same");
}

fn references_must_exist_and_fit(db: &Db) {
    match store::store_one(db, &kemnaker(), &assignment("A-1", "KEP-1")) {
        Err(StoreError::Reference { field, code, .. }) => {
            assert_eq!((field.as_str(), code), ("approval_no", "unknown_approval"))
        }
        other => panic!("{other:?}"),
    }
    store::store_one(
        db,
        &kemnaker(),
        &approval("KEP-2", "9120000000009", "64.02"),
    )
    .expect("approval");
    match store::store_one(db, &kemnaker(), &assignment("A-1", "KEP-2")) {
        Err(StoreError::Reference { code, .. }) => assert_eq!(code, "employer_mismatch"),
        other => panic!("{other:?}"),
    }
    let stored = db
        .read(|c| sinergi_db::records::get_records(c, "assignment", &["A-1".to_string()]))
        .expect("read");
    assert!(stored.is_empty());
    assert!(feed(db).iter().all(|c| c.record_type != "assignment"));
}

fn the_policy_refuses_where_the_record_lies(db: &Db) {
    match store::store_one(
        db,
        &kemnaker(),
        &permit("ITAS-1", "E51234567", "2030-12-31"),
    ) {
        Err(StoreError::Denied(Denial::KindNotAllowed(..))) => {}
        other => panic!("{other:?}"),
    }
    let limited = prov("MP-TGR", AgencyKind::Manpower, Some("64.02.06"));
    match store::store_one(db, &limited, &employer("64.03.01", "PT Elsewhere")) {
        Err(StoreError::Denied(Denial::OutsideJurisdiction { .. })) => {}
        other => panic!("{other:?}"),
    }
    store::store_one(db, &kemnaker(), &approval("KEP-1", NIB, "64.03")).expect("approval");
    match store::store_one(db, &limited, &assignment("A-1", "KEP-1")) {
        Err(StoreError::Denied(Denial::OutsideJurisdiction { region, .. })) => {
            assert_eq!(region.as_str(), "64.03")
        }
        other => panic!("{other:?}"),
    }
    // An employer located outside cannot be moved in by a limited agency.
    store::store_one(db, &imi(), &employer("64.72.01", "PT Samarinda")).expect("employer");
    match store::store_one(db, &limited, &employer("64.02.06", "PT Moved")) {
        Err(StoreError::Denied(Denial::OutsideJurisdiction { .. })) => {}
        other => panic!("{other:?}"),
    }
}

fn only_the_creator_changes_its_record(db: &Db) {
    store::store_one(db, &imi(), &permit("ITAS-1", "E51234567", "2030-12-31")).expect("stored");
    let other = prov("IMI2", AgencyKind::Immigration, None);
    match store::store_one(db, &other, &permit("ITAS-1", "E51234567", "2031-12-31")) {
        Err(StoreError::OwnedByOtherAgency) => {}
        other => panic!("{other:?}"),
    }
    // Employers are shared master data.
    store::store_one(db, &imi(), &employer("64.02.06", "PT A")).expect("employer");
    let s =
        store::store_one(db, &kemnaker(), &employer("64.02.06", "PT A Renamed")).expect("shared");
    assert_eq!(
        (s.outcome, s.row.version, s.row.agency_code.as_str()),
        (WriteOutcome::Updated, 2, "KEMNAKER")
    );
}

fn concurrent_upserts_make_one_record(db: &Db) {
    let db = Arc::new(db.clone());
    let outcomes: Vec<WriteOutcome> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let db = db.clone();
                s.spawn(move || {
                    store::store_one(&db, &imi(), &permit("ITAS-1", "E51234567", "2030-12-31"))
                        .expect("stored")
                        .outcome
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let created = outcomes
        .iter()
        .filter(|o| **o == WriteOutcome::Created)
        .count();
    let unchanged = outcomes
        .iter()
        .filter(|o| **o == WriteOutcome::Unchanged)
        .count();
    assert_eq!((created, unchanged), (1, 7), "{outcomes:?}");
    let rows = db
        .read(|c| sinergi_db::records::get_records(c, "residence_permit", &["ITAS-1".to_string()]))
        .expect("read");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].version, 1);
    let permits = feed(&db)
        .into_iter()
        .filter(|c| c.record_type == "residence_permit")
        .count();
    assert_eq!(permits, 1);
}

fn batches_per_item_atomic_and_dry_run(db: &Db) {
    let batch = vec![
        permit("ITAS-1", "E51234567", "2030-12-31"),
        assignment("A-1", "KEP-404"),
        permit("ITAS-2", "E51234568", "2030-12-31"),
    ];
    let mut p = imi();
    p.action = "batch_write";
    // The assignment is manpower's: immigration's batch fails on it alone.
    match store::store_batch(db, &p, &batch, BatchMode::PerItem, false).expect("batch") {
        BatchOutcome::Applied(r) => {
            assert!(matches!(r[0], Ok(ref s) if s.outcome == WriteOutcome::Created));
            assert!(matches!(r[1], Err(StoreError::Denied(_))), "{:?}", r[1]);
            assert!(matches!(r[2], Ok(ref s) if s.outcome == WriteOutcome::Created));
        }
        other => panic!("{other:?}"),
    }
    let atomic = vec![
        permit("ITAS-3", "E51234569", "2030-12-31"),
        assignment("A-2", "KEP-404"),
    ];
    match store::store_batch(db, &p, &atomic, BatchMode::Atomic, false).expect("batch") {
        BatchOutcome::Failed { index, .. } => assert_eq!(index, 1),
        other => panic!("{other:?}"),
    }
    let dry = vec![permit("ITAS-4", "E51234570", "2030-12-31")];
    match store::store_batch(db, &p, &dry, BatchMode::PerItem, true).expect("batch") {
        BatchOutcome::Applied(r) => {
            assert!(matches!(r[0], Ok(ref s) if s.outcome == WriteOutcome::Created))
        }
        other => panic!("{other:?}"),
    }
    let keys: Vec<String> = ["ITAS-1", "ITAS-2", "ITAS-3", "ITAS-4"]
        .map(String::from)
        .to_vec();
    let mut stored: Vec<String> = db
        .read(|c| sinergi_db::records::get_records(c, "residence_permit", &keys))
        .expect("read")
        .into_iter()
        .map(|r| r.record_key)
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        ["ITAS-1", "ITAS-2"],
        "the atomic batch and the dry run stored nothing"
    );
}

fn a_batch_refers_to_what_it_stores_itself(db: &Db) {
    let mut p = kemnaker();
    p.action = "batch_write";
    // The assignment names the approval stored before it in the same batch;
    // the second one names an approval of another employer, also just stored.
    let batch = vec![
        approval("KEP-7", NIB, "64.02"),
        approval("KEP-8", "9120000000009", "64.02"),
        assignment("A-1", "KEP-7"),
        assignment("A-2", "KEP-8"),
    ];
    match store::store_batch(db, &p, &batch, BatchMode::PerItem, false).expect("batch") {
        BatchOutcome::Applied(r) => {
            assert!(
                r[..3]
                    .iter()
                    .all(|r| matches!(r, Ok(s) if s.outcome == WriteOutcome::Created)),
                "{r:?}"
            );
            match &r[3] {
                Err(StoreError::Reference { code, .. }) => assert_eq!(*code, "employer_mismatch"),
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    let assignments: Vec<Option<String>> = feed(db)
        .into_iter()
        .filter(|c| c.record_type == "assignment")
        .map(|c| c.source_ref)
        .collect();
    assert_eq!(assignments, [Some("A-1".to_string())]);
}

fn headcount(sref: &str, nib: &str, observed_on: &str, n: u32) -> Write {
    Write {
        record: record(
            RecordType::PresenceReport,
            json!({"source_ref": sref, "observed_on": observed_on, "source": "field_check",
                   "region_code": "64.02.06", "employer_nib": nib, "headcount": n}),
        ),
        if_match: None,
    }
}

fn employers_are_judged_together_each_on_their_own_records(db: &Db) {
    const OTHER: &str = "9120007654321";
    store::store_one(db, &kemnaker(), &employer("64.02.06", "PT Registered")).expect("employer");
    // Two employers with more headcount reports than one page of their read;
    // the newest report of each, somewhere among them, speaks for the district.
    let mut batch = Vec::new();
    for i in 0..1100 {
        batch.push(headcount(&format!("A-{i:04}"), NIB, "2026-01-01", 9));
        batch.push(headcount(&format!("B-{i:04}"), OTHER, "2026-01-01", 9));
    }
    batch.insert(700, headcount("A-NEWEST", NIB, "2026-02-01", 5));
    batch.insert(1500, headcount("B-NEWEST", OTHER, "2026-02-01", 3));
    // A third, small one: read after the first page in a run of its own.
    const SMALL: &str = "9120005555555";
    for i in 0..3 {
        batch.push(headcount(&format!("C-{i}"), SMALL, "2026-01-01", 1));
    }
    let mut reg = prov("KESBANG", AgencyKind::Regional, None);
    reg.action = "batch_write";
    match store::store_batch(db, &reg, &batch, BatchMode::PerItem, false).expect("batch") {
        BatchOutcome::Applied(r) => assert!(r.iter().all(Result::is_ok)),
        other => panic!("{other:?}"),
    }
    // Every report of the three, each once, in employer and key order:
    // past a full first page, the rest of its employer, the small one and
    // the large one on its own.
    let mut seen: Vec<(String, String)> = Vec::new();
    let asked: Vec<String> = [OTHER, SMALL, NIB, "9120000000000", NIB]
        .map(String::from)
        .to_vec();
    db.read(|c| {
        seen.clear();
        sinergi_db::records::for_each_of_employers(c, "presence_report", &asked, |r| {
            seen.push((r.employer_nib.clone().unwrap_or_default(), r.record_key));
            Ok(())
        })
    })
    .expect("reports");
    let mut want = seen.clone();
    want.sort();
    want.dedup();
    assert_eq!(seen.len(), 1101 + 1101 + 3);
    assert!(seen == want, "not in employer and key order, or read twice");
    let open = |nib: &str| -> Vec<(String, String)> {
        let mut f: Vec<(String, String)> = db
            .read(|c| findings::of_subject(c, "employer", nib))
            .expect("findings")
            .into_iter()
            .filter(|f| f.status == "open")
            .map(|f| (f.rule, f.message_en))
            .collect();
        f.sort();
        f
    };
    let registered = open(NIB);
    assert_eq!(registered.len(), 1, "{registered:?}");
    assert_eq!(registered[0].0, "SEEN_OVER_PERMITTED");
    assert!(
        registered[0]
            .1
            .starts_with("On 2026-02-01, 5 people were counted at employer 9120001234567"),
        "{registered:?}"
    );
    let other = open(OTHER);
    assert_eq!(other.len(), 2, "{other:?}");
    assert_eq!(other[0].0, "EMPLOYER_NOT_REGISTERED");
    assert_eq!(other[1].0, "SEEN_OVER_PERMITTED");
    assert!(
        other[1]
            .1
            .starts_with("On 2026-02-01, 3 people were counted at employer 9120007654321"),
        "{other:?}"
    );
}

fn withdrawal_is_a_tombstone(db: &Db) {
    let reg = prov("KESBANG", AgencyKind::Regional, None);
    let seen = Write {
        record: record(
            RecordType::PresenceReport,
            json!({"source_ref": "P-1", "observed_on": "2026-11-30", "source": "field_check",
                   "region_code": "64.02.06", "work_site_ref": null, "employer_nib": null,
                   "worker": null, "headcount": 4, "activity": null, "notes": null}),
        ),
        if_match: None,
    };
    let s = store::store_one(db, &reg, &seen).expect("stored");
    let key = s.row.record_key.clone();
    match store::withdraw(db, &imi(), RecordType::PresenceReport, &key, None) {
        Err(StoreError::OwnedByOtherAgency) => {}
        other => panic!("{other:?}"),
    }
    store::withdraw(db, &reg, RecordType::PresenceReport, &key, None).expect("withdrawn");
    let last = feed(db).pop().expect("a change");
    assert_eq!(
        (last.op.as_str(), last.version, last.record_key),
        ("delete", 2, key)
    );
    assert!(last.payload.is_none());
}

mod feed_time {
    use super::*;

    fn changed_at_grows_with_the_position(db: &Db) {
        // Eight writers at once: positions are taken one transaction at a
        // time, and each change's time is never before the one ahead of it.
        let db = Arc::new(db.clone());
        std::thread::scope(|s| {
            for t in 0..8 {
                let db = db.clone();
                s.spawn(move || {
                    for i in 0..5 {
                        let no = format!("ITAS-{t}-{i}");
                        let passport = format!("E6{t}{i:06}");
                        store::store_one(&db, &imi(), &permit(&no, &passport, "2030-12-31"))
                            .expect("stored");
                    }
                });
            }
        });
        let f = feed(&db);
        assert!(f.len() >= 40, "{}", f.len());
        for pair in f.windows(2) {
            assert!(pair[0].seq < pair[1].seq);
            assert!(
                pair[0].changed_at <= pair[1].changed_at,
                "{} at {} before {} at {}",
                pair[0].seq,
                pair[0].changed_at,
                pair[1].seq,
                pair[1].changed_at
            );
        }
    }

    fn pruning_keeps_every_change_from_the_cut_on(db: &Db) {
        for i in 0..3 {
            store::store_one(
                db,
                &imi(),
                &permit(
                    &format!("ITAS-OLD-{i}"),
                    &format!("E7000000{i}"),
                    "2030-12-31",
                ),
            )
            .expect("stored");
        }
        // On PostgreSQL a change takes its position and time when the
        // sequencer runs: let it run before the cut.
        db.read(changes::head).expect("sequenced");
        std::thread::sleep(std::time::Duration::from_millis(20));
        let cut = Utc::now().naive_utc();
        std::thread::sleep(std::time::Duration::from_millis(20));
        for i in 0..2 {
            store::store_one(
                db,
                &imi(),
                &permit(
                    &format!("ITAS-NEW-{i}"),
                    &format!("E7100000{i}"),
                    "2030-12-31",
                ),
            )
            .expect("stored");
        }
        let all = feed(db);
        let (old, young): (Vec<_>, Vec<_>) = all.iter().partition(|c| c.changed_at < cut);
        assert!(
            old.len() >= 3 && young.len() >= 2,
            "{} old, {} young",
            old.len(),
            young.len()
        );
        let pruned = db.write(|c| changes::prune(c, cut)).expect("pruned");
        assert_eq!(pruned, old.len());
        let left: Vec<i64> = feed(db).iter().map(|c| c.seq).collect();
        assert_eq!(left, young.iter().map(|c| c.seq).collect::<Vec<_>>());
        let (_, pruned_through) = db.read(changes::head).expect("head");
        assert_eq!(
            pruned_through,
            old.iter().map(|c| c.seq).max().expect("old")
        );
        // Nothing older left: a second pass removes nothing and moves nothing.
        assert_eq!(db.write(|c| changes::prune(c, cut)).expect("again"), 0);
        assert_eq!(db.read(changes::head).expect("head").1, pruned_through);
        // Everything old: the feed is emptied up to its newest change.
        let later = Utc::now().naive_utc() + chrono::Duration::days(1);
        assert_eq!(
            db.write(|c| changes::prune(c, later)).expect("all"),
            young.len()
        );
        assert!(feed(db).is_empty());
        let newest = young.iter().map(|c| c.seq).max().expect("young");
        assert_eq!(db.read(changes::head).expect("head").1, newest);
    }

    both!(
        changed_at_grows_with_the_position,
        pruning_keeps_every_change_from_the_cut_on,
    );
}

/// The audit log as a Merkle tree: checkpoints signed over it, proofs from
/// it, and an insider's truncation, reset and rewrite detected against a
/// checkpoint held outside the database.
mod audit_checkpoints {
    use super::*;
    use sinergi_db::audit::tree::{self, Round};
    use sinergi_db::audit::{AuditEntry, ChainReport, CheckpointVerdict};
    use sinergi_tlog::{Checkpoint, Signer};

    fn signer() -> Signer {
        Signer::from_seed("sinergi.test/audit", &[42; 32]).expect("key")
    }

    fn log(db: &Db, n: usize) {
        let entries: Vec<AuditEntry> = (0..n)
            .map(|i| AuditEntry {
                occurred_at: Utc::now().naive_utc(),
                client_id: Some("imi-client".into()),
                agency_code: Some("IMI".into()),
                action: "read".into(),
                resource_type: "worker".into(),
                resource_key: Some(format!("W-{i}")),
                status: 200,
                request_id: format!("req-{i}"),
                ..Default::default()
            })
            .collect();
        db.write(|c| audit::append_many(c, &entries))
            .expect("appended");
    }

    fn round(db: &Db, trusted: Option<&Checkpoint>) -> Round {
        db.read(sinergi_db::sequencer::drain).expect("drained");
        tree::round(db, &signer(), trusted, Utc::now().naive_utc()).expect("round")
    }

    fn signed(db: &Db, trusted: Option<&Checkpoint>) -> Checkpoint {
        match round(db, trusted) {
            Round::Signed { checkpoint, note } => {
                let opened = Checkpoint::open(&note, &[signer().verifier()]).expect("opens");
                assert_eq!(opened, checkpoint);
                checkpoint
            }
            other => panic!("expected a signed checkpoint, got {other:?}"),
        }
    }

    fn verdicts(db: &Db, held: &[&Checkpoint]) -> (ChainReport, Vec<CheckpointVerdict>) {
        let held: Vec<Checkpoint> = held.iter().map(|c| (*c).clone()).collect();
        let v = db.read(|c| audit::verify_with(c, &held)).expect("verify");
        (v.chain, v.checkpoints.into_iter().map(|(_, v)| v).collect())
    }

    /// Lets the test act as the database's owner: the append-only triggers go.
    fn as_insider(db: &Db, statements: &[String]) {
        let unlock = match db.backend() {
            Backend::Postgres => vec![
                "ALTER TABLE audit_events DISABLE TRIGGER USER".to_string(),
                "ALTER TABLE audit_tree DISABLE TRIGGER USER".to_string(),
            ],
            Backend::Sqlite => [
                "audit_events_no_update",
                "audit_events_no_delete",
                "audit_tree_no_update",
                "audit_tree_no_delete",
            ]
            .iter()
            .map(|t| format!("DROP TRIGGER IF EXISTS {t}"))
            .collect(),
        };
        db.write(|c| {
            for s in unlock.iter().chain(statements) {
                diesel::sql_query(s).execute(c)?;
            }
            Ok(())
        })
        .expect("tampered");
    }

    fn checkpoints_detect_truncation_reset_and_rewrite(db: &Db) {
        assert_eq!(round(db, None), Round::Unchanged { size: 0 });
        log(db, 30);
        let c30 = signed(db, None);
        assert_eq!(c30.size, 30);
        assert_eq!(round(db, Some(&c30)), Round::Unchanged { size: 30 });
        log(db, 5);
        let c35 = signed(db, Some(&c30));
        assert_eq!(c35.size, 35);
        assert_eq!(
            verdicts(db, &[&c30, &c35]),
            (
                ChainReport::Intact { events: 35 },
                vec![CheckpointVerdict::Extends, CheckpointVerdict::Extends]
            )
        );
        // The server's proofs verify against the signed roots.
        let proof = db.read(|c| tree::consistency(c, 30, 35)).expect("proof");
        sinergi_tlog::verify_consistency(30, 35, &c30.root, &c35.root, &proof).expect("consistent");
        let rows = events(db);
        let leaf = tree::leaf_of(&rows[6].hash).expect("leaf");
        let path = db.read(|c| tree::inclusion(c, 6, 35)).expect("inclusion");
        sinergi_tlog::verify_inclusion(6, 35, &leaf, &c35.root, &path).expect("included");

        // Rewrite the last entry and re-hash it and the head: the chain walk
        // passes, the checkpoint over it does not, and the signer refuses to
        // sign over it.
        let mut last = rows[34].clone();
        last.resource_key = Some("W-somebody-else".into());
        last.hash = audit::event_hash(&last);
        as_insider(
            db,
            &[
                format!(
                    "UPDATE audit_events SET resource_key = 'W-somebody-else', hash = '{}' WHERE seq = 35",
                    last.hash
                ),
                format!("UPDATE audit_head SET last_hash = '{}' WHERE id = 1", last.hash),
            ],
        );
        assert_eq!(
            verdicts(db, &[&c30, &c35]),
            (
                ChainReport::Intact { events: 35 },
                vec![CheckpointVerdict::Extends, CheckpointVerdict::Rewritten]
            )
        );
        log(db, 1);
        assert!(matches!(round(db, Some(&c35)), Round::Halted { .. }));

        // Truncate to 30 entries and move the head back.
        as_insider(
            db,
            &[
                "DELETE FROM audit_events WHERE seq > 30".to_string(),
                format!(
                    "UPDATE audit_head SET seq = 30, last_hash = '{}' WHERE id = 1",
                    rows[29].hash
                ),
            ],
        );
        assert_eq!(
            verdicts(db, &[&c30, &c35]),
            (
                ChainReport::Intact { events: 30 },
                vec![
                    CheckpointVerdict::Extends,
                    CheckpointVerdict::Truncated { held: 30 }
                ]
            )
        );

        // Reset to genesis, then grow past the checkpoints again.
        as_insider(
            db,
            &[
                "DELETE FROM audit_events".to_string(),
                "DELETE FROM audit_tree".to_string(),
                "DELETE FROM audit_checkpoints".to_string(),
                format!(
                    "UPDATE audit_head SET seq = 0, last_hash = '{}' WHERE id = 1",
                    audit::GENESIS_HASH
                ),
            ],
        );
        assert_eq!(
            verdicts(db, &[&c30]),
            (
                ChainReport::Intact { events: 0 },
                vec![CheckpointVerdict::Truncated { held: 0 }]
            )
        );
        log(db, 40);
        let (chain, v) = verdicts(db, &[&c30, &c35]);
        assert_eq!(chain, ChainReport::Intact { events: 40 });
        assert_eq!(
            v,
            vec![CheckpointVerdict::Rewritten, CheckpointVerdict::Rewritten]
        );
        // A signer that remembers its last checkpoint does not sign the new history.
        assert!(matches!(round(db, Some(&c35)), Round::Halted { .. }));
    }

    /// A round that brings more subtrees than one write stores (they are
    /// stored in parts) signs the same tree as one that stores them at once:
    /// proofs from the earlier checkpoint and of single events verify.
    fn a_large_round_is_stored_in_parts(db: &Db) {
        log(db, 30);
        let c30 = signed(db, None);
        log(db, 1_500);
        let c1530 = signed(db, Some(&c30));
        assert_eq!(c1530.size, 1_530);
        assert_eq!(db.read(tree::size).expect("size"), 1_530);
        assert_eq!(
            db.read(|c| tree::root_at(c, 1_530)).expect("root"),
            c1530.root
        );
        let proof = db.read(|c| tree::consistency(c, 30, 1_530)).expect("proof");
        sinergi_tlog::verify_consistency(30, 1_530, &c30.root, &c1530.root, &proof)
            .expect("consistent");
        let rows: Vec<audit::AuditRow> = db
            .read(|c| audit::list(c, &audit::AuditFilter::default(), 0, 2_000))
            .expect("audit");
        for index in [0u64, 29, 30, 777, 1_529] {
            let row = rows
                .iter()
                .find(|r| r.seq == index as i64 + 1)
                .expect("event");
            let leaf = tree::leaf_of(&row.hash).expect("leaf");
            let path = db
                .read(|c| tree::inclusion(c, index, 1_530))
                .expect("inclusion");
            sinergi_tlog::verify_inclusion(index, 1_530, &leaf, &c1530.root, &path)
                .expect("included");
        }
        assert_eq!(
            verdicts(db, &[&c30, &c1530]),
            (
                ChainReport::Intact { events: 1_530 },
                vec![CheckpointVerdict::Extends, CheckpointVerdict::Extends]
            )
        );
        assert_eq!(round(db, Some(&c1530)), Round::Unchanged { size: 1_530 });
    }

    both!(
        checkpoints_detect_truncation_reset_and_rewrite,
        a_large_round_is_stored_in_parts,
    );
}

/// PostgreSQL: writers queue their journal instead of locking the feed's and
/// the audit log's head rows, so an open write transaction holds nobody up,
/// and a change committed late still reaches a consumer that read past the
/// ones committed before it.
mod no_single_row_queue {
    use super::*;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    pub(super) fn change(key: &str) -> changes::NewChange {
        changes::NewChange {
            record_type: "employer".into(),
            record_key: key.into(),
            op: "upsert",
            version: 1,
            agency_code: "KEMNAKER".into(),
            worker_id: None,
            payload: Some("{}".into()),
            source_ref: None,
        }
    }

    #[test]
    fn postgres() {
        let Some(t) = open(Backend::Postgres) else {
            return;
        };
        let db = t.db.clone();
        let (queued, go_on) = (mpsc::channel::<()>(), mpsc::channel::<()>());
        let (queued_tx, queued_rx) = queued;
        let (go_tx, go_rx) = go_on;
        // A slow writer: its journal is written, its transaction stays open.
        let slow = std::thread::spawn(move || {
            db.write(|c| {
                changes::append_many(c, &[change("LATE")])?;
                audit::append_many(
                    c,
                    &[audit::AuditEntry {
                        occurred_at: Utc::now().naive_utc(),
                        action: "write".into(),
                        resource_type: "employer".into(),
                        status: 200,
                        request_id: "late".into(),
                        ..Default::default()
                    }],
                )?;
                queued_tx.send(()).unwrap();
                go_rx.recv_timeout(Duration::from_secs(30)).unwrap();
                Ok(())
            })
            .expect("the slow writer commits");
        });
        queued_rx.recv_timeout(Duration::from_secs(30)).unwrap();
        // Another writer commits meanwhile, at once.
        let started = Instant::now();
        store::store_one(&t.db, &kemnaker(), &employer("64.02.06", "PT Cepat")).expect("stored");
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(2),
            "a writer waited {took:?} for an open transaction"
        );
        let before = feed(&t.db);
        let read_past = before.last().expect("the fast write is in the feed").seq;
        assert!(before.iter().all(|c| c.record_key != "LATE"));
        assert!(events(&t.db).iter().all(|e| e.request_id != "late"));

        go_tx.send(()).unwrap();
        slow.join().unwrap();
        let after =
            t.db.read(|c| changes::list_after(c, read_past, &[], 100))
                .expect("feed");
        assert_eq!(
            after
                .iter()
                .map(|c| c.record_key.as_str())
                .collect::<Vec<_>>(),
            ["LATE"],
            "the late change comes after the position already read"
        );
        assert_eq!(after[0].seq, read_past + 1, "no gap");
        assert!(events(&t.db).iter().any(|e| e.request_id == "late"));
        assert_eq!(
            t.db.read(audit::verify).expect("verify"),
            audit::ChainReport::Intact {
                events: events(&t.db).len() as i64
            }
        );
    }
}

/// PostgreSQL: rounds delete what they move, and the queues' indexes keep
/// those entries until a vacuum; the background round vacuums a queue once
/// it holds more than 5,000 removed rows, whether or not autovacuum runs.
mod queues_kept_short {
    use super::*;
    use std::time::{Duration, Instant};

    fn vacuums(db: &Db) -> i64 {
        number(db, "pg_stat_get_vacuum_count('change_queue'::regclass)")
    }

    #[test]
    fn postgres() {
        let Some(t) = open(Backend::Postgres) else {
            return;
        };
        let db = &t.db;
        db.read(|c| {
            diesel::sql_query("ALTER TABLE change_queue SET (autovacuum_enabled = false)")
                .execute(c)?;
            Ok(())
        })
        .expect("autovacuum off for the queue");
        // Below the threshold nothing is vacuumed.
        assert_eq!(
            db.read(sinergi_db::sequencer::tidy_queues).expect("tidy"),
            0
        );
        let moved: Vec<changes::NewChange> = (0..6000)
            .map(|i| super::no_single_row_queue::change(&format!("E-{i}")))
            .collect();
        db.write(|c| changes::append_many(c, &moved))
            .expect("queued");
        db.read(sinergi_db::sequencer::drain).expect("moved");
        let before = vacuums(db);
        // The removed rows reach the statistics when the mover's session
        // reports them (within seconds); then one round vacuums the queue.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut tidied = 0;
        while tidied == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(250));
            tidied = db.read(sinergi_db::sequencer::tidy_queues).expect("tidy");
        }
        assert_eq!(tidied, 1, "the change queue is vacuumed");
        assert_eq!(vacuums(db), before + 1);
        // The vacuum left the queue's statistics saying "empty"; a backlog
        // queued after it is still moved, in order.
        let backlog: Vec<changes::NewChange> = moved
            .iter()
            .map(|c| changes::NewChange {
                version: 2,
                ..c.clone()
            })
            .collect();
        db.write(|c| changes::append_many(c, &backlog))
            .expect("queued");
        let feed = db
            .read(|c| changes::list_after(c, 0, &[], 20_000))
            .expect("feed");
        assert_eq!(feed.len(), 12_000);
        assert!(feed.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
        assert!(feed[..6000].iter().all(|c| c.version == 1));
        assert!(feed[6000..].iter().all(|c| c.version == 2));
    }
}

/// Large batches on PostgreSQL: the matcher compares a batch's workers a
/// slice at a time and still finds a pair the slices may separate, and the
/// connection that sent the batch's large statements is closed when given
/// back, while one that wrote a single record is kept.
mod large_batches {
    use super::*;

    fn backend_pid(db: &Db) -> i64 {
        number(db, "pg_backend_pid()")
    }

    /// A permit for a worker of their own name and birth date (blocks of one).
    fn own_permit(i: usize) -> Write {
        let mut w = permit(&format!("ITAS-{i}"), &format!("P{i:07}"), "2030-01-01");
        let born = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).unwrap()
            + chrono::Duration::days(i as i64 * 3);
        let mut v: Value = serde_json::from_str(&w.record.to_json()).expect("json");
        // Letters only: "WORKER A", "WORKER B", … "WORKER BA", …
        let mut name = String::from("WORKER ");
        let mut n = i;
        loop {
            name.push(char::from(b'A' + (n % 26) as u8));
            n /= 26;
            if n == 0 {
                break;
            }
        }
        v["worker"]["full_name"] = json!(name);
        v["worker"]["birth_date"] = json!(born);
        w.record = record(RecordType::ResidencePermit, v);
        w
    }

    #[test]
    fn postgres() {
        let Some(t) = super::open(Backend::Postgres) else {
            return;
        };
        let db = Db::connect(&t.url, 1).expect("a pool of one connection");
        let p = imi();
        let first = backend_pid(&db);
        store::store_batch(&db, &p, &[own_permit(0)], BatchMode::PerItem, false).expect("small");
        assert_eq!(
            backend_pid(&db),
            first,
            "a connection that wrote one record is kept"
        );

        // 450 workers of their own, and two that look like one person: the
        // same name and birth date under two passports, first and last.
        let mut batch: Vec<Write> = (1..=450).map(own_permit).collect();
        for (i, w) in [(1, 0), (450, 1)] {
            let mut v: Value = serde_json::from_str(&batch[i - 1].record.to_json()).expect("json");
            v["worker"]["full_name"] = json!("LIU YANG");
            v["worker"]["birth_date"] = json!("1991-02-03");
            v["worker"]["passport_no"] = json!(format!("EK{w}000001"));
            batch[i - 1].record = record(RecordType::ResidencePermit, v);
        }
        let stored =
            match store::store_batch(&db, &p, &batch, BatchMode::Atomic, false).expect("large") {
                BatchOutcome::Applied(r) => r
                    .into_iter()
                    .map(|s| s.expect("stored"))
                    .collect::<Vec<_>>(),
                BatchOutcome::Failed { index, error } => panic!("operation {index}: {error}"),
            };
        assert_ne!(
            backend_pid(&db),
            first,
            "the connection that wrote 450 records was closed"
        );
        let pair: Vec<String> = [0, 449]
            .iter()
            .map(|&i| stored[i].row.worker_id.clone().expect("a worker"))
            .collect();
        assert_ne!(pair[0], pair[1]);
        let links = db
            .read(|c| sinergi_db::persons::candidates_of(c, &pair))
            .expect("links");
        let mut want = pair.clone();
        want.sort();
        assert_eq!(
            links
                .iter()
                .map(|l| vec![l.worker_a.clone(), l.worker_b.clone()])
                .collect::<Vec<_>>(),
            vec![want],
            "the two records of one person are one candidate pair, found once"
        );
    }

    /// The reads of many workers by `unnest` stay prepared on their
    /// connection: a second write on it parses none of them again.
    #[test]
    fn unnest_reads_stay_prepared() {
        let Some(t) = super::open(Backend::Postgres) else {
            return;
        };
        let db = Db::connect(&t.url, 1).expect("a pool of one connection");
        let p = imi();
        let kept = "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%unnest(%'";
        store::store_batch(&db, &p, &[own_permit(1)], BatchMode::PerItem, false).expect("first");
        let prepared = number(&db, kept);
        assert!(
            prepared >= 3,
            "the reads of the worker, their identities and passports are prepared, not {prepared}"
        );
        store::store_batch(&db, &p, &[own_permit(2)], BatchMode::PerItem, false).expect("second");
        assert_eq!(
            number(&db, kept),
            prepared,
            "the second write reuses the statements the first prepared"
        );
    }
}

/// PostgreSQL: writers queue their changes and audit events, and the
/// sequencer moves the feed's and the audit log's heads, with statements the
/// connection prepares once (diesel would parse a multi-row insert or an
/// `UPDATE` again on every call); no head is read back on its own.
mod journal_statements_kept_prepared {
    use super::*;

    #[derive(diesel::QueryableByName)]
    struct Prepared {
        #[diesel(sql_type = diesel::sql_types::Text)]
        statement: String,
    }

    #[test]
    fn postgres() {
        let Some(t) = open(Backend::Postgres) else {
            return;
        };
        let prepared =
            t.db.read(|c| {
                // Three writes and rounds on one connection: one change and
                // one event, then two of each, then three, with and without
                // the optional values.
                for i in 1..=3 {
                    let mut items: Vec<changes::NewChange> = (0..i)
                        .map(|j| no_single_row_queue::change(&format!("K-{i}-{j}")))
                        .collect();
                    items[0].source_ref = Some(format!("S-{i}"));
                    changes::append_many(c, &items)?;
                    let events: Vec<audit::AuditEntry> = (0..i)
                        .map(|j| audit::AuditEntry {
                            occurred_at: Utc::now().naive_utc(),
                            client_id: (j == 0).then(|| "imi-client".to_string()),
                            action: "write".into(),
                            resource_type: "employer".into(),
                            result_count: (j == 1).then_some(7),
                            status: 200,
                            request_id: format!("req-{i}-{j}"),
                            ..Default::default()
                        })
                        .collect();
                    audit::append_many(c, &events)?;
                    sinergi_db::sequencer::drain(c)?;
                }
                Ok(
                    diesel::sql_query("SELECT statement FROM pg_prepared_statements")
                        .load::<Prepared>(c)?,
                )
            })
            .expect("rounds");
        let journal: Vec<&str> = prepared
            .iter()
            .map(|p| p.statement.trim_start())
            .filter(|s| {
                ["audit_head", "change_head", "audit_queue", "change_queue"]
                    .iter()
                    .any(|t| s.contains(t))
            })
            .collect();
        let count = |start: &str| journal.iter().filter(|s| s.starts_with(start)).count();
        assert_eq!(count("INSERT INTO change_queue"), 1, "{journal:#?}");
        assert_eq!(count("INSERT INTO audit_queue"), 1, "{journal:#?}");
        assert_eq!(count("UPDATE \"change_head\""), 1, "{journal:#?}");
        assert_eq!(
            count("UPDATE \"audit_head\""),
            2,
            "moved, then its hash: {journal:#?}"
        );
        assert!(
            !journal
                .iter()
                .any(|s| s.starts_with("SELECT") && s.contains("_head\"") && !s.contains("_queue")),
            "a head read back on its own: {journal:#?}"
        );
        let fed = feed(&t.db);
        assert_eq!(fed.len(), 6);
        assert_eq!(fed.iter().filter(|c| c.source_ref.is_some()).count(), 3);
        let logged = events(&t.db);
        assert_eq!(
            logged
                .iter()
                .map(|e| e.request_id.as_str())
                .collect::<Vec<_>>(),
            ["req-1-0", "req-2-0", "req-2-1", "req-3-0", "req-3-1", "req-3-2"],
            "in the order written"
        );
        assert_eq!(logged.iter().filter(|e| e.client_id.is_some()).count(), 3);
        assert_eq!(
            logged.iter().filter(|e| e.result_count == Some(7)).count(),
            2
        );
        assert_eq!(
            t.db.read(audit::verify).expect("verify"),
            audit::ChainReport::Intact { events: 6 }
        );
    }
}
