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

/// A stored record's published form, passed through as stored JSON: the
/// same text the change feed carries, and what the per-type structs below
/// describe (a test keeps them equal).
pub fn raw(row: &RecordRow) -> Result<Box<serde_json::value::RawValue>, ApiError> {
    let text = sinergi_db::envelope::record_json_text(row)?;
    serde_json::value::RawValue::from_string(text).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Every row's published form.
pub fn raws(rows: &[RecordRow]) -> Result<Vec<Box<serde_json::value::RawValue>>, ApiError> {
    rows.iter().map(raw).collect()
}

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
            /// The view of a stored row, typed (what the OpenAPI document describes).
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

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::{json, Value};

    use super::*;

    /// A stored row of `record_type` (key `K-1`) holding `doc`.
    pub(crate) fn row(record_type: &str, doc: Value, worker: Option<&str>) -> RecordRow {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .and_then(|d| d.and_hms_micro_opt(8, 0, 0, 1))
            .expect("time");
        RecordRow {
            record_type: record_type.into(),
            record_key: "K-1".into(),
            agency_code: "IMI".into(),
            client_id: "c".into(),
            source_ref: Some("S-1".into()),
            worker_id: worker.map(str::to_string),
            employer_nib: None,
            region_code: None,
            status: None,
            kind: None,
            nationality: None,
            ref_key: None,
            valid_from: None,
            valid_until: None,
            doc: doc.to_string(),
            version: 2,
            created_at: t,
            updated_at: t,
        }
    }

    fn person() -> Value {
        json!({"passport_no": "E51234567", "nationality": "CHN", "full_name": "ZHANG WEI",
               "sex": "M", "birth_date": "1985-04-12", "passport_expires_on": null})
    }

    /// A row and its typed view as JSON.
    type Case = (RecordRow, fn(&RecordRow) -> Result<Value, ApiError>);

    /// What is sent (the stored JSON passed through) is what the document describes.
    #[test]
    fn the_passed_through_record_is_the_documented_view() {
        let cases: Vec<Case> = vec![
            (
                row(
                    "employer",
                    json!({"nib": "9120001234567", "npwp": null, "name": "PT A",
                    "capital": "PMA", "kbli": ["05100"], "sector": "mining", "address": null,
                    "region_code": "64.02.06"}),
                    None,
                ),
                |r| Ok(serde_json::to_value(EmployerRecord::of(r)?).unwrap()),
            ),
            (
                row(
                    "work_site",
                    json!({"source_ref": "S-1", "employer_nib": "9120001234567",
                    "name": "Pit", "kind": "mine", "region_code": "64.02.06", "lat": -0.5,
                    "lon": 117.0}),
                    None,
                ),
                |r| Ok(serde_json::to_value(WorkSiteRecord::of(r)?).unwrap()),
            ),
            (
                row(
                    "rptka_approval",
                    json!({"approval_no": "KEP-1", "employer_nib": "9120001234567",
                    "type": "new", "issued_on": "2026-01-01", "valid_from": "2026-01-01",
                    "valid_until": "2026-12-31", "location_scope": ["64.02"],
                    "positions": [{"code": "P01", "title": "Engineer", "level": "professional",
                                   "headcount": 2, "closed_position": false}],
                    "status": "active"}),
                    None,
                ),
                |r| Ok(serde_json::to_value(RptkaApprovalRecord::of(r)?).unwrap()),
            ),
            (
                row(
                    "assignment",
                    json!({"source_ref": "S-1", "worker": person(),
                    "approval_no": "KEP-1", "position_code": "P01",
                    "employer_nib": "9120001234567", "start_on": "2026-01-01",
                    "end_on": "2026-12-31", "status": "active",
                    "companion": {"nik": "6402061203900001", "name": "BUDI"},
                    "legacy_notifikasi_no": null}),
                    Some("w-1"),
                ),
                |r| Ok(serde_json::to_value(AssignmentRecord::of(r)?).unwrap()),
            ),
            (
                row(
                    "residence_permit",
                    json!({"permit_no": "ITAS-1", "worker": person(),
                    "kind": "ITAS", "visa_index": "E23", "sponsor_nib": "9120001234567",
                    "issued_on": "2026-01-05", "valid_from": "2026-01-05",
                    "valid_until": "2027-01-04", "issuing_office": null,
                    "address_region_code": "64.02.06", "status": "active"}),
                    Some("w-1"),
                ),
                |r| Ok(serde_json::to_value(ResidencePermitRecord::of(r)?).unwrap()),
            ),
            (
                row(
                    "presence_report",
                    json!({"source_ref": "S-1", "observed_on": "2026-11-30",
                    "source": "field_check", "region_code": "64.02.06", "work_site_ref": null,
                    "employer_nib": null, "worker": null, "headcount": 12,
                    "activity": null, "notes": null}),
                    None,
                ),
                |r| Ok(serde_json::to_value(PresenceReportRecord::of(r)?).unwrap()),
            ),
        ];
        for (row, typed) in cases {
            let sent: Value = serde_json::from_str(raw(&row).unwrap().get()).unwrap();
            assert_eq!(sent, typed(&row).unwrap(), "{}", row.record_type);
        }
    }
}
