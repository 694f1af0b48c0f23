//! Signing keys at rest: stored encrypted with the key-encryption key, so a
//! copy of the database alone cannot mint tokens; a server with the wrong key
//! refuses to start; keys stored in plain text by an earlier version are
//! encrypted on the next start and keep working.

use std::net::TcpListener;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use sinergi_api::auth::kek::KeyEncryptionKey;
use sinergi_api::{AppState, Settings};
use sinergi_db::identity::{self, SigningKeyRow};
use sinergi_db::Db;

use crate::harness::{json, TestApp};

api_tests!(
    stored_keys_are_encrypted_not_the_seed,
    wrong_or_missing_kek_refuses_to_start,
    tokens_verify_after_a_restart_with_the_same_kek,
    plain_keys_of_an_older_version_are_encrypted_on_start,
);

fn stored(app: &TestApp) -> Vec<SigningKeyRow> {
    app.db.read(identity::all_signing_keys).unwrap()
}

/// The state a server on the same database would start with.
fn start(settings: &Settings) -> Result<AppState, String> {
    let db = Db::connect(&settings.database_url, 4).unwrap();
    AppState::new(db, settings.clone()).map_err(|e| e.to_string())
}

/// A second server on the same database: its address and handle.
fn second_server(settings: &Settings) -> (String, actix_web::dev::ServerHandle) {
    let state = start(settings).expect("second server starts");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let server = sinergi_api::run(listener, state).unwrap();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (address, handle)
}

/// A token for `client` of agency `agency` signed with a raw Ed25519 seed.
fn signed_with(app: &TestApp, seed: &[u8], kid: &str, client: &str, agency: &str) -> String {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    let now = Utc::now().timestamp();
    let claims = json!({"iss": app.settings.issuer, "aud": app.settings.audience, "sub": client,
        "iat": now, "nbf": now, "exp": now + 600, "jti": "k", "agency": agency,
        "agency_kind": "manpower", "scope": "records:read"});
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(&der)).unwrap()
}

async fn stored_keys_are_encrypted_not_the_seed(app: TestApp) {
    app.agency("KEMNAKER", "manpower", None);
    let (client, _) = app.client("KEMNAKER", &["records:read"]);
    let kek = app.settings.key_encryption_key.clone().unwrap();
    let rows = stored(&app);
    assert!(rows.len() >= 2, "a token key and the cursor secret");
    for row in &rows {
        assert!(
            row.private_key.starts_with("enc:v1:"),
            "key {} is stored in plain text",
            row.kid
        );
        // What a backup holds is not the seed in any encoding.
        let secret = kek.open(&row.private_key, &row.kid).unwrap();
        for encoded in [STANDARD.encode(&secret), URL_SAFE_NO_PAD.encode(&secret)] {
            assert!(!row.private_key.contains(&encoded));
        }
        assert!(STANDARD
            .decode(&row.private_key)
            .map_or(true, |b| b.len() != 32));
    }
    // The sealed seed is the live signing key: a token signed with it is accepted.
    let key = rows
        .iter()
        .find(|r| r.algorithm == "EdDSA" && r.retired_at.is_none())
        .unwrap();
    let seed = kek.open(&key.private_key, &key.kid).unwrap();
    let token = signed_with(&app, &seed, &key.kid, &client, "KEMNAKER");
    json(
        app.get("/api/v1/employers", &token).send().await.unwrap(),
        200,
    )
    .await;
}

async fn wrong_or_missing_kek_refuses_to_start(app: TestApp) {
    let mut wrong = app.settings.clone();
    wrong.key_encryption_key = Some(KeyEncryptionKey::generate().unwrap());
    let err = start(&wrong)
        .err()
        .expect("a wrong key must stop the start");
    assert!(
        err.contains("does not decrypt with the configured key-encryption key"),
        "{err}"
    );
    let mut missing = app.settings.clone();
    missing.key_encryption_key = None;
    let err = start(&missing).err().expect("no key must stop the start");
    assert!(err.contains("SINERGI_KEY_ENCRYPTION_KEY"), "{err}");
    // Nothing was changed by the refused starts.
    let kek = app.settings.key_encryption_key.clone().unwrap();
    for row in stored(&app) {
        kek.open(&row.private_key, &row.kid).unwrap();
    }
}

async fn tokens_verify_after_a_restart_with_the_same_kek(app: TestApp) {
    app.agency("KEMNAKER", "manpower", None);
    let client = app.client("KEMNAKER", &["records:read"]);
    let before = app.token(&client).await;
    // A restarted server: new process state, same database and key-encryption key.
    let (address, handle) = second_server(&app.settings);
    let resp = app
        .http
        .get(format!("{address}/api/v1/employers"))
        .bearer_auth(&before)
        .send()
        .await
        .unwrap();
    json(resp, 200).await;
    let resp = app
        .http
        .post(format!("{address}/api/v1/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client.0.as_str()),
            ("client_secret", client.1.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let after = json(resp, 200).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    json(
        app.get("/api/v1/employers", &after).send().await.unwrap(),
        200,
    )
    .await;
    handle.stop(false).await;
}

async fn plain_keys_of_an_older_version_are_encrypted_on_start(app: TestApp) {
    app.agency("KEMNAKER", "manpower", None);
    let client = app.client("KEMNAKER", &["records:read"]);
    // What an earlier version stored: the seed in base64, now the active key.
    let seed = [7u8; 32];
    let public = sinergi_api::auth::keys::public_key_of(&seed);
    let legacy = SigningKeyRow {
        kid: "legacy-plain".into(),
        algorithm: "EdDSA".into(),
        private_key: STANDARD.encode(seed),
        public_key: URL_SAFE_NO_PAD.encode(public),
        created_at: Utc::now().naive_utc(),
        retired_at: None,
    };
    app.db
        .write(|c| identity::add_signing_key(c, &legacy, true))
        .unwrap();
    let (address, handle) = second_server(&app.settings);
    let row = stored(&app)
        .into_iter()
        .find(|r| r.kid == "legacy-plain")
        .unwrap();
    assert!(row.private_key.starts_with("enc:v1:"), "sealed on start");
    let kek = app.settings.key_encryption_key.clone().unwrap();
    assert_eq!(kek.open(&row.private_key, &row.kid).unwrap(), seed);
    // Tokens signed with the key before and after its sealing verify.
    let old = signed_with(&app, &seed, "legacy-plain", &client.0, "KEMNAKER");
    let resp = app
        .http
        .get(format!("{address}/api/v1/employers"))
        .bearer_auth(&old)
        .send()
        .await
        .unwrap();
    json(resp, 200).await;
    let resp = app
        .http
        .post(format!("{address}/api/v1/oauth/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let token = json(resp, 200).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.kid.as_deref(), Some("legacy-plain"));
    json(
        app.get("/api/v1/employers", &token).send().await.unwrap(),
        200,
    )
    .await;
    handle.stop(false).await;
}

/// The binary: `serve` with the wrong key-encryption key, or with none
/// outside `--demo`, exits at once and says why.
#[test]
fn the_server_names_a_wrong_or_missing_key_encryption_key() {
    let dir = std::env::temp_dir().join(format!("sinergi-kek-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let db_url = format!("sqlite://{}/s.db", dir.display());
    let run = |kek: Option<&str>, args: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_sinergi"));
        c.args(args)
            .env("SINERGI_DATABASE_URL", &db_url)
            .env_remove("SINERGI_KEY_ENCRYPTION_KEY")
            .env_remove("SINERGI_KEY_ENCRYPTION_KEY_FILE")
            .env("SINERGI_BIND", "127.0.0.1:0");
        if let Some(k) = kek {
            c.env("SINERGI_KEY_ENCRYPTION_KEY", k);
        }
        let out = c.output().expect("run sinergi");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let right = KeyEncryptionKey::generate().unwrap().to_base64();
    let wrong = KeyEncryptionKey::generate().unwrap().to_base64();
    let (ok, err) = run(Some(&right), &["keys", "rotate"]);
    assert!(ok, "{err}");
    let (ok, err) = run(Some(&wrong), &["serve"]);
    assert!(!ok);
    assert!(
        err.contains("does not decrypt with the configured key-encryption key"),
        "{err}"
    );
    assert!(
        !err.contains(&wrong) && !err.contains(&right),
        "no key in the message"
    );
    let (ok, err) = run(None, &["serve"]);
    assert!(!ok);
    assert!(err.contains("SINERGI_KEY_ENCRYPTION_KEY"), "{err}");
    let (ok, err) = run(Some("dG9vIHNob3J0"), &["serve"]);
    assert!(!ok);
    assert!(
        err.contains("SINERGI_KEY_ENCRYPTION_KEY must be the base64"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
