//! Cross-agency compliance findings and statistics.

pub mod api;
pub mod engine;
pub mod facts;
pub mod stats;
pub mod view;
