//! Liveness and readiness probes.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// Probe result.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    /// `ok` or `unavailable`.
    #[schema(schema_with = health_schema)]
    pub status: String,
}

/// The process is running.
///
/// Answers 200 while the process runs, without touching the database: for a
/// liveness probe that restarts a stuck process.
#[utoipa::path(tag = "health", responses((status = 200, body = Health)), security(()))]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
    })
}

/// The service can reach its database and take traffic.
///
/// Answers 200 when the database answers, 503 otherwise: for a readiness probe
/// that takes the instance out of a load balancer while it cannot serve.
#[utoipa::path(
    tag = "health",
    responses((status = 200, body = Health), (status = 503, description = "Database unreachable", body = Health)),
    security(())
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let db = state.db.clone();
    let ok = web::block(move || db.read(sinergi_db::conn::ping))
        .await
        .map(|r| r.is_ok())
        .unwrap_or(false);
    if ok {
        HttpResponse::Ok().json(Health {
            status: "ok".into(),
        })
    } else {
        HttpResponse::ServiceUnavailable().json(Health {
            status: "unavailable".into(),
        })
    }
}

fn health_schema() -> utoipa::openapi::Object {
    crate::contract::one_of(&["ok", "unavailable"])
}
