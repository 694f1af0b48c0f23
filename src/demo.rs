//! Kukar demo data (all employers and people fictional).

use sinergi_api::AppState;

/// Credentials of one demo client.
pub struct DemoClient {
    pub agency: String,
    pub kind: String,
    pub client_id: String,
    pub client_secret: String,
}

/// Loads the demo agencies, clients and records.
pub async fn load(state: &AppState) -> anyhow::Result<Vec<DemoClient>> {
    let _ = state;
    Ok(vec![])
}

/// Prints the demo credentials and a ready curl line.
pub fn print_credentials(clients: &[DemoClient], addr: &str) {
    for c in clients {
        println!(
            "{} ({}): {} / {}",
            c.agency, c.kind, c.client_id, c.client_secret
        );
    }
    println!("Swagger UI: http://{addr}/swagger-ui/");
}
