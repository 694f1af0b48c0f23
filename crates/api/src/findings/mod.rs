//! Cross-agency compliance findings and statistics: the API over the
//! findings the persistence layer keeps in step with the records.

pub mod api;
pub mod stats;

pub use sinergi_db::findings::{engine, view};
