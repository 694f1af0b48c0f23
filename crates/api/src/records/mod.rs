//! The record registry API: one module per record type (its input, how the
//! input becomes a domain record, its filters and handlers) and what they share.

pub mod assignments;
pub mod employers;
pub mod input;
pub mod paging;
pub mod person;
pub mod presence_reports;
pub mod residence_permits;
pub mod respond;
pub mod rptka_approvals;
pub mod store;
pub mod view;
pub mod work_sites;
pub mod workers;

use serde::de::DeserializeOwned;
use sinergi_domain::records::AnyRecord;
use sinergi_domain::RecordType;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;

/// What the API knows of a record type beyond the domain's table: its
/// documented routes and how a batch operation becomes its record.
pub struct RecordApi {
    /// The record type.
    pub record_type: RecordType,
    /// A batch operation (`key`, `body`) as the record, or the error of the
    /// single-record endpoint for the same input.
    pub from_batch: fn(Option<&str>, &serde_json::Value) -> Result<AnyRecord, ApiError>,
    /// Registers the type's documented routes.
    pub routes: fn(&mut ServiceConfig),
}

/// Every record type the API writes and reads: the one registration list.
pub const RECORD_APIS: [RecordApi; 6] = [
    employers::API,
    work_sites::API,
    rptka_approvals::API,
    assignments::API,
    residence_permits::API,
    presence_reports::API,
];

/// The registration of a record type written through the record endpoints.
pub fn api_of(t: RecordType) -> Option<&'static RecordApi> {
    RECORD_APIS.iter().find(|a| a.record_type == t)
}

/// A batch operation's body as the single-record endpoint's input.
fn batch_body<T: DeserializeOwned + utoipa::ToSchema>(
    body: &serde_json::Value,
) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(body)
        .map_err(|e| crate::extract::body_error_of::<T>(e, Some(body)))
}

/// The natural key a batch operation of a keyed type must give.
fn batch_key(key: Option<&str>) -> Result<&str, ApiError> {
    key.ok_or_else(|| {
        ApiError::field(
            "key",
            "required",
            "this record type needs its natural key in key",
        )
    })
}

/// Types keyed by the agency's `source_ref` take no key.
fn no_batch_key(key: Option<&str>) -> Result<(), ApiError> {
    match key {
        Some(_) => Err(ApiError::field(
            "key",
            "unexpected_key",
            "this record type is keyed by body.source_ref; omit key",
        )),
        None => Ok(()),
    }
}
