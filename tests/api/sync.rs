//! Batch writes with idempotency keys, the gap-free change feed, tombstones
//! and bulk export joined to the feed.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::harness::{assert_field, assert_names, json, problem, read, TestApp};
use crate::records::{agency_token, approval, assignment, permit, post, read_as, NIB};

api_tests!(
    batch_reports_each_operation,
    store_failures_in_a_batch_undo_only_their_operation,
    one_batch_builds_on_its_own_writes,
    atomic_batch_is_all_or_nothing,
    dry_run_checks_and_stores_nothing,
    idempotency_key_replays_refuses_reuse_and_in_flight,
    batch_over_the_limit_is_413,
    feed_lists_each_change_once_in_order,
    feed_long_poll_wakes_on_a_write,
    feed_never_skips_a_late_committing_transaction,
    withdrawn_report_is_a_tombstone,
    export_joins_the_feed_without_gap_or_duplicate,
    an_export_of_many_pages_arrives_whole_and_in_order,
    expired_cursor_is_410_with_a_way_back,
    every_change_cursor_resumes_right_after_it,
    connections_the_database_dropped_are_replaced_unnoticed,
);

fn employer_op(nib: &str, name: &str) -> Value {
    json!({"type": "employer", "key": nib,
           "body": {"name": name, "capital": "PMA", "kbli": ["05100"], "region_code": "64.02.06"}})
}

async fn batch(app: &TestApp, token: &str, body: &Value, key: Option<&str>) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.url("/api/v1/batch"))
        .bearer_auth(token)
        .json(body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    req.send().await.unwrap()
}

async fn employer_count(app: &TestApp, token: &str) -> usize {
    json(
        app.get("/api/v1/employers?limit=1000", token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .len()
}

async fn batch_reports_each_operation(app: TestApp) {
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let mut bad = employer_op("9120000000002", "PT B");
    bad["body"]["kbli"] = json!(["051"]);
    let body = json!({"operations": [
        employer_op("9120000000001", "PT A"),
        bad,
        {"type": "residence_permit", "key": "ITAS-1", "body": permit("E51234567")},
        {"type": "employer", "key": "9120000000003", "body": {"name": "PT C", "unknown": 1}},
        {"type": "employer", "key": "9120000000004", "body": "PT D"},
    ]});
    let v = json(batch(&app, &mp, &body, None).await, 200).await;
    let r = v["results"].as_array().unwrap();
    assert_eq!(r[0]["status"], 201);
    assert_eq!(r[0]["outcome"], "created");
    assert_eq!(r[1]["status"], 400);
    assert_field(
        &r[1]["problem"],
        "operations[1].body.kbli[0]",
        "invalid_kbli",
    );
    assert_eq!(
        r[2]["status"], 403,
        "manpower may not write permits: {}",
        r[2]
    );
    assert_eq!(r[3]["status"], 400);
    assert_field(
        &r[3]["problem"],
        "operations[3].body.unknown",
        "unknown_field",
    );
    // A body that is not an object fails alone, named by its place.
    assert_eq!(r[4]["status"], 400, "{}", r[4]);
    assert_names(&r[4]["problem"], "operations[4].body");
    assert_eq!(
        v["summary"],
        json!({"created": 1, "updated": 0, "unchanged": 0, "failed": 4})
    );
    assert_eq!(employer_count(&app, &mp).await, 1);
}

/// Operations that pass validation but fail against stored data (stale or
/// impossible If-Match, a permit of a record another agency owns) undo only
/// themselves: the others are stored once, with one audit event and one
/// change each, and the feed stays gap-free.
async fn store_failures_in_a_batch_undo_only_their_operation(app: TestApp) {
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let imi = agency_token(&app, "IMI", "immigration", None).await;
    json(
        batch(
            &app,
            &mp,
            &json!({"operations": [employer_op("9120000000001", "PT A")]}),
            None,
        )
        .await,
        200,
    )
    .await;
    let mut stale = employer_op("9120000000001", "PT A renamed");
    stale["if_match"] = json!("\"7\"");
    let mut missing = employer_op("9120000000004", "PT D");
    missing["if_match"] = json!("*");
    let body = json!({"operations": [
        employer_op("9120000000002", "PT B"),
        stale,
        {"type": "residence_permit", "key": "ITAS-9", "body": permit("E51234567")},
        missing,
        employer_op("9120000000003", "PT C"),
    ]});
    let v = json(batch(&app, &mp, &body, None).await, 200).await;
    let statuses: Vec<u64> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 412, 403, 412, 201]);
    assert_eq!(
        v["summary"],
        json!({"created": 2, "updated": 0, "unchanged": 0, "failed": 3})
    );
    // Immigration's permits go through the same path and name a worker each.
    let ops: Vec<Value> = (1..=3)
        .map(|n| {
            json!({"type": "residence_permit", "key": format!("ITAS-{n}"),
                        "body": permit(&format!("E5123456{n}"))})
        })
        .chain([{
            let mut p = json!({"type": "residence_permit", "key": "ITAS-4",
                               "body": permit("E51234564")});
            p["if_match"] = json!("\"2\"");
            p
        }])
        .collect();
    let v = json(
        batch(&app, &imi, &json!({"operations": ops}), None).await,
        200,
    )
    .await;
    assert_eq!(
        v["summary"],
        json!({"created": 3, "updated": 0, "unchanged": 0, "failed": 1})
    );
    assert_eq!(employer_count(&app, &mp).await, 3);
    let feed = changes(&app, &mp, "?types=employer,residence_permit").await;
    let keys: Vec<&str> = feed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "9120000000001",
            "9120000000002",
            "9120000000003",
            "ITAS-1",
            "ITAS-2",
            "ITAS-3"
        ]
    );
    let all = app
        .db
        .read(|c| sinergi_db::changes::list_after(c, 0, &[], 1000))
        .unwrap();
    for (i, ch) in all.iter().enumerate() {
        assert_eq!(ch.seq, i as i64 + 1, "the feed has no gap");
    }
    // No worker for the permit that failed; one per stored permit.
    let workers = app.db.read(sinergi_db::workers::all_ids).unwrap();
    assert_eq!(workers.len(), 3);
    // One audit event per operation, failed ones included; the chain holds.
    let writes = app
        .db
        .read(|c| sinergi_db::audit::list(c, &sinergi_db::audit::AuditFilter::default(), 0, 1000))
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "batch_write" && e.status < 300)
        .count();
    assert_eq!(writes, 6);
    let report = app.db.read(sinergi_db::audit::verify).unwrap();
    assert!(
        matches!(report, sinergi_db::audit::ChainReport::Intact { .. }),
        "audit chain intact: {report:?}"
    );
}

/// Later operations of a batch see what earlier ones wrote: an assignment
/// under an approval created two operations before, an update of a record
/// created in the same batch, a changed identity reported twice.
async fn one_batch_builds_on_its_own_writes(app: TestApp) {
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let imi = agency_token(&app, "IMI", "immigration", None).await;
    let mut longer = assignment("A-1", "E51234567");
    longer["end_on"] = json!("2030-12-31");
    let mut renamed = assignment("A-2", "E51234567");
    renamed["worker"]["full_name"] = json!("ZHANG WEI JR");
    for atomic in [false, true] {
        let approval_no = if atomic { "KEP-2-2026" } else { "KEP-1-2026" };
        let with = |mut a: Value, sref: &str| {
            a["approval_no"] = json!(approval_no);
            a["source_ref"] = json!(format!("{sref}-{atomic}"));
            json!({"type": "assignment", "body": a})
        };
        let body = json!({"atomic": atomic, "operations": [
            employer_op(NIB, "PT Tambang"),
            {"type": "rptka_approval", "key": approval_no, "body": approval()},
            with(assignment("A-1", "E51234567"), "A-1"),
            with(longer.clone(), "A-1"),
            with(renamed.clone(), "A-2"),
        ]});
        let v = json(batch(&app, &mp, &body, None).await, 200).await;
        let r = v["results"].as_array().unwrap();
        let got: Vec<(u64, i64)> = r
            .iter()
            .map(|x| {
                (
                    x["status"].as_u64().unwrap(),
                    x["version"].as_i64().unwrap_or(0),
                )
            })
            .collect();
        let employer_status = if atomic { 200 } else { 201 };
        assert_eq!(
            got,
            [(employer_status, 1), (201, 1), (201, 1), (200, 2), (201, 1)],
            "atomic {atomic}: {v}"
        );
        assert_eq!(
            r[0]["outcome"],
            if atomic { "unchanged" } else { "created" }
        );
    }
    // A permit created and changed in one batch, for a person first seen there.
    let mut cancelled = permit("E59999999");
    cancelled["status"] = json!("cancelled");
    let body = json!({"operations": [
        {"type": "residence_permit", "key": "ITAS-7", "body": permit("E59999999")},
        {"type": "residence_permit", "key": "ITAS-7", "body": cancelled},
    ]});
    let v = json(batch(&app, &imi, &body, None).await, 200).await;
    assert_eq!(
        v["summary"],
        json!({"created": 1, "updated": 1, "unchanged": 0, "failed": 0})
    );
    let permit = json(
        read_as(&app, "/api/v1/residence-permits/ITAS-7", &imi).await,
        200,
    )
    .await;
    assert_eq!(permit["status"], "cancelled");
    assert_eq!(permit["meta"]["version"], 2);
    // One person for E51234567, whose manpower identity is the last reported.
    let workers = json(
        read_as(&app, "/api/v1/workers?passport_no=E51234567", &mp).await,
        200,
    )
    .await;
    let items = workers["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{workers}");
    let names: Vec<&str> = items[0]["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["full_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ZHANG WEI JR"]);
    let worker = json(
        read_as(
            &app,
            &format!("/api/v1/workers/{}", items[0]["id"].as_str().unwrap()),
            &mp,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(worker["assignments"].as_array().unwrap().len(), 4);
    // A later permit's passport expiry reaches the passport an earlier
    // operation of the same batch created for a person first seen there.
    let mut renewed = crate::records::permit("E58888888");
    renewed["worker"]["passport_expires_on"] = json!("2036-06-30");
    let body = json!({"operations": [
        {"type": "residence_permit", "key": "ITAS-8", "body": crate::records::permit("E58888888")},
        {"type": "residence_permit", "key": "ITAS-9", "body": renewed},
    ]});
    let v = json(batch(&app, &imi, &body, None).await, 200).await;
    assert_eq!(v["summary"]["created"], 2, "{v}");
    let page = json(
        read_as(&app, "/api/v1/workers?passport_no=E58888888", &imi).await,
        200,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    let person = &page["items"][0];
    assert_eq!(
        person["passports"][0]["expires_on"], "2036-06-30",
        "{person}"
    );
    assert_eq!(
        person["identities"].as_array().unwrap().len(),
        1,
        "{person}"
    );
    let report = app.db.read(sinergi_db::audit::verify).unwrap();
    assert!(
        matches!(report, sinergi_db::audit::ChainReport::Intact { .. }),
        "{report:?}"
    );
}

async fn atomic_batch_is_all_or_nothing(app: TestApp) {
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let mut bad = employer_op("9120000000003", "PT C");
    bad["body"]["region_code"] = json!("6X.02");
    let body = json!({"atomic": true, "operations": [employer_op("9120000000001", "PT A"), employer_op("9120000000002", "PT B"), bad]});
    let p = problem(batch(&app, &mp, &body, None).await, 422, "batch_failed").await;
    assert_eq!(p["results"][0]["status"], 424);
    assert_eq!(p["results"][2]["status"], 400);
    assert_eq!(employer_count(&app, &mp).await, 0, "nothing half-written");
    // A failure only visible against stored data (unknown approval) also undoes the earlier operations.
    let body = json!({"atomic": true, "operations": [
        employer_op("9120000000001", "PT A"),
        {"type": "assignment", "body": assignment("A-1", "E51234567")},
    ]});
    let p = problem(batch(&app, &mp, &body, None).await, 422, "batch_failed").await;
    assert_eq!(p["results"][1]["status"], 422);
    assert_field(
        &p["results"][1]["problem"],
        "approval_no",
        "unknown_approval",
    );
    assert_eq!(p["results"][0]["status"], 424);
    assert_eq!(employer_count(&app, &mp).await, 0);
    let body = json!({"atomic": true, "operations": [
        employer_op(NIB, "PT A"),
        {"type": "rptka_approval", "key": "KEP-1-2026", "body": approval()},
        {"type": "assignment", "body": assignment("A-1", "E51234567")},
    ]});
    let v = json(batch(&app, &mp, &body, None).await, 200).await;
    assert_eq!(v["summary"]["created"], 3);
}

async fn dry_run_checks_and_stores_nothing(app: TestApp) {
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let body = json!({"dry_run": true, "operations": [
        employer_op("9120000000001", "PT A"),
        {"type": "assignment", "body": assignment("A-1", "E51234567")},
    ]});
    for _ in 0..2 {
        let v = json(batch(&app, &mp, &body, None).await, 200).await;
        assert_eq!(v["dry_run"], true);
        assert_eq!(v["results"][0]["outcome"], "created");
        assert_eq!(
            v["results"][1]["status"], 422,
            "checked against stored data: {v}"
        );
    }
    assert_eq!(employer_count(&app, &mp).await, 0);
    let feed = json(read_as(&app, "/api/v1/changes", &mp).await, 200).await;
    assert_eq!(
        feed["changes"].as_array().unwrap().len(),
        0,
        "a dry run announces nothing"
    );
}

async fn idempotency_key_replays_refuses_reuse_and_in_flight(app: TestApp) {
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let body = json!({"operations": [employer_op("9120000000001", "PT A")]});
    let first = batch(&app, &mp, &body, Some("nightly-2026-11-30-part-1")).await;
    let (s1, _, t1) = read(first).await;
    let again = batch(&app, &mp, &body, Some("nightly-2026-11-30-part-1")).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let (s2, _, t2) = read(again).await;
    assert_eq!(
        (s1, &t1),
        (s2, &t2),
        "a replay returns the identical response"
    );
    let other = json!({"operations": [employer_op("9120000000001", "PT A CHANGED")]});
    let p = problem(
        batch(&app, &mp, &other, Some("nightly-2026-11-30-part-1")).await,
        422,
        // The top-level code says what is wrong, not only errors[0].
        "idempotency_key_reused",
    )
    .await;
    assert_field(&p, "Idempotency-Key", "idempotency_key_reused");
    let stored = json(
        app.get("/api/v1/employers/9120000000001", &mp)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(stored["name"], "PT A");
    assert_eq!(stored["meta"]["version"], 1);
    // A request still running under a key: a concurrent one with the same key waits its turn.
    let client = jsonwebtoken::dangerous::insecure_decode::<Value>(&mp)
        .unwrap()
        .claims["sub"]
        .as_str()
        .unwrap()
        .to_string();
    claim(&app, &client, "busy", "x", 0);
    problem(
        batch(&app, &mp, &body, Some("busy")).await,
        409,
        "idempotency_key_in_flight",
    )
    .await;
    // A claim its holder stopped renewing (the instance died mid-batch, and
    // its transaction stored nothing) lapses within seconds: before, the
    // retry got 409 for ten minutes.
    let hash = {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(serde_json::to_vec(&body).unwrap());
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    claim(
        &app,
        &client,
        "crashed",
        &hash,
        sinergi_db::idempotency::LEASE_SECONDS + 1,
    );
    let retried = json(batch(&app, &mp, &body, Some("crashed")).await, 200).await;
    assert_eq!(retried["summary"]["failed"], 0, "{retried}");
}

/// A claim on `key` in flight since `age_seconds` ago, as a request of
/// another instance would have left it.
fn claim(app: &TestApp, client: &str, key: &str, hash: &str, age_seconds: i64) {
    let at = (chrono::Utc::now().naive_utc() - chrono::Duration::seconds(age_seconds))
        .format("%Y-%m-%d %H:%M:%S");
    app.db
        .conn()
        .unwrap()
        .batch_execute(&format!(
            "INSERT INTO idempotency_keys (client_id, idem_key, request_hash, state, created_at, updated_at) \
             VALUES ('{client}', '{key}', '{hash}', 'in_flight', '{at}', '{at}')"
        ))
        .unwrap();
}

async fn batch_over_the_limit_is_413(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", None).await;
    // Larger than a single record's body limit, within the batch's own.
    let permits: Vec<Value> = (0..600)
        .map(|i| json!({"type": "residence_permit", "key": format!("ITAS-{i:04}"), "body": permit(&format!("E5{i:07}"))}))
        .collect();
    let body = json!({"operations": permits});
    assert!(body.to_string().len() > 256 * 1024);
    let v = json(batch(&app, &imi, &body, None).await, 200).await;
    assert_eq!(v["summary"]["created"], 600);
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let ops: Vec<Value> = (0..1001)
        .map(|i| employer_op(&format!("91200000{i:05}"), "PT"))
        .collect();
    problem(
        batch(&app, &mp, &json!({"operations": ops}), None).await,
        413,
        "payload_too_large",
    )
    .await;
    assert_eq!(employer_count(&app, &mp).await, 0);
}

async fn changes(app: &TestApp, token: &str, query: &str) -> Value {
    json(
        read_as(app, &format!("/api/v1/changes{query}"), token).await,
        200,
    )
    .await
}

async fn feed_lists_each_change_once_in_order(app: TestApp) {
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let imi = agency_token(&app, "IMI", "immigration", None).await;
    for n in 1..=3 {
        let b = json!({"operations": [employer_op(&format!("912000000000{n}"), "PT")]});
        json(batch(&app, &mp, &b, None).await, 200).await;
    }
    json(
        app.put(
            "/api/v1/residence-permits/ITAS-1",
            &imi,
            &permit("E51234567"),
        )
        .send()
        .await
        .unwrap(),
        201,
    )
    .await;
    // Identical re-push: no change to announce.
    json(
        app.put(
            "/api/v1/residence-permits/ITAS-1",
            &imi,
            &permit("E51234567"),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    let all = changes(&app, &mp, "?types=employer,residence_permit").await;
    let items = all["changes"].as_array().unwrap();
    let keys: Vec<&str> = items.iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        ["9120000000001", "9120000000002", "9120000000003", "ITAS-1"]
    );
    assert_eq!(items[3]["type"], "residence_permit");
    assert_eq!(items[3]["record"]["worker"]["passport_no"], "E51234567");
    assert_eq!(items[3]["op"], "upsert");
    let page = changes(&app, &mp, "?types=employer,residence_permit&limit=2").await;
    assert_eq!(page["has_more"], true);
    let rest = changes(
        &app,
        &mp,
        &format!(
            "?types=employer,residence_permit&limit=2&after={}",
            page["next_cursor"].as_str().unwrap()
        ),
    )
    .await;
    let rest_keys: Vec<&str> = rest["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(rest_keys, ["9120000000003", "ITAS-1"]);
    let end = changes(
        &app,
        &mp,
        &format!(
            "?types=employer,residence_permit&after={}",
            all["next_cursor"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(end["changes"].as_array().unwrap().len(), 0);
    assert_eq!(end["next_cursor"], all["next_cursor"]);
    let permits = changes(&app, &mp, "?types=residence-permits").await;
    assert_eq!(permits["changes"].as_array().unwrap().len(), 1);
    let p = problem(
        read_as(&app, "/api/v1/changes?types=bogus", &mp).await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "types", "invalid_type");
    let p = problem(
        read_as(&app, "/api/v1/changes?after=garbage", &mp).await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "after", "invalid_cursor");
}

async fn feed_long_poll_wakes_on_a_write(app: TestApp) {
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let start = changes(&app, &mp, "").await;
    let cursor = start["next_cursor"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    let wait_path = format!("/api/v1/changes?wait=20&after={cursor}");
    let waiting = read_as(&app, &wait_path, &mp);
    let writing = async {
        actix_web::rt::time::sleep(Duration::from_millis(300)).await;
        json(
            batch(
                &app,
                &mp,
                &json!({"operations": [employer_op("9120000000001", "PT")]}),
                None,
            )
            .await,
            200,
        )
        .await
    };
    let (resp, _) = futures_util::future::join(waiting, writing).await;
    let got = json(resp, 200).await;
    assert_eq!(got["changes"].as_array().unwrap().len(), 1);
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "returned when the change arrived, not at the deadline"
    );
    let t1 = Instant::now();
    let idle = changes(
        &app,
        &mp,
        &format!("?wait=1&after={}", got["next_cursor"].as_str().unwrap()),
    )
    .await;
    assert_eq!(idle["changes"].as_array().unwrap().len(), 0);
    assert!(
        t1.elapsed() >= Duration::from_millis(900),
        "waited for the deadline"
    );
}

async fn feed_never_skips_a_late_committing_transaction(app: TestApp) {
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let start = changes(&app, &mp, "").await;
    let cursor = start["next_cursor"].as_str().unwrap().to_string();
    // Transaction A writes its change, then is slow to commit.
    let db = app.db.clone();
    let (wrote_tx, wrote_rx) = std::sync::mpsc::channel();
    let slow = std::thread::spawn(move || {
        let mut conn = db.conn().unwrap();
        conn.batch_execute("BEGIN").unwrap();
        sinergi_db::changes::append_many(
            &mut conn,
            &[sinergi_db::changes::NewChange {
                record_type: "employer".into(),
                record_key: "LATE".into(),
                op: "upsert",
                version: 1,
                agency_code: "KEMNAKER".into(),
                worker_id: None,
                payload: None,
                source_ref: None,
            }],
        )
        .unwrap();
        wrote_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        conn.batch_execute("COMMIT").unwrap();
    });
    wrote_rx.recv().unwrap();
    // Transaction B starts later; a consumer reads while A is still open.
    let b_body = json!({"operations": [employer_op("9120000000009", "PT B")]});
    let b = batch(&app, &mp, &b_body, None);
    let peek = async {
        actix_web::rt::time::sleep(Duration::from_millis(500)).await;
        changes(&app, &mp, &format!("?after={cursor}")).await
    };
    let (b_resp, during) = futures_util::future::join(b, peek).await;
    json(b_resp, 200).await;
    slow.join().unwrap();
    // The consumer goes on from where it stopped.
    let next = during["next_cursor"].as_str().unwrap();
    let rest = changes(&app, &mp, &format!("?after={next}")).await;
    let keys = |page: &Value| -> Vec<String> {
        page["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["key"].as_str().unwrap().to_string())
            .collect()
    };
    let (seen_during, seen_after) = (keys(&during), keys(&rest));
    if app.database_url().starts_with("postgres") {
        // Writers do not queue behind an open transaction: B is in the feed
        // at once, and A's change follows when A commits.
        assert_eq!(seen_during, ["9120000000009"], "{during}");
        assert_eq!(seen_after, ["LATE"], "{rest}");
    } else {
        // One writer at a time: B waited for A.
        assert!(seen_during.is_empty(), "{during}");
        assert_eq!(seen_after, ["LATE", "9120000000009"], "{rest}");
    }
}

async fn withdrawn_report_is_a_tombstone(app: TestApp) {
    let kec = agency_token(&app, "KEC", "district", Some("64.02.06")).await;
    let other = agency_token(&app, "KESBANG", "regional", Some("64.02")).await;
    let report = json!({"source_ref": "PR-1", "observed_on": "2026-11-20", "source": "field_check",
                        "region_code": "64.02.06", "headcount": 3});
    let stored = json(
        post(&app, "/api/v1/presence-reports", &kec, &report).await,
        201,
    )
    .await;
    let id = stored["id"].as_str().unwrap().to_string();
    let del = |t: &str| {
        app.http
            .delete(app.url(&format!("/api/v1/presence-reports/{id}")))
            .bearer_auth(t.to_string())
            .send()
    };
    problem(del(&other).await.unwrap(), 403, "owned_by_other_agency").await;
    assert_eq!(del(&kec).await.unwrap().status(), 204);
    problem(
        read_as(&app, &format!("/api/v1/presence-reports/{id}"), &kec).await,
        404,
        "not_found",
    )
    .await;
    let feed = changes(&app, &kec, "?types=presence_report").await;
    let items = feed["changes"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["op"], "delete");
    assert_eq!(items[1]["key"], id.as_str());
    assert_eq!(items[1]["record"], Value::Null);
    assert_eq!(items[1]["version"], 2);
    // The reporting agency knows the report by its own id, also once deleted.
    assert_eq!(items[0]["source_ref"], "PR-1");
    assert_eq!(items[1]["source_ref"], "PR-1");
}

async fn export_joins_the_feed_without_gap_or_duplicate(app: TestApp) {
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let ops: Vec<Value> = (1..=3)
        .map(|n| employer_op(&format!("912000000000{n}"), "PT, \"Quoted\""))
        .collect();
    json(
        batch(&app, &mp, &json!({"operations": ops}), None).await,
        200,
    )
    .await;
    let resp = app
        .get("/api/v1/export/employers", &mp)
        .send()
        .await
        .unwrap();
    let cursor = resp.headers()["x-sinergi-change-cursor"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(resp.headers()["content-type"], "application/x-ndjson");
    let text = resp.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[0]["id"], "9120000000001");
    assert_eq!(
        lines[3],
        json!({"export_complete": true, "count": 3, "change_cursor": cursor})
    );
    // A write after the export reaches the follower exactly once.
    json(
        batch(
            &app,
            &mp,
            &json!({"operations": [employer_op("9120000000004", "PT D")]}),
            None,
        )
        .await,
        200,
    )
    .await;
    let next = changes(&app, &mp, &format!("?after={cursor}")).await;
    let keys: Vec<&str> = next["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["9120000000004"]);
    let csv = export_text(&app, &mp, "/api/v1/export/employers?format=csv").await;
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 5, "header and four rows: {csv}");
    assert!(rows[0].starts_with("id,nib,npwp,name"), "{}", rows[0]);
    assert!(
        rows[1].contains("\"PT, \"\"Quoted\"\"\""),
        "CSV quoting: {}",
        rows[1]
    );
    problem(
        app.get("/api/v1/export/employers?format=xml", &mp)
            .send()
            .await
            .unwrap(),
        400,
        "validation_failed",
    )
    .await;
    problem(
        app.get("/api/v1/export/residence-permits", &mp)
            .send()
            .await
            .unwrap(),
        400,
        "validation_failed",
    )
    .await;
    let permits = read_as(&app, "/api/v1/export/residence-permits", &mp).await;
    assert_eq!(permits.status(), 200);
}

async fn expired_cursor_is_410_with_a_way_back(app: TestApp) {
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    for n in 1..=2 {
        json(
            batch(
                &app,
                &mp,
                &json!({"operations": [employer_op(&format!("912000000000{n}"), "PT")]}),
                None,
            )
            .await,
            200,
        )
        .await;
    }
    let first = changes(&app, &mp, "?limit=1").await;
    let old = first["changes"][0]["cursor"].as_str().unwrap().to_string();
    let future = chrono::Utc::now().naive_utc() + chrono::Duration::days(1);
    app.db
        .write(|c| sinergi_db::changes::prune(c, future))
        .unwrap();
    let p = problem(
        read_as(&app, &format!("/api/v1/changes?after={old}"), &mp).await,
        410,
        "cursor_expired",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("/api/v1/export/"));
    let resp = app
        .get("/api/v1/export/employers", &mp)
        .send()
        .await
        .unwrap();
    let cursor = resp.headers()["x-sinergi-change-cursor"]
        .to_str()
        .unwrap()
        .to_string();
    json(
        read_as(&app, &format!("/api/v1/changes?after={cursor}"), &mp).await,
        200,
    )
    .await;
    let _ = join_all(Vec::<std::future::Ready<()>>::new()).await;
}

/// A change's cursor resumes the feed right after that change, whichever
/// change of the page it is; a cursor edited to another position, or with
/// another page's range, is refused.
async fn every_change_cursor_resumes_right_after_it(app: TestApp) {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let ops: Vec<Value> = (1..=6)
        .map(|n| employer_op(&format!("913000000000{n}"), "PT"))
        .collect();
    json(
        batch(&app, &mp, &json!({"operations": ops}), None).await,
        200,
    )
    .await;
    let all = changes(&app, &mp, "?types=employer&limit=6").await;
    let keys: Vec<&str> = all["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 6);
    for (i, c) in all["changes"].as_array().unwrap().iter().enumerate() {
        let cursor = c["cursor"].as_str().unwrap();
        let rest = changes(
            &app,
            &mp,
            &format!("?types=employer&after={cursor}&limit=10"),
        )
        .await;
        let rest: Vec<&str> = rest["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["key"].as_str().unwrap())
            .collect();
        assert_eq!(rest, keys[i + 1..], "after change {i}");
    }
    // The third change's cursor, moved outside its page or with its range widened.
    let cursor = all["changes"][2]["cursor"].as_str().unwrap();
    let (payload, tag) = cursor.split_once('.').unwrap();
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let parts: Vec<&str> = text.split('\n').collect();
    assert_eq!(parts.len(), 3, "{text}");
    let (first, last) = parts[2].split_once('-').unwrap();
    let last: i64 = last.parse().unwrap();
    for edited in [
        format!("{}\n{}\n{}", parts[0], last + 1, parts[2]),
        format!("{}\n{}\n{first}-{}", parts[0], last + 1, last + 1),
    ] {
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(edited));
        let p = problem(
            read_as(&app, &format!("/api/v1/changes?after={forged}"), &mp).await,
            400,
            "validation_failed",
        )
        .await;
        assert_field(&p, "after", "invalid_cursor");
    }
}

/// PostgreSQL drops every connection of the service (a restart, a failover,
/// an administrator): the next reads and writes are answered as usual, each
/// on a fresh connection, none with an error.
async fn connections_the_database_dropped_are_replaced_unnoticed(app: TestApp) {
    use diesel::RunQueryDsl;
    let token = app.token_for("manpower").await;
    let write =
        |n: usize| json!({"operations": [employer_op(&format!("91200000001{n:02}"), "PT A")]});
    // Concurrent requests open every connection of the pool.
    let bodies: Vec<Value> = (0..12).map(write).collect();
    let opened = join_all(bodies[..4].iter().map(|b| batch(&app, &token, b, None))).await;
    assert!(opened.iter().all(|r| r.status() == 200));
    let reads =
        join_all((0..12).map(|_| app.get("/api/v1/employers?limit=1", &token).send())).await;
    assert!(reads.iter().all(|r| r.as_ref().unwrap().status() == 200));
    if app.db.backend() == sinergi_db::Backend::Postgres {
        let dropped = app
            .db
            .read(|c| {
                Ok(diesel::sql_query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                )
                .execute(c)?)
            })
            .unwrap();
        assert!(dropped > 0, "no connection was dropped");
    }
    // Each of them now meets the dropped connections.
    let writes = join_all(bodies[4..].iter().map(|b| batch(&app, &token, b, None)));
    let reads = join_all((0..12).map(|_| app.get("/api/v1/employers?limit=1", &token).send()));
    let (writes, reads) = tokio::join!(writes, reads);
    let statuses: Vec<u16> = writes
        .iter()
        .map(|r| r.status().as_u16())
        .chain(reads.iter().map(|r| r.as_ref().unwrap().status().as_u16()))
        .collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(employer_count(&app, &token).await, 12);
}

/// The whole text of an export.
async fn export_text(app: &TestApp, token: &str, path: &str) -> String {
    app.get(path, token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn an_export_of_many_pages_arrives_whole_and_in_order(app: TestApp) {
    // More records than the export reads at a time: every one arrives once,
    // in key order, and the completion line counts them all.
    let mp = agency_token(&app, "DISNAKER", "manpower", Some("64.02")).await;
    let total = 2_345;
    let sites: Vec<Value> = (0..total)
        .map(|n| {
            json!({"type": "work_site", "body": {"source_ref": format!("S-{n:05}"), "employer_nib": NIB,
                   "name": format!("Pit {n}"), "kind": "mine", "region_code": "64.02.02"}})
        })
        .collect();
    for chunk in sites.chunks(500) {
        let answer = json(
            batch(&app, &mp, &json!({"operations": chunk}), None).await,
            200,
        )
        .await;
        assert_eq!(answer["summary"]["created"], chunk.len(), "{answer}");
    }
    let text = export_text(&app, &mp, "/api/v1/export/work-sites").await;
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (end, records) = lines.split_last().unwrap();
    assert_eq!(end["export_complete"], true);
    assert_eq!(end["count"], total);
    let ids: Vec<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), total);
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "in key order, each once"
    );
    let mut refs: Vec<&str> = records
        .iter()
        .map(|r| r["meta"]["source_ref"].as_str().unwrap())
        .collect();
    refs.sort_unstable();
    let pushed: Vec<String> = (0..total).map(|n| format!("S-{n:05}")).collect();
    assert_eq!(refs, pushed);
    let csv = export_text(&app, &mp, "/api/v1/export/work-sites?format=csv").await;
    assert_eq!(
        csv.lines().count(),
        total + 1,
        "a header and one line a record"
    );
}
