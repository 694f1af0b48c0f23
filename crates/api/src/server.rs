//! Route registration, the OpenAPI document, Swagger UI and the HTTP server.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiError;
use crate::records::{workers, RECORD_APIS};
use crate::state::AppState;
use crate::{audit_log, auth, health};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sinergi API",
        description = "Inter-agency data-sharing API for records about foreign workers (TKA) in Indonesia. \
Immigration, manpower and regional agencies push the records they own and read what the others know.\n\n\
**Getting started**: get a token with `POST /api/v1/oauth/token` (client credentials), then send it as \
`Authorization: Bearer <token>`. Writes are idempotent upserts by natural key (or by your `source_ref`); \
send `If-Match` with the ETag you read to avoid overwriting newer data. Lists use keyset pagination: \
pass `next_cursor` back as `cursor`. Errors are RFC 9457 `application/problem+json` with a stable `code` \
and per-field `errors`.\n\n\
**Personal data** (workers, residence permits, assignments, presence reports) is read with a declared \
purpose: `X-Purpose: supervision | permit-processing | enforcement | statistics` (registered per client; \
missing is 400, not registered is 403) and optionally `X-Case-Ref`. Every such request, granted or denied, \
is written to an append-only, hash-chained audit log whose signed checkpoints anyone authenticated can \
keep and check (`/api/v1/audit/checkpoint`); the agencies holding records about a person can see \
who read them (`/api/v1/workers/{id}/access-log`). **Data minimisation**: district agencies see passport \
numbers and NIKs masked to their last three characters (`******567`) unless their client holds the \
`pii:read` scope. **Limits**: bodies up to 4 MiB and 32 levels of nesting, pages up to 1000 items, a \
per-client request budget (429 with `Retry-After`). Every response carries `X-Request-Id`.",
        version = "1.0.0"
    ),
    components(schemas(sinergi_domain::Purpose)),
    tags(
        (name = "auth", description = "Tokens and verification keys"),
        (name = "employers", description = "Employers by NIB"),
        (name = "work-sites", description = "Mines, camps, mills, plantations, offices"),
        (name = "workers", description = "Foreign workers: one person, several passports, the joined view"),
        (name = "rptka-approvals", description = "RPTKA work approvals and their positions"),
        (name = "assignments", description = "Workers placed in approved positions"),
        (name = "residence-permits", description = "ITAS, ITAP and ITK stay permits"),
        (name = "presence-reports", description = "Workers or headcounts seen on site"),
        (name = "sync", description = "Batch writes, the change feed and bulk export for agency systems and batch jobs"),
        (name = "findings", description = "Contradictions between agencies' records, kept up to date"),
        (name = "stats", description = "Counts a regency needs, without personal data"),
        (name = "webhooks", description = "Signed change notifications pushed to your endpoint, retried, with dead letters you can redeliver"),
        (name = "audit", description = "Who accessed personal data, when and why; signed checkpoints and proofs that the log is not rewritten"),
        (name = "health", description = "Probes")
    )
)]
struct ApiDoc;

/// Registers every documented route.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(auth::token::issue_token)
        .service(auth::token::get_jwks)
        .service(health::live)
        .service(health::ready)
        .service(crate::metrics_page::get_metrics)
        .service(workers::register_worker)
        .service(workers::list_workers)
        .service(workers::get_worker);
    for api in &RECORD_APIS {
        (api.routes)(cfg);
    }
    cfg.service(crate::sync::batch::post_batch)
        .service(crate::sync::changes::list_changes)
        .service(crate::sync::export::export_records)
        .service(crate::findings::api::list_findings)
        .service(crate::findings::api::get_finding)
        .service(crate::findings::api::update_finding)
        .service(crate::persons::list_person_links)
        .service(crate::persons::get_person_link)
        .service(crate::persons::confirm_person_link)
        .service(crate::persons::reject_person_link)
        .service(crate::persons::undo_person_link)
        .service(crate::findings::stats::worker_stats)
        .service(crate::findings::stats::presence_stats)
        .service(crate::findings::stats::finding_stats)
        .service(crate::webhooks::api::create_subscription)
        .service(crate::webhooks::api::list_subscriptions)
        .service(crate::webhooks::api::get_subscription)
        .service(crate::webhooks::api::delete_subscription)
        .service(crate::webhooks::api::list_dead_letters)
        .service(crate::webhooks::api::redeliver_dead_letter)
        .service(audit_log::list_audit_events)
        .service(audit_log::get_worker_access_log)
        .service(crate::audit_proofs::get_checkpoint)
        .service(crate::audit_proofs::get_audit_keys)
        .service(crate::audit_proofs::get_consistency)
        .service(crate::audit_proofs::get_inclusion);
}

/// The OpenAPI document, generated from the registered routes and completed
/// with what every operation shares (see [`crate::contract`]).
pub fn openapi() -> serde_json::Value {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    let mut doc = serde_json::to_value(&api).expect("the generated document serialises");
    crate::contract::complete(&mut doc);
    doc
}

/// The OpenAPI document as pretty JSON (what `openapi/openapi.json` holds).
pub fn openapi_json() -> String {
    let mut s = serde_json::to_string_pretty(&openapi()).unwrap_or_default();
    s.push('\n');
    s
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no route {} {}; see /swagger-ui/",
        req.method(),
        req.path()
    )))
}

/// Housekeeping every instance runs: at start, the joined views of workers
/// that have none; the daily findings sweep (dates passing), and pruning of the change feed past its retention and of
/// idempotency keys past 48 hours.
async fn maintenance(state: AppState) {
    // Workers stored before their joined views were kept get them now (read
    // from the tables meanwhile).
    let db = state.db.clone();
    match web::block(move || sinergi_db::worker_docs::backfill(&db)).await {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => tracing::info!(workers = n, "stored the joined views of earlier workers"),
        Ok(Err(e)) => tracing::warn!(error = %e, "storing earlier workers' views failed"),
        Err(e) => tracing::warn!(error = %e, "storing earlier workers' views failed"),
    }
    let mut tick = actix_web::rt::time::interval(std::time::Duration::from_secs(3600));
    let mut swept_on = None;
    loop {
        tick.tick().await;
        let today = crate::findings::engine::today();
        if swept_on != Some(today) {
            let db = state.db.clone();
            let swept = web::block(move || {
                // People first: their candidate pairs are findings too.
                let people = sinergi_db::persons::sweep(&db)?;
                let findings = crate::findings::engine::sweep(&db, today)?;
                Ok::<_, sinergi_db::StoreError>((people, findings))
            });
            match swept.await {
                Ok(Ok((people, (subjects, changed)))) => {
                    swept_on = Some(today);
                    tracing::info!(
                        workers = people.workers,
                        candidates = people.candidates,
                        links_changed = people.changed,
                        "person matching sweep done"
                    );
                    tracing::info!(subjects, changed, "findings sweep done");
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "findings sweep failed; will retry"),
                Err(e) => tracing::warn!(error = %e, "findings sweep failed; will retry"),
            }
        }
        let db = state.db.clone();
        let retention = chrono::Duration::days(state.settings.change_retention_days);
        let done = web::block(move || {
            let now = chrono::Utc::now().naive_utc();
            db.read(sinergi_db::sequencer::drain)?;
            let changes = db.write(|c| sinergi_db::changes::prune(c, now - retention))?;
            let keys =
                db.write(|c| sinergi_db::idempotency::prune(c, now - chrono::Duration::hours(48)))?;
            Ok::<_, sinergi_db::StoreError>((changes, keys))
        })
        .await;
        match done {
            Ok(Ok((changes, keys))) => {
                tracing::info!(changes, keys, "pruned old changes and idempotency keys")
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "maintenance failed; will retry"),
            Err(e) => tracing::warn!(error = %e, "maintenance failed; will retry"),
        }
    }
}

/// Starts the HTTP server on `listener`.
pub fn run(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    actix_web::rt::spawn(maintenance(state.clone()));
    let cors_origins = state.settings.cors_origins.clone();
    let data = web::Data::new(state);
    // The worker holds the state weakly: it stops once the server has dropped it.
    actix_web::rt::spawn(crate::webhooks::delivery::run(std::sync::Arc::downgrade(
        &data.clone().into_inner(),
    )));
    actix_web::rt::spawn(crate::audit_checkpoints::run(std::sync::Arc::downgrade(
        &data.clone().into_inner(),
    )));
    let blocking_threads = (data.settings.db_pool_size as usize).max(4);
    // Built before the workers start, so the first request does not wait for it.
    let _ = crate::contract::document_text();
    let body_limit = web::Data::new(crate::extract::BodyLimit(data.settings.max_body_bytes));
    let server = HttpServer::new(move || {
        // Closed by default: browsers may call the API only from configured origins.
        let cors = cors_origins.iter().fold(
            actix_cors::Cors::default()
                .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
                .allowed_headers([
                    "authorization",
                    "content-type",
                    "if-match",
                    "x-purpose",
                    "x-case-ref",
                    "x-request-id",
                ])
                .expose_headers(["etag", "location", "x-request-id", "retry-after"])
                .max_age(600),
            |c, origin| c.allowed_origin(origin),
        );
        let (app, _) = App::new()
            .into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .app_data(data.clone())
            .app_data(body_limit.clone())
            .configure(routes)
            .split_for_parts();
        // Innermost: a panicking handler still passes through accountability
        // (request id, access log, metrics) as an ordinary 500.
        app.wrap(actix_web::middleware::from_fn(crate::panics::catch_panics))
            .wrap(actix_web::middleware::from_fn(
                crate::accountability::accountability,
            ))
            .wrap(actix_web::middleware::from_fn(
                crate::body_deadline::body_deadline,
            ))
            .wrap(cors)
            .service(
                SwaggerUi::new("/swagger-ui/{_:.*}").config(
                    utoipa_swagger_ui::Config::from("/api-docs/openapi.json")
                        .persist_authorization(true),
                ),
            )
            .route(
                "/api-docs/openapi.json",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(crate::contract::document_text())
                }),
            )
            .route(
                "/swagger-ui",
                web::get().to(|| async {
                    HttpResponse::PermanentRedirect()
                        .insert_header((header::LOCATION, "/swagger-ui/"))
                        .finish()
                }),
            )
            .configure(crate::dashboard::configure)
            .default_service(web::to(not_found))
    })
    // Database work runs on each worker's blocking threads; more of them than
    // pooled connections only adds threads waiting for a connection.
    .worker_max_blocking_threads(blocking_threads)
    .client_request_timeout(std::time::Duration::from_secs(15))
    .client_disconnect_timeout(std::time::Duration::from_secs(5))
    .keep_alive(std::time::Duration::from_secs(30))
    // An answer is written whole (or a piece at a time, see `pieces`): the
    // last segment of it should not wait for the client's acknowledgement
    // of the one before (Nagle's algorithm against delayed ACKs).
    .tcp_nodelay(true)
    .shutdown_timeout(15)
    .listen(listener)?
    .run();
    Ok(server)
}
