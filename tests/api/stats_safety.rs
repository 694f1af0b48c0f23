//! Statistics never crash on extreme dates: `as_of` outside 1900-01-01 ..
//! 2100-12-31 is a 400 naming the field, and stored records with extreme
//! dates (accepted by earlier versions) are counted without a 500.

use serde_json::json;

use crate::harness::{assert_field, json, problem, read, TestApp};
use crate::records::{agency_token, post, read_as};

api_tests!(
    extreme_dates_never_crash_the_statistics,
    as_of_outside_the_supported_range_is_400,
);

/// A headcount seen at `observed_on`, stored if records accept the date.
/// Which dates records accept is the records' business (earlier versions
/// stored any date on SQLite); the statistics must cope with what is stored.
async fn headcount_on(app: &TestApp, token: &str, sref: &str, observed_on: &str) -> u16 {
    let body = json!({"source_ref": sref, "observed_on": observed_on, "source": "apoa",
                      "region_code": "64.02.06", "headcount": 12});
    read(post(app, "/api/v1/presence-reports", token, &body).await)
        .await
        .0
}

async fn extreme_dates_never_crash_the_statistics(app: TestApp) {
    let reg = agency_token(&app, "KESBANG", "regional", Some("64.02")).await;
    headcount_on(&app, &reg, "PR-OLD", "-262143-01-01").await;
    headcount_on(&app, &reg, "PR-ANCIENT", "0001-01-01").await;
    assert_eq!(headcount_on(&app, &reg, "PR-NOW", "2026-11-20").await, 201);
    for path in [
        "/api/v1/stats/presence?as_of=-262143-01-01",
        "/api/v1/stats/presence?as_of=-262144-01-01",
        "/api/v1/stats/presence?as_of=262142-12-31",
        "/api/v1/stats/presence?as_of=0001-01-01",
        "/api/v1/stats/workers?group_by=region&as_of=-262143-01-01",
        "/api/v1/stats/workers?group_by=sector&as_of=262142-12-31",
    ] {
        let (status, ctype, text) = read(read_as(&app, path, &reg).await).await;
        assert_eq!(status, 400, "{path}: {text}");
        assert_eq!(ctype, "application/problem+json", "{path}");
        assert!(text.contains("as_of"), "{path}: {text}");
    }
    // Normal dates keep working next to the extreme rows, on every worker.
    for _ in 0..4 {
        for as_of in ["1900-01-01", "2026-11-30", "2100-12-31"] {
            let body = json(
                read_as(&app, &format!("/api/v1/stats/presence?as_of={as_of}"), &reg).await,
                200,
            )
            .await;
            assert_eq!(body["as_of"], as_of);
        }
    }
    json(app.get("/health/live", &reg).send().await.unwrap(), 200).await;
}

async fn as_of_outside_the_supported_range_is_400(app: TestApp) {
    let reg = agency_token(&app, "KESBANG", "regional", Some("64.02")).await;
    for (path, code) in [
        ("/api/v1/stats/presence?as_of=1899-12-31", "out_of_range"),
        ("/api/v1/stats/presence?as_of=2101-01-01", "out_of_range"),
        (
            "/api/v1/stats/workers?group_by=level&as_of=1899-12-31",
            "out_of_range",
        ),
        (
            "/api/v1/stats/workers?group_by=level&as_of=2026-02-30",
            "invalid_date",
        ),
    ] {
        let p = problem(read_as(&app, path, &reg).await, 400, "validation_failed").await;
        assert_field(&p, "as_of", code);
    }
}
