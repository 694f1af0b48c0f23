//! The attack suite: forged tokens, other agencies' records, tampered
//! cursors, oversized and malicious bodies, injection in filters, limits.
//! Every case gets its documented status, a problem+json body, and stores nothing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::harness::{assert_field, json, problem, read, run_with, TestApp};
use crate::records::{agency_token, approval, assignment, permit, post, put, read_as, NIB};

api_tests!(
    alg_none_token_is_401,
    hs256_signed_with_the_public_key_is_401,
    expired_token_is_401_token_expired,
    wrong_audience_or_issuer_is_401,
    unknown_kid_is_401,
    rotated_keys_keep_old_tokens_valid,
    other_agency_same_source_ref_is_a_separate_record,
    edited_foreign_and_cross_client_cursors_are_400,
    oversized_body_is_413_and_nothing_stored,
    deeply_nested_json_is_400,
    invalid_utf8_and_malformed_json_are_400,
    sql_metacharacters_in_filters_are_taken_literally,
    cors_is_closed_by_default,
);

fn claims(app: &TestApp, client: &str, agency: &str) -> Value {
    let now = Utc::now().timestamp();
    json!({"iss": app.settings.issuer, "aud": app.settings.audience, "sub": client,
           "iat": now, "nbf": now, "exp": now + 600, "jti": "t", "agency": agency,
           "agency_kind": "manpower", "scope": "records:read records:write"})
}

/// The server's own signing key, read from its database and decrypted with
/// the test key-encryption key, to forge tokens that differ from a real one
/// only in what each test changes.
fn server_key(app: &TestApp) -> (String, EncodingKey) {
    let keys = app
        .db
        .read(|c| sinergi_db::identity::published_keys(c, Utc::now().naive_utc()))
        .unwrap();
    let key = keys.into_iter().find(|k| k.retired_at.is_none()).unwrap();
    let kek = app.settings.key_encryption_key.as_ref().unwrap();
    let seed = kek.open(&key.private_key, &key.kid).unwrap();
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(&seed);
    (key.kid, EncodingKey::from_ed_der(&der))
}

async fn manpower(app: &TestApp) -> (String, String, String) {
    app.agency("KEMNAKER", "manpower", None);
    let (id, secret) = app.client("KEMNAKER", &["records:read", "records:write"]);
    let token = app.token(&(id.clone(), secret)).await;
    (id, "KEMNAKER".into(), token)
}

async fn refused(app: &TestApp, token: &str, code: &str) {
    problem(
        app.get("/api/v1/employers", token).send().await.unwrap(),
        401,
        code,
    )
    .await;
}

async fn alg_none_token_is_401(app: TestApp) {
    let (client, agency, real) = manpower(&app).await;
    let kid = jsonwebtoken::decode_header(&real).unwrap().kid.unwrap();
    let head = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string());
    let body = URL_SAFE_NO_PAD.encode(claims(&app, &client, &agency).to_string());
    refused(&app, &format!("{head}.{body}."), "invalid_token").await;
    json(
        app.get("/api/v1/employers", &real).send().await.unwrap(),
        200,
    )
    .await;
}

async fn hs256_signed_with_the_public_key_is_401(app: TestApp) {
    let (client, agency, real) = manpower(&app).await;
    let jwks = json(
        app.http
            .get(app.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let public = URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["x"].as_str().unwrap())
        .unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = jsonwebtoken::decode_header(&real).unwrap().kid;
    let forged = jsonwebtoken::encode(
        &header,
        &claims(&app, &client, &agency),
        &EncodingKey::from_secret(&public).unwrap(),
    )
    .unwrap();
    refused(&app, &forged, "invalid_token").await;
}

async fn expired_token_is_401_token_expired(app: TestApp) {
    let (client, agency, _) = manpower(&app).await;
    let (kid, key) = server_key(&app);
    let mut c = claims(&app, &client, &agency);
    c["iat"] = json!(Utc::now().timestamp() - 7200);
    c["nbf"] = c["iat"].clone();
    c["exp"] = json!(Utc::now().timestamp() - 3600);
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.clone());
    let expired = jsonwebtoken::encode(&header, &c, &key).unwrap();
    refused(&app, &expired, "token_expired").await;
    // The same forging path with valid claims is accepted: the refusal above is about expiry.
    let fresh = jsonwebtoken::encode(&header, &claims(&app, &client, &agency), &key).unwrap();
    json(
        app.get("/api/v1/employers", &fresh).send().await.unwrap(),
        200,
    )
    .await;
}

async fn wrong_audience_or_issuer_is_401(app: TestApp) {
    let (client, agency, _) = manpower(&app).await;
    let (kid, key) = server_key(&app);
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid);
    for (field, value) in [
        ("aud", json!("another-api")),
        ("iss", json!("https://evil.example")),
    ] {
        let mut c = claims(&app, &client, &agency);
        c[field] = value;
        refused(
            &app,
            &jsonwebtoken::encode(&header, &c, &key).unwrap(),
            "invalid_token",
        )
        .await;
    }
    let mut c = claims(&app, &client, &agency);
    c.as_object_mut().unwrap().remove("aud");
    refused(
        &app,
        &jsonwebtoken::encode(&header, &c, &key).unwrap(),
        "invalid_token",
    )
    .await;
}

async fn unknown_kid_is_401(app: TestApp) {
    let (client, agency, _) = manpower(&app).await;
    let (_, key) = server_key(&app);
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("no-such-key".into());
    refused(
        &app,
        &jsonwebtoken::encode(&header, &claims(&app, &client, &agency), &key).unwrap(),
        "invalid_token",
    )
    .await;
    header.kid = None;
    refused(
        &app,
        &jsonwebtoken::encode(&header, &claims(&app, &client, &agency), &key).unwrap(),
        "invalid_token",
    )
    .await;
}

async fn rotated_keys_keep_old_tokens_valid(app: TestApp) {
    app.agency("KEMNAKER", "manpower", None);
    let client = app.client("KEMNAKER", &["records:read"]);
    let old = app.token(&client).await;
    let new_kid = sinergi_api::auth::keys::rotate(&app.db, &crate::harness::test_kek()).unwrap();
    let jwks = json(
        app.http
            .get(app.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 2, "old and new key published: {kids:?}");
    let new = app.token(&client).await;
    assert_eq!(
        jsonwebtoken::decode_header(&new).unwrap().kid.as_deref(),
        Some(new_kid.as_str())
    );
    assert_ne!(
        jsonwebtoken::decode_header(&old).unwrap().kid,
        jsonwebtoken::decode_header(&new).unwrap().kid
    );
    json(
        app.get("/api/v1/employers", &old).send().await.unwrap(),
        200,
    )
    .await;
    json(
        app.get("/api/v1/employers", &new).send().await.unwrap(),
        200,
    )
    .await;
}

async fn other_agency_same_source_ref_is_a_separate_record(app: TestApp) {
    let a = agency_token(&app, "DISNAKER", "manpower", Some("64.02")).await;
    let b = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let site = json!({"source_ref": "S-1", "employer_nib": NIB, "name": "Pit A", "kind": "mine", "region_code": "64.02.02"});
    let mine = json(post(&app, "/api/v1/work-sites", &a, &site).await, 201).await;
    let mut hijack = site.clone();
    hijack["name"] = json!("Hijacked");
    let theirs = json(post(&app, "/api/v1/work-sites", &b, &hijack).await, 201).await;
    assert_ne!(mine["id"], theirs["id"], "source_ref is per agency");
    let still = json(
        app.get(
            &format!("/api/v1/work-sites/{}", mine["id"].as_str().unwrap()),
            &a,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(still["name"], "Pit A");
    // Writing B's assignment by guessing its id is impossible: writes are keyed by the writer's own source_ref.
    json(
        put(&app, "/api/v1/rptka-approvals/KEP-1-2026", &b, &approval()).await,
        201,
    )
    .await;
    let mut changed = approval();
    changed["status"] = json!("revoked");
    problem(
        put(&app, "/api/v1/rptka-approvals/KEP-1-2026", &a, &changed).await,
        403,
        "owned_by_other_agency",
    )
    .await;
    json(
        post(
            &app,
            "/api/v1/assignments",
            &b,
            &assignment("A-1", "E51234567"),
        )
        .await,
        201,
    )
    .await;
}

async fn edited_foreign_and_cross_client_cursors_are_400(app: TestApp) {
    let a = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let b = agency_token(&app, "IMI", "immigration", None).await;
    for nib in ["9120000000001", "9120000000002", "9120000000003"] {
        let body =
            json!({"name": "PT X", "capital": "PMA", "kbli": ["05100"], "region_code": "64.02.06"});
        json(
            put(&app, &format!("/api/v1/employers/{nib}"), &a, &body).await,
            201,
        )
        .await;
    }
    let page = json(
        app.get("/api/v1/employers?limit=1", &a)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    json(
        app.get(&format!("/api/v1/employers?limit=1&cursor={cursor}"), &a)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let p = problem(
        app.get(&format!("/api/v1/employers?limit=1&cursor={cursor}"), &b)
            .send()
            .await
            .unwrap(),
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "cursor", "invalid_cursor");
    let (payload, tag) = cursor.split_once('.').unwrap();
    let forged = URL_SAFE_NO_PAD.encode("employer\n9120000000002");
    for bad in [
        format!("{forged}.{tag}"),
        format!("{payload}.AAAA"),
        format!("{payload}x.{tag}"),
        payload.to_string(),
        "%00".into(),
    ] {
        let p = problem(
            app.get(&format!("/api/v1/employers?cursor={bad}"), &a)
                .send()
                .await
                .unwrap(),
            400,
            "validation_failed",
        )
        .await;
        assert_field(&p, "cursor", "invalid_cursor");
    }
    let p = problem(
        app.get(&format!("/api/v1/work-sites?cursor={cursor}"), &a)
            .send()
            .await
            .unwrap(),
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "cursor", "invalid_cursor");
}

async fn count_employers(app: &TestApp, token: &str) -> usize {
    json(
        app.get("/api/v1/employers", token).send().await.unwrap(),
        200,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .len()
}

async fn oversized_body_is_413_and_nothing_stored(app: TestApp) {
    let a = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let body = json!({"name": "x".repeat(5 * 1024 * 1024), "capital": "PMA", "kbli": ["05100"], "region_code": "64.02.06"});
    problem(
        put(&app, "/api/v1/employers/9120000000001", &a, &body).await,
        413,
        "payload_too_large",
    )
    .await;
    assert_eq!(count_employers(&app, &a).await, 0);
}

async fn deeply_nested_json_is_400(app: TestApp) {
    let a = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let deep = format!("{{\"name\":{}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
    let resp = app
        .http
        .put(app.url("/api/v1/employers/9120000000001"))
        .bearer_auth(&a)
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    problem(resp, 400, "json_too_deep").await;
    assert_eq!(count_employers(&app, &a).await, 0);
}

async fn invalid_utf8_and_malformed_json_are_400(app: TestApp) {
    let a = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let send = |body: Vec<u8>| {
        app.http
            .put(app.url("/api/v1/employers/9120000000001"))
            .bearer_auth(&a)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    problem(
        send(b"{\"name\":\"\xff\xfe\"}".to_vec()).await.unwrap(),
        400,
        "invalid_utf8",
    )
    .await;
    problem(
        send(b"{\"name\": ".to_vec()).await.unwrap(),
        400,
        "malformed_json",
    )
    .await;
    problem(
        send(b"[]".to_vec()).await.unwrap(),
        400,
        "validation_failed",
    )
    .await;
    problem(
        send(
            br#"{"name":"x","capital":"PMA","kbli":["05100"],"region_code":"64.02.06"} {}"#
                .to_vec(),
        )
        .await
        .unwrap(),
        400,
        "malformed_json",
    )
    .await;
    let form = app
        .http
        .put(app.url("/api/v1/employers/9120000000001"))
        .bearer_auth(&a)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    problem(form, 415, "unsupported_media_type").await;
    assert_eq!(count_employers(&app, &a).await, 0);
}

async fn sql_metacharacters_in_filters_are_taken_literally(app: TestApp) {
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    json(
        put(&app, "/api/v1/rptka-approvals/KEP-1-2026", &mp, &approval()).await,
        201,
    )
    .await;
    json(
        post(
            &app,
            "/api/v1/assignments",
            &mp,
            &assignment("A-1", "E51234567"),
        )
        .await,
        201,
    )
    .await;
    for probe in [
        "%27%20OR%20%271%27%3D%271",
        "%25",
        "_",
        "%27%3B%20DROP%20TABLE%20records%3B--",
    ] {
        let list = json(
            read_as(&app, &format!("/api/v1/assignments?worker_id={probe}"), &mp).await,
            200,
        )
        .await;
        assert_eq!(
            list["items"].as_array().unwrap().len(),
            0,
            "probe {probe} matched something"
        );
    }
    let all = json(read_as(&app, "/api/v1/assignments", &mp).await, 200).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1, "table intact");
    let p = problem(
        read_as(&app, "/api/v1/employers?region=64.02%25", &mp).await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "region", "invalid_region_code");
    let p = problem(
        read_as(&app, "/api/v1/employers?bogus=1", &mp).await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "bogus", "unknown_parameter");
    // Mass assignment through the body is refused, not ignored.
    let mut a = assignment("A-2", "E51234567");
    a["meta"] = json!({"agency": "IMI", "version": 99});
    let p = problem(
        post(&app, "/api/v1/assignments", &mp, &a).await,
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "meta", "unknown_field");
    let _ = permit("E1");
}

async fn cors_is_closed_by_default(app: TestApp) {
    let resp = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/employers"))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers().get("access-control-allow-origin").is_none(),
        "no origin is allowed by default"
    );
}

/// Rate limiting: a client over its budget gets 429 with Retry-After; others are unaffected.
mod rate_limit {
    use super::*;

    async fn scenario(app: TestApp) {
        let a = agency_token(&app, "KEMNAKER", "manpower", None).await;
        let b = agency_token(&app, "IMI", "immigration", None).await;
        let mut statuses = vec![];
        for _ in 0..5 {
            statuses.push(app.get("/api/v1/employers", &a).send().await.unwrap());
        }
        let last = statuses.pop().unwrap();
        assert!(last.headers().get("retry-after").is_some());
        problem(last, 429, "rate_limited").await;
        for r in statuses.into_iter().take(3) {
            assert_eq!(read(r).await.0, 200);
        }
        json(app.get("/api/v1/employers", &b).send().await.unwrap(), 200).await;
    }

    fn tight(s: &mut sinergi_api::Settings) {
        s.rate_limit_per_minute = 1;
        s.rate_limit_burst = 3;
    }

    #[actix_web::test]
    async fn sqlite() {
        run_with(sinergi_db::Backend::Sqlite, tight, scenario).await;
    }

    #[actix_web::test]
    async fn postgres() {
        run_with(sinergi_db::Backend::Postgres, tight, scenario).await;
    }
}
