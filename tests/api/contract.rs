//! Behaviour integrators trip on: answers that say what to fix.

use serde_json::json;

use crate::harness::{assert_field, json, problem, TestApp};
use crate::records::{agency_token, permit, put};

api_tests!(
    if_match_zero_is_a_stale_version,
    impossible_date_names_the_field_and_the_fix,
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
