//! The record registry API: one module per record type.

pub mod assignments;
pub mod common;
pub mod employers;
pub mod person;
pub mod presence_reports;
pub mod residence_permits;
pub mod rptka_approvals;
pub mod work_sites;
pub mod workers;
