//! One scenario per compliance rule of docs/domain.md, through the real API: the
//! owning agencies push records until the rule fires (exactly one open
//! finding, with its severity, responsible agency kind and evidence), then
//! push the record change that removes the cause (the near miss) and the
//! finding is resolved by Sinergi itself. Dates are relative to the day the
//! rules are judged on (today in WITA).

use chrono::Duration;
use serde_json::{json, Value};

use crate::harness::{json, read, TestApp};
use crate::records::{agency_token, post, put};

api_tests!(
    permit_without_assignment,
    assignment_without_permit,
    working_on_visit_permit,
    outside_approved_location,
    present_after_expiry,
    headcount_over_quota,
    no_companion,
    closed_position,
    sponsor_mismatch,
    passport_expires_first,
    identity_conflict,
    expiring_soon,
);

const NIB: &str = "9120001234567";
const OTHER_NIB: &str = "9120007654321";
const PASSPORT: &str = "E51234567";
const APPROVAL: &str = "/api/v1/rptka-approvals/KEP-R-2026";
const ASSIGNMENTS: &str = "/api/v1/assignments";
const SIGHTINGS: &str = "/api/v1/presence-reports";
const ITAS_1: &str = "/api/v1/residence-permits/ITAS-1";

// ---- agencies -------------------------------------------------------------

async fn immigration(app: &TestApp) -> String {
    agency_token(app, "IMI", "immigration", Some("64")).await
}

async fn manpower(app: &TestApp) -> String {
    agency_token(app, "KEMNAKER", "manpower", None).await
}

/// The Kukar supervision team (Kesbangpol), which files presence reports.
async fn regional(app: &TestApp) -> String {
    agency_token(app, "KESBANG", "regional", Some("64.02")).await
}

// ---- records --------------------------------------------------------------

/// The date `offset` days from the day the rules are judged on.
fn day(offset: i64) -> String {
    (sinergi_api::findings::engine::today() + Duration::days(offset)).to_string()
}

fn person(passport: &str) -> Value {
    json!({"passport_no": passport, "nationality": "CHN", "full_name": "ZHANG WEI", "sex": "M",
           "birth_date": "1985-04-12", "passport_expires_on": day(3000)})
}

/// An ITAS sponsored by `NIB`, valid from 30 days ago to 200 days ahead.
fn itas(passport: &str) -> Value {
    json!({"worker": person(passport), "kind": "ITAS", "visa_index": "E23", "sponsor_nib": NIB,
           "issued_on": day(-30), "valid_from": day(-30), "valid_until": day(200),
           "issuing_office": "Kantor Imigrasi Samarinda", "status": "active"})
}

/// Sets a permit's (or assignment's) period, in days from today.
fn period(mut record: Value, from: i64, until: i64) -> Value {
    let (start, end) = match record.get("kind") {
        Some(_) => ("valid_from", "valid_until"),
        None => ("start_on", "end_on"),
    };
    if record.get("issued_on").is_some() {
        record["issued_on"] = json!(day(from));
    }
    record[start] = json!(day(from));
    record[end] = json!(day(until));
    record
}

/// An RPTKA approval of `NIB` for all of Kukar, position P01 for two engineers.
fn approval() -> Value {
    json!({"employer_nib": NIB, "type": "new", "issued_on": day(-60), "valid_from": day(-60),
           "valid_until": day(300), "location_scope": ["64.02"], "status": "active",
           "positions": [{"code": "P01", "title": "Mining Engineer", "level": "professional", "headcount": 2}]})
}

/// An active assignment to P01 of the approval, with a companion worker.
fn assignment(sref: &str, passport: &str) -> Value {
    json!({"source_ref": sref, "worker": person(passport), "approval_no": "KEP-R-2026",
           "position_code": "P01", "employer_nib": NIB, "start_on": day(-30), "end_on": day(200),
           "status": "active", "companion": {"nik": "6402061203900001", "name": "Budi Santoso"}})
}

/// The worker seen yesterday in `region` at a work site of `NIB`.
fn sighting(sref: &str, region: &str) -> Value {
    json!({"source_ref": sref, "observed_on": day(-1), "source": "field_check",
           "region_code": region, "work_site_ref": "SITE-1", "employer_nib": NIB,
           "worker": person(PASSPORT), "activity": "operating an excavator"})
}

/// Asserts a 200 or 201 JSON answer.
async fn ok(resp: reqwest::Response) -> Value {
    let (status, _, text) = read(resp).await;
    assert!(status == 200 || status == 201, "status {status}: {text}");
    serde_json::from_str(&text).expect("JSON body")
}

/// Manpower's side of a placed worker: the approval and an active assignment.
async fn placed(app: &TestApp, mp: &str, assignment: &Value) {
    ok(put(app, APPROVAL, mp, &approval()).await).await;
    ok(post(app, ASSIGNMENTS, mp, assignment).await).await;
}

// ---- findings -------------------------------------------------------------

async fn findings(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let resp = app
        .get(&format!("/api/v1/findings{query}"), token)
        .header("X-Purpose", "supervision");
    let page = json(resp.send().await.expect("request"), 200).await;
    page["items"].as_array().expect("items").clone()
}

/// Asserts exactly one open finding of `rule` with the severity and
/// responsible agency kind of docs/domain.md and evidence of exactly these record
/// types; returns it.
async fn one_open(
    app: &TestApp,
    token: &str,
    rule: &str,
    severity: &str,
    responsible: &str,
    evidence: &[&str],
) -> Value {
    let open = findings(app, token, &format!("?rule={rule}&status=open")).await;
    assert_eq!(
        open.len(),
        1,
        "{rule}: expected one open finding: {open:#?}"
    );
    let f = open[0].clone();
    assert_eq!(f["rule"], rule);
    assert_eq!(f["severity"], severity, "{f}");
    assert_eq!(f["responsible"], responsible, "{f}");
    assert_eq!(f["status_by"], "sinergi", "{f}");
    if matches!(rule, "HEADCOUNT_OVER_QUOTA" | "CLOSED_POSITION") {
        assert_eq!(f["subject"], json!({"kind": "employer", "id": NIB}), "{f}");
    } else {
        assert_eq!(f["subject"]["kind"], "worker", "{f}");
        assert_eq!(f["subject"]["id"], f["worker_id"], "{f}");
    }
    let mut kinds: Vec<&str> = f["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .map(|e| e["record_type"].as_str().expect("record_type"))
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    let mut want = evidence.to_vec();
    want.sort_unstable();
    assert_eq!(kinds, want, "{rule}: evidence record types: {f}");
    f
}

/// Asserts that the finding is now resolved by Sinergi and none of its rule is open.
async fn resolved(app: &TestApp, token: &str, f: &Value) {
    let path = format!("/api/v1/findings/{}", f["id"].as_str().expect("id"));
    let req = app.get(&path, token).header("X-Purpose", "supervision");
    let now = json(req.send().await.expect("request"), 200).await;
    assert_eq!(now["status"], "resolved", "{now}");
    assert_eq!(now["status_by"], "sinergi", "{now}");
    let rule = f["rule"].as_str().expect("rule");
    let open = findings(app, token, &format!("?rule={rule}&status=open")).await;
    assert!(open.is_empty(), "{rule} still open: {open:#?}");
}

// ---- the rules ------------------------------------------------------------

/// 1: a valid sponsored ITAS and no assignment; manpower then places the worker.
async fn permit_without_assignment(app: TestApp) {
    let (imi, mp) = (immigration(&app).await, manpower(&app).await);
    ok(put(&app, ITAS_1, &imi, &itas(PASSPORT)).await).await;
    let rule = "PERMIT_WITHOUT_ASSIGNMENT";
    let f = one_open(&app, &mp, rule, "high", "manpower", &["residence_permit"]).await;
    placed(&app, &mp, &assignment("A-1", PASSPORT)).await;
    resolved(&app, &mp, &f).await;
}

/// 2: an active assignment and no permit; immigration then issues the ITAS.
async fn assignment_without_permit(app: TestApp) {
    let (imi, mp) = (immigration(&app).await, manpower(&app).await);
    placed(&app, &mp, &assignment("A-1", PASSPORT)).await;
    let rule = "ASSIGNMENT_WITHOUT_PERMIT";
    let f = one_open(&app, &imi, rule, "high", "immigration", &["assignment"]).await;
    ok(put(&app, ITAS_1, &imi, &itas(PASSPORT)).await).await;
    resolved(&app, &imi, &f).await;
}

/// 3: seen at a work site holding only an ITK; the team corrects its report:
/// the person was seen in town, at no site and with no employer.
async fn working_on_visit_permit(app: TestApp) {
    let (imi, reg) = (immigration(&app).await, regional(&app).await);
    let mut itk = period(itas(PASSPORT), -20, 40);
    itk["kind"] = json!("ITK");
    itk["visa_index"] = json!("B211A");
    itk["sponsor_nib"] = Value::Null;
    ok(put(&app, "/api/v1/residence-permits/ITK-1", &imi, &itk).await).await;
    let mut seen = sighting("PR-1", "64.02.02");
    ok(post(&app, SIGHTINGS, &reg, &seen).await).await;
    let evidence = ["presence_report", "residence_permit"];
    let rule = "WORKING_ON_VISIT_PERMIT";
    let f = one_open(&app, &reg, rule, "high", "immigration", &evidence).await;
    seen["work_site_ref"] = Value::Null;
    seen["employer_nib"] = Value::Null;
    seen["activity"] = json!("shopping at the market");
    ok(post(&app, SIGHTINGS, &reg, &seen).await).await;
    resolved(&app, &reg, &f).await;
}

/// 4: seen in Loa Kulu under an approval for Tabang only; manpower then
/// amends the approval's location scope to include Loa Kulu.
async fn outside_approved_location(app: TestApp) {
    let (mp, reg) = (manpower(&app).await, regional(&app).await);
    let mut scoped = approval();
    scoped["location_scope"] = json!(["64.02.12"]);
    ok(put(&app, APPROVAL, &mp, &scoped).await).await;
    ok(post(&app, ASSIGNMENTS, &mp, &assignment("A-1", PASSPORT)).await).await;
    ok(post(&app, SIGHTINGS, &reg, &sighting("PR-1", "64.02.02")).await).await;
    let evidence = ["assignment", "presence_report", "rptka_approval"];
    let rule = "OUTSIDE_APPROVED_LOCATION";
    let f = one_open(&app, &reg, rule, "medium", "manpower", &evidence).await;
    scoped["location_scope"] = json!(["64.02.12", "64.02.02"]);
    ok(put(&app, APPROVAL, &mp, &scoped).await).await;
    resolved(&app, &reg, &f).await;
}

/// 5: seen yesterday after the only ITAS ended ten days ago; immigration then
/// records the extension that covers the day.
async fn present_after_expiry(app: TestApp) {
    let (imi, reg) = (immigration(&app).await, regional(&app).await);
    ok(put(&app, ITAS_1, &imi, &period(itas(PASSPORT), -200, -10)).await).await;
    ok(post(&app, SIGHTINGS, &reg, &sighting("PR-1", "64.02.02")).await).await;
    let evidence = ["presence_report", "residence_permit"];
    let rule = "PRESENT_AFTER_EXPIRY";
    let f = one_open(&app, &reg, rule, "high", "immigration", &evidence).await;
    let extension = period(itas(PASSPORT), -9, 200);
    ok(put(&app, "/api/v1/residence-permits/ITAS-2", &imi, &extension).await).await;
    resolved(&app, &reg, &f).await;
}

/// 6: two active assignments in a position approved for one; manpower then
/// ends one of them.
async fn headcount_over_quota(app: TestApp) {
    let mp = manpower(&app).await;
    let mut one = approval();
    one["positions"][0]["headcount"] = json!(1);
    ok(put(&app, APPROVAL, &mp, &one).await).await;
    ok(post(&app, ASSIGNMENTS, &mp, &assignment("A-1", PASSPORT)).await).await;
    let mut second = assignment("A-2", "E59876543");
    ok(post(&app, ASSIGNMENTS, &mp, &second).await).await;
    let evidence = ["assignment", "rptka_approval"];
    let rule = "HEADCOUNT_OVER_QUOTA";
    let f = one_open(&app, &mp, rule, "medium", "manpower", &evidence).await;
    assert_eq!(
        f["evidence"].as_array().unwrap().len(),
        3,
        "both assignments: {f}"
    );
    second["status"] = json!("ended");
    second["end_on"] = json!(day(-1));
    ok(post(&app, ASSIGNMENTS, &mp, &second).await).await;
    resolved(&app, &mp, &f).await;
}

/// 7: a professional assigned without a companion worker; manpower then names one.
async fn no_companion(app: TestApp) {
    let mp = manpower(&app).await;
    let mut alone = assignment("A-1", PASSPORT);
    let companion = alone["companion"].take();
    placed(&app, &mp, &alone).await;
    let evidence = ["assignment", "rptka_approval"];
    let f = one_open(&app, &mp, "NO_COMPANION", "low", "manpower", &evidence).await;
    alone["companion"] = companion;
    ok(post(&app, ASSIGNMENTS, &mp, &alone).await).await;
    resolved(&app, &mp, &f).await;
}

/// 8: an approval in force with an HR manager position; manpower then amends
/// the approval without it.
async fn closed_position(app: TestApp) {
    let mp = manpower(&app).await;
    let mut hr = approval();
    let hr_manager =
        json!({"code": "P02", "title": "HR Manager", "level": "manager", "headcount": 1});
    hr["positions"].as_array_mut().unwrap().push(hr_manager);
    ok(put(&app, APPROVAL, &mp, &hr).await).await;
    let rule = "CLOSED_POSITION";
    let f = one_open(&app, &mp, rule, "high", "manpower", &["rptka_approval"]).await;
    ok(put(&app, APPROVAL, &mp, &approval()).await).await;
    resolved(&app, &mp, &f).await;
}

/// 9: the ITAS is sponsored by another employer than the one the worker is
/// assigned to; immigration then records the sponsor transfer.
async fn sponsor_mismatch(app: TestApp) {
    let (imi, mp) = (immigration(&app).await, manpower(&app).await);
    let mut permit = itas(PASSPORT);
    permit["sponsor_nib"] = json!(OTHER_NIB);
    ok(put(&app, ITAS_1, &imi, &permit).await).await;
    placed(&app, &mp, &assignment("A-1", PASSPORT)).await;
    let evidence = ["assignment", "residence_permit"];
    let rule = "SPONSOR_MISMATCH";
    let f = one_open(&app, &imi, rule, "medium", "immigration", &evidence).await;
    permit["sponsor_nib"] = json!(NIB);
    ok(put(&app, ITAS_1, &imi, &permit).await).await;
    resolved(&app, &imi, &f).await;
}

/// 10: the passport expires 100 days ahead, the ITAS 200; immigration then
/// records the passport's extended validity.
async fn passport_expires_first(app: TestApp) {
    let imi = immigration(&app).await;
    let mut permit = itas(PASSPORT);
    permit["worker"]["passport_expires_on"] = json!(day(100));
    ok(put(&app, ITAS_1, &imi, &permit).await).await;
    let (rule, evidence) = ("PASSPORT_EXPIRES_FIRST", ["residence_permit"]);
    let f = one_open(&app, &imi, rule, "low", "immigration", &evidence).await;
    permit["worker"]["passport_expires_on"] = json!(day(2000));
    ok(put(&app, ITAS_1, &imi, &permit).await).await;
    resolved(&app, &imi, &f).await;
}

/// 11: manpower spells the name differently from immigration for one
/// passport; manpower then corrects its record.
async fn identity_conflict(app: TestApp) {
    let (imi, mp) = (immigration(&app).await, manpower(&app).await);
    ok(put(&app, ITAS_1, &imi, &itas(PASSPORT)).await).await;
    let mut misspelt = assignment("A-1", PASSPORT);
    misspelt["worker"]["full_name"] = json!("ZHANG WEY");
    placed(&app, &mp, &misspelt).await;
    let evidence = ["assignment", "residence_permit"];
    let rule = "IDENTITY_CONFLICT";
    let f = one_open(&app, &mp, rule, "medium", "immigration", &evidence).await;
    ok(post(&app, ASSIGNMENTS, &mp, &assignment("A-1", PASSPORT)).await).await;
    resolved(&app, &mp, &f).await;
}

/// 12: the ITAS ends in 10 days (the assignment in 40, outside the window:
/// no finding of its own); immigration then extends the ITAS to 40 days.
async fn expiring_soon(app: TestApp) {
    let (imi, mp) = (immigration(&app).await, manpower(&app).await);
    ok(put(&app, ITAS_1, &imi, &period(itas(PASSPORT), -300, 10)).await).await;
    placed(&app, &mp, &period(assignment("A-1", PASSPORT), -300, 40)).await;
    let (rule, evidence) = ("EXPIRING_SOON", ["residence_permit"]);
    let f = one_open(&app, &mp, rule, "info", "immigration", &evidence).await;
    ok(put(&app, ITAS_1, &imi, &period(itas(PASSPORT), -300, 40)).await).await;
    resolved(&app, &mp, &f).await;
}
