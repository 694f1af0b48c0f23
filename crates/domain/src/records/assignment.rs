//! Assignments: a worker placed in an approved RPTKA position, keyed by the
//! writing agency's `source_ref`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{check_dates, Index, Key, Person, Record, Reference, Violation};
use crate::{
    AssignmentStatus, DocumentNo, Nib, Nik, PersonName, RecordType, RegionCode, SourceRef,
};

/// The Indonesian companion worker (*tenaga kerja pendamping*).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Companion {
    /// NIK, 16 digits.
    pub nik: Nik,
    /// Name.
    pub name: PersonName,
}

/// A worker's assignment to an approved position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assignment {
    /// The writing agency's own id (the key).
    pub source_ref: SourceRef,
    /// The worker as reported.
    pub worker: Person,
    /// RPTKA approval number.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "KEP.12345/PPTKA/PTA/2025"))]
    pub approval_no: Option<DocumentNo>,
    /// Position code within the approval.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "P01"))]
    pub position_code: Option<DocumentNo>,
    /// Employer NIB (the approval's employer).
    pub employer_nib: Nib,
    /// First day of work.
    pub start_on: NaiveDate,
    /// Last day of work.
    pub end_on: NaiveDate,
    /// Status.
    pub status: AssignmentStatus,
    /// Companion worker, or null.
    pub companion: Option<Companion>,
    /// Notifikasi number of a pre-2021 record.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub legacy_notifikasi_no: Option<DocumentNo>,
    /// Sinergi id of the work site the worker is placed at (a site of the
    /// same employer, registered by any agency), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub work_site_id: Option<String>,
}

impl Record for Assignment {
    const TYPE: RecordType = RecordType::Assignment;

    fn key(&self) -> Key<'_> {
        Key::SourceRef(self.source_ref.as_str())
    }

    fn source_ref(&self) -> Option<&SourceRef> {
        Some(&self.source_ref)
    }

    fn person(&self) -> Option<&Person> {
        Some(&self.worker)
    }

    fn index(&self) -> Index {
        Index {
            employer_nib: Some(self.employer_nib.to_string()),
            status: Some(self.status.as_str().to_string()),
            kind: self.position_code.as_ref().map(ToString::to_string),
            ref_key: self.approval_no.as_ref().map(ToString::to_string),
            valid_from: Some(self.start_on),
            valid_until: Some(self.end_on),
            ..Index::default()
        }
    }

    /// An assignment is located where its approval allows work: those
    /// regions come from the approval (see [`Record::references`]).
    fn regions(&self) -> Vec<RegionCode> {
        Vec::new()
    }

    fn references(&self) -> Vec<Reference> {
        let approval = self
            .approval_no
            .as_ref()
            .map(|a| Reference::ApprovalPosition {
                approval_no: a.clone(),
                position_code: self.position_code.clone(),
                employer: self.employer_nib.clone(),
            });
        let site = self.work_site_id.as_ref().map(|id| Reference::WorkSite {
            id: id.clone(),
            employer: self.employer_nib.clone(),
        });
        approval.into_iter().chain(site).collect()
    }

    fn violations(&self, today: NaiveDate) -> Vec<Violation> {
        let mut out = self.worker.violations("worker", today);
        check_dates(
            &mut out,
            &[
                ("start_on", Some(self.start_on)),
                ("end_on", Some(self.end_on)),
            ],
            &[("start_on", "end_on", "")],
        );
        if self.approval_no.is_none() && self.legacy_notifikasi_no.is_none() {
            out.push(Violation::new(
                "approval_no",
                "required",
                "give approval_no (or legacy_notifikasi_no for a pre-2021 record)",
            ));
        }
        if self.approval_no.is_some() && self.position_code.is_none() {
            out.push(Violation::new(
                "position_code",
                "required",
                "give the position code within the approval",
            ));
        }
        out
    }
}
