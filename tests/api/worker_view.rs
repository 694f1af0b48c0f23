//! The joined view of a worker is stored and kept current by the writes:
//! its answer carries exactly the fields its schema names, and a worker
//! stored before views were kept is still served, then gets its view.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::harness::{json, TestApp};
use crate::records::{agency_token, permit, put, read_as};

api_tests!(
    the_view_answers_the_fields_of_its_schema,
    a_worker_without_a_stored_view_is_served_and_backfilled,
);

/// Property names of a schema, following `allOf` and `$ref`.
fn properties(doc: &Value, schema: &Value, out: &mut BTreeSet<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return properties(doc, &doc["components"]["schemas"][name], out);
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        properties(doc, part, out);
    }
    if let Some(p) = schema["properties"].as_object() {
        out.extend(p.keys().cloned());
    }
}

async fn the_view_answers_the_fields_of_its_schema(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    let stored = json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-V1",
            &imi,
            &permit("E51234567"),
        )
        .await,
        201,
    )
    .await;
    let id = stored["worker_id"].as_str().unwrap();
    let view = json(
        read_as(&app, &format!("/api/v1/workers/{id}"), &imi).await,
        200,
    )
    .await;
    assert_eq!(view["residence_permits"][0]["permit_no"], "ITAS-V1");
    assert!(
        !view["findings"].as_array().unwrap().is_empty(),
        "a permit without an assignment is a finding on the view: {view}"
    );
    let doc = sinergi_api::server::openapi();
    let mut named = BTreeSet::new();
    properties(
        &doc,
        &doc["components"]["schemas"]["WorkerView"],
        &mut named,
    );
    // `merged_into` appears only on a merged worker's summary.
    named.remove("merged_into");
    let answered: BTreeSet<String> = view.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        answered, named,
        "the stored view and its documented schema name the same fields"
    );
}

async fn a_worker_without_a_stored_view_is_served_and_backfilled(app: TestApp) {
    let imi = agency_token(&app, "IMI", "immigration", Some("64")).await;
    let stored = json(
        put(
            &app,
            "/api/v1/residence-permits/ITAS-V2",
            &imi,
            &permit("E51234568"),
        )
        .await,
        201,
    )
    .await;
    let id = stored["worker_id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/workers/{id}");
    let before = json(read_as(&app, &path, &imi).await, 200).await;
    // As a database upgraded from a release that kept no views holds it.
    app.db
        .write(|c| {
            use diesel::RunQueryDsl;
            diesel::sql_query("DELETE FROM worker_documents").execute(c)?;
            Ok(())
        })
        .unwrap();
    let built = json(read_as(&app, &path, &imi).await, 200).await;
    assert_eq!(
        built, before,
        "built from the tables while no view is stored"
    );
    assert_eq!(sinergi_db::worker_docs::backfill(&app.db).unwrap(), 1);
    assert_eq!(
        sinergi_db::worker_docs::backfill(&app.db).unwrap(),
        0,
        "nothing left to do"
    );
    let after = json(read_as(&app, &path, &imi).await, 200).await;
    assert_eq!(after, before);
}
