//! How stored records are shown: the envelope of the change feed (Sinergi's
//! id, the typed document, the worker it names, provenance), one struct per
//! record type so the OpenAPI document describes exactly what is sent.

use serde::Serialize;
use sinergi_db::envelope::Meta;
use sinergi_db::records::RecordRow;
use sinergi_domain::records::{
    Assignment, Employer, PresenceReport, ResidencePermit, RptkaApproval, WorkSite,
};
use utoipa::ToSchema;

use crate::error::ApiError;

macro_rules! record_view {
    ($view:ident, $record:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $view {
            /// Sinergi id of the record (its natural key, or a generated id
            /// for records keyed by the agency's `source_ref`).
            pub id: String,
            /// The record.
            #[serde(flatten)]
            pub data: $record,
            /// Sinergi id of the worker the record names (see `/api/v1/workers/{id}`).
            pub worker_id: Option<String>,
            /// Who stored it and when.
            pub meta: Meta,
        }

        impl $view {
            /// The view of a stored row.
            pub fn of(row: &RecordRow) -> Result<Self, ApiError> {
                Ok($view {
                    id: row.record_key.clone(),
                    data: row.typed_as()?,
                    worker_id: row.worker_id.clone(),
                    meta: Meta::of(row),
                })
            }
        }
    };
}

record_view!(EmployerRecord, Employer, "An employer with provenance.");
record_view!(WorkSiteRecord, WorkSite, "A work site with provenance.");
record_view!(
    RptkaApprovalRecord,
    RptkaApproval,
    "An RPTKA approval with provenance."
);
record_view!(
    AssignmentRecord,
    Assignment,
    "An assignment with the worker it was resolved to and provenance."
);
record_view!(
    ResidencePermitRecord,
    ResidencePermit,
    "A residence permit with the worker it was resolved to and provenance."
);
record_view!(
    PresenceReportRecord,
    PresenceReport,
    "A presence report with the worker it was resolved to and provenance."
);
