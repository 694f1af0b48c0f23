//! The audit log's signed checkpoints over HTTP and on the command line:
//! published and signed by the key `/audit/keys` gives, proven consistent as
//! the log grows, and `sinergi audit verify --checkpoint` detecting a
//! truncated log (exit 1) and a checkpoint signed by another key (exit 2).

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sinergi_db::audit::{self, AuditEntry};
use sinergi_tlog::{Checkpoint, Hash, Signer, Verifier};

use crate::harness::{json, problem, read, TestApp};

api_tests!(
    checkpoints_are_signed_published_and_proven_consistent,
    audit_verify_holds_the_log_against_kept_checkpoints,
);

/// The server's own rounds wait an hour here: the command signs first.
mod operator_key {
    fn quiet(s: &mut sinergi_api::Settings) {
        s.audit_checkpoint_ms = 3_600_000;
    }

    #[actix_web::test]
    async fn sqlite() {
        crate::harness::run_with(
            sinergi_db::Backend::Sqlite,
            quiet,
            super::a_generated_key_signs_checkpoints_from_the_command_line,
        )
        .await;
    }

    #[actix_web::test]
    async fn postgres() {
        crate::harness::run_with(
            sinergi_db::Backend::Postgres,
            quiet,
            super::a_generated_key_signs_checkpoints_from_the_command_line,
        )
        .await;
    }
}

/// Appends `n` audit events as the API does.
pub fn log(app: &TestApp, n: usize) {
    let entries: Vec<AuditEntry> = (0..n)
        .map(|i| AuditEntry {
            occurred_at: chrono::Utc::now().naive_utc(),
            client_id: Some("c".into()),
            agency_code: Some("IMI".into()),
            action: "read".into(),
            resource_type: "worker".into(),
            resource_key: Some(format!("W-{i}")),
            status: 200,
            request_id: format!("r-{i}"),
            ..Default::default()
        })
        .collect();
    app.db
        .write(|c| audit::append_many(c, &entries))
        .expect("appended");
}

async fn keys(app: &TestApp, token: &str) -> Verifier {
    let body = json(
        app.get("/api/v1/audit/keys", token).send().await.unwrap(),
        200,
    )
    .await;
    let key = Verifier::parse(body["keys"][0].as_str().unwrap()).expect("a verifier key");
    assert_eq!(body["origin"], key.name());
    key
}

/// Waits for a checkpoint of at least `size` events; returns it and its note.
pub async fn checkpoint_of(app: &TestApp, token: &str, size: u64) -> (Checkpoint, String) {
    let key = keys(app, token).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, ctype, note) = read(
            app.get("/api/v1/audit/checkpoint", token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        if status == 200 {
            assert!(ctype.starts_with("text/plain"), "{ctype}");
            let c = Checkpoint::open(&note, std::slice::from_ref(&key)).expect("signed by the key");
            if c.size >= size {
                return (c, note);
            }
        } else {
            assert_eq!(status, 404, "{note}");
        }
        assert!(Instant::now() < deadline, "no checkpoint of {size} events");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

fn hashes(v: &serde_json::Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::try_from(STANDARD.decode(h.as_str().unwrap()).unwrap().as_slice()).unwrap())
        .collect()
}

async fn checkpoints_are_signed_published_and_proven_consistent(app: TestApp) {
    let token = app.token_for("manpower").await;
    let resp = app
        .http
        .get(app.url("/api/v1/audit/checkpoint"))
        .send()
        .await
        .unwrap();
    problem(resp, 401, "missing_token").await;

    log(&app, 20);
    let (first, first_note) = checkpoint_of(&app, &token, 20).await;
    log(&app, 13);
    let (second, _) = checkpoint_of(&app, &token, first.size + 13).await;
    assert!(second.time >= first.time);

    // An earlier checkpoint stays available by its size.
    let (status, _, again) = read(
        app.get(
            &format!("/api/v1/audit/checkpoint?size={}", first.size),
            &token,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, again), (200, first_note));

    // The server proves the second log extends the first.
    let path = format!(
        "/api/v1/audit/consistency?first={}&second={}",
        first.size, second.size
    );
    let body = json(app.get(&path, &token).send().await.unwrap(), 200).await;
    let proof = hashes(&body["proof"]);
    sinergi_tlog::verify_consistency(first.size, second.size, &first.root, &second.root, &proof)
        .expect("the proof verifies");
    let mut forged = second.root;
    forged[0] ^= 1;
    assert!(sinergi_tlog::verify_consistency(
        first.size,
        second.size,
        &first.root,
        &forged,
        &proof
    )
    .is_err());

    // Impossible sizes are named.
    let beyond = format!("first=1&second={}", second.size + 1000);
    for (query, problems) in [
        (beyond.as_str(), &[("second", "out_of_range")][..]),
        ("first=5&second=2", &[("first", "out_of_range")]),
        (
            "first=x",
            &[("first", "invalid_number"), ("second", "required")],
        ),
    ] {
        let resp = app
            .get(&format!("/api/v1/audit/consistency?{query}"), &token)
            .send()
            .await
            .unwrap();
        let p = problem(resp, 400, "validation_failed").await;
        for (field, code) in problems {
            crate::harness::assert_field(&p, field, code);
        }
    }

    // Inclusion proofs are for auditors; they verify against the root.
    let path = format!("/api/v1/audit/inclusion?seq=7&size={}", second.size);
    let p = problem(
        app.get(&path, &token).send().await.unwrap(),
        403,
        "insufficient_scope",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("audit:read"), "{p}");
    app.agency("AUDIT", "admin", None);
    let auditor = app.token(&app.client("AUDIT", &["audit:read"])).await;
    let body = json(app.get(&path, &auditor).send().await.unwrap(), 200).await;
    let event = app
        .db
        .read(|c| audit::list(c, &audit::AuditFilter::default(), 6, 1))
        .unwrap()
        .remove(0);
    let leaf = sinergi_db::audit::tree::leaf_of(&event.hash).unwrap();
    sinergi_tlog::verify_inclusion(6, second.size, &leaf, &second.root, &hashes(&body["proof"]))
        .expect("the event is in the log");
}

/// Runs `statements` as whoever holds the database would: with the
/// append-only triggers of the audit log and its tree out of the way.
pub fn as_insider(app: &TestApp, statements: &[String]) {
    // What was committed before joins the log first.
    app.db.read(sinergi_db::sequencer::drain).expect("drained");
    let unlock: &[&str] = if app.database_url().starts_with("postgres") {
        &[
            "ALTER TABLE audit_events DISABLE TRIGGER USER",
            "ALTER TABLE audit_tree DISABLE TRIGGER USER",
        ]
    } else {
        &[
            "DROP TRIGGER IF EXISTS audit_events_no_delete",
            "DROP TRIGGER IF EXISTS audit_tree_no_delete",
        ]
    };
    app.db
        .write(|c| {
            use diesel::RunQueryDsl;
            for s in unlock
                .iter()
                .map(|s| s.to_string())
                .chain(statements.iter().cloned())
            {
                diesel::sql_query(s).execute(c)?;
            }
            Ok(())
        })
        .expect("tampered");
}

fn cli(app: &TestApp, args: &[&str]) -> (Option<i32>, String) {
    cli_with(app, args, &[])
}

fn cli_with(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sinergi"))
        .args(args)
        .envs(env.iter().copied())
        .env("SINERGI_DATABASE_URL", app.database_url())
        .env_remove("SINERGI_KEY_ENCRYPTION_KEY")
        .env_remove("SINERGI_KEY_ENCRYPTION_KEY_FILE")
        .output()
        .expect("run sinergi");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

async fn audit_verify_holds_the_log_against_kept_checkpoints(app: TestApp) {
    let token = app.token_for("manpower").await;
    log(&app, 12);
    let key = keys(&app, &token).await.to_string();
    let (held, note) = checkpoint_of(&app, &token, 12).await;
    let dir = std::env::temp_dir().join(format!("sinergi-cp-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("held.note");
    std::fs::write(&file, &note).unwrap();
    let file = file.display().to_string();

    let (code, out) = cli(
        &app,
        &["audit", "verify", "--checkpoint", &file, "--key", &key],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("audit log extends checkpoint size {}", held.size)),
        "{out}"
    );

    // A checkpoint signed by a key that is not the log's proves nothing.
    let other = Signer::from_seed(key.split('+').next().unwrap(), &[9; 32]).unwrap();
    let forged = dir.join("forged.note");
    std::fs::write(&forged, other.sign(&held)).unwrap();
    let (code, out) = cli(
        &app,
        &[
            "audit",
            "verify",
            "--checkpoint",
            &forged.display().to_string(),
            "--key",
            &key,
        ],
    );
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("not signed by a trusted key"), "{out}");

    // Whoever holds the database removes the newest events, moves the head
    // back and drops the tree and checkpoints: the chain alone still looks
    // intact, the checkpoint held outside does not.
    let keep = held.size as i64 - 3;
    let hash_at_keep = app
        .db
        .read(|c| audit::list(c, &audit::AuditFilter::default(), keep - 1, 1))
        .unwrap()
        .remove(0)
        .hash;
    as_insider(
        &app,
        &[
            "DELETE FROM audit_tree".into(),
            "DELETE FROM audit_checkpoints".into(),
            format!("DELETE FROM audit_events WHERE seq > {keep}"),
            format!(
                "UPDATE audit_head SET seq = {keep}, last_hash = '{hash_at_keep}' WHERE id = 1"
            ),
        ],
    );
    let (code, out) = cli(&app, &["audit", "verify"]);
    assert_eq!(code, Some(0), "the chain walk alone passes: {out}");
    let (code, out) = cli(
        &app,
        &["audit", "verify", "--checkpoint", &file, "--key", &key],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "TRUNCATED: checkpoint commits to {} events",
            held.size
        )) && out.contains(&format!("the log holds {keep}")),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

async fn a_generated_key_signs_checkpoints_from_the_command_line(app: TestApp) {
    let dir = std::env::temp_dir().join(format!("sinergi-key-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("audit-key");
    let file = path.display().to_string();
    let (code, out) = cli(
        &app,
        &[
            "audit",
            "keygen",
            "--out",
            &file,
            "--origin",
            "kukar.test/audit",
        ],
    );
    assert_eq!(code, Some(0), "{out}");
    let printed = Verifier::parse(out.lines().next().unwrap()).expect("the verifier key");
    let secret = std::fs::read_to_string(&path).unwrap();
    let signer = Signer::parse(&secret).expect("a signing key");
    assert_eq!(signer.verifier(), printed);
    assert!(!out.contains(&secret), "the secret is not printed");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (code, out) = cli(&app, &["audit", "keygen", "--out", &file]);
    assert_ne!(code, Some(0), "an existing key is never overwritten: {out}");

    // The operator signs a checkpoint now with that key.
    log(&app, 4);
    let (code, note) = cli_with(
        &app,
        &["audit", "checkpoint"],
        &[("SINERGI_AUDIT_KEY_FILE", &file)],
    );
    assert_eq!(code, Some(0), "{note}");
    let c = Checkpoint::open(&note, &[printed]).expect("signed by the generated key");
    assert_eq!(c.origin, "kukar.test/audit");
    assert!(c.size >= 4);
    let _ = std::fs::remove_dir_all(&dir);
}
