//! Employers: idempotent upserts with ETags, reads, filters, pagination and
//! every way a write is refused.

use std::collections::BTreeSet;

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::harness::{assert_field, assert_names, json, problem, read, TestApp};

api_tests!(
    create_update_and_etags,
    stale_if_match_is_412,
    get_item_has_etag,
    region_filter_is_segment_aware,
    sector_filter,
    keyset_pagination_visits_each_once,
    invalid_limit_is_400,
    garbage_cursor_is_400,
    unknown_fields_are_refused_and_nothing_stored,
    wrong_field_type_names_the_field,
    malformed_nib_in_path_is_400,
    malformed_json_is_400,
    wrong_content_type_is_415,
    regional_and_district_agencies_cannot_write,
    writes_outside_jurisdiction_are_403,
    bps_region_code_is_stored_as_kemendagri,
    legacy_npwp_is_normalised,
    concurrent_creates_make_one_record,
    source_ref_names_one_employer,
);

const NIB: &str = "9120001234567";

fn path(nib: &str) -> String {
    format!("/api/v1/employers/{nib}")
}

fn employer(region: &str, kbli: &str) -> Value {
    json!({
        "npwp": "0012345678901000",
        "name": "PT Batu Bara Mahakam Sejahtera",
        "capital": "PMA",
        "kbli": [kbli],
        "address": "Jl. Mulawarman No. 12, Tenggarong",
        "region_code": region
    })
}

fn mine() -> Value {
    let mut e = employer("64.02.06", "05100");
    e["source_ref"] = json!("OSS-2024-000123");
    e
}

fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

/// Stores `body` under `nib` and expects 200 or 201.
async fn put_ok(app: &TestApp, token: &str, nib: &str, body: &Value) -> Value {
    let resp = app.put(&path(nib), token, body).send().await.unwrap();
    let (status, _, text) = read(resp).await;
    assert!(status == 200 || status == 201, "{status}: {text}");
    serde_json::from_str(&text).unwrap()
}

async fn list(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let resp = app
        .get(&format!("/api/v1/employers?{query}"), token)
        .send()
        .await
        .unwrap();
    json(resp, 200).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["nib"].as_str().unwrap().to_string())
        .collect()
}

/// The NIBs of every page of `GET /api/v1/employers?{filter}limit=2`, following
/// `next_cursor` (at most 10 pages).
async fn walk_pages(app: &TestApp, token: &str, filter: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        // Cursors are base64url, so they need no escaping in a query string.
        let query = match &cursor {
            Some(c) => format!("{filter}limit=2&cursor={c}"),
            None => format!("{filter}limit=2"),
        };
        let resp = app
            .get(&format!("/api/v1/employers?{query}"), token)
            .send()
            .await
            .unwrap();
        let page = json(resp, 200).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2, "{page}");
        seen.extend(items.iter().map(|e| e["nib"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    seen
}

/// Asserts that nothing is stored under `nib`.
async fn assert_absent(app: &TestApp, token: &str, nib: &str) {
    let resp = app.get(&path(nib), token).send().await.unwrap();
    problem(resp, 404, "not_found").await;
}

async fn create_update_and_etags(app: TestApp) {
    let token = app.token_for("manpower").await;
    let resp = app.put(&path(NIB), &token, &mine()).send().await.unwrap();
    assert_eq!(header(&resp, "etag").as_deref(), Some("\"1\""));
    assert_eq!(header(&resp, "location"), Some(path(NIB)));
    let body = json(resp, 201).await;
    assert_eq!(body["nib"], NIB);
    assert_eq!(body["sector"], "mining");
    assert_eq!(body["meta"]["version"], 1);

    let resp = app.put(&path(NIB), &token, &mine()).send().await.unwrap();
    assert_eq!(header(&resp, "etag").as_deref(), Some("\"1\""));
    assert_eq!(json(resp, 200).await["meta"]["version"], 1);

    let mut changed = mine();
    changed["name"] = json!("PT Batu Bara Mahakam Sejahtera Tbk");
    let resp = app.put(&path(NIB), &token, &changed).send().await.unwrap();
    assert_eq!(header(&resp, "etag").as_deref(), Some("\"2\""));
    let body = json(resp, 200).await;
    assert_eq!(body["meta"]["version"], 2);
    assert_eq!(body["name"], "PT Batu Bara Mahakam Sejahtera Tbk");
}

async fn stale_if_match_is_412(app: TestApp) {
    let token = app.token_for("manpower").await;
    put_ok(&app, &token, NIB, &mine()).await;
    let mut v2 = mine();
    v2["address"] = json!("Jl. Wolter Monginsidi 3, Tenggarong");
    put_ok(&app, &token, NIB, &v2).await;

    let mut v3 = mine();
    v3["name"] = json!("PT Mahakam Tiga");
    let resp = app
        .put(&path(NIB), &token, &v3)
        .header("If-Match", "\"1\"")
        .send()
        .await
        .unwrap();
    let p = problem(resp, 412, "precondition_failed").await;
    assert_eq!(p["current_version"], 2);

    let resp = app
        .put(&path(NIB), &token, &v3)
        .header("If-Match", "\"2\"")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&resp, "etag").as_deref(), Some("\"3\""));
    assert_eq!(json(resp, 200).await["name"], "PT Mahakam Tiga");
}

async fn get_item_has_etag(app: TestApp) {
    let token = app.token_for("manpower").await;
    put_ok(&app, &token, NIB, &mine()).await;
    let reader = app.token_for("district").await;
    let resp = app.get(&path(NIB), &reader).send().await.unwrap();
    assert_eq!(header(&resp, "etag").as_deref(), Some("\"1\""));
    let body = json(resp, 200).await;
    assert_eq!(body["nib"], NIB);
    assert_eq!(body["region_code"], "64.02.06");
    assert_eq!(body["kbli"], json!(["05100"]));
    assert_eq!(body["meta"]["source_ref"], "OSS-2024-000123");
    assert_eq!(body["meta"]["agency"], "MANPOWER-0");
    let resp = app
        .get(&path("9120009999999"), &reader)
        .send()
        .await
        .unwrap();
    problem(resp, 404, "not_found").await;
}

async fn region_filter_is_segment_aware(app: TestApp) {
    let token = app.token_for("manpower").await;
    for (nib, region) in [
        ("9120000000001", "64.02.06"),
        ("9120000000002", "64.02.06.1003"),
        ("9120000000003", "64.02.16"),
        ("9120000000004", "64.02.12"),
        ("9120000000005", "64.01.01"),
    ] {
        put_ok(&app, &token, nib, &employer(region, "05100")).await;
    }
    let kukar = list(&app, &token, "region=64.02").await;
    assert_eq!(
        kukar,
        [
            "9120000000001",
            "9120000000002",
            "9120000000003",
            "9120000000004"
        ]
    );
    // The BPS code of Kukar means the same regency.
    assert_eq!(list(&app, &token, "region=6403").await, kukar);
    // Tenggarong (64.02.06) does not include Tenggarong Seberang (64.02.16).
    let tenggarong = list(&app, &token, "region=64.02.06").await;
    assert_eq!(tenggarong, ["9120000000001", "9120000000002"]);
    // Pages of two walk the district and the villages below it in key order.
    for (nib, region) in [
        ("9120000000006", "64.02.06.1003"),
        ("9120000000007", "64.02.06"),
    ] {
        put_ok(&app, &token, nib, &employer(region, "05100")).await;
    }
    assert_eq!(
        walk_pages(&app, &token, "region=64.02.06&").await,
        [
            "9120000000001",
            "9120000000002",
            "9120000000006",
            "9120000000007"
        ]
    );
    // "64.02.1" is not a code; it must not select 64.02.1x by text prefix.
    let resp = app
        .get("/api/v1/employers?region=64.02.1", &token)
        .send()
        .await
        .unwrap();
    let p = problem(resp, 400, "validation_failed").await;
    assert_field(&p, "region", "invalid_region_code");
}

async fn sector_filter(app: TestApp) {
    let token = app.token_for("immigration").await;
    put_ok(
        &app,
        &token,
        "9120000000001",
        &employer("64.02.06", "05100"),
    )
    .await;
    put_ok(
        &app,
        &token,
        "9120000000002",
        &employer("64.02.07", "01262"),
    )
    .await;
    put_ok(
        &app,
        &token,
        "9120000000003",
        &employer("64.02.13", "06100"),
    )
    .await;
    assert_eq!(
        list(&app, &token, "sector=mining").await,
        ["9120000000001", "9120000000003"]
    );
    assert_eq!(
        list(&app, &token, "sector=agriculture").await,
        ["9120000000002"]
    );
    assert_eq!(
        list(&app, &token, "sector=mining&region=64.02.13").await,
        ["9120000000003"]
    );
    let resp = app
        .get("/api/v1/employers?sector=gold", &token)
        .send()
        .await
        .unwrap();
    let p = problem(resp, 400, "validation_failed").await;
    assert_names(&p, "sector");
}

async fn keyset_pagination_visits_each_once(app: TestApp) {
    let token = app.token_for("manpower").await;
    let nibs: BTreeSet<String> = (1..=5).map(|i| format!("91200000000{i:02}")).collect();
    for nib in nibs.iter().rev() {
        put_ok(&app, &token, nib, &employer("64.02.06", "05100")).await;
    }
    assert_eq!(
        walk_pages(&app, &token, "").await,
        nibs.into_iter().collect::<Vec<_>>()
    );
}

async fn invalid_limit_is_400(app: TestApp) {
    let token = app.token_for("manpower").await;
    for limit in ["0", "-1", "1000000000", "abc"] {
        let resp = app
            .get(&format!("/api/v1/employers?limit={limit}"), &token)
            .send()
            .await
            .unwrap();
        let p = problem(resp, 400, "validation_failed").await;
        assert_field(&p, "limit", "invalid_limit");
    }
}

async fn garbage_cursor_is_400(app: TestApp) {
    let token = app.token_for("manpower").await;
    for cursor in ["garbage!", "Zm9v", ""] {
        let resp = app
            .get(&format!("/api/v1/employers?cursor={cursor}"), &token)
            .send()
            .await
            .unwrap();
        let p = problem(resp, 400, "validation_failed").await;
        assert_field(&p, "cursor", "invalid_cursor");
    }
}

async fn unknown_fields_are_refused_and_nothing_stored(app: TestApp) {
    let token = app.token_for("manpower").await;
    for field in ["id", "version", "meta"] {
        let mut body = mine();
        body[field] = json!(1);
        let resp = app.put(&path(NIB), &token, &body).send().await.unwrap();
        let p = problem(resp, 400, "validation_failed").await;
        assert_field(&p, field, "unknown_field");
    }
    assert_absent(&app, &token, NIB).await;
    assert!(list(&app, &token, "").await.is_empty());
}

async fn wrong_field_type_names_the_field(app: TestApp) {
    let token = app.token_for("manpower").await;
    let mut body = mine();
    body["kbli"] = json!(5100);
    let resp = app.put(&path(NIB), &token, &body).send().await.unwrap();
    let p = problem(resp, 400, "validation_failed").await;
    assert_field(&p, "kbli", "invalid_type");
    assert_absent(&app, &token, NIB).await;
}

async fn malformed_nib_in_path_is_400(app: TestApp) {
    let token = app.token_for("manpower").await;
    for nib in ["912000123456", "91200012345a7"] {
        let resp = app.put(&path(nib), &token, &mine()).send().await.unwrap();
        let p = problem(resp, 400, "validation_failed").await;
        assert_field(&p, "nib", "invalid_nib");
        let resp = app.get(&path(nib), &token).send().await.unwrap();
        let p = problem(resp, 400, "validation_failed").await;
        assert_field(&p, "nib", "invalid_nib");
    }
}

async fn malformed_json_is_400(app: TestApp) {
    let token = app.token_for("manpower").await;
    for body in [r#"{"name": "PT A","#, r#"{"name": }"#, "not json"] {
        let resp = app
            .http
            .put(app.url(&path(NIB)))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        problem(resp, 400, "malformed_json").await;
    }
    assert_absent(&app, &token, NIB).await;
}

async fn wrong_content_type_is_415(app: TestApp) {
    let token = app.token_for("manpower").await;
    let resp = app
        .http
        .put(app.url(&path(NIB)))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body(mine().to_string())
        .send()
        .await
        .unwrap();
    problem(resp, 415, "unsupported_media_type").await;
    assert_absent(&app, &token, NIB).await;
}

async fn regional_and_district_agencies_cannot_write(app: TestApp) {
    for kind in ["regional", "district"] {
        let token = app.token_for(kind).await;
        let resp = app.put(&path(NIB), &token, &mine()).send().await.unwrap();
        problem(resp, 403, "agency_kind_not_allowed").await;
        assert_absent(&app, &token, NIB).await;
    }
}

async fn writes_outside_jurisdiction_are_403(app: TestApp) {
    let agency = app.agency("DISNAKER-KUKAR", "manpower", Some("64.02"));
    let token = app
        .token(&app.client(&agency, &["records:read", "records:write"]))
        .await;
    let resp = app
        .put(&path(NIB), &token, &employer("64.01.01", "05100"))
        .send()
        .await
        .unwrap();
    problem(resp, 403, "outside_jurisdiction").await;
    assert_absent(&app, &token, NIB).await;
    // Inside its own regency the same agency may write.
    put_ok(&app, &token, NIB, &employer("64.02.06.1003", "05100")).await;
}

async fn bps_region_code_is_stored_as_kemendagri(app: TestApp) {
    let token = app.token_for("manpower").await;
    let body = put_ok(&app, &token, NIB, &employer("6403090", "05100")).await;
    assert_eq!(body["region_code"], "64.02.06");
    let resp = app.get(&path(NIB), &token).send().await.unwrap();
    assert_eq!(json(resp, 200).await["region_code"], "64.02.06");
    assert_eq!(list(&app, &token, "region=64.02.06").await, [NIB]);
}

async fn legacy_npwp_is_normalised(app: TestApp) {
    let token = app.token_for("manpower").await;
    let mut body = mine();
    body["npwp"] = json!("01.234.567.8-901.000");
    let stored = put_ok(&app, &token, NIB, &body).await;
    assert_eq!(stored["npwp"], "0012345678901000");
    // The same employer in the 16-digit form is the same record, unchanged.
    let resp = app.put(&path(NIB), &token, &mine()).send().await.unwrap();
    assert_eq!(json(resp, 200).await["meta"]["version"], 1);
}

async fn concurrent_creates_make_one_record(app: TestApp) {
    let token = app.token_for("manpower").await;
    let body = mine();
    let requests = (0..50).map(|_| app.put(&path(NIB), &token, &body).send());
    let mut created = 0;
    for resp in join_all(requests).await {
        let resp = resp.unwrap();
        let status = resp.status().as_u16();
        let body = json(resp, status).await;
        assert!(status == 200 || status == 201, "{status}: {body}");
        assert_eq!(body["meta"]["version"], 1);
        created += usize::from(status == 201);
    }
    assert_eq!(created, 1);
    assert_eq!(list(&app, &token, "").await, [NIB]);
    let resp = app.get(&path(NIB), &token).send().await.unwrap();
    assert_eq!(header(&resp, "etag").as_deref(), Some("\"1\""));
}

async fn source_ref_names_one_employer(app: TestApp) {
    let token = app.token_for("manpower").await;
    put_ok(&app, &token, NIB, &mine()).await;
    let resp = app
        .put(&path("9120007654321"), &token, &mine())
        .send()
        .await
        .unwrap();
    let p = problem(resp, 422, "unresolved_reference").await;
    assert_field(&p, "source_ref", "source_ref_in_use");
    assert_absent(&app, &token, "9120007654321").await;
}
