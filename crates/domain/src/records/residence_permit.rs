//! Residence (stay) permits issued by immigration, keyed by permit number.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{check_opt_text, issued_period_violations, Index, Key, Person, Record, Violation};
use crate::{
    DocumentNo, Nib, PermitKind, PermitStatus, RecordType, RegionCode, SourceRef, VisaIndex,
};

/// An ITAS, ITAP or ITK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResidencePermit {
    /// Permit number (the key).
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2C21JE0123456"))]
    pub permit_no: DocumentNo,
    /// The holder as reported.
    pub worker: Person,
    /// Permit kind.
    pub kind: PermitKind,
    /// Visa index as issued (`E23`, legacy `C312`, ...).
    pub visa_index: Option<VisaIndex>,
    /// NIB of the sponsoring employer.
    pub sponsor_nib: Option<Nib>,
    /// Date of issue.
    pub issued_on: NaiveDate,
    /// First valid day.
    pub valid_from: NaiveDate,
    /// Last valid day.
    pub valid_until: NaiveDate,
    /// Issuing office.
    pub issuing_office: Option<String>,
    /// Region of the holder's address (Kemendagri).
    pub address_region_code: Option<RegionCode>,
    /// Status.
    pub status: PermitStatus,
    /// The writing agency's own id (not part of the document).
    #[serde(skip)]
    pub source_ref: Option<SourceRef>,
}

impl Record for ResidencePermit {
    const TYPE: RecordType = RecordType::ResidencePermit;

    fn key(&self) -> Key<'_> {
        Key::Natural(self.permit_no.as_str())
    }

    fn source_ref(&self) -> Option<&SourceRef> {
        self.source_ref.as_ref()
    }

    fn person(&self) -> Option<&Person> {
        Some(&self.worker)
    }

    fn index(&self) -> Index {
        Index {
            employer_nib: self.sponsor_nib.as_ref().map(ToString::to_string),
            region_code: self.address_region_code.as_ref().map(ToString::to_string),
            status: Some(self.status.as_str().to_string()),
            kind: Some(self.kind.as_str().to_string()),
            valid_from: Some(self.valid_from),
            valid_until: Some(self.valid_until),
            ..Index::default()
        }
    }

    fn regions(&self) -> Vec<RegionCode> {
        self.address_region_code.iter().cloned().collect()
    }

    fn violations(&self, today: NaiveDate) -> Vec<Violation> {
        let mut out = self.worker.violations("worker", today);
        out.extend(issued_period_violations(
            self.issued_on,
            self.valid_from,
            self.valid_until,
        ));
        check_opt_text(
            &mut out,
            "issuing_office",
            self.issuing_office.as_deref(),
            200,
        );
        if self.kind.allows_work() && self.sponsor_nib.is_none() {
            out.push(Violation::new(
                "sponsor_nib",
                "required",
                "an ITAS or ITAP for work needs the sponsoring employer's NIB",
            ));
        }
        out
    }
}
