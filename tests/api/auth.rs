//! Tokens over real HTTP: issuing, verifying with the published key, and
//! every way a token can be refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};

use crate::harness::{json, problem, TestApp};

api_tests!(
    form_body_issues_token,
    basic_auth_issues_token,
    wrong_secret_is_invalid_client,
    unsupported_grant_type,
    scope_not_held_is_invalid_scope,
    token_verifies_with_jwks_key,
    every_api_route_needs_a_token,
    tampered_token_is_401,
    token_signed_by_another_key_is_401,
    revoked_client_is_refused_at_once,
    revocation_by_another_process_takes_effect_within_a_second,
    read_only_token_cannot_write,
);

const TOKEN: &str = "/api/v1/oauth/token";
const NIB: &str = "9120001234567";

fn employer() -> Value {
    json!({"name": "PT Mahakam", "capital": "PMA", "kbli": ["05100"], "region_code": "64.02.06"})
}

async fn form_body_issues_token(app: TestApp) {
    let agency = app.agency("DISNAKER", "manpower", None);
    let (id, secret) = app.client(&agency, &["records:read", "records:write"]);
    let resp = app
        .http
        .post(app.url(TOKEN))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap();
    let body = json(resp, 200).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], app.settings.token_ttl_secs);
    assert_eq!(body["scope"], "records:read records:write");
    let token = body["access_token"].as_str().unwrap();
    let resp = app.get("/api/v1/employers", token).send().await.unwrap();
    json(resp, 200).await;
}

async fn basic_auth_issues_token(app: TestApp) {
    let agency = app.agency("IMI-SMD", "immigration", None);
    let (id, secret) = app.client(&agency, &["records:read"]);
    let resp = app
        .http
        .post(app.url(TOKEN))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let body = json(resp, 200).await;
    assert_eq!(body["scope"], "records:read");
    assert!(body["access_token"].as_str().unwrap().split('.').count() == 3);
}

async fn wrong_secret_is_invalid_client(app: TestApp) {
    let agency = app.agency("DISNAKER", "manpower", None);
    let (id, _) = app.client(&agency, &["records:read"]);
    let resp = app
        .http
        .post(app.url(TOKEN))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", "not-the-secret"),
        ])
        .send()
        .await
        .unwrap();
    let body = json(resp, 401).await;
    assert_eq!(body["error"], "invalid_client");
}

async fn unsupported_grant_type(app: TestApp) {
    let agency = app.agency("DISNAKER", "manpower", None);
    let (id, secret) = app.client(&agency, &["records:read"]);
    let resp = app
        .http
        .post(app.url(TOKEN))
        .form(&[
            ("grant_type", "password"),
            ("client_id", &id),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(json(resp, 400).await["error"], "unsupported_grant_type");
}

async fn scope_not_held_is_invalid_scope(app: TestApp) {
    let agency = app.agency("DISNAKER", "manpower", None);
    let (id, secret) = app.client(&agency, &["records:read"]);
    let resp = app
        .http
        .post(app.url(TOKEN))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("scope", "records:read records:write"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(json(resp, 400).await["error"], "invalid_scope");
}

/// The published key of `token`'s `kid`.
async fn jwks_key(app: &TestApp, token: &str) -> DecodingKey {
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let resp = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    let jwks = json(resp, 200).await;
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("token kid is published");
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap()
}

async fn token_verifies_with_jwks_key(app: TestApp) {
    let agency = app.agency("DISNAKER", "manpower", Some("64.02"));
    let client = app.client(&agency, &["records:read", "records:write"]);
    let token = app.token(&client).await;
    let key = jwks_key(&app, &token).await;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[&app.settings.issuer]);
    validation.set_audience(&[&app.settings.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(&token, &key, &validation)
        .expect("token verifies with the JWKS key")
        .claims;
    assert_eq!(claims["iss"], app.settings.issuer.as_str());
    assert_eq!(claims["aud"], app.settings.audience.as_str());
    assert_eq!(claims["sub"], client.0.as_str());
    assert_eq!(claims["agency"], "DISNAKER");
    assert_eq!(claims["scope"], "records:read records:write");
    let now = chrono::Utc::now().timestamp();
    let exp = claims["exp"].as_i64().unwrap();
    assert!(
        exp > now && exp <= now + app.settings.token_ttl_secs + 5,
        "{claims}"
    );
}

/// A concrete path for an OpenAPI path template.
fn concrete(template: &str) -> String {
    let mut out = String::new();
    for seg in template.split('/').skip(1) {
        out.push('/');
        match seg {
            "{nib}" => out.push_str(NIB),
            s if s.starts_with('{') => out.push_str("X-1"),
            s => out.push_str(s),
        }
    }
    out
}

async fn every_api_route_needs_a_token(app: TestApp) {
    let doc: Value = serde_json::from_str(&sinergi_api::openapi_json()).unwrap();
    let mut checked = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        if !template.starts_with("/api/v1/") || template == TOKEN {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            if !crate::openapi::METHODS.contains(&method.as_str()) {
                continue;
            }
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = app
                .http
                .request(m, app.url(&concrete(template)))
                .json(&employer())
                .send()
                .await
                .unwrap();
            let p = problem(resp, 401, "missing_token").await;
            assert!(
                p["detail"].as_str().unwrap().contains("Bearer"),
                "{method} {template}: {p}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} operations found");
}

/// `token` with one character of its signature changed.
fn tamper_signature(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let i = bytes.len() - 10;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

async fn tampered_token_is_401(app: TestApp) {
    let agency = app.agency("DISNAKER", "manpower", None);
    let client = app.client(&agency, &["records:read"]);
    let token = app.token(&client).await;
    let resp = app
        .get("/api/v1/employers", &tamper_signature(&token))
        .send()
        .await
        .unwrap();
    problem(resp, 401, "invalid_token").await;

    // A payload granting more scope, under the original signature.
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["scope"] = json!("records:read records:write");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    let resp = app
        .put(&format!("/api/v1/employers/{NIB}"), &forged, &employer())
        .send()
        .await
        .unwrap();
    problem(resp, 401, "invalid_token").await;
}

/// An Ed25519 key the server has never seen (PKCS#8 v1 DER of a fixed seed).
fn foreign_key() -> EncodingKey {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(&[7u8; 32]);
    EncodingKey::from_ed_der(&der)
}

async fn token_signed_by_another_key_is_401(app: TestApp) {
    let agency = app.agency("DISNAKER", "manpower", None);
    let client = app.client(&agency, &["records:read", "records:write"]);
    let real = app.token(&client).await;
    let kid = jsonwebtoken::decode_header(&real).unwrap().kid.unwrap();
    let claims: Value = jsonwebtoken::dangerous::insecure_decode(&real)
        .unwrap()
        .claims;
    for kid in [kid.as_str(), "unknown-kid"] {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_string());
        let forged = jsonwebtoken::encode(&header, &claims, &foreign_key()).unwrap();
        let resp = app.get("/api/v1/employers", &forged).send().await.unwrap();
        problem(resp, 401, "invalid_token").await;
    }
}

/// The CLI revokes through its own database handle: the server notices
/// within its client cache's lifetime (one second by default).
async fn revocation_by_another_process_takes_effect_within_a_second(app: TestApp) {
    assert_eq!(app.settings.client_cache_ms, 1000);
    let agency = app.agency("DISNAKER", "manpower", None);
    let client = app.client(&agency, &["records:read"]);
    let token = app.token(&client).await;
    json(
        app.get("/api/v1/employers", &token).send().await.unwrap(),
        200,
    )
    .await;
    let cli = sinergi_db::Db::connect(app.database_url(), 1).unwrap();
    sinergi_api::admin::revoke_client(&cli, &client.0).unwrap();
    let revoked = std::time::Instant::now();
    loop {
        let resp = app.get("/api/v1/employers", &token).send().await.unwrap();
        if resp.status() == 401 {
            problem(resp, 401, "client_revoked").await;
            break;
        }
        assert_eq!(resp.status(), 200);
        assert!(
            revoked.elapsed() < std::time::Duration::from_millis(1500),
            "still accepted {:?} after the revocation",
            revoked.elapsed()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn revoked_client_is_refused_at_once(app: TestApp) {
    let agency = app.agency("DISNAKER", "manpower", None);
    let client = app.client(&agency, &["records:read"]);
    let token = app.token(&client).await;
    let resp = app.get("/api/v1/employers", &token).send().await.unwrap();
    json(resp, 200).await;
    sinergi_api::admin::revoke_client(&app.db, &client.0).unwrap();
    let resp = app.get("/api/v1/employers", &token).send().await.unwrap();
    problem(resp, 401, "client_revoked").await;
    // Nor can it get a new token.
    let resp = app
        .http
        .post(app.url(TOKEN))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(json(resp, 401).await["error"], "invalid_client");
}

async fn read_only_token_cannot_write(app: TestApp) {
    let agency = app.agency("DISNAKER", "manpower", None);
    let client = app.client(&agency, &["records:read"]);
    let token = app.token(&client).await;
    let resp = app
        .put(&format!("/api/v1/employers/{NIB}"), &token, &employer())
        .send()
        .await
        .unwrap();
    problem(resp, 403, "insufficient_scope").await;
    let resp = app
        .get(&format!("/api/v1/employers/{NIB}"), &token)
        .send()
        .await
        .unwrap();
    problem(resp, 404, "not_found").await;
}
