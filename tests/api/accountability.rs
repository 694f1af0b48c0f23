//! Declared purposes, the audit log and its hash chain, access transparency
//! and data minimisation.

use diesel::connection::SimpleConnection;
use serde_json::{json, Value};

use crate::harness::{assert_field, json, problem, TestApp};
use crate::records::{agency_token, permit, put, read_as, token_with};

api_tests!(
    personal_data_needs_a_registered_purpose,
    every_personal_data_access_is_audited_granted_or_denied,
    writes_are_audited_in_their_transaction,
    audit_log_refuses_update_and_delete,
    verifier_finds_an_edit_made_behind_the_api,
    owning_agency_sees_who_read_its_worker,
    district_sees_masked_passports_unless_pii_scope,
    audit_events_need_the_audit_scope,
    each_role_sees_what_it_needs,
);

async fn personal_data_needs_a_registered_purpose(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-1",
            &imi,
            &permit("E51234567"),
        )
        .await,
        201,
    )
    .await;
    let p = problem(
        app.get("/api/v1/residence-permits/ITAS-1", &imi)
            .send()
            .await
            .unwrap(),
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "X-Purpose", "purpose_required");
    let p = problem(
        app.get("/api/v1/workers", &imi)
            .header("X-Purpose", "curiosity")
            .send()
            .await
            .unwrap(),
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "X-Purpose", "invalid_purpose");
    app.agency("KEC", "district", Some("64.02.06"));
    let c = sinergi_api::admin::create_client_with_purposes(
        &app.db,
        "KEC",
        "t",
        &["records:read".into()],
        &["statistics".into()],
    )
    .unwrap();
    let kec = app.token(&(c.client_id, c.client_secret)).await;
    problem(
        app.get("/api/v1/residence-permits/ITAS-1", &kec)
            .header("X-Purpose", "enforcement")
            .send()
            .await
            .unwrap(),
        403,
        "purpose_not_allowed",
    )
    .await;
    json(
        app.get("/api/v1/residence-permits/ITAS-1", &kec)
            .header("X-Purpose", "statistics")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    // Employers are not personal data: no purpose needed.
    json(
        app.get("/api/v1/employers", &kec).send().await.unwrap(),
        200,
    )
    .await;
}

async fn auditor(app: &TestApp) -> String {
    app.agency("AUDIT", "admin", None);
    token_with(app, "AUDIT", &["records:read", "audit:read"]).await
}

async fn events(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let v = json(
        app.get(&format!("/api/v1/audit-events{query}"), token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    v["items"].as_array().unwrap().clone()
}

async fn every_personal_data_access_is_audited_granted_or_denied(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-1",
            &imi,
            &permit("E51234567"),
        )
        .await,
        201,
    )
    .await;
    let granted = app
        .get("/api/v1/residence-permits/ITAS-1", &imi)
        .header("X-Purpose", "enforcement")
        .header("X-Case-Ref", "PORA/2026/11-07")
        .send()
        .await
        .unwrap();
    let request_id = granted.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let worker_id = json(granted, 200).await["worker_id"]
        .as_str()
        .unwrap()
        .to_string();
    problem(
        app.get("/api/v1/residence-permits/ITAS-1", &imi)
            .send()
            .await
            .unwrap(),
        400,
        "validation_failed",
    )
    .await;
    problem(
        app.get("/api/v1/workers", "not-a-token")
            .send()
            .await
            .unwrap(),
        401,
        "invalid_token",
    )
    .await;
    json(read_as(&app, "/api/v1/workers", &imi).await, 200).await;
    let audit = auditor(&app).await;
    let all = events(&app, &audit, "?resource_type=residence_permit").await;
    let read = all
        .iter()
        .find(|e| e["request_id"] == request_id.as_str())
        .expect("the granted read is in the log");
    assert_eq!(read["action"], "read");
    assert_eq!(read["status"], 200);
    assert_eq!(read["purpose"], "enforcement");
    assert_eq!(read["case_ref"], "PORA/2026/11-07");
    assert_eq!(read["resource_key"], "ITAS-1");
    assert_eq!(read["subject_worker_id"], worker_id.as_str());
    assert_eq!(read["agency"], "IMI");
    assert!(
        all.iter()
            .any(|e| e["status"] == 400 && e["action"] == "read"),
        "denied read logged"
    );
    let workers = events(&app, &audit, "?resource_type=worker").await;
    assert!(
        workers
            .iter()
            .any(|e| e["status"] == 401 && e["client_id"].is_null()),
        "unauthenticated attempt logged"
    );
    let list = workers
        .iter()
        .find(|e| e["status"] == 200 && e["action"] == "list")
        .expect("list logged");
    assert_eq!(list["result_count"], 1);
    let denied = events(&app, &audit, "?status=400").await;
    assert!(!denied.is_empty() && denied.iter().all(|e| e["status"] == 400));
}

async fn writes_are_audited_in_their_transaction(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    let resp = put(
        &app,
        "/api/v1/residence-permits/ITAS-W",
        &imi,
        &permit("E51234567"),
    )
    .await;
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    json(resp, 201).await;
    let mut bad = permit("E51234567");
    bad["kind"] = json!("NOPE");
    problem(
        put(&app, "/api/v1/residence-permits/ITAS-X", &imi, &bad).await,
        400,
        "validation_failed",
    )
    .await;
    let audit = auditor(&app).await;
    let all = events(&app, &audit, "?resource_type=residence_permit").await;
    let write: Vec<&Value> = all
        .iter()
        .filter(|e| e["request_id"] == request_id.as_str())
        .collect();
    assert_eq!(write.len(), 1, "one event per request");
    assert_eq!(write[0]["action"], "write");
    assert_eq!(write[0]["status"], 201);
    assert!(
        all.iter()
            .any(|e| e["resource_key"] == "ITAS-X" && e["status"] == 400),
        "refused write logged"
    );
    // Chain links: each event names the hash of the one before.
    let chain = events(&app, &audit, "").await;
    for pair in chain.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
        assert_eq!(
            pair[1]["seq"].as_i64().unwrap(),
            pair[0]["seq"].as_i64().unwrap() + 1
        );
    }
}

async fn audit_log_refuses_update_and_delete(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-1",
            &imi,
            &permit("E51234567"),
        )
        .await,
        201,
    )
    .await;
    // The write's events take their place in the log (on PostgreSQL the
    // sequencer moves them there from the queue).
    app.db.read(sinergi_db::sequencer::drain).unwrap();
    let mut conn = app.db.conn().unwrap();
    let update = conn.batch_execute("UPDATE audit_events SET status = 200 WHERE seq = 1");
    assert!(update.is_err(), "UPDATE must be refused");
    let mut conn = app.db.conn().unwrap();
    let delete = conn.batch_execute("DELETE FROM audit_events");
    assert!(delete.is_err(), "DELETE must be refused");
    let report = app.db.read(sinergi_db::audit::verify).unwrap();
    assert!(
        matches!(report, sinergi_db::audit::ChainReport::Intact { events } if events >= 1),
        "{report:?}"
    );
}

async fn verifier_finds_an_edit_made_behind_the_api(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    for n in 0..3 {
        json(
            put(
                &app,
                &format!("/api/v1/residence-permits/ITAS-{n}"),
                &imi,
                &permit(&format!("E5123456{n}")),
            )
            .await,
            201,
        )
        .await;
    }
    let report = app.db.read(sinergi_db::audit::verify).unwrap();
    assert_eq!(report, sinergi_db::audit::ChainReport::Intact { events: 3 });
    // Someone with database access disables the guard and rewrites history.
    let mut conn = app.db.conn().unwrap();
    let tamper = match app.db.backend() {
        sinergi_db::Backend::Postgres => {
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update; \
             UPDATE audit_events SET agency_code = 'SOMEONE-ELSE' WHERE seq = 2;"
        }
        sinergi_db::Backend::Sqlite => {
            "DROP TRIGGER audit_events_no_update; \
             UPDATE audit_events SET agency_code = 'SOMEONE-ELSE' WHERE seq = 2;"
        }
    };
    conn.batch_execute(tamper).unwrap();
    let report = app.db.read(sinergi_db::audit::verify).unwrap();
    match report {
        sinergi_db::audit::ChainReport::Broken { seq, .. } => assert_eq!(seq, 2),
        other => panic!("edit not detected: {other:?}"),
    }
}

async fn owning_agency_sees_who_read_its_worker(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    let reg = agency_token(&app, "KESBANG", "regional", Some("64.02")).await;
    let stranger = agency_token(&app, "OTHER", "manpower", None).await;
    let stored = json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-1",
            &imi,
            &permit("E51234567"),
        )
        .await,
        201,
    )
    .await;
    let id = stored["worker_id"].as_str().unwrap().to_string();
    json(
        app.get(&format!("/api/v1/workers/{id}"), &reg)
            .header("X-Purpose", "supervision")
            .header("X-Case-Ref", "PORA-7")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let log = json(
        read_as(&app, &format!("/api/v1/workers/{id}/access-log"), &imi).await,
        200,
    )
    .await;
    let items = log["items"].as_array().unwrap();
    let read = items
        .iter()
        .find(|e| e["agency"] == "KESBANG")
        .expect("the regional read is visible to the owner");
    assert_eq!(read["purpose"], "supervision");
    // Another agency's case reference is its own business, not the owner's.
    assert!(read["case_ref"].is_null(), "{read}");
    assert_eq!(read["action"], "read");
    // An agency holding nothing about the person gets the same answer as for an unknown id.
    let denied = problem(
        read_as(&app, &format!("/api/v1/workers/{id}/access-log"), &stranger).await,
        404,
        "not_found",
    )
    .await;
    let unknown = problem(
        read_as(&app, "/api/v1/workers/no-such-id/access-log", &stranger).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(denied["detail"], unknown["detail"]);
}

async fn district_sees_masked_passports_unless_pii_scope(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    let stored = json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-1",
            &imi,
            &permit("E51234567"),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        stored["worker"]["passport_no"], "E51234567",
        "immigration sees it whole"
    );
    let id = stored["worker_id"].as_str().unwrap().to_string();
    app.agency("KEC", "district", Some("64.02.06"));
    let plain = token_with(&app, "KEC", &["records:read"]).await;
    let permit_view = json(
        read_as(&app, "/api/v1/residence-permits/ITAS-1", &plain).await,
        200,
    )
    .await;
    assert_eq!(permit_view["worker"]["passport_no"], "******567");
    let worker = json(
        read_as(&app, &format!("/api/v1/workers/{id}"), &plain).await,
        200,
    )
    .await;
    assert_eq!(worker["passports"][0]["number"], "******567");
    assert_eq!(worker["identities"][0]["passport_no"], "******567");
    assert!(
        !worker.to_string().contains("E51234567"),
        "no unmasked number anywhere: {worker}"
    );
    let pii = token_with(&app, "KEC", &["records:read", "pii:read"]).await;
    let full = json(
        read_as(&app, "/api/v1/residence-permits/ITAS-1", &pii).await,
        200,
    )
    .await;
    assert_eq!(full["worker"]["passport_no"], "E51234567");
}

async fn audit_events_need_the_audit_scope(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    problem(
        app.get("/api/v1/audit-events", &imi).send().await.unwrap(),
        403,
        "insufficient_scope",
    )
    .await;
    let audit = auditor(&app).await;
    problem(
        app.get("/api/v1/audit-events?limit=0", &audit)
            .send()
            .await
            .unwrap(),
        400,
        "validation_failed",
    )
    .await;
    problem(
        app.get("/api/v1/audit-events?cursor=abc", &audit)
            .send()
            .await
            .unwrap(),
        400,
        "validation_failed",
    )
    .await;
}

async fn each_role_sees_what_it_needs(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-1",
            &imi,
            &permit("E51234567"),
        )
        .await,
        201,
    )
    .await;
    let roles = [
        ("KEMNAKER", "manpower", None, "E51234567"),
        ("KESBANG", "regional", Some("64.02"), "E51234567"),
        ("KEC", "district", Some("64.02.06"), "******567"),
        ("ADMIN", "admin", None, "E51234567"),
    ];
    for (code, kind, jurisdiction, expected) in roles {
        app.agency(code, kind, jurisdiction);
        let token = token_with(&app, code, &["records:read"]).await;
        let v = json(
            read_as(&app, "/api/v1/residence-permits/ITAS-1", &token).await,
            200,
        )
        .await;
        assert_eq!(
            v["worker"]["passport_no"], expected,
            "{kind} sees {}",
            v["worker"]["passport_no"]
        );
    }
    let v = json(
        read_as(&app, "/api/v1/residence-permits/ITAS-1", &imi).await,
        200,
    )
    .await;
    assert_eq!(
        v["worker"]["passport_no"], "E51234567",
        "immigration sees it whole"
    );
}
