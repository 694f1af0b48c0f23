//! The record types that name people: residence permits, assignments, presence
//! reports, workers; and work sites and RPTKA approvals they hang from.

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::harness::{assert_field, json, problem, read, TestApp};

api_tests!(
    permit_resolves_worker_and_repush_changes_nothing,
    concurrent_pushes_of_one_new_permit_make_one_record,
    permit_validation_names_every_field,
    invalid_calendar_date_names_the_field,
    only_the_owning_agency_kind_writes_permits,
    another_immigration_office_cannot_change_a_permit,
    assignment_needs_a_known_approval_and_position,
    district_reports_only_inside_its_jurisdiction,
    presence_report_is_a_person_or_a_headcount,
    work_site_by_source_ref_and_coordinates,
    assignment_names_the_work_site_of_its_employer,
    worker_registration_links_several_passports,
    identity_conflict_between_agencies_is_shown,
    approval_positions_are_checked_and_closed_ones_flagged,
    permit_list_filters_and_bad_dates,
    region_pages_merge_a_code_and_the_codes_below_it,
);

pub const NIB: &str = "9120001234567";

/// A client of a new agency with read/write scopes and every purpose.
pub async fn agency_token(
    app: &TestApp,
    code: &str,
    kind: &str,
    jurisdiction: Option<&str>,
) -> String {
    app.agency(code, kind, jurisdiction);
    token_with(app, code, &["records:read", "records:write"]).await
}

/// A token for a new client of `agency` with `scopes` and every purpose.
pub async fn token_with(app: &TestApp, agency: &str, scopes: &[&str]) -> String {
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    let purposes: Vec<String> = [
        "supervision",
        "permit-processing",
        "enforcement",
        "statistics",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let c = sinergi_api::admin::create_client_with_purposes(
        &app.db, agency, "test", &scopes, &purposes,
    )
    .expect("client");
    app.token(&(c.client_id, c.client_secret)).await
}

/// GET with a token and a declared purpose.
pub async fn read_as(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.get(path, token)
        .header("X-Purpose", "supervision")
        .send()
        .await
        .expect("request")
}

/// POST a JSON body.
pub async fn post(app: &TestApp, path: &str, token: &str, body: &Value) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("request")
}

/// PUT a JSON body.
pub async fn put(app: &TestApp, path: &str, token: &str, body: &Value) -> reqwest::Response {
    app.put(path, token, body).send().await.expect("request")
}

pub fn person(passport: &str, name: &str) -> Value {
    json!({"passport_no": passport, "nationality": "CHN", "full_name": name,
           "sex": "M", "birth_date": "1985-04-12", "passport_expires_on": "2032-01-01"})
}

pub fn permit(passport: &str) -> Value {
    json!({
        "worker": person(passport, "ZHANG WEI"),
        "kind": "ITAS", "visa_index": "E23", "sponsor_nib": NIB,
        "issued_on": "2026-01-05", "valid_from": "2026-01-05", "valid_until": "2030-12-31",
        "issuing_office": "Kantor Imigrasi Samarinda", "address_region_code": "64.02.06",
        "status": "active"
    })
}

pub fn approval() -> Value {
    json!({
        "employer_nib": NIB, "type": "new", "issued_on": "2026-01-01",
        "valid_from": "2026-01-01", "valid_until": "2031-06-30", "location_scope": ["64.02"],
        "positions": [{"code": "P01", "title": "Mining Engineer", "level": "professional", "headcount": 2}],
        "status": "active"
    })
}

pub fn assignment(sref: &str, passport: &str) -> Value {
    json!({
        "source_ref": sref, "worker": person(passport, "ZHANG WEI"),
        "approval_no": "KEP-1-2026", "position_code": "P01", "employer_nib": NIB,
        "start_on": "2026-02-01", "end_on": "2030-06-30", "status": "active",
        "companion": {"nik": "6402061203900001", "name": "Budi Santoso"}
    })
}

async fn permit_resolves_worker_and_repush_changes_nothing(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    let first = json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-1",
            &imi,
            &permit("e51234567"),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        first["worker"]["passport_no"], "E51234567",
        "passport upper-cased"
    );
    assert_eq!(first["meta"]["version"], 1);
    let worker_id = first["worker_id"].as_str().expect("worker id").to_string();
    let again = put(
        &app,
        "/api/v1/residence-permits/ITAS-1",
        &imi,
        &permit("E51234567"),
    )
    .await;
    assert_eq!(again.headers()["etag"], "\"1\"");
    let again = json(again, 200).await;
    assert_eq!(
        again["meta"]["version"], 1,
        "identical content bumps no version"
    );
    assert_eq!(again["worker_id"], worker_id.as_str());
    let view = json(
        read_as(&app, &format!("/api/v1/workers/{worker_id}"), &imi).await,
        200,
    )
    .await;
    assert_eq!(view["residence_permits"][0]["permit_no"], "ITAS-1");
    assert_eq!(view["passports"][0]["number"], "E51234567");
    assert_eq!(view["identities"][0]["agency"], "IMI");
    assert_eq!(view["residence_permits"][0]["meta"]["agency"], "IMI");
}

async fn concurrent_pushes_of_one_new_permit_make_one_record(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    let body = permit("E70000001");
    let sends = (0..50).map(|_| put(&app, "/api/v1/residence-permits/ITAS-RACE", &imi, &body));
    let mut created = 0;
    for resp in join_all(sends).await {
        let (status, _, text) = read(resp).await;
        assert!(status == 200 || status == 201, "status {status}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["meta"]["version"], 1, "{v}");
        created += usize::from(status == 201);
    }
    assert_eq!(created, 1, "exactly one push creates the permit");
    let list = json(
        read_as(&app, "/api/v1/residence-permits?limit=1000", &imi).await,
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let workers = json(
        read_as(&app, "/api/v1/workers?passport_no=E70000001", &imi).await,
        200,
    )
    .await;
    assert_eq!(
        workers["items"].as_array().unwrap().len(),
        1,
        "one person, not fifty"
    );
}

async fn permit_validation_names_every_field(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    let mut bad = permit("E5-123");
    bad["worker"]["nationality"] = json!("XYZ");
    bad["kind"] = json!("VISA");
    bad["valid_from"] = json!("2031-02-01");
    bad["sponsor_nib"] = json!("12345");
    let p = problem(
        put(&app, "/api/v1/residence-permits/ITAS-2", &imi, &bad).await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "worker.passport_no", "invalid_passport_no");
    assert_field(&p, "worker.nationality", "invalid_country");
    assert_field(&p, "kind", "invalid_value");
    assert_field(&p, "valid_until", "invalid_period");
    assert_field(&p, "sponsor_nib", "invalid_nib");
    let mut wrong_type = permit("E51234567");
    wrong_type["worker"]["full_name"] = json!(42);
    let p = problem(
        put(&app, "/api/v1/residence-permits/ITAS-2", &imi, &wrong_type).await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "worker.full_name", "invalid_type");
    let mut extra = permit("E51234567");
    extra["version"] = json!(7);
    let p = problem(
        put(&app, "/api/v1/residence-permits/ITAS-2", &imi, &extra).await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "version", "unknown_field");
    let resp = app
        .get("/api/v1/residence-permits/ITAS-2", &imi)
        .header("X-Purpose", "supervision")
        .send()
        .await
        .unwrap();
    problem(resp, 404, "not_found").await;
}

async fn invalid_calendar_date_names_the_field(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    let mut bad = permit("E51234567");
    bad["valid_until"] = json!("2025-02-30");
    let p = problem(
        put(&app, "/api/v1/residence-permits/ITAS-3", &imi, &bad).await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "valid_until", "invalid_date");
}

async fn only_the_owning_agency_kind_writes_permits(app: TestApp) {
    let manpower = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let p = problem(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-4",
            &manpower,
            &permit("E51234567"),
        )
        .await,
        403,
        "agency_kind_not_allowed",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("manpower"));
    let regional = agency_token(&app, "KESBANG", "regional", Some("64.02")).await;
    problem(
        put(
            &app,
            "/api/v1/rptka-approvals/KEP-1-2026",
            &regional,
            &approval(),
        )
        .await,
        403,
        "agency_kind_not_allowed",
    )
    .await;
}

async fn another_immigration_office_cannot_change_a_permit(app: TestApp) {
    let smd = agency_token(&app, "IMI-SMD", "immigration", Some("64")).await;
    let bpp = agency_token(&app, "IMI-BPP", "immigration", None).await;
    json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-5",
            &smd,
            &permit("E51234567"),
        )
        .await,
        201,
    )
    .await;
    let mut changed = permit("E51234567");
    changed["status"] = json!("cancelled");
    problem(
        put(&app, "/api/v1/residence-permits/ITAS-5", &bpp, &changed).await,
        403,
        "owned_by_other_agency",
    )
    .await;
    let stored = json(
        read_as(&app, "/api/v1/residence-permits/ITAS-5", &smd).await,
        200,
    )
    .await;
    assert_eq!(stored["status"], "active", "nothing changed");
}

async fn assignment_needs_a_known_approval_and_position(app: TestApp) {
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let p = problem(
        post(
            &app,
            "/api/v1/assignments",
            &mp,
            &assignment("A-1", "E51234567"),
        )
        .await,
        422,
        "unresolved_reference",
    )
    .await;
    assert_field(&p, "approval_no", "unknown_approval");
    json(
        put(&app, "/api/v1/rptka-approvals/KEP-1-2026", &mp, &approval()).await,
        201,
    )
    .await;
    let mut wrong_position = assignment("A-1", "E51234567");
    wrong_position["position_code"] = json!("P99");
    let p = problem(
        post(&app, "/api/v1/assignments", &mp, &wrong_position).await,
        422,
        "unresolved_reference",
    )
    .await;
    assert_field(&p, "position_code", "unknown_position");
    let mut other_employer = assignment("A-1", "E51234567");
    other_employer["employer_nib"] = json!("9120009999999");
    let p = problem(
        post(&app, "/api/v1/assignments", &mp, &other_employer).await,
        422,
        "unresolved_reference",
    )
    .await;
    assert_field(&p, "employer_nib", "employer_mismatch");
    let created = post(
        &app,
        "/api/v1/assignments",
        &mp,
        &assignment("A-1", "E51234567"),
    )
    .await;
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let created = json(created, 201).await;
    assert_eq!(
        location,
        format!("/api/v1/assignments/{}", created["id"].as_str().unwrap())
    );
    assert_eq!(created["companion"]["name"], "BUDI SANTOSO");
    let again = json(
        post(
            &app,
            "/api/v1/assignments",
            &mp,
            &assignment("A-1", "E51234567"),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        again["id"], created["id"],
        "the same source_ref is the same assignment"
    );
    assert_eq!(again["meta"]["version"], 1);
    let list = json(
        read_as(
            &app,
            "/api/v1/assignments?approval_no=KEP-1-2026&active_on=2026-06-01",
            &mp,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let none = json(
        read_as(&app, "/api/v1/assignments?active_on=2030-07-01", &mp).await,
        200,
    )
    .await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
}

fn sighting(sref: &str, region: &str) -> Value {
    json!({"source_ref": sref, "observed_on": "2026-11-20", "source": "field_check",
           "region_code": region, "worker": person("E51234567", "ZHANG WEI"),
           "activity": "operating an excavator"})
}

async fn district_reports_only_inside_its_jurisdiction(app: TestApp) {
    let kec = agency_token(&app, "KEC-TGR", "district", Some("64.02.06")).await;
    let p = problem(
        post(
            &app,
            "/api/v1/presence-reports",
            &kec,
            &sighting("PR-1", "64.02.02"),
        )
        .await,
        403,
        "outside_jurisdiction",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("64.02.02"));
    let ok = json(
        post(
            &app,
            "/api/v1/presence-reports",
            &kec,
            &sighting("PR-1", "64.02.06.1003"),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(ok["region_code"], "64.02.06.1003");
    let site = json!({"source_ref": "S-1", "employer_nib": NIB, "name": "Pit Loa Kulu", "kind": "mine", "region_code": "64.02.02"});
    problem(
        post(&app, "/api/v1/work-sites", &kec, &site).await,
        403,
        "outside_jurisdiction",
    )
    .await;
    let list = json(
        read_as(&app, "/api/v1/presence-reports?region=64.02", &kec).await,
        200,
    )
    .await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "the refused report was not stored"
    );
}

async fn presence_report_is_a_person_or_a_headcount(app: TestApp) {
    let reg = agency_token(&app, "KESBANG", "regional", Some("64.02")).await;
    let mut both = sighting("PR-2", "64.02.02");
    both["headcount"] = json!(4);
    let p = problem(
        post(&app, "/api/v1/presence-reports", &reg, &both).await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "worker", "worker_or_headcount");
    let count = json!({"source_ref": "PR-3", "observed_on": "2026-11-20", "source": "apoa", "region_code": "6403050", "headcount": 12});
    let stored = json(
        post(&app, "/api/v1/presence-reports", &reg, &count).await,
        201,
    )
    .await;
    assert_eq!(stored["region_code"], "64.02.02", "BPS code converted");
    assert_eq!(stored["worker_id"], Value::Null);
    let mut future = count.clone();
    future["source_ref"] = json!("PR-4");
    future["observed_on"] = json!("2099-01-01");
    let p = problem(
        post(&app, "/api/v1/presence-reports", &reg, &future).await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "observed_on", "invalid_date");
}

async fn work_site_by_source_ref_and_coordinates(app: TestApp) {
    let mp = agency_token(&app, "DISNAKER", "manpower", Some("64.02")).await;
    let site = json!({"source_ref": "S-1", "employer_nib": NIB, "name": "Pit Loa Kulu", "kind": "mine",
                      "region_code": "64.02.02", "lat": -0.54, "lon": 117.02});
    let first = json(post(&app, "/api/v1/work-sites", &mp, &site).await, 201).await;
    let mut renamed = site.clone();
    renamed["name"] = json!("Pit Loa Kulu Utara");
    let second = json(post(&app, "/api/v1/work-sites", &mp, &renamed).await, 200).await;
    assert_eq!(first["id"], second["id"]);
    assert_eq!(second["meta"]["version"], 2);
    let mut abroad = site.clone();
    abroad["source_ref"] = json!("S-2");
    abroad["lat"] = json!(48.85);
    abroad["lon"] = json!(2.35);
    let p = problem(
        post(&app, "/api/v1/work-sites", &mp, &abroad).await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "lat", "outside_indonesia");
    let mines = json(
        app.get("/api/v1/work-sites?kind=mine&employer=9120001234567", &mp)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(mines["items"].as_array().unwrap().len(), 1);
}

async fn assignment_names_the_work_site_of_its_employer(app: TestApp) {
    // Before: an assignment could not say where the worker is placed.
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let kesbang = agency_token(&app, "KESBANG", "regional", Some("64.02")).await;
    json(
        put(&app, "/api/v1/rptka-approvals/KEP-1-2026", &mp, &approval()).await,
        201,
    )
    .await;
    let site = |sref: &str, nib: &str| {
        json!({"source_ref": sref, "employer_nib": nib, "name": "Pit Loa Kulu", "kind": "mine",
               "region_code": "64.02.02"})
    };
    // The site is another agency's record, found by its Sinergi id.
    let ours = json(
        post(&app, "/api/v1/work-sites", &kesbang, &site("S-1", NIB)).await,
        201,
    )
    .await;
    let theirs = json(
        post(
            &app,
            "/api/v1/work-sites",
            &kesbang,
            &site("S-2", "9120009999999"),
        )
        .await,
        201,
    )
    .await;
    let mut placed = assignment("A-1", "E51234567");
    placed["work_site_id"] = ours["id"].clone();
    let stored = json(post(&app, "/api/v1/assignments", &mp, &placed).await, 201).await;
    assert_eq!(stored["work_site_id"], ours["id"]);
    let read = json(
        read_as(
            &app,
            &format!("/api/v1/assignments/{}", stored["id"].as_str().unwrap()),
            &mp,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(read["work_site_id"], ours["id"]);

    // Another employer's site, an id no site has, and no id at all.
    let refused = [
        (
            theirs["id"].clone(),
            422,
            "unresolved_reference",
            "employer_mismatch",
        ),
        (
            json!("0b0c5d1e-6a47-4e0a-9c55-000000000000"),
            422,
            "unresolved_reference",
            "unknown_work_site",
        ),
        (json!("S-1"), 400, "validation_failed", "invalid_id"),
    ];
    let mut elsewhere = assignment("A-2", "E51234568");
    for (site_id, status, code, field_code) in refused {
        elsewhere["work_site_id"] = site_id;
        let p = problem(
            post(&app, "/api/v1/assignments", &mp, &elsewhere).await,
            status,
            code,
        )
        .await;
        assert_field(&p, "work_site_id", field_code);
    }
    // Nothing of the refused assignment was stored.
    let list = json(read_as(&app, "/api/v1/assignments", &mp).await, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // Workers are counted in the district of their work site (no presence
    // report yet; the employer is not registered, so before this there was
    // no district to count them in).
    for n in 3..=4 {
        let mut more = assignment(&format!("A-{n}"), &format!("E5123456{n}"));
        more["work_site_id"] = ours["id"].clone();
        json(post(&app, "/api/v1/assignments", &mp, &more).await, 201).await;
    }
    let stats = json(
        app.get(
            "/api/v1/stats/workers?group_by=region&as_of=2026-06-01",
            &mp,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    let groups = stats["groups"].as_array().unwrap();
    let at_site = groups.iter().find(|g| g["key"] == "64.02.02");
    assert_eq!(at_site.map(|g| &g["count"]), Some(&json!(3)), "{stats}");
}

async fn worker_registration_links_several_passports(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    let body = json!({"passport_no": "E51234567", "nationality": "CHN", "full_name": "ZHANG WEI",
                      "sex": "M", "birth_date": "1985-04-12",
                      "other_passports": [{"number": "G12345678", "country": "CHN", "expires_on": "2024-01-01"}]});
    let created = json(post(&app, "/api/v1/workers", &imi, &body).await, 201).await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["passports"].as_array().unwrap().len(), 2);
    let mut on_old = permit("G12345678");
    on_old["worker"]["full_name"] = json!("ZHANG WEI");
    let stored = json(
        put(&app, "/api/v1/residence-permits/ITAS-OLD", &imi, &on_old).await,
        201,
    )
    .await;
    assert_eq!(
        stored["worker_id"],
        id.as_str(),
        "the old passport resolves to the same person"
    );
    json(
        post(
            &app,
            "/api/v1/workers",
            &imi,
            &json!({"passport_no": "M12345678", "nationality": "KOR", "full_name": "KIM MIN JUN"}),
        )
        .await,
        201,
    )
    .await;
    let merge = json!({"passport_no": "E51234567", "nationality": "CHN", "full_name": "ZHANG WEI",
                       "other_passports": [{"number": "M12345678", "country": "KOR"}]});
    problem(
        post(&app, "/api/v1/workers", &imi, &merge).await,
        409,
        "passports_of_different_workers",
    )
    .await;
    let p = problem(post(&app, "/api/v1/workers", &imi, &json!({"passport_no": "E51234567", "nationality": "CHN", "full_name": "ZHANG WEI", "id": "x"})).await, 400, "validation_failed").await;
    assert_field(&p, "id", "unknown_field");
}

async fn identity_conflict_between_agencies_is_shown(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let stored = json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-6",
            &imi,
            &permit("E51234567"),
        )
        .await,
        201,
    )
    .await;
    json(
        put(&app, "/api/v1/rptka-approvals/KEP-1-2026", &mp, &approval()).await,
        201,
    )
    .await;
    let mut a = assignment("A-9", "E51234567");
    a["worker"]["full_name"] = json!("ZHANG WEY");
    let assigned = json(post(&app, "/api/v1/assignments", &mp, &a).await, 201).await;
    assert_eq!(assigned["worker_id"], stored["worker_id"], "one person");
    let view = json(
        read_as(
            &app,
            &format!("/api/v1/workers/{}", stored["worker_id"].as_str().unwrap()),
            &mp,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(view["identity_conflict"], true);
    let names: Vec<&str> = view["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["full_name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"ZHANG WEI") && names.contains(&"ZHANG WEY"),
        "{names:?}"
    );
}

async fn approval_positions_are_checked_and_closed_ones_flagged(app: TestApp) {
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let mut a = approval();
    a["positions"] = json!([
        {"code": "P01", "title": "Mining Engineer", "level": "professional", "headcount": 2},
        {"code": "P01", "title": "HR Manager", "level": "manager", "headcount": 0}
    ]);
    let p = problem(
        put(&app, "/api/v1/rptka-approvals/KEP-2", &mp, &a).await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "positions[1].code", "duplicate_position_code");
    assert_field(&p, "positions[1].headcount", "invalid_headcount");
    a["positions"][1]["code"] = json!("P02");
    a["positions"][1]["headcount"] = json!(1);
    let stored = json(
        put(&app, "/api/v1/rptka-approvals/KEP-2", &mp, &a).await,
        201,
    )
    .await;
    assert_eq!(stored["positions"][0]["closed_position"], false);
    assert_eq!(stored["positions"][1]["closed_position"], true);
    let valid = json(
        app.get(
            "/api/v1/rptka-approvals?valid_on=2026-03-01&employer=9120001234567",
            &mp,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(valid["items"].as_array().unwrap().len(), 1);
    let expired = json(
        app.get("/api/v1/rptka-approvals?valid_on=2031-07-01", &mp)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(expired["items"].as_array().unwrap().len(), 0);
}

async fn permit_list_filters_and_bad_dates(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-A",
            &imi,
            &permit("E50000001"),
        )
        .await,
        201,
    )
    .await;
    let mut korean = permit("M50000002");
    korean["worker"]["nationality"] = json!("KOR");
    korean["valid_until"] = json!("2026-03-01");
    json(
        put(&app, "/api/v1/residence-permits/ITAS-B", &imi, &korean).await,
        201,
    )
    .await;
    let chn = json(
        read_as(&app, "/api/v1/residence-permits?nationality=CHN", &imi).await,
        200,
    )
    .await;
    assert_eq!(chn["items"].as_array().unwrap().len(), 1);
    assert_eq!(chn["items"][0]["permit_no"], "ITAS-A");
    let later = json(
        read_as(&app, "/api/v1/residence-permits?valid_on=2026-06-01", &imi).await,
        200,
    )
    .await;
    assert_eq!(later["items"].as_array().unwrap().len(), 1);
    let p = problem(
        read_as(&app, "/api/v1/residence-permits?valid_on=2025-02-30", &imi).await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "valid_on", "invalid_date");
    let p = problem(
        read_as(&app, "/api/v1/residence-permits?kind=ITAS&kind=ITK", &imi).await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "kind", "duplicate_parameter");
    let p = problem(
        read_as(&app, "/api/v1/workers?passport_no=E5%25", &imi).await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "passport_no", "invalid_passport_no");
}

/// The permit numbers of every page of `query` (`limit` each), cursor after cursor.
async fn permit_pages(app: &TestApp, token: &str, query: &str, limit: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        // Cursors are base64url, so they need no escaping in a query string.
        let path = match &cursor {
            Some(c) => format!("/api/v1/residence-permits?{query}&limit={limit}&cursor={c}"),
            None => format!("/api/v1/residence-permits?{query}&limit={limit}"),
        };
        let page = json(read_as(app, &path, token).await, 200).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit, "{page}");
        seen.extend(
            items
                .iter()
                .map(|p| p["permit_no"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return seen,
        }
    }
    panic!("more pages than permits: {seen:?}");
}

async fn region_pages_merge_a_code_and_the_codes_below_it(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    // The district's own code and villages below it alternate in key order,
    // with other statuses, a neighbouring district and the regency between.
    let permits = [
        ("ITAS-01", "64.02.06", "active"),
        ("ITAS-02", "64.02.06.1003", "active"),
        ("ITAS-03", "64.02.06", "cancelled"),
        ("ITAS-04", "64.02.16", "active"),
        ("ITAS-05", "64.02.06.1010", "active"),
        ("ITAS-06", "64.02.06", "active"),
        ("ITAS-07", "64.02.06.1003", "cancelled"),
        ("ITAS-08", "64.02", "active"),
        ("ITAS-09", "64.02.06.1001", "active"),
        ("ITAS-10", "64.02.06.1003", "active"),
        ("ITAS-11", "64.02.06", "active"),
        ("ITAS-12", "64.02.06", "active"),
        ("ITAS-13", "64.02.06.1003", "cancelled"),
    ];
    for (i, (no, region, status)) in permits.iter().enumerate() {
        let mut p = permit(&format!("E6{i:07}"));
        p["address_region_code"] = json!(region);
        p["status"] = json!(status);
        json(
            put(&app, &format!("/api/v1/residence-permits/{no}"), &imi, &p).await,
            201,
        )
        .await;
    }
    let active = [
        "ITAS-01", "ITAS-02", "ITAS-05", "ITAS-06", "ITAS-09", "ITAS-10", "ITAS-11", "ITAS-12",
    ];
    for limit in 1..=5 {
        assert_eq!(
            permit_pages(&app, &imi, "region=64.02.06&status=active", limit).await,
            active,
            "pages of {limit}"
        );
    }
    assert_eq!(
        permit_pages(&app, &imi, "region=64.02.06&status=cancelled", 1).await,
        ["ITAS-03", "ITAS-07", "ITAS-13"]
    );
    // Without a status, the district's own code and the villages below it,
    // in key order across both, whatever the page size.
    let district: Vec<&str> = permits
        .iter()
        .filter(|(_, region, _)| region.starts_with("64.02.06"))
        .map(|(no, _, _)| *no)
        .collect();
    for limit in [1, 2, 4, 20] {
        assert_eq!(
            permit_pages(&app, &imi, "region=64.02.06", limit).await,
            district,
            "pages of {limit}"
        );
    }
    // The regency holds them all; a village only its own.
    assert_eq!(
        permit_pages(&app, &imi, "region=64.02&status=active", 3)
            .await
            .len(),
        10
    );
    // Nothing but the regency's one permit sits at its own code.
    assert_eq!(
        permit_pages(&app, &imi, "region=64.02", 2).await,
        permits.iter().map(|(no, _, _)| *no).collect::<Vec<_>>()
    );
    assert_eq!(
        permit_pages(&app, &imi, "region=64.02.06.1003&status=active", 1).await,
        ["ITAS-02", "ITAS-10"]
    );
}
