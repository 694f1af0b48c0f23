//! One person under two passports: found as a candidate pair, shown as a
//! finding, confirmed (merged) or rejected by immigration, a merge undone;
//! counts that say how exact they are.

use serde_json::{json, Value};

use crate::harness::{json, problem, TestApp};
use crate::records::{agency_token, approval, post, put, read_as, NIB};

api_tests!(
    a_typed_slip_is_a_candidate_pair_and_a_finding_on_both_workers,
    near_misses_are_not_candidates,
    confirm_merges_everything_and_undo_splits_it_back,
    a_rejected_pair_stays_apart_until_new_evidence_arrives,
    a_renewal_joins_the_old_passport_outright,
    only_immigration_decides_within_its_jurisdiction,
    writes_racing_a_merge_all_land_on_the_survivor,
    worker_counts_say_how_many_may_be_counted_twice,
    a_placeholder_many_share_makes_no_pairs,
    every_kind_of_slip_is_found,
);

const PASSPORT: &str = "E51234567";
/// Two digits of `PASSPORT` swapped, as manpower typed it.
const SLIPPED: &str = "E51243567";

fn person(passport: &str, name: &str, birth: Option<&str>) -> Value {
    json!({"passport_no": passport, "nationality": "CHN", "full_name": name,
           "sex": "M", "birth_date": birth, "passport_expires_on": "2032-01-01"})
}

fn permit(worker: Value) -> Value {
    json!({
        "worker": worker, "kind": "ITAS", "visa_index": "E23", "sponsor_nib": NIB,
        "issued_on": "2026-01-05", "valid_from": "2026-01-05", "valid_until": "2030-12-31",
        "issuing_office": "Kantor Imigrasi Samarinda", "address_region_code": "64.02.06",
        "status": "active"
    })
}

fn assignment(sref: &str, worker: Value) -> Value {
    json!({
        "source_ref": sref, "worker": worker,
        "approval_no": "KEP-1-2026", "position_code": "P01", "employer_nib": NIB,
        "start_on": "2026-02-01", "end_on": "2030-06-30", "status": "active",
        "companion": {"nik": "6402061203900001", "name": "Budi Santoso"}
    })
}

struct Agencies {
    mp: String,
    imi: String,
}

async fn agencies(app: &TestApp) -> Agencies {
    let mp = agency_token(app, "KEMNAKER", "manpower", None).await;
    let imi = agency_token(app, "IMI", "immigration", Some("64")).await;
    let emp = json!({"name": "PT Mahakam", "capital": "PMA", "kbli": ["05100"], "region_code": "64.02.12"});
    json(
        put(app, &format!("/api/v1/employers/{NIB}"), &mp, &emp).await,
        201,
    )
    .await;
    json(
        put(app, "/api/v1/rptka-approvals/KEP-1-2026", &mp, &approval()).await,
        201,
    )
    .await;
    Agencies { mp, imi }
}

/// Immigration's permit on the real number, manpower's assignment on a slip:
/// two workers (permit holder, assignment holder).
async fn two_halves(app: &TestApp, a: &Agencies, mp_birth: Option<&str>) -> (String, String) {
    let p = json(
        put(
            app,
            "/api/v1/residence-permits/ITAS-1",
            &a.imi,
            &permit(person(PASSPORT, "ZHANG WEI", Some("1985-04-12"))),
        )
        .await,
        201,
    )
    .await;
    let s = json(
        post(
            app,
            "/api/v1/assignments",
            &a.mp,
            &assignment("A-1", person(SLIPPED, "Wei  Zhang", mp_birth)),
        )
        .await,
        201,
    )
    .await;
    let (w1, w2) = (
        p["worker_id"].as_str().unwrap().to_string(),
        s["worker_id"].as_str().unwrap().to_string(),
    );
    assert_ne!(
        w1, w2,
        "a slipped passport is another worker until confirmed"
    );
    (w1, w2)
}

async fn links(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    json(
        read_as(app, &format!("/api/v1/person-links{query}"), token).await,
        200,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn findings(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    json(
        read_as(app, &format!("/api/v1/findings{query}"), token).await,
        200,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn view(app: &TestApp, token: &str, worker: &str) -> Value {
    json(
        read_as(app, &format!("/api/v1/workers/{worker}"), token).await,
        200,
    )
    .await
}

fn rules(view: &Value) -> Vec<String> {
    let mut r: Vec<String> = view["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    r.sort();
    r
}

async fn decide(app: &TestApp, token: &str, link: &str, what: &str) -> reqwest::Response {
    post(
        app,
        &format!("/api/v1/person-links/{link}/{what}"),
        token,
        &json!({"reason": "checked against the passport office register", "case_ref": "IMI/2026/0042"}),
    )
    .await
}

async fn a_typed_slip_is_a_candidate_pair_and_a_finding_on_both_workers(app: TestApp) {
    let a = agencies(&app).await;
    let (w1, w2) = two_halves(&app, &a, Some("1985-04-12")).await;
    let found = links(&app, &a.imi, "?status=candidate").await;
    assert_eq!(found.len(), 1, "{found:?}");
    let l = &found[0];
    let mut pair = [w1.clone(), w2.clone()];
    pair.sort();
    assert_eq!(
        (
            l["worker_a"].as_str().unwrap(),
            l["worker_b"].as_str().unwrap()
        ),
        (pair[0].as_str(), pair[1].as_str())
    );
    let outcomes: Vec<(&str, &str)> = l["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("passport_no", "transposition"),
            ("full_name", "equal"),
            ("birth_date", "equal"),
            ("sex", "equal")
        ]
    );
    // The daily sweep finds the same pair and changes nothing.
    let swept = sinergi_db::persons::sweep(&app.db).unwrap();
    assert_eq!((swept.candidates, swept.changed), (1, 0));
    // Which agency said what, never the values.
    let text = l.to_string();
    assert!(text.contains("KEMNAKER") && text.contains("IMI"));
    assert!(!text.contains(PASSPORT) && !text.contains("ZHANG"));
    assert!(l["score"].as_f64().unwrap() > 0.99);
    // Times are RFC 3339 with their offset, as everywhere in the API.
    for t in ["created_at", "updated_at"] {
        let v = l[t].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(v).is_ok(), "{t}: {v}");
    }
    // The finding: immigration's to act on, on the pair's first worker, shown on both.
    let f = findings(&app, &a.mp, "?rule=POSSIBLE_SAME_PERSON").await;
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["responsible"], "immigration");
    assert_eq!(f[0]["subject"]["id"], pair[0]);
    assert_eq!(f[0]["evidence"][0]["record_type"], "person_link");
    assert_eq!(f[0]["evidence"][0]["key"], l["id"]);
    assert!(!f[0]["message_en"].as_str().unwrap().contains(PASSPORT));
    for (w, half) in [
        (&w1, "PERMIT_WITHOUT_ASSIGNMENT"),
        (&w2, "ASSIGNMENT_WITHOUT_PERMIT"),
    ] {
        assert_eq!(
            rules(&view(&app, &a.mp, w).await),
            [half, "POSSIBLE_SAME_PERSON"],
            "each half has half the records and a false finding"
        );
    }
    // Filters are checked.
    let p = problem(
        read_as(&app, "/api/v1/person-links?status=maybe", &a.imi).await,
        400,
        "validation_failed",
    )
    .await;
    crate::harness::assert_field(&p, "status", "invalid_value");
    // The feed carries the finding.
    let feed = json(
        read_as(&app, "/api/v1/changes?types=finding&limit=1000", &a.imi).await,
        200,
    )
    .await;
    assert!(feed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["record"]["rule"] == "POSSIBLE_SAME_PERSON"));
}

async fn near_misses_are_not_candidates(app: TestApp) {
    let a = agencies(&app).await;
    let cases = [
        // Twins: one birth date, passports issued one after the other, different names.
        ("E51234567", "ZHANG WEI", "1995-03-03"),
        ("E51234568", "ZHANG LEI", "1995-03-03"),
        // A common name with other birth dates and unrelated passports.
        ("E70000001", "WANG FANG", "1980-01-01"),
        ("E80000002", "WANG FANG", "1991-07-15"),
        // A common name one slip apart but born on another day.
        ("E70000011", "WANG FANG", "1979-02-02"),
    ];
    for (i, (passport, name, birth)) in cases.into_iter().enumerate() {
        json(
            put(
                &app,
                &format!("/api/v1/residence-permits/ITAS-{i}"),
                &a.imi,
                &permit(person(passport, name, Some(birth))),
            )
            .await,
            201,
        )
        .await;
    }
    assert_eq!(links(&app, &a.imi, "").await, Vec::<Value>::new());
    // The same name and birth date under two passports is a candidate.
    json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-9",
            &a.imi,
            &permit(person("G12121212", "Fang Wang", Some("1991-07-15"))),
        )
        .await,
        201,
    )
    .await;
    let found = links(&app, &a.imi, "").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["evidence"][0]["outcome"], "different");
}

async fn confirm_merges_everything_and_undo_splits_it_back(app: TestApp) {
    let a = agencies(&app).await;
    let (w1, w2) = two_halves(&app, &a, Some("1985-04-12")).await;
    let link = links(&app, &a.imi, "").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let merged = json(decide(&app, &a.imi, &link, "confirm").await, 200).await;
    assert_eq!(merged["status"], "confirmed");
    assert_eq!(merged["survivor"], w1, "the worker known first stays");
    assert_eq!(merged["case_ref"], "IMI/2026/0042");
    assert_eq!(
        merged["decided_by"].as_str().unwrap().split('/').next(),
        Some("IMI")
    );
    // The absorbed id points at the survivor.
    let r = read_as(&app, &format!("/api/v1/workers/{w2}"), &a.mp).await;
    assert_eq!(r.status().as_u16(), 307);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("/api/v1/workers/{w1}")
    );
    assert_eq!(r.json::<Value>().await.unwrap()["merged_into"], w1);
    // One person with both passports and every record; false findings gone.
    let v = view(&app, &a.mp, &w1).await;
    assert_eq!(v["passports"].as_array().unwrap().len(), 2);
    assert_eq!(v["residence_permits"].as_array().unwrap().len(), 1);
    assert_eq!(v["assignments"].as_array().unwrap().len(), 1);
    assert_eq!(v["identities"].as_array().unwrap().len(), 2);
    assert_eq!(rules(&v), Vec::<String>::new());
    assert_eq!(
        findings(&app, &a.imi, "?status=open").await,
        Vec::<Value>::new()
    );
    let listed = json(read_as(&app, "/api/v1/workers", &a.mp).await, 200).await;
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "the absorbed worker is not listed"
    );
    // Nor does the daily sweep find the merged halves again.
    let swept = sinergi_db::persons::sweep(&app.db).unwrap();
    assert_eq!((swept.candidates, swept.changed), (0, 0));
    // A push under the slipped number now lands on the survivor.
    let again = json(
        post(
            &app,
            "/api/v1/assignments",
            &a.mp,
            &assignment("A-2", person(SLIPPED, "ZHANG WEI", Some("1985-04-12"))),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(again["worker_id"], w1);
    // Confirming twice is a conflict.
    problem(
        decide(&app, &a.imi, &link, "confirm").await,
        409,
        "link_not_candidate",
    )
    .await;

    // Undo: split back exactly, the assignment written since included.
    let undone = json(decide(&app, &a.imi, &link, "undo").await, 200).await;
    assert_eq!(undone["status"], "unmerged");
    assert_eq!(undone["survivor"], Value::Null);
    let v1 = view(&app, &a.mp, &w1).await;
    let v2 = view(&app, &a.mp, &w2).await;
    assert_eq!(v1["passports"][0]["number"], PASSPORT);
    assert_eq!(v1["passports"].as_array().unwrap().len(), 1);
    assert_eq!(v2["passports"][0]["number"], SLIPPED);
    assert_eq!(v1["residence_permits"].as_array().unwrap().len(), 1);
    assert_eq!(v1["assignments"].as_array().unwrap().len(), 0);
    assert_eq!(v2["assignments"].as_array().unwrap().len(), 2);
    assert_eq!(rules(&v1), ["PERMIT_WITHOUT_ASSIGNMENT"]);
    assert_eq!(
        rules(&v2),
        ["ASSIGNMENT_WITHOUT_PERMIT", "ASSIGNMENT_WITHOUT_PERMIT"],
        "one for each assignment"
    );
    // Undone means two people: the same evidence does not bring the pair back.
    assert_eq!(
        links(&app, &a.imi, "?status=candidate").await,
        Vec::<Value>::new()
    );
    problem(
        decide(&app, &a.imi, &link, "undo").await,
        409,
        "link_not_confirmed",
    )
    .await;

    // The feed tells subscribers and `sync pull` to re-key, with both ids.
    let feed = json(
        read_as(&app, "/api/v1/changes?types=worker&limit=1000", &a.imi).await,
        200,
    )
    .await;
    let ops: Vec<(String, Value, Value)> = feed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["op"] == "merged" || c["op"] == "unmerged")
        .map(|c| {
            (
                c["op"].as_str().unwrap().to_string(),
                c["key"].clone(),
                c["record"]["merged_into"].clone(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("merged".to_string(), json!(w2), json!(w1)),
            ("unmerged".to_string(), json!(w2), json!(w1))
        ]
    );
    // Every step is in the audit log, with the case reference, on both people.
    // Each agency reads the log of the person it holds a record about.
    for (w, token) in [(&w1, &a.imi), (&w2, &a.mp)] {
        let log = json(
            read_as(&app, &format!("/api/v1/workers/{w}/access-log"), token).await,
            200,
        )
        .await;
        let steps: Vec<&str> = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["resource_type"] == "person_link")
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(steps.len(), 2, "{w}: {log}");
    }
}

async fn a_rejected_pair_stays_apart_until_new_evidence_arrives(app: TestApp) {
    let a = agencies(&app).await;
    // Manpower has no birth date: name and passport agree, birth date unknown.
    let (w1, w2) = two_halves(&app, &a, None).await;
    let l = links(&app, &a.imi, "").await[0].clone();
    let id = l["id"].as_str().unwrap();
    let rejected = json(decide(&app, &a.imi, id, "reject").await, 200).await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(
        findings(&app, &a.imi, "?rule=POSSIBLE_SAME_PERSON&status=open").await,
        Vec::<Value>::new(),
        "the finding resolves with the decision"
    );
    // The same records again (and a change that shows nothing new) leave it rejected.
    json(
        post(
            &app,
            "/api/v1/assignments",
            &a.mp,
            &assignment("A-1", person(SLIPPED, "ZHANG WEI", None)),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        links(&app, &a.imi, "?status=candidate").await,
        Vec::<Value>::new()
    );
    // Manpower reports the birth date: it agrees, which is new evidence.
    json(
        post(
            &app,
            "/api/v1/assignments",
            &a.mp,
            &assignment("A-1", person(SLIPPED, "ZHANG WEI", Some("1985-04-12"))),
        )
        .await,
        200,
    )
    .await;
    let back = links(&app, &a.imi, "?status=candidate").await;
    assert_eq!(back.len(), 1);
    assert_eq!(back[0]["id"], l["id"], "the same link, reopened");
    assert!(back[0]["version"].as_i64() > rejected["version"].as_i64());
    let f = findings(&app, &a.imi, "?rule=POSSIBLE_SAME_PERSON&status=open").await;
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["subject"]["id"], w1.clone().min(w2));
}

async fn a_renewal_joins_the_old_passport_outright(app: TestApp) {
    let a = agencies(&app).await;
    let mut renewed = person("EK1234567", "ZHANG WEI", Some("1985-04-12"));
    renewed["previous_passport_no"] = json!(PASSPORT);
    let p = json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-1",
            &a.imi,
            &permit(renewed),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(p["worker"]["previous_passport_no"], PASSPORT);
    // Manpower still uses the old number: the same worker, no candidate needed.
    let s = json(
        post(
            &app,
            "/api/v1/assignments",
            &a.mp,
            &assignment("A-1", person(PASSPORT, "ZHANG WEI", Some("1985-04-12"))),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(s["worker_id"], p["worker_id"]);
    let v = view(&app, &a.mp, p["worker_id"].as_str().unwrap()).await;
    assert_eq!(v["passports"].as_array().unwrap().len(), 2);
    assert_eq!(rules(&v), Vec::<String>::new());
    assert_eq!(links(&app, &a.imi, "").await, Vec::<Value>::new());

    // Both numbers already held by two workers: the renewal makes them a pair.
    json(
        post(
            &app,
            "/api/v1/assignments",
            &a.mp,
            &assignment("A-2", person("E99999999", "LI NA", None)),
        )
        .await,
        201,
    )
    .await;
    json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-2",
            &a.imi,
            &permit(person("EK9999999", "LI NA", Some("1990-01-01"))),
        )
        .await,
        201,
    )
    .await;
    let mut renewed = person("EK9999999", "LI NA", Some("1990-01-01"));
    renewed["previous_passport_no"] = json!("E99999999");
    json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-2",
            &a.imi,
            &permit(renewed),
        )
        .await,
        200,
    )
    .await;
    let found = links(&app, &a.imi, "").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["evidence"][0]["outcome"], "renewal");
    // A malformed previous number is a field error.
    let mut bad = person("EK1234567", "ZHANG WEI", None);
    bad["previous_passport_no"] = json!("E5-1");
    let p = problem(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-3",
            &a.imi,
            &permit(bad),
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    crate::harness::assert_field(&p, "worker.previous_passport_no", "invalid_passport_no");
}

async fn only_immigration_decides_within_its_jurisdiction(app: TestApp) {
    let a = agencies(&app).await;
    two_halves(&app, &a, Some("1985-04-12")).await;
    let id = links(&app, &a.imi, "").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    problem(
        decide(&app, &a.mp, &id, "confirm").await,
        403,
        "not_responsible",
    )
    .await;
    let district = agency_token(&app, "KEC", "district", Some("64.02.06")).await;
    problem(
        decide(&app, &district, &id, "reject").await,
        403,
        "not_responsible",
    )
    .await;
    let far = agency_token(&app, "IMI-BPN", "immigration", Some("64.71")).await;
    problem(
        decide(&app, &far, &id, "confirm").await,
        403,
        "outside_jurisdiction",
    )
    .await;
    let reader = crate::records::token_with(&app, "IMI", &["records:read"]).await;
    problem(
        decide(&app, &reader, &id, "confirm").await,
        403,
        "insufficient_scope",
    )
    .await;
    let p = problem(
        post(
            &app,
            &format!("/api/v1/person-links/{id}/confirm"),
            &a.imi,
            &json!({"reason": " ", "case_ref": ""}),
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    crate::harness::assert_field(&p, "reason", "required");
    crate::harness::assert_field(&p, "case_ref", "required");
    problem(
        decide(
            &app,
            &a.imi,
            "00000000-0000-4000-8000-000000000000",
            "confirm",
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let stale = app
        .http
        .post(app.url(&format!("/api/v1/person-links/{id}/confirm")))
        .bearer_auth(&a.imi)
        .header("If-Match", "\"7\"")
        .json(&json!({"reason": "x", "case_ref": "y"}))
        .send()
        .await
        .unwrap();
    problem(stale, 412, "precondition_failed").await;
    // Still undecided after every refusal.
    assert_eq!(links(&app, &a.imi, "?status=candidate").await.len(), 1);
    json(decide(&app, &a.imi, &id, "reject").await, 200).await;
}

async fn writes_racing_a_merge_all_land_on_the_survivor(app: TestApp) {
    let a = agencies(&app).await;
    let (w1, w2) = two_halves(&app, &a, Some("1985-04-12")).await;
    let id = links(&app, &a.imi, "").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let writes = (0..6).map(|i| {
        let (app, a) = (&app, &a);
        async move {
            if i % 2 == 0 {
                put(
                    app,
                    &format!("/api/v1/residence-permits/ITAS-R{i}"),
                    &a.imi,
                    &permit(person(PASSPORT, "ZHANG WEI", Some("1985-04-12"))),
                )
                .await
                .status()
                .as_u16()
            } else {
                post(
                    app,
                    "/api/v1/assignments",
                    &a.mp,
                    &assignment(
                        &format!("A-R{i}"),
                        person(SLIPPED, "ZHANG WEI", Some("1985-04-12")),
                    ),
                )
                .await
                .status()
                .as_u16()
            }
        }
    });
    let (merged, statuses) = futures_util::future::join(
        decide(&app, &a.imi, &id, "confirm"),
        futures_util::future::join_all(writes),
    )
    .await;
    assert_eq!(merged.status().as_u16(), 200);
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let v = view(&app, &a.mp, &w1).await;
    assert_eq!(v["residence_permits"].as_array().unwrap().len(), 4);
    assert_eq!(v["assignments"].as_array().unwrap().len(), 4);
    assert_eq!(rules(&v), Vec::<String>::new());
    let r = read_as(&app, &format!("/api/v1/workers/{w2}"), &a.mp).await;
    assert_eq!(r.status().as_u16(), 307);
    assert_eq!(
        links(&app, &a.imi, "?status=candidate").await,
        Vec::<Value>::new()
    );
}

async fn worker_counts_say_how_many_may_be_counted_twice(app: TestApp) {
    let a = agencies(&app).await;
    // Four people with permits and assignments, one of them under two numbers.
    for (i, (passport, name, birth)) in [
        ("E10000001", "CHEN JIE", "1980-01-01"),
        ("E20000002", "LIU YANG", "1981-02-02"),
        ("E30000003", "HUANG MIN", "1982-03-03"),
    ]
    .into_iter()
    .enumerate()
    {
        let p = person(passport, name, Some(birth));
        json(
            put(
                &app,
                &format!("/api/v1/residence-permits/ITAS-C{i}"),
                &a.imi,
                &permit(p.clone()),
            )
            .await,
            201,
        )
        .await;
        json(
            post(
                &app,
                "/api/v1/assignments",
                &a.mp,
                &assignment(&format!("A-C{i}"), p),
            )
            .await,
            201,
        )
        .await;
    }
    two_halves(&app, &a, Some("1985-04-12")).await;
    let before = worker_stats(&app, &a.mp).await;
    assert_eq!(before["total"], 5);
    assert_eq!(before["possible_duplicates"], 1);
    assert_eq!(before["groups"][0]["count"], 5);
    assert_eq!(before["groups"][0]["possible_duplicates"], 1);
    let id = links(&app, &a.imi, "").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    json(decide(&app, &a.imi, &id, "confirm").await, 200).await;
    let after = worker_stats(&app, &a.mp).await;
    assert_eq!(after["total"], 4);
    assert_eq!(after["possible_duplicates"], 0);
    assert_eq!(after["groups"][0]["possible_duplicates"], 0);
}

async fn worker_stats(app: &TestApp, token: &str) -> Value {
    json(
        app.get("/api/v1/stats/workers?group_by=nationality", token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

async fn a_placeholder_many_share_makes_no_pairs(app: TestApp) {
    let a = agencies(&app).await;
    // An agency system that fills in one name and a placeholder birth date:
    // more people than a block holds, written in two batches.
    for part in 0..2 {
        let ops: Vec<Value> = (0..60)
            .map(|i| {
                json!({"type": "residence_permit", "key": format!("ITAS-P{part}-{i}"),
                       "body": permit(person(&format!("E7{part}{i:06}"), "NAMA TIDAK DIKETAHUI", Some("1970-01-01")))})
            })
            .collect();
        let r = app
            .http
            .post(app.url("/api/v1/batch"))
            .bearer_auth(&a.imi)
            .json(&json!({"operations": ops}))
            .send()
            .await
            .unwrap();
        json(r, 200).await;
    }
    // Each batch alone is already too common a block to compare.
    assert_eq!(
        links(&app, &a.imi, "?status=candidate").await,
        Vec::<Value>::new()
    );
    assert_eq!(
        findings(&app, &a.imi, "?rule=POSSIBLE_SAME_PERSON&status=open").await,
        Vec::<Value>::new()
    );
}

async fn every_kind_of_slip_is_found(app: TestApp) {
    let a = agencies(&app).await;
    // (immigration's number, manpower's number, name, manpower's birth date, outcome)
    let cases = [
        (
            "E50123456",
            "E5O123456",
            "LIU YANG",
            Some("1981-02-02"),
            "look_alike",
        ),
        (
            "E61234567",
            "E6123457",
            "CHEN JIE",
            Some("1982-03-03"),
            "extra_character",
        ),
        (
            "E72345678",
            "E72345679",
            "HUANG MIN",
            Some("1983-04-04"),
            "substitution",
        ),
        (
            "E83456789",
            "E83465789",
            "ZHOU TAO",
            Some("1984-05-05"),
            "transposition",
        ),
        // No birth date from manpower: the same name carries it.
        ("E94567890", "E94567809", "SUN LI", None, "transposition"),
    ];
    let birth = [
        "1981-02-02",
        "1982-03-03",
        "1983-04-04",
        "1984-05-05",
        "1985-06-06",
    ];
    for (i, (imi_no, mp_no, name, mp_birth, _)) in cases.iter().enumerate() {
        json(
            put(
                &app,
                &format!("/api/v1/residence-permits/ITAS-K{i}"),
                &a.imi,
                &permit(person(imi_no, name, Some(birth[i]))),
            )
            .await,
            201,
        )
        .await;
        json(
            post(
                &app,
                "/api/v1/assignments",
                &a.mp,
                &assignment(&format!("A-K{i}"), person(mp_no, name, *mp_birth)),
            )
            .await,
            201,
        )
        .await;
    }
    let found = links(&app, &a.imi, "?status=candidate").await;
    let mut outcomes: Vec<String> = found
        .iter()
        .map(|l| l["evidence"][0]["outcome"].as_str().unwrap().to_string())
        .collect();
    outcomes.sort();
    let mut expected: Vec<String> = cases.iter().map(|c| c.4.to_string()).collect();
    expected.sort();
    assert_eq!(outcomes, expected);
}
