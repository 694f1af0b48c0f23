//! Probes, Swagger UI, the served OpenAPI document and unknown routes.

use serde_json::Value;

use crate::harness::{json, problem, read, TestApp};

api_tests!(
    probes_answer,
    swagger_ui_serves_html,
    served_document_is_the_generated_one,
    swagger_ui_without_slash_redirects,
    unknown_route_is_404_problem,
);

async fn probes_answer(app: TestApp) {
    for probe in ["/health/live", "/health/ready"] {
        let resp = app.http.get(app.url(probe)).send().await.unwrap();
        assert_eq!(json(resp, 200).await["status"], "ok", "{probe}");
    }
}

async fn swagger_ui_serves_html(app: TestApp) {
    let resp = app.http.get(app.url("/swagger-ui/")).send().await.unwrap();
    let (status, ctype, text) = read(resp).await;
    assert_eq!(status, 200, "{text}");
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(text.contains("swagger-ui"), "{text}");
}

async fn served_document_is_the_generated_one(app: TestApp) {
    let resp = app
        .http
        .get(app.url("/api-docs/openapi.json"))
        .send()
        .await
        .unwrap();
    let served = json(resp, 200).await;
    let generated: Value = serde_json::from_str(&sinergi_api::openapi_json()).unwrap();
    assert_eq!(served, generated);
}

async fn swagger_ui_without_slash_redirects(app: TestApp) {
    let resp = app.http.get(app.url("/swagger-ui")).send().await.unwrap();
    assert!(resp.status().is_redirection(), "{}", resp.status());
    assert_eq!(resp.headers()["location"], "/swagger-ui/");
}

async fn unknown_route_is_404_problem(app: TestApp) {
    for path in ["/nope", "/api/v1/nothing-here", "/api/v2/employers"] {
        let resp = app.http.get(app.url(path)).send().await.unwrap();
        let p = problem(resp, 404, "not_found").await;
        assert!(p["detail"].as_str().unwrap().contains(path), "{p}");
    }
}
