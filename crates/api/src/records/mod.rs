//! The record registry API: one module per record type.

pub mod common;
pub mod employers;
pub mod person;
