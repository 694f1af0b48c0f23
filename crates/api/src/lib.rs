//! Sinergi HTTP API v1: routes documented where they are registered
//! (utoipa-actix-web), problem+json errors, bearer-token agency identity.

pub mod accountability;
pub mod admin;
pub mod audit_checkpoints;
pub mod audit_handle;
pub mod audit_log;
pub mod audit_proofs;
pub mod audit_writer;
pub mod auth;
pub mod body_deadline;
pub mod config;
pub mod contract;
pub mod cursor;
pub mod dashboard;
pub mod error;
pub mod extract;
pub mod findings;
pub mod health;
pub mod limits;
pub mod metrics;
pub mod metrics_page;
pub mod panics;
pub mod persons;
pub mod pieces;
pub mod records;
pub mod server;
pub mod state;
pub mod sync;
pub mod webhooks;

pub use config::Settings;
pub use server::{openapi, openapi_json, run};
pub use state::AppState;
