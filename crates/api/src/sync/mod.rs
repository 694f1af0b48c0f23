//! Sync for agency systems and batch jobs: batch writes, the change feed and bulk export.

pub mod batch;
pub mod changes;
pub mod export;
