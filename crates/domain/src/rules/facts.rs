//! The inputs of the compliance rules: plain, already validated facts that the
//! persistence layer builds from stored records.
//!
//! Every fact that comes from a record carries a [`RecordRef`] so that a
//! finding can cite the exact records (and versions) it rests on.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{
    ApprovalStatus, AssignmentStatus, PermitKind, PermitStatus, PositionLevel, RegionCode,
};

/// A stored record a fact comes from, cited as evidence in findings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordRef {
    /// The record type code, e.g. `residence_permit` (see [`crate::RecordType`]).
    pub record_type: String,
    /// The record's key: permit or approval number, the agency's `source_ref`, a worker id.
    /// Expected to be unique within its record type: findings use it as a discriminator.
    pub key: String,
    /// The record's version when the facts were read.
    pub version: i64,
    /// The code of the agency that owns (wrote) the record.
    pub agency: String,
}

/// A residence (stay) permit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermitFact {
    /// The permit record; `r.key` is the permit number.
    pub r: RecordRef,
    /// ITAS, ITAP or ITK.
    pub kind: PermitKind,
    /// Lifecycle status.
    pub status: PermitStatus,
    /// NIB of the sponsoring employer, if any.
    pub sponsor_nib: Option<String>,
    /// First valid day.
    pub valid_from: NaiveDate,
    /// Last valid day.
    pub valid_until: NaiveDate,
    /// The passport the permit was issued on.
    pub passport_no: String,
}

impl PermitFact {
    /// Valid on `d`: status active and `valid_from <= d <= valid_until` (docs/domain.md).
    pub fn is_valid_on(&self, d: NaiveDate) -> bool {
        self.status == PermitStatus::Active && self.valid_from <= d && d <= self.valid_until
    }

    /// A valid ITAS or ITAP on `d`: a permit that allows work.
    pub fn is_work_permit_valid_on(&self, d: NaiveDate) -> bool {
        self.kind.allows_work() && self.is_valid_on(d)
    }

    /// The permit number.
    pub fn permit_no(&self) -> &str {
        &self.r.key
    }
}

/// An assignment of the worker to an approved position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentFact {
    /// The assignment record; `r.key` is its `source_ref`.
    pub r: RecordRef,
    /// NIB of the employer.
    pub employer_nib: String,
    /// The RPTKA approval the assignment is under, if known.
    pub approval_no: Option<String>,
    /// The position code inside that approval, if known.
    pub position_code: Option<String>,
    /// Lifecycle status.
    pub status: AssignmentStatus,
    /// First day.
    pub start_on: NaiveDate,
    /// Last day.
    pub end_on: NaiveDate,
    /// True when an Indonesian companion worker is named.
    pub has_companion: bool,
    /// The passport the assignment names.
    pub passport_no: String,
}

impl AssignmentFact {
    /// Active on `d`: status active and `start_on <= d <= end_on` (docs/domain.md).
    pub fn is_active_on(&self, d: NaiveDate) -> bool {
        self.status == AssignmentStatus::Active && self.start_on <= d && d <= self.end_on
    }

    /// True when the assignment is in position `code` of approval `approval_no`.
    pub fn is_in_position(&self, approval_no: &str, code: &str) -> bool {
        self.approval_no.as_deref() == Some(approval_no)
            && self.position_code.as_deref() == Some(code)
    }
}

/// One approved position of an RPTKA approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionFact {
    /// Position code, unique within the approval.
    pub code: String,
    /// Job title (jabatan).
    pub title: String,
    /// Level, which decides whether a companion worker is needed.
    pub level: PositionLevel,
    /// Approved number of foreign workers in this position.
    pub headcount: u32,
}

/// An RPTKA approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalFact {
    /// The approval record; `r.key` is the approval number.
    pub r: RecordRef,
    /// NIB of the employer.
    pub employer_nib: String,
    /// Lifecycle status.
    pub status: ApprovalStatus,
    /// First valid day.
    pub valid_from: NaiveDate,
    /// Last valid day.
    pub valid_until: NaiveDate,
    /// Regions (regencies, districts) where work is allowed.
    pub location_scope: Vec<RegionCode>,
    /// Approved positions.
    pub positions: Vec<PositionFact>,
}

impl ApprovalFact {
    /// The approval number.
    pub fn approval_no(&self) -> &str {
        &self.r.key
    }

    /// In force on `d`: status active and `valid_from <= d <= valid_until`.
    pub fn is_valid_on(&self, d: NaiveDate) -> bool {
        self.status == ApprovalStatus::Active && self.valid_from <= d && d <= self.valid_until
    }

    /// The position with `code`.
    pub fn position(&self, code: &str) -> Option<&PositionFact> {
        self.positions.iter().find(|p| p.code == code)
    }

    /// True when `region` lies inside one of the codes of the location scope.
    pub fn allows_work_in(&self, region: &RegionCode) -> bool {
        self.location_scope.iter().any(|s| region.is_within(s))
    }

    /// True when the scope and `area` overlap: one lies inside the other.
    pub fn overlaps(&self, area: &RegionCode) -> bool {
        self.location_scope
            .iter()
            .any(|s| area.is_within(s) || s.is_within(area))
    }

    /// The location scope as text, e.g. `64.02.02, 64.02.16`.
    pub fn scope_text(&self) -> String {
        let codes: Vec<&str> = self.location_scope.iter().map(|c| c.as_str()).collect();
        codes.join(", ")
    }
}

/// A presence report: a person (or, for [`EmployerFacts`], a headcount) seen somewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceFact {
    /// The presence record; `r.key` is its `source_ref`.
    pub r: RecordRef,
    /// Day of the observation.
    pub observed_on: NaiveDate,
    /// Where (desa or kecamatan code).
    pub region: RegionCode,
    /// True when the report names a work site.
    pub at_work_site: bool,
    /// NIB of the employer the report names, if any.
    pub employer_nib: Option<String>,
}

/// One of the worker's passports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassportFact {
    /// Passport number (upper-case).
    pub number: String,
    /// Issuing state, ISO 3166-1 alpha-3.
    pub country: String,
    /// Expiry date, when known.
    pub expires_on: Option<NaiveDate>,
}

/// What one agency's record says about the person holding a passport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityFact {
    /// The code of the agency that gave this identity.
    pub agency: String,
    /// The passport the record names.
    pub passport_no: String,
    /// Full name as stored (normalised upper-case).
    pub full_name: String,
    /// Birth date, when given.
    pub birth_date: Option<NaiveDate>,
    /// The record that carries this identity.
    pub r: RecordRef,
}

/// Everything known about one worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerFacts {
    /// Sinergi's internal worker id.
    pub worker_id: String,
    /// All the worker's stay permits.
    pub permits: Vec<PermitFact>,
    /// All the worker's assignments.
    pub assignments: Vec<AssignmentFact>,
    /// The approvals their assignments name.
    pub approvals: Vec<ApprovalFact>,
    /// Presence reports naming the worker.
    pub presence: Vec<PresenceFact>,
    /// The worker's passports.
    pub passports: Vec<PassportFact>,
    /// Each agency's version of the worker's identity, per passport.
    pub identities: Vec<IdentityFact>,
    /// Unresolved candidate pairs in which this worker is the first (smaller id).
    pub possible_same: Vec<PossibleSameFact>,
}

/// A candidate pair: another worker who is probably the same person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PossibleSameFact {
    /// The person link (record type `person_link`, its id and version).
    pub link: RecordRef,
    /// The other worker's id.
    pub other: String,
    /// Match probability in thousandths.
    pub score_permille: u32,
    /// The fields that agreed or differed, as `field outcome` pairs.
    pub outcomes: Vec<(String, String)>,
}

impl WorkerFacts {
    /// The approval an assignment names, when it is among the facts.
    pub fn approval_of(&self, a: &AssignmentFact) -> Option<&ApprovalFact> {
        find_approval(&self.approvals, a)
    }

    /// The passport with `number`.
    pub fn passport(&self, number: &str) -> Option<&PassportFact> {
        self.passports.iter().find(|p| p.number == number)
    }

    /// Permits valid on `d`.
    pub fn valid_permits(&self, d: NaiveDate) -> impl Iterator<Item = &PermitFact> {
        self.permits.iter().filter(move |p| p.is_valid_on(d))
    }

    /// Valid ITAS/ITAP permits on `d`.
    pub fn valid_work_permits(&self, d: NaiveDate) -> impl Iterator<Item = &PermitFact> {
        self.permits
            .iter()
            .filter(move |p| p.is_work_permit_valid_on(d))
    }

    /// Assignments active on `d`.
    pub fn active_assignments(&self, d: NaiveDate) -> impl Iterator<Item = &AssignmentFact> {
        self.assignments.iter().filter(move |a| a.is_active_on(d))
    }
}

/// Everything known about one employer, for employer-level rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployerFacts {
    /// The employer's NIB.
    pub nib: String,
    /// The employer's RPTKA approvals.
    pub approvals: Vec<ApprovalFact>,
    /// All assignments naming this employer.
    pub assignments: Vec<AssignmentFact>,
    /// Latest headcount presence reports at this employer, with the number of people seen.
    pub headcount_reports: Vec<(PresenceFact, u32)>,
    /// When no agency has registered the employer: the records that name it.
    pub unregistered: Option<Unregistered>,
}

/// The records naming an employer that is not registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unregistered {
    /// Some of them (the first by type and key), as evidence.
    pub named_by: Vec<RecordRef>,
}

impl EmployerFacts {
    /// The approval an assignment names, when it is among the facts.
    pub fn approval_of(&self, a: &AssignmentFact) -> Option<&ApprovalFact> {
        find_approval(&self.approvals, a)
    }
}

fn find_approval<'a>(
    approvals: &'a [ApprovalFact],
    a: &AssignmentFact,
) -> Option<&'a ApprovalFact> {
    let no = a.approval_no.as_deref()?;
    approvals.iter().find(|x| x.approval_no() == no)
}

/// The facts of typed records: pure conversions, no parsing.
mod from_records {
    use super::*;
    use crate::records::{Assignment, PresenceReport, ResidencePermit, RptkaApproval};

    impl PermitFact {
        /// The fact of a stored permit (`r` cites it).
        pub fn of(r: RecordRef, p: &ResidencePermit) -> Self {
            PermitFact {
                r,
                kind: p.kind,
                status: p.status,
                sponsor_nib: p.sponsor_nib.as_ref().map(ToString::to_string),
                valid_from: p.valid_from,
                valid_until: p.valid_until,
                passport_no: p.worker.passport_no.to_string(),
            }
        }
    }

    impl AssignmentFact {
        /// The fact of a stored assignment.
        pub fn of(r: RecordRef, a: &Assignment) -> Self {
            AssignmentFact {
                r,
                employer_nib: a.employer_nib.to_string(),
                approval_no: a.approval_no.as_ref().map(ToString::to_string),
                position_code: a.position_code.as_ref().map(ToString::to_string),
                status: a.status,
                start_on: a.start_on,
                end_on: a.end_on,
                has_companion: a.companion.is_some(),
                passport_no: a.worker.passport_no.to_string(),
            }
        }
    }

    impl ApprovalFact {
        /// The fact of a stored approval.
        pub fn of(r: RecordRef, a: &RptkaApproval) -> Self {
            ApprovalFact {
                r,
                employer_nib: a.employer_nib.to_string(),
                status: a.status,
                valid_from: a.valid_from,
                valid_until: a.valid_until,
                location_scope: a.location_scope.clone(),
                positions: a
                    .positions
                    .iter()
                    .map(|p| PositionFact {
                        code: p.code.to_string(),
                        title: p.title.clone(),
                        level: p.level,
                        headcount: p.headcount,
                    })
                    .collect(),
            }
        }
    }

    impl PresenceFact {
        /// The fact of a stored presence report, with its headcount if it counts people.
        pub fn of(r: RecordRef, p: &PresenceReport) -> (Self, Option<u32>) {
            (
                PresenceFact {
                    r,
                    observed_on: p.observed_on,
                    region: p.region_code.clone(),
                    at_work_site: p.work_site_ref.is_some(),
                    employer_nib: p.employer_nib.as_ref().map(ToString::to_string),
                },
                p.headcount,
            )
        }
    }
}
