//! Behaviour integrators trip on: answers that say what to fix.

use serde_json::json;

use crate::harness::{assert_field, json, problem, TestApp};
use crate::records::{agency_token, permit, post, put};

api_tests!(
    if_match_zero_is_a_stale_version,
    impossible_date_names_the_field_and_the_fix,
    every_missing_field_is_named,
    region_codes_must_exist,
);

async fn if_match_zero_is_a_stale_version(app: TestApp) {
    // Before: "0" was refused as a malformed ETag (400) instead of 412.
    let imi = agency_token(&app, "IMI", "immigration", None).await;
    let path = "/api/v1/residence-permits/ITAS-1";
    json(put(&app, path, &imi, &permit("E51234567")).await, 201).await;
    let resp = app
        .put(path, &imi, &permit("E51234567"))
        .header("If-Match", "\"0\"")
        .send()
        .await
        .unwrap();
    let p = problem(resp, 412, "precondition_failed").await;
    assert_eq!(p["current_version"], 1);
    let resp = app
        .put(path, &imi, &permit("E51234567"))
        .header("If-Match", "\"x\"")
        .send()
        .await
        .unwrap();
    problem(resp, 400, "validation_failed").await;
}

async fn impossible_date_names_the_field_and_the_fix(app: TestApp) {
    // Before: "input is out of range", with no word about what to send.
    let imi = agency_token(&app, "IMI", "immigration", None).await;
    let mut p = permit("E51234567");
    p["valid_until"] = json!("2026-02-30");
    let body = problem(
        put(&app, "/api/v1/residence-permits/ITAS-1", &imi, &p).await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&body, "valid_until", "invalid_date");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("YYYY-MM-DD"), "{message}");
}

async fn every_missing_field_is_named(app: TestApp) {
    // Before: only the first missing field was reported, so a batch job
    // learnt of one mistake per retry.
    let imi = agency_token(&app, "IMI", "immigration", None).await;
    let mut p = permit("E51234567");
    let fields = p.as_object_mut().unwrap();
    fields.remove("kind");
    fields.remove("status");
    fields["worker"]
        .as_object_mut()
        .unwrap()
        .remove("full_name");
    let body = problem(
        put(&app, "/api/v1/residence-permits/ITAS-1", &imi, &p).await,
        400,
        "validation_failed",
    )
    .await;
    for field in ["kind", "status", "worker.full_name"] {
        assert_field(&body, field, "missing_field");
    }
    assert_eq!(body["errors"].as_array().unwrap().len(), 3, "{body}");

    // The same in a batch operation, and nothing is stored.
    let batch = json!({"operations": [{"type": "residence_permit", "key": "ITAS-2", "body": p}]});
    let answer = json(post(&app, "/api/v1/batch", &imi, &batch).await, 200).await;
    let failed = &answer["results"][0]["problem"];
    for field in ["kind", "status", "worker.full_name"] {
        assert_field(
            failed,
            &format!("operations[0].body.{field}"),
            "missing_field",
        );
    }
    assert_eq!(answer["summary"]["failed"], 1);
    let resp = app
        .get("/api/v1/residence-permits/ITAS-2", &imi)
        .header("X-Purpose", "supervision")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

async fn region_codes_must_exist(app: TestApp) {
    // Before: an agency with jurisdiction 64 stored 64.99.99, which does not
    // exist; only the jurisdiction prefix was checked.
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    let mut p = permit("E51234567");
    p["address_region_code"] = json!("64.99.99");
    let body = problem(
        put(&app, "/api/v1/residence-permits/ITAS-1", &imi, &p).await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&body, "address_region_code", "unknown_region_code");
    let resp = app
        .get("/api/v1/residence-permits/ITAS-1", &imi)
        .header("X-Purpose", "supervision")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404, "nothing was stored");
    // A real village, district or regency is accepted.
    p["address_region_code"] = json!("64.02.06.1003");
    json(
        put(&app, "/api/v1/residence-permits/ITAS-1", &imi, &p).await,
        201,
    )
    .await;
    // Filters are checked the same way.
    let body = problem(
        app.get("/api/v1/employers?region=64.99", &imi)
            .send()
            .await
            .unwrap(),
        400,
        "validation_failed",
    )
    .await;
    assert_field(&body, "region", "unknown_region_code");
}
