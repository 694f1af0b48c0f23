//! The access policy of docs/access-policy.md over real HTTP, on both
//! databases: a matrix of agency kind × inside/outside the jurisdiction ×
//! purpose absent/registered/unregistered × channel × record type, asserting
//! the documented answer, the masking and the audit event; then one test per
//! defect the single policy fixed.

use serde_json::{json, Value};
use sinergi_db::audit::{self, AuditFilter};

use crate::harness::{json, problem, TestApp};
use crate::records::{agency_token, permit, post, put, token_with, NIB};

api_tests!(
    reads_follow_the_documented_policy,
    writes_follow_the_documented_policy,
    assignment_lies_where_its_approval_allows_work,
    employer_outside_the_jurisdiction_cannot_be_moved_in,
    findings_are_acted_on_only_inside_the_jurisdiction,
    findings_are_personal_data,
    refused_read_names_the_person_in_the_audit_log,
    identity_conflict_flag_follows_the_rule,
    masked_numbers_cannot_be_looked_up,
    dates_out_of_range_are_refused_with_the_field,
);

const KINDS: [&str; 5] = ["immigration", "manpower", "regional", "district", "admin"];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Declared {
    Nothing,
    Registered,
    Unregistered,
}

/// The record types, as the table of docs/access-policy.md gives them:
/// (collection, item path of the seeded record, personal, writers).
fn types(ids: &Seeded) -> Vec<(&'static str, String, bool, &'static [&'static str])> {
    vec![
        (
            "employers",
            format!("/api/v1/employers/{NIB}"),
            false,
            &["manpower", "immigration"],
        ),
        (
            "work-sites",
            format!("/api/v1/work-sites/{}", ids.site),
            false,
            &["manpower", "regional", "district"],
        ),
        (
            "rptka-approvals",
            "/api/v1/rptka-approvals/KEP-1-2026".into(),
            false,
            &["manpower"],
        ),
        (
            "assignments",
            format!("/api/v1/assignments/{}", ids.assignment),
            true,
            &["manpower"],
        ),
        (
            "residence-permits",
            "/api/v1/residence-permits/ITAS-1".into(),
            true,
            &["immigration"],
        ),
        (
            "presence-reports",
            format!("/api/v1/presence-reports/{}", ids.report),
            true,
            &["regional", "district", "immigration"],
        ),
        (
            "workers",
            format!("/api/v1/workers/{}", ids.worker),
            true,
            &["immigration", "manpower"],
        ),
    ]
}

/// The documented answer to a read of personal (or other) data.
fn expected_read(personal: bool, purpose: Declared) -> (u16, &'static str) {
    match (personal, purpose) {
        (false, _) | (true, Declared::Registered) => (200, ""),
        (true, Declared::Nothing) => (400, "validation_failed"),
        (true, Declared::Unregistered) => (403, "purpose_not_allowed"),
    }
}

struct Seeded {
    worker: String,
    assignment: String,
    report: String,
    site: String,
}

/// The records every read is about, written by agencies without a jurisdiction;
/// all located in Tenggarong (64.02.06), the approval in all of Kukar (64.02).
async fn seed(app: &TestApp) -> Seeded {
    let mp = agency_token(app, "MP0", "manpower", None).await;
    let imi = agency_token(app, "IMI0", "immigration", None).await;
    let reg = agency_token(app, "REG0", "regional", None).await;
    let emp = json!({"name": "PT Policy", "capital": "PMA", "kbli": ["05100"], "region_code": "64.02.06"});
    json(
        put(app, &format!("/api/v1/employers/{NIB}"), &mp, &emp).await,
        201,
    )
    .await;
    json(
        put(
            app,
            "/api/v1/rptka-approvals/KEP-1-2026",
            &mp,
            &crate::records::approval(),
        )
        .await,
        201,
    )
    .await;
    let stored = json(
        put(
            app,
            "/api/v1/residence-permits/ITAS-1",
            &imi,
            &permit("E51234567"),
        )
        .await,
        201,
    )
    .await;
    let worker = stored["worker_id"].as_str().expect("worker").to_string();
    let a = json(
        post(
            app,
            "/api/v1/assignments",
            &mp,
            &crate::records::assignment("A-1", "E51234567"),
        )
        .await,
        201,
    )
    .await;
    let site = json!({"source_ref": "S-1", "employer_nib": NIB, "name": "Pit", "kind": "mine", "region_code": "64.02.06"});
    let s = json(post(app, "/api/v1/work-sites", &mp, &site).await, 201).await;
    let seen = json!({"source_ref": "P-1", "observed_on": "2026-11-30", "source": "field_check",
                      "region_code": "64.02.06", "worker": crate::records::person("E51234567", "ZHANG WEI")});
    let r = json(
        post(app, "/api/v1/presence-reports", &reg, &seen).await,
        201,
    )
    .await;
    Seeded {
        worker,
        assignment: a["id"].as_str().expect("id").to_string(),
        report: r["id"].as_str().expect("id").to_string(),
        site: s["id"].as_str().expect("id").to_string(),
    }
}

/// A client of a new agency of `kind` limited to `jurisdiction`, registered
/// for the supervision purpose only, with read and write scopes (no pii:read).
async fn client(app: &TestApp, code: &str, kind: &str, jurisdiction: &str) -> String {
    app.agency(code, kind, Some(jurisdiction));
    let c = sinergi_api::admin::create_client_with_purposes(
        &app.db,
        code,
        "policy",
        &["records:read".into(), "records:write".into()],
        &["supervision".into()],
    )
    .expect("client");
    app.token(&(c.client_id, c.client_secret)).await
}

/// The audit events matching `filter`, in chain order.
fn audit_events(app: &TestApp, filter: AuditFilter) -> Vec<sinergi_db::audit::AuditRow> {
    app.db
        .read(|c| audit::list(c, &filter, 0, 1000))
        .expect("audit")
}

/// One client per agency kind, limited to 64.02 (Tenggarong inside) and to
/// 64.03 (Tenggarong outside): (kind, inside, agency code, token).
async fn principals(app: &TestApp, prefix: &str) -> Vec<(&'static str, bool, String, String)> {
    let mut out = Vec::new();
    for kind in KINDS {
        for (inside, j) in [(true, "64.02"), (false, "64.03")] {
            let side = if inside { "IN" } else { "OUT" };
            let code = format!("{prefix}{}-{side}", kind.to_uppercase());
            let token = client(app, &code, kind, j).await;
            out.push((kind, inside, code, token));
        }
    }
    out
}

async fn get(app: &TestApp, path: &str, token: &str, purpose: Declared) -> (u16, Value) {
    let mut req = app.get(path, token);
    match purpose {
        Declared::Nothing => {}
        Declared::Registered => req = req.header("X-Purpose", "supervision"),
        Declared::Unregistered => req = req.header("X-Purpose", "enforcement"),
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    // Exports are NDJSON: the first line is enough here.
    let first = text.lines().next().unwrap_or("null");
    (status, serde_json::from_str(first).unwrap_or(Value::Null))
}

async fn reads_follow_the_documented_policy(app: TestApp) {
    let ids = seed(&app).await;
    let mut checked = 0;
    for (kind, inside, code, token) in principals(&app, "").await {
        for purpose in [
            Declared::Nothing,
            Declared::Registered,
            Declared::Unregistered,
        ] {
            let mut paths: Vec<(String, bool)> = Vec::new();
            for (collection, item, personal, _) in types(&ids) {
                paths.push((item, personal));
                paths.push((format!("/api/v1/{collection}?limit=5"), personal));
                paths.push((format!("/api/v1/export/{collection}"), personal));
            }
            paths.push(("/api/v1/changes?limit=5".into(), true));
            paths.push(("/api/v1/changes?types=employer,work_site".into(), false));
            paths.push(("/api/v1/findings".into(), true));
            paths.push(("/api/v1/stats/workers?group_by=sector".into(), false));
            for (path, personal) in paths {
                let (status, body) = get(&app, &path, &token, purpose).await;
                let (want, code) = expected_read(personal, purpose);
                let what = format!("{kind} inside={inside} {purpose:?} GET {path}: {body}");
                assert_eq!(status, want, "{what}");
                if !code.is_empty() {
                    assert_eq!(body["code"], code, "{what}");
                }
                if status == 200 && path == "/api/v1/residence-permits/ITAS-1" {
                    let number = body["worker"]["passport_no"].as_str().expect("number");
                    // Districts see numbers masked (no pii:read); the others whole.
                    let masked = kind == "district";
                    assert_eq!(number == "******567", masked, "{what}");
                    assert_eq!(number == "E51234567", !masked, "{what}");
                }
                checked += 1;
            }
        }
        // Every item read of the permit, granted or refused, is audited naming the person.
        let events = audit_events(
            &app,
            AuditFilter {
                agency_code: Some(code.clone()),
                resource_type: Some("residence_permit".into()),
                ..Default::default()
            },
        );
        let item_reads: Vec<&_> = events
            .iter()
            .filter(|e| e.resource_key.as_deref() == Some("ITAS-1"))
            .collect();
        let mut statuses: Vec<i32> = item_reads.iter().map(|e| e.status).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400, 403], "{code}: {events:?}");
        assert!(
            item_reads
                .iter()
                .all(|e| e.subject_worker_id.as_deref() == Some(ids.worker.as_str())),
            "{code}: {item_reads:?}"
        );
    }
    assert_eq!(checked, 5 * 2 * 3 * 25);
}

async fn writes_follow_the_documented_policy(app: TestApp) {
    let ids = seed(&app).await;
    let mut n = 0;
    for (kind, inside, _, token) in principals(&app, "W").await {
        for (collection, _, _, writers) in types(&ids) {
            n += 1;
            // Tenggarong lies inside 64.02 and outside 64.03.
            let region = "64.02.06";
            let passport = format!("E7{n:07}");
            let nib = format!("91299{n:08}");
            let resp = match collection {
                "employers" => {
                    let emp = json!({"name": "PT W", "capital": "PMDN", "kbli": ["05100"], "region_code": region});
                    put(&app, &format!("/api/v1/employers/{nib}"), &token, &emp).await
                }
                "work-sites" => {
                    let s = json!({"source_ref": format!("WS-{n}"), "employer_nib": NIB, "name": "Camp", "kind": "camp", "region_code": region});
                    post(&app, "/api/v1/work-sites", &token, &s).await
                }
                "rptka-approvals" => {
                    let mut a = crate::records::approval();
                    a["location_scope"] = json!([region]);
                    put(
                        &app,
                        &format!("/api/v1/rptka-approvals/KEP-W-{n}"),
                        &token,
                        &a,
                    )
                    .await
                }
                "assignments" => {
                    // Located where the seeded approval allows work: all of 64.02.
                    let a = crate::records::assignment(&format!("AS-{n}"), &passport);
                    post(&app, "/api/v1/assignments", &token, &a).await
                }
                "residence-permits" => {
                    let mut p = permit(&passport);
                    p["address_region_code"] = json!(region);
                    put(
                        &app,
                        &format!("/api/v1/residence-permits/ITAS-W-{n}"),
                        &token,
                        &p,
                    )
                    .await
                }
                "presence-reports" => {
                    let p = json!({"source_ref": format!("PR-{n}"), "observed_on": "2026-11-30",
                                       "source": "field_check", "region_code": region, "headcount": 3});
                    post(&app, "/api/v1/presence-reports", &token, &p).await
                }
                _ => {
                    let w = crate::records::person(&passport, "LI NA");
                    post(&app, "/api/v1/workers", &token, &w).await
                }
            };
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            let what = format!("{kind} inside={inside} write {collection}: {body}");
            // Workers are located nowhere: only the kind decides.
            let located = collection != "workers";
            if !writers.contains(&kind) {
                assert_eq!(
                    (status, body["code"].as_str()),
                    (403, Some("agency_kind_not_allowed")),
                    "{what}"
                );
            } else if located && !inside {
                assert_eq!(
                    (status, body["code"].as_str()),
                    (403, Some("outside_jurisdiction")),
                    "{what}"
                );
            } else {
                assert_eq!(status, 201, "{what}");
            }
        }
    }
    assert_eq!(n, 5 * 2 * 7);
}

async fn assignment_lies_where_its_approval_allows_work(app: TestApp) {
    // Before: an agency limited to a jurisdiction could place a worker under
    // an approval for another district (the assignment had no region of its own).
    let mp = agency_token(&app, "MP", "manpower", None).await;
    let emp =
        json!({"name": "PT A", "capital": "PMA", "kbli": ["05100"], "region_code": "64.02.06"});
    json(
        put(&app, &format!("/api/v1/employers/{NIB}"), &mp, &emp).await,
        201,
    )
    .await;
    let mut elsewhere = crate::records::approval();
    elsewhere["location_scope"] = json!(["64.03"]);
    json(
        put(&app, "/api/v1/rptka-approvals/KEP-1-2026", &mp, &elsewhere).await,
        201,
    )
    .await;
    let limited = agency_token(&app, "MP-TGR", "manpower", Some("64.02.06")).await;
    let a = crate::records::assignment("A-1", "E51234567");
    problem(
        post(&app, "/api/v1/assignments", &limited, &a).await,
        403,
        "outside_jurisdiction",
    )
    .await;
    json(post(&app, "/api/v1/assignments", &mp, &a).await, 201).await;
}

async fn employer_outside_the_jurisdiction_cannot_be_moved_in(app: TestApp) {
    // Before: employers are shared, and a limited agency could re-register one
    // located elsewhere with its own region, moving and renaming it.
    let imi = agency_token(&app, "IMI", "immigration", None).await;
    let emp = json!({"name": "PT Samarinda", "capital": "PMA", "kbli": ["05100"], "region_code": "64.72.01"});
    json(
        put(&app, &format!("/api/v1/employers/{NIB}"), &imi, &emp).await,
        201,
    )
    .await;
    let limited = agency_token(&app, "MP-TGR", "manpower", Some("64.02.06")).await;
    let moved = json!({"name": "PT Mine Now", "capital": "PMA", "kbli": ["05100"], "region_code": "64.02.06"});
    problem(
        put(&app, &format!("/api/v1/employers/{NIB}"), &limited, &moved).await,
        403,
        "outside_jurisdiction",
    )
    .await;
    let stored = json(
        app.get(&format!("/api/v1/employers/{NIB}"), &imi)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(stored["name"], "PT Samarinda");
    assert_eq!(stored["region_code"], "64.72.01");
    assert_eq!(stored["meta"]["version"], 1);
}

async fn findings_are_acted_on_only_inside_the_jurisdiction(app: TestApp) {
    // Before: any immigration agency could acknowledge any finding.
    seed(&app).await;
    let mp = agency_token(&app, "MP9", "manpower", None).await;
    // The assignment ends: the seeded ITAS has no active assignment, a finding
    // manpower acts on, located in Tenggarong (the worker was seen there).
    let mut ended = crate::records::assignment("A-1", "E51234567");
    ended["status"] = json!("ended");
    json(
        post(
            &app,
            "/api/v1/assignments",
            &app_token(&app, "MP0").await,
            &ended,
        )
        .await,
        200,
    )
    .await;
    let list = json(
        app.get("/api/v1/findings?rule=PERMIT_WITHOUT_ASSIGNMENT", &mp)
            .header("X-Purpose", "supervision")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let f = list["items"][0].clone();
    assert_eq!(f["responsible"], "manpower", "{list}");
    let path = format!("/api/v1/findings/{}", f["id"].as_str().expect("id"));
    let ack = json!({"status": "acknowledged", "note": "checking"});
    let elsewhere = client(&app, "MP-SMD", "manpower", "64.72").await;
    let resp = app
        .http
        .patch(app.url(&path))
        .bearer_auth(&elsewhere)
        .json(&ack)
        .send()
        .await
        .unwrap();
    problem(resp, 403, "outside_jurisdiction").await;
    let here = client(&app, "MP-KK", "manpower", "64.02").await;
    let resp = app
        .http
        .patch(app.url(&path))
        .bearer_auth(&here)
        .json(&ack)
        .send()
        .await
        .unwrap();
    assert_eq!(json(resp, 200).await["status"], "acknowledged");
}

/// A token of the seeded agency `code` (a second client of it).
async fn app_token(app: &TestApp, code: &str) -> String {
    token_with(app, code, &["records:read", "records:write"]).await
}

async fn findings_are_personal_data(app: TestApp) {
    // Before: findings (worker ids, permit numbers) were listed with no purpose and no audit event.
    seed(&app).await;
    let reg = client(&app, "REG-F", "regional", "64.02").await;
    let p = problem(
        app.get("/api/v1/findings", &reg).send().await.unwrap(),
        400,
        "validation_failed",
    )
    .await;
    crate::harness::assert_field(&p, "X-Purpose", "purpose_required");
    json(
        app.get("/api/v1/findings", &reg)
            .header("X-Purpose", "supervision")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let events = audit_events(
        &app,
        AuditFilter {
            agency_code: Some("REG-F".into()),
            resource_type: Some("finding".into()),
            ..Default::default()
        },
    );
    let statuses: Vec<i32> = events.iter().map(|e| e.status).collect();
    assert_eq!(statuses, [400, 200], "{events:?}");
    assert_eq!(events[1].purpose.as_deref(), Some("supervision"));
}

async fn refused_read_names_the_person_in_the_audit_log(app: TestApp) {
    // Before: a read refused for an unregistered purpose was stored without
    // the person, so it never showed in that person's access log.
    let ids = seed(&app).await;
    let reg = client(&app, "REG-X", "regional", "64.02").await;
    let (status, _) = get(
        &app,
        "/api/v1/residence-permits/ITAS-1",
        &reg,
        Declared::Unregistered,
    )
    .await;
    assert_eq!(status, 403);
    let events = audit_events(
        &app,
        AuditFilter {
            subject_worker_id: Some(ids.worker.clone()),
            status: Some(403),
            ..Default::default()
        },
    );
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].agency_code.as_deref(), Some("REG-X"));
}

async fn identity_conflict_flag_follows_the_rule(app: TestApp) {
    // Before: the flag compared every reported name and birth date of the
    // worker, across passports; the rule compares per passport, across agencies.
    let imi = agency_token(&app, "IMI", "immigration", None).await;
    let mp = agency_token(&app, "MP", "manpower", None).await;
    let stored = json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-1",
            &imi,
            &permit("E51234567"),
        )
        .await,
        201,
    )
    .await;
    let worker = stored["worker_id"].as_str().unwrap().to_string();
    let flag = || async {
        let path = format!("/api/v1/workers/{worker}");
        get(&app, &path, &imi, Declared::Registered).await.1["identity_conflict"].clone()
    };
    // Manpower knows the person by a newer passport, under a longer name:
    // no passport has two versions, so no conflict.
    let renewed = json!({"passport_no": "E99999999", "nationality": "CHN", "full_name": "ZHANG WEI JR",
                         "other_passports": [{"number": "E51234567", "country": "CHN"}]});
    json(post(&app, "/api/v1/workers", &mp, &renewed).await, 200).await;
    assert_eq!(flag().await, false);
    // Same passport, same name in other spacing, no birth date: still none.
    let same =
        json!({"passport_no": "E51234567", "nationality": "CHN", "full_name": "zhang   wei"});
    json(post(&app, "/api/v1/workers", &mp, &same).await, 200).await;
    assert_eq!(flag().await, false);
    // Same passport, another birth date: the agencies disagree.
    let other = json!({"passport_no": "E51234567", "nationality": "CHN", "full_name": "ZHANG WEI",
                       "birth_date": "1986-01-01"});
    json(post(&app, "/api/v1/workers", &mp, &other).await, 200).await;
    assert_eq!(flag().await, true);
}

async fn masked_numbers_cannot_be_looked_up(app: TestApp) {
    // Before: a district that sees ******567 could confirm any guess by filtering on it.
    seed(&app).await;
    let district = client(&app, "KEC", "district", "64.02.06").await;
    let (status, body) = get(
        &app,
        "/api/v1/workers?passport_no=E51234567",
        &district,
        Declared::Registered,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("identifier_masked")),
        "{body}"
    );
    app.agency("KEC-PII", "district", Some("64.02.06"));
    let c = sinergi_api::admin::create_client_with_purposes(
        &app.db,
        "KEC-PII",
        "pii",
        &["records:read".into(), "pii:read".into()],
        &["supervision".into()],
    )
    .expect("client");
    let trusted = app.token(&(c.client_id, c.client_secret)).await;
    let (status, body) = get(
        &app,
        "/api/v1/workers?passport_no=E51234567",
        &trusted,
        Declared::Registered,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1));
}

async fn dates_out_of_range_are_refused_with_the_field(app: TestApp) {
    // Before: such dates were stored (and gave 500 on PostgreSQL).
    let imi = agency_token(&app, "IMI", "immigration", None).await;
    let mut p = permit("E51234567");
    p["valid_until"] = json!("2300-01-01");
    p["worker"]["birth_date"] = json!("1800-01-01");
    let body = problem(
        put(&app, "/api/v1/residence-permits/ITAS-9", &imi, &p).await,
        400,
        "validation_failed",
    )
    .await;
    crate::harness::assert_field(&body, "valid_until", "date_out_of_range");
    crate::harness::assert_field(&body, "worker.birth_date", "date_out_of_range");
}
