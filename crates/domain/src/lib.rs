//! Sinergi domain: the validated value types shared by every part of Sinergi.
//!
//! Every type here is built only through a validating constructor (`parse` or
//! `new`), so a value that exists is a valid value. Failures are [`FieldError`]s
//! with a stable code for API clients.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[macro_use]
mod macros;

mod countries;
mod kukar;
mod text;

pub mod access;
pub mod agency;
pub mod assignment;
pub mod closed_position;
pub mod country;
pub mod disclosure;
pub mod document_no;
pub mod employer;
pub mod error;
pub mod geo;
pub mod kbli;
pub mod kemendagri;
pub mod matching;
pub mod nib;
pub mod nik;
pub mod npwp;
pub mod passport;
pub mod period;
pub mod permit;
pub mod person_name;
pub mod presence;
pub mod record_type;
pub mod records;
pub mod region;
pub mod rptka;
pub mod rules;
pub mod sector;
pub mod sex;
pub mod site;
pub mod source_ref;
pub mod visa;

pub use access::{Purpose, Scope};
pub use agency::AgencyKind;
pub use assignment::AssignmentStatus;
pub use closed_position::is_closed_position;
pub use country::CountryCode;
pub use document_no::DocumentNo;
pub use employer::Capital;
pub use error::FieldError;
pub use geo::GeoPoint;
pub use kbli::Kbli;
pub use kukar::KUKAR;
pub use nib::Nib;
pub use nik::Nik;
pub use npwp::Npwp;
pub use passport::PassportNo;
pub use period::Period;
pub use permit::{PermitKind, PermitStatus};
pub use person_name::PersonName;
pub use presence::PresenceSource;
pub use record_type::{Ownership, RecordType};
pub use region::{kukar_districts, RegionCode, RegionLevel};
pub use rptka::{ApprovalStatus, ApprovalType, PositionLevel};
pub use sector::Sector;
pub use sex::Sex;
pub use site::SiteKind;
pub use source_ref::SourceRef;
pub use visa::VisaIndex;
