//! Kukar demo data for `sinergi serve --demo` (all employers and people fictional).
//!
//! The data is generated deterministically (a seeded SplitMix64, see `rng`)
//! with every date relative to the Monday of the current week, so permits and
//! assignments are always current and a second load in the same week changes
//! nothing: every push is an idempotent upsert with the same keys and content.
//! It is pushed through the same functions as the HTTP API, as the agency
//! that owns each record. Deliberate contradictions that make every compliance
//! rule fire are listed in `anomalies`.

mod anomalies;
mod employers;
mod generate;
mod model;
mod names;
mod presence;
mod profiles;
mod push;
mod rng;
#[cfg(test)]
mod tests;

use std::time::Instant;

use actix_web::web;
use anyhow::{anyhow, bail};
use chrono::{Datelike, Days, NaiveDate, Utc};
use sinergi_api::admin::{self, AdminError};
use sinergi_api::AppState;
use sinergi_db::{identity, StoreError};

use model::Ag;

/// Credentials of one demo client.
pub struct DemoClient {
    pub agency: String,
    pub kind: String,
    pub client_id: String,
    pub client_secret: String,
}

/// The agency of the demo client of each kind.
const CLIENT_AGENCIES: [Ag; 5] = [
    Ag::Imigrasi,
    Ag::Disnaker,
    Ag::Kesbangpol,
    Ag::KecTenggarong,
    Ag::Admin,
];

/// The date the demo data is relative to: Monday of the week of `today`.
pub fn anchor(today: NaiveDate) -> NaiveDate {
    today - Days::new(u64::from(today.weekday().num_days_from_monday()))
}

/// Loads the demo agencies, clients and records.
pub async fn load(state: &AppState) -> anyhow::Result<Vec<DemoClient>> {
    let started = Instant::now();
    for ag in Ag::ALL {
        ensure_agency(state, ag).await?;
    }
    let mut clients = Vec::new();
    for ag in CLIENT_AGENCIES {
        clients.push(create_client(state, ag).await?);
    }
    let data = generate::generate(anchor(Utc::now().date_naive()));
    let counts = push::push_all(state, &data).await?;
    tracing::info!(
        "demo data loaded in {:.1} s: {counts}; {} deliberate contradictions",
        started.elapsed().as_secs_f64(),
        data.anomalies.len()
    );
    Ok(clients)
}

/// Registers a demo agency unless it exists; an existing one must match.
async fn ensure_agency(state: &AppState, ag: Ag) -> anyhow::Result<()> {
    let db = state.db.clone();
    let found = web::block(move || db.read(|c| identity::find_agency(c, ag.code()))).await??;
    if let Some(row) = found {
        if row.kind != ag.kind() || row.jurisdiction.as_deref() != ag.jurisdiction() {
            bail!(
                "agency {} exists as kind {} with jurisdiction {}, but the demo needs kind {} \
                 with jurisdiction {}; use a fresh database for --demo",
                ag.code(),
                row.kind,
                row.jurisdiction.as_deref().unwrap_or("-"),
                ag.kind(),
                ag.jurisdiction().unwrap_or("-")
            );
        }
        return Ok(());
    }
    let db = state.db.clone();
    let created = web::block(move || {
        admin::create_agency(&db, ag.code(), ag.name(), ag.kind(), ag.jurisdiction())
    })
    .await?;
    match created {
        Ok(_) | Err(AdminError::Store(StoreError::Conflict { .. })) => Ok(()),
        Err(e) => Err(anyhow!("cannot create demo agency {}: {e}", ag.code())),
    }
}

/// The purposes (`X-Purpose`) the demo client of an agency may declare.
fn purposes(ag: Ag) -> &'static str {
    match ag.kind() {
        "immigration" => "supervision permit-processing enforcement",
        "manpower" => "supervision permit-processing statistics",
        "regional" | "admin" => "supervision statistics",
        _ => "supervision",
    }
}

/// A new client for a demo agency (secrets are stored hashed, so a new one each start).
async fn create_client(state: &AppState, ag: Ag) -> anyhow::Result<DemoClient> {
    let words = |s: &str| -> Vec<String> { s.split(' ').map(str::to_string).collect() };
    let scopes = words(if ag == Ag::Admin {
        "records:read audit:read pii:read"
    } else {
        "records:read records:write"
    });
    let purposes = words(purposes(ag));
    let db = state.db.clone();
    let c = web::block(move || {
        admin::create_client_with_purposes(&db, ag.code(), "demo client", &scopes, &purposes)
    })
    .await?
    .map_err(|e| anyhow!("cannot create the demo client of {}: {e}", ag.code()))?;
    Ok(DemoClient {
        agency: c.agency,
        kind: ag.kind().to_string(),
        client_id: c.client_id,
        client_secret: c.client_secret,
    })
}

/// Prints the demo credentials and ready curl lines.
pub fn print_credentials(clients: &[DemoClient], addr: &str) {
    let base = format!("http://{addr}");
    let width = |f: fn(&DemoClient) -> &str, title: &str| {
        clients
            .iter()
            .map(|c| f(c).len())
            .chain([title.len()])
            .max()
            .unwrap_or(0)
    };
    let (wa, wk, wi) = (
        width(|c| &c.agency, "AGENCY"),
        width(|c| &c.kind, "KIND"),
        width(|c| &c.client_id, "CLIENT_ID"),
    );
    println!();
    println!("Sinergi demo clients (new secrets on every start; they are shown only now):");
    println!();
    println!(
        "  {:wa$}  {:wk$}  {:wi$}  CLIENT_SECRET",
        "AGENCY", "KIND", "CLIENT_ID"
    );
    for c in clients {
        println!(
            "  {:wa$}  {:wk$}  {:wi$}  {}",
            c.agency, c.kind, c.client_id, c.client_secret
        );
    }
    if let Some(m) = clients.iter().find(|c| c.kind == "manpower") {
        println!();
        println!("Get a token for the manpower client ({}):", m.agency);
        println!(
            "  TOKEN=$(curl -s -d grant_type=client_credentials -d client_id={} -d client_secret={} \
             {base}/api/v1/oauth/token | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')",
            m.client_id, m.client_secret
        );
        println!("Then read, for example:");
        let auth = "-H \"Authorization: Bearer $TOKEN\" -H 'X-Purpose: supervision'";
        println!("  curl -s {auth} '{base}/api/v1/workers?limit=5'");
        println!("  curl -s {auth} '{base}/api/v1/employers?region=64.02.12'");
        println!(
            "Every demo client may declare X-Purpose: supervision when reading personal data."
        );
    }
    println!();
    println!("Swagger UI: {base}/swagger-ui/");
    println!("Dashboard:  {base}/dashboard (sign in with any client above)");
    println!();
}
