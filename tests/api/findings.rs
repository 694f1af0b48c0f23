//! Cross-agency findings: opened by a write, resolved when the cause goes,
//! reopened (not duplicated) when it recurs, acted on by the responsible
//! agency; and statistics without personal data.

use chrono::NaiveDate;
use serde_json::{json, Value};

use crate::harness::{assert_field, json, problem, TestApp};
use crate::records::{agency_token, approval, assignment, permit, post, put, read_as, NIB};

api_tests!(
    finding_opens_resolves_itself_and_reopens_without_duplicating,
    only_the_responsible_agency_acts_on_a_finding,
    findings_show_in_the_worker_view_and_the_feed,
    visit_permit_holder_seen_working_is_flagged,
    daily_sweep_catches_dates_passing,
    finding_filters_are_checked,
    worker_stats_count_each_person_once_and_hide_small_groups,
    presence_and_finding_stats,
    an_employer_named_before_it_is_registered_is_a_finding_until_it_arrives,
    one_batch_naming_many_employers_opens_one_finding_per_unregistered_one,
);

async fn findings(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    json(
        app.get(&format!("/api/v1/findings{query}"), token)
            .header("X-Purpose", "supervision")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn setup(app: &TestApp) -> (String, String, String) {
    let mp = agency_token(app, "KEMNAKER", "manpower", None).await;
    let imi = agency_token(app, "IMI", "immigration", Some("64")).await;
    let emp = json!({"name": "PT Mahakam", "capital": "PMA", "kbli": ["05100"], "region_code": "64.02.12"});
    json(
        put(app, &format!("/api/v1/employers/{NIB}"), &mp, &emp).await,
        201,
    )
    .await;
    json(
        put(app, "/api/v1/rptka-approvals/KEP-1-2026", &mp, &approval()).await,
        201,
    )
    .await;
    let a = json(
        post(
            app,
            "/api/v1/assignments",
            &mp,
            &assignment("A-1", "E51234567"),
        )
        .await,
        201,
    )
    .await;
    (mp, imi, a["worker_id"].as_str().unwrap().to_string())
}

async fn finding_opens_resolves_itself_and_reopens_without_duplicating(app: TestApp) {
    let (mp, imi, worker) = setup(&app).await;
    let open = findings(&app, &mp, "?rule=ASSIGNMENT_WITHOUT_PERMIT").await;
    assert_eq!(open.len(), 1, "{open:?}");
    let f = &open[0];
    assert_eq!(f["status"], "open");
    assert_eq!(f["responsible"], "immigration");
    assert_eq!(f["subject"], json!({"kind": "worker", "id": worker}));
    assert_eq!(f["severity"], "high");
    assert_eq!(f["evidence"][0]["record_type"], "assignment");
    assert_eq!(
        f["region_code"], "64.02.12",
        "located at the employer's district"
    );
    assert!(
        !f["message_en"].as_str().unwrap().contains("ZHANG"),
        "no names in findings"
    );
    let id = f["id"].as_str().unwrap().to_string();
    // Immigration issues the stay permit: the contradiction is gone.
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
    let resolved = json(
        app.get(&format!("/api/v1/findings/{id}"), &mp)
            .header("X-Purpose", "supervision")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["status_by"], "sinergi");
    // The permit is cancelled: the same finding reopens, no second one appears.
    let mut cancelled = permit("E51234567");
    cancelled["status"] = json!("cancelled");
    json(
        put(&app, "/api/v1/residence-permits/ITAS-1", &imi, &cancelled).await,
        200,
    )
    .await;
    let again = findings(&app, &mp, "?rule=ASSIGNMENT_WITHOUT_PERMIT").await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["id"], id.as_str());
    assert_eq!(again[0]["status"], "open");
    assert!(again[0]["version"].as_i64().unwrap() >= 3);
}

async fn only_the_responsible_agency_acts_on_a_finding(app: TestApp) {
    let (mp, imi, _) = setup(&app).await;
    let f = findings(&app, &mp, "?rule=ASSIGNMENT_WITHOUT_PERMIT").await[0].clone();
    let path = format!("/api/v1/findings/{}", f["id"].as_str().unwrap());
    let patch = |token: &str, body: Value| {
        app.http
            .patch(app.url(&path))
            .bearer_auth(token.to_string())
            .json(&body)
            .send()
    };
    problem(
        patch(&mp, json!({"status": "acknowledged", "note": "seen"}))
            .await
            .unwrap(),
        403,
        "not_responsible",
    )
    .await;
    let p = problem(
        patch(&imi, json!({"status": "done", "note": ""}))
            .await
            .unwrap(),
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "status", "invalid_value");
    assert_field(&p, "note", "required");
    let ack = json(
        patch(
            &imi,
            json!({"status": "acknowledged", "note": "Checking the ITAS application"}),
        )
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(ack["status"], "acknowledged");
    assert!(ack["status_by"].as_str().unwrap().starts_with("IMI/"));
    assert_eq!(ack["status_note"], "Checking the ITAS application");
    let stale = app
        .http
        .patch(app.url(&path))
        .bearer_auth(&imi)
        .header("If-Match", "\"1\"")
        .json(&json!({"status": "resolved", "note": "x"}))
        .send()
        .await
        .unwrap();
    problem(stale, 412, "precondition_failed").await;
    // Resolved by hand: stays resolved while the evidence is the same.
    json(
        patch(
            &imi,
            json!({"status": "resolved", "note": "Handled offline"}),
        )
        .await
        .unwrap(),
        200,
    )
    .await;
    let list = findings(&app, &mp, "?rule=ASSIGNMENT_WITHOUT_PERMIT&status=resolved").await;
    assert_eq!(list.len(), 1);
    sinergi_api::findings::engine::sweep(&app.db, sinergi_api::findings::engine::today()).unwrap();
    let req = app.get(&path, &mp).header("X-Purpose", "supervision");
    let after = json(req.send().await.unwrap(), 200).await;
    assert_eq!(
        after["status"], "resolved",
        "a sweep does not undo a person's decision on unchanged evidence"
    );
}

async fn findings_show_in_the_worker_view_and_the_feed(app: TestApp) {
    let (mp, _, worker) = setup(&app).await;
    let view = json(
        read_as(&app, &format!("/api/v1/workers/{worker}"), &mp).await,
        200,
    )
    .await;
    let rules: Vec<&str> = view["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"ASSIGNMENT_WITHOUT_PERMIT"), "{rules:?}");
    let feed = json(
        read_as(&app, "/api/v1/changes?types=finding", &mp).await,
        200,
    )
    .await;
    let changes = feed["changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c["type"] == "finding" && c["record"]["rule"] == "ASSIGNMENT_WITHOUT_PERMIT"),
        "{feed}"
    );
}

async fn visit_permit_holder_seen_working_is_flagged(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    let kec = agency_token(&app, "KEC", "district", Some("64.02.02")).await;
    let mut itk = permit("E60000001");
    itk["kind"] = json!("ITK");
    itk["visa_index"] = json!("B211A");
    itk["sponsor_nib"] = Value::Null;
    itk["valid_from"] = json!("2026-11-01");
    itk["valid_until"] = json!("2026-12-30");
    json(
        put(&app, "/api/v1/residence-permits/ITK-1", &imi, &itk).await,
        201,
    )
    .await;
    let report = json!({"source_ref": "PR-1", "observed_on": "2026-11-20", "source": "field_check",
        "region_code": "64.02.02", "work_site_ref": "SITE-9", "employer_nib": NIB,
        "worker": {"passport_no": "E60000001", "nationality": "CHN", "full_name": "ZHANG WEI"}});
    json(
        post(&app, "/api/v1/presence-reports", &kec, &report).await,
        201,
    )
    .await;
    let flagged = findings(&app, &kec, "?rule=WORKING_ON_VISIT_PERMIT").await;
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0]["responsible"], "immigration");
    let kinds: Vec<&str> = flagged[0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["record_type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"residence_permit") && kinds.contains(&"presence_report"),
        "evidence from both agencies: {kinds:?}"
    );
    // The district withdraws the report: the finding resolves itself.
    let id = json(read_as(&app, "/api/v1/presence-reports", &kec).await, 200).await["items"][0]
        ["id"]
        .as_str()
        .unwrap()
        .to_string();
    let del = app
        .http
        .delete(app.url(&format!("/api/v1/presence-reports/{id}")))
        .bearer_auth(&kec)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    let left = findings(&app, &kec, "?rule=WORKING_ON_VISIT_PERMIT&status=open").await;
    assert!(left.is_empty());
}

async fn daily_sweep_catches_dates_passing(app: TestApp) {
    let (mp, imi, _) = setup(&app).await;
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
    assert!(findings(&app, &mp, "?rule=PERMIT_WITHOUT_ASSIGNMENT")
        .await
        .is_empty());
    // The assignment ends on 2030-06-30; the permit runs to 2030-12-31.
    let jan2 = NaiveDate::from_ymd_opt(2030, 7, 2).unwrap();
    sinergi_api::findings::engine::sweep(&app.db, jan2).unwrap();
    let opened = findings(&app, &mp, "?rule=PERMIT_WITHOUT_ASSIGNMENT&status=open").await;
    assert_eq!(
        opened.len(),
        1,
        "the sweep notices the assignment has ended"
    );
    assert_eq!(opened[0]["responsible"], "manpower");
}

async fn finding_filters_are_checked(app: TestApp) {
    let (mp, _, _) = setup(&app).await;
    assert_eq!(
        findings(&app, &mp, "?region=64.02.12").await.len(),
        findings(&app, &mp, "").await.len()
    );
    assert!(findings(&app, &mp, "?region=64.02.01").await.is_empty());
    assert!(!findings(&app, &mp, &format!("?employer={NIB}"))
        .await
        .is_empty());
    let p = problem(
        app.get("/api/v1/findings?rule=NOPE&severity=huge", &mp)
            .header("X-Purpose", "supervision")
            .send()
            .await
            .unwrap(),
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "rule", "invalid_value");
    assert_field(&p, "severity", "invalid_value");
}

async fn worker_stats_count_each_person_once_and_hide_small_groups(app: TestApp) {
    let (mp, imi, _) = setup(&app).await;
    // The assigned worker also holds an ITAS: still one person.
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
    for n in 2..=4 {
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
    let mut korean = permit("M50000001");
    korean["worker"]["nationality"] = json!("KOR");
    json(
        put(&app, "/api/v1/residence-permits/ITAS-K", &imi, &korean).await,
        201,
    )
    .await;
    let stats = json(
        app.get(
            "/api/v1/stats/workers?group_by=nationality&as_of=2026-06-01",
            &mp,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    // Five people, four Chinese and one Korean. Showing the total and the
    // four (as before) gave the one away by difference: neither is shown now.
    let groups = stats["groups"].as_array().unwrap();
    let kor = groups.iter().find(|g| g["key"] == "KOR").unwrap();
    assert_eq!(kor["count"], Value::Null, "one person is not shown");
    assert_eq!(kor["suppressed"], true);
    let chn = groups.iter().find(|g| g["key"] == "CHN").unwrap();
    assert_eq!(chn["count"], Value::Null, "{stats}");
    assert_eq!(chn["suppressed"], true);
    assert_eq!(stats["total"], Value::Null, "{stats}");
    let shown: u64 = groups.iter().filter_map(|g| g["count"].as_u64()).sum();
    assert_eq!(shown, 0);
    let sector = json(
        app.get(
            "/api/v1/stats/workers?group_by=sector&as_of=2026-06-01",
            &mp,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(sector["groups"][0]["key"], "mining");
    let before = json(
        app.get(
            "/api/v1/stats/workers?group_by=region&as_of=2025-01-01",
            &mp,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        before["total"], 0,
        "nobody was active before the permits started"
    );
    let p = problem(
        app.get("/api/v1/stats/workers?group_by=religion", &mp)
            .send()
            .await
            .unwrap(),
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "group_by", "invalid_value");
    let p = problem(
        app.get(
            "/api/v1/stats/workers?group_by=sector&as_of=2025-02-30",
            &mp,
        )
        .send()
        .await
        .unwrap(),
        400,
        "validation_failed",
    )
    .await;
    assert_field(&p, "as_of", "invalid_date");
    assert!(
        !stats.to_string().contains("E5123456"),
        "aggregates carry no personal data"
    );
}

async fn presence_and_finding_stats(app: TestApp) {
    let (mp, _, _) = setup(&app).await;
    let reg = agency_token(&app, "KESBANG", "regional", Some("64.02")).await;
    let count = json!({"source_ref": "HC-1", "observed_on": "2026-11-20", "source": "field_check",
                       "region_code": "64.02.12", "employer_nib": NIB, "headcount": 9});
    json(
        post(&app, "/api/v1/presence-reports", &reg, &count).await,
        201,
    )
    .await;
    let s = json(
        app.get("/api/v1/stats/presence?as_of=2026-11-25", &mp)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let tabang = s["districts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"] == "64.02.12")
        .unwrap()
        .clone();
    assert_eq!(tabang["label"], "Tabang");
    assert_eq!(tabang["seen"], 9);
    let employer = s["employers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == NIB)
        .unwrap()
        .clone();
    assert_eq!(employer["seen"], 9);
    assert_eq!(
        employer["permitted"],
        Value::Null,
        "one permitted worker is suppressed"
    );
    let f = json(
        app.get("/api/v1/stats/findings", &mp).send().await.unwrap(),
        200,
    )
    .await;
    assert!(f["total"].as_u64().unwrap() >= 1);
    assert!(f["by_rule"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["key"] == "ASSIGNMENT_WITHOUT_PERMIT"));
    assert!(f["by_district"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["label"] == "Tabang"));
}

async fn an_employer_named_before_it_is_registered_is_a_finding_until_it_arrives(app: TestApp) {
    // Agencies push in any order: immigration's permit names a sponsor the
    // manpower agency has not registered yet. The permit is stored, and the
    // gap is visible until the employer arrives.
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
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
    let open = findings(&app, &mp, "?rule=EMPLOYER_NOT_REGISTERED&status=open").await;
    assert_eq!(open.len(), 1, "{open:?}");
    let f = &open[0];
    assert_eq!(f["subject"]["kind"], "employer");
    assert_eq!(f["subject"]["id"], NIB);
    assert_eq!(f["responsible"], "manpower");
    assert_eq!(f["evidence"][0]["key"], "ITAS-1");
    // A second record naming it opens no second finding.
    json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-2",
            &imi,
            &permit("E51234568"),
        )
        .await,
        201,
    )
    .await;
    let open = findings(&app, &mp, "?rule=EMPLOYER_NOT_REGISTERED&status=open").await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["id"], f["id"]);

    let emp = json!({"name": "PT Mahakam", "capital": "PMA", "kbli": ["05100"], "region_code": "64.02.12"});
    json(
        put(&app, &format!("/api/v1/employers/{NIB}"), &mp, &emp).await,
        201,
    )
    .await;
    assert!(
        findings(&app, &mp, "?rule=EMPLOYER_NOT_REGISTERED&status=open")
            .await
            .is_empty()
    );
    let resolved = findings(&app, &mp, "?rule=EMPLOYER_NOT_REGISTERED&status=resolved").await;
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["id"], f["id"]);
}

async fn one_batch_naming_many_employers_opens_one_finding_per_unregistered_one(app: TestApp) {
    // A nightly batch of permits names several sponsors: the registered one
    // gets no finding, each unregistered one exactly one, however many of the
    // batch's permits name it, and a later batch naming them again opens none.
    let mp = agency_token(&app, "KEMNAKER", "manpower", None).await;
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    let emp = json!({"name": "PT Mahakam", "capital": "PMA", "kbli": ["05100"], "region_code": "64.02.12"});
    json(
        put(&app, &format!("/api/v1/employers/{NIB}"), &mp, &emp).await,
        201,
    )
    .await;
    let unregistered = ["9120007654321", "9120007654322"];
    let op = |n: usize, sponsor: &str| {
        let mut body = permit(&format!("E6{n:07}"));
        body["sponsor_nib"] = json!(sponsor);
        json!({"type": "residence_permit", "key": format!("ITAS-B{n}"), "body": body})
    };
    let sponsors = [NIB, unregistered[0], unregistered[1], unregistered[0]];
    let ops: Vec<Value> = sponsors.iter().enumerate().map(|(n, s)| op(n, s)).collect();
    let answer = json(
        post(&app, "/api/v1/batch", &imi, &json!({"operations": ops})).await,
        200,
    )
    .await;
    assert_eq!(answer["summary"]["created"], 4, "{answer}");
    let subjects = |open: &[Value]| {
        let mut ids: Vec<String> = open
            .iter()
            .map(|f| f["subject"]["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let open = findings(&app, &mp, "?rule=EMPLOYER_NOT_REGISTERED&status=open").await;
    assert_eq!(subjects(&open), unregistered, "{open:?}");
    let ops: Vec<Value> = (4..6).map(|n| op(n, unregistered[n % 2])).collect();
    json(
        post(&app, "/api/v1/batch", &imi, &json!({"operations": ops})).await,
        200,
    )
    .await;
    let again = findings(&app, &mp, "?rule=EMPLOYER_NOT_REGISTERED&status=open").await;
    assert_eq!(subjects(&again), unregistered);
    let ids = |v: &[Value]| -> std::collections::BTreeSet<String> {
        v.iter()
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids(&open),
        ids(&again),
        "no second finding for an employer already named"
    );
}
