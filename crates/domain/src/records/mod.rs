//! The records agencies exchange, as typed documents: one struct per record
//! type, and the [`Record`] trait that says, per record, its key, the columns
//! it is found by, the person it names, the records it refers to and the
//! regions it is located in. What holds for a whole type (who owns it,
//! whether it is personal data) is in [`RecordType`](crate::RecordType).
//!
//! A record's serde form is its stored document and the body of its views:
//! every field is a validated domain value, so a document read back is valid.

mod assignment;
mod employer;
mod person;
mod presence_report;
mod residence_permit;
mod rptka_approval;
mod work_site;

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use assignment::{Assignment, Companion};
pub use employer::Employer;
pub use person::Person;
pub use presence_report::PresenceReport;
pub use residence_permit::ResidencePermit;
pub use rptka_approval::{Position, RptkaApproval};
pub use work_site::WorkSite;

use crate::{DocumentNo, Nib, RecordType, RegionCode, SourceRef};

/// One thing wrong with one field of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON path of the field, e.g. `worker.birth_date`.
    pub field: String,
    /// Stable machine code.
    pub code: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Violation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Violation {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// How a record is identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key<'a> {
    /// By its natural key (NIB, approval number, permit number).
    Natural(&'a str),
    /// By the writing agency's own id.
    SourceRef(&'a str),
}

/// The columns a record is searched by (all optional; codes as text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    /// Employer NIB.
    pub employer_nib: Option<String>,
    /// Kemendagri region code.
    pub region_code: Option<String>,
    /// Status code.
    pub status: Option<String>,
    /// Kind code (permit kind, site kind, approval type, sector, position, source).
    pub kind: Option<String>,
    /// Key of a record this one hangs from (approval number, work site ref).
    pub ref_key: Option<String>,
    /// First day the record is valid (or the observation date).
    pub valid_from: Option<NaiveDate>,
    /// Last day the record is valid (or the observation date).
    pub valid_until: Option<NaiveDate>,
}

/// A stored record another record names, checked when the naming record is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A position of an RPTKA approval, which must belong to `employer`.
    ApprovalPosition {
        /// The approval number.
        approval_no: DocumentNo,
        /// The position code within it, if given.
        position_code: Option<DocumentNo>,
        /// The employer the naming record is for.
        employer: Nib,
    },
    /// A work site (by its Sinergi id), which must belong to `employer`.
    WorkSite {
        /// The site's Sinergi id.
        id: String,
        /// The employer the naming record is for.
        employer: Nib,
    },
}

impl Reference {
    /// The record type and key the reference names.
    pub fn target(&self) -> (RecordType, &str) {
        match self {
            Reference::ApprovalPosition { approval_no, .. } => {
                (RecordType::RptkaApproval, approval_no.as_str())
            }
            Reference::WorkSite { id, .. } => (RecordType::WorkSite, id.as_str()),
        }
    }

    /// Checks the reference against the record it names (`None`: not stored)
    /// and returns the regions that record places the naming record in.
    pub fn resolve(&self, found: Option<&AnyRecord>) -> Result<Vec<RegionCode>, Violation> {
        match self {
            Reference::ApprovalPosition {
                position_code,
                employer,
                ..
            } => {
                let Some(AnyRecord::RptkaApproval(approval)) = found else {
                    return Err(Violation::new(
                        "approval_no",
                        "unknown_approval",
                        "no RPTKA approval with this number; push the approval first",
                    ));
                };
                if approval.employer_nib != *employer {
                    return Err(Violation::new(
                        "employer_nib",
                        "employer_mismatch",
                        format!("the approval belongs to employer {}", approval.employer_nib),
                    ));
                }
                if let Some(code) = position_code {
                    if approval.position(code.as_str()).is_none() {
                        return Err(Violation::new(
                            "position_code",
                            "unknown_position",
                            "the approval has no position with this code",
                        ));
                    }
                }
                Ok(approval.location_scope.clone())
            }
            // The site places the record in its region as well.
            Reference::WorkSite { employer, .. } => {
                let Some(AnyRecord::WorkSite(site)) = found else {
                    return Err(Violation::new(
                        "work_site_id",
                        "unknown_work_site",
                        "no work site with this id; find the site's id in /api/v1/work-sites",
                    ));
                };
                if site.employer_nib != *employer {
                    return Err(Violation::new(
                        "work_site_id",
                        "employer_mismatch",
                        format!("the work site belongs to employer {}", site.employer_nib),
                    ));
                }
                Ok(vec![site.region_code.clone()])
            }
        }
    }
}

/// What every record type tells about each of its records.
pub trait Record: Serialize + DeserializeOwned + Clone + std::fmt::Debug + PartialEq {
    /// The record type.
    const TYPE: RecordType;

    /// How the record is identified.
    fn key(&self) -> Key<'_>;

    /// The writing agency's own id, if given.
    fn source_ref(&self) -> Option<&SourceRef>;

    /// The person the record names, if any.
    fn person(&self) -> Option<&Person> {
        None
    }

    /// The columns the record is found by.
    fn index(&self) -> Index;

    /// The regions the record is located in (an agency limited to a
    /// jurisdiction may write it only when every one lies inside).
    fn regions(&self) -> Vec<RegionCode>;

    /// The stored records it names, checked when it is written.
    fn references(&self) -> Vec<Reference> {
        Vec::new()
    }

    /// Every rule the record breaks that its fields' types cannot express
    /// (dates in order and in range, one field required by another, ...).
    fn violations(&self, today: NaiveDate) -> Vec<Violation>;
}

macro_rules! any_record {
    ($($variant:ident),+ $(,)?) => {
        /// A record of any stored type.
        #[derive(Debug, Clone, PartialEq)]
        pub enum AnyRecord {
            $(
                #[doc = concat!("A record of type `", stringify!($variant), "`.")]
                $variant($variant),
            )+
        }

        $(
            impl From<$variant> for AnyRecord {
                fn from(r: $variant) -> Self {
                    AnyRecord::$variant(r)
                }
            }
        )+

        impl AnyRecord {
            /// The record types stored as documents, in declaration order.
            pub const TYPES: &'static [RecordType] = &[$(<$variant as Record>::TYPE),+];

            /// Reads a stored document of `record_type`.
            pub fn from_json(record_type: RecordType, doc: &str) -> Result<Self, serde_json::Error> {
                $(
                    if record_type == <$variant as Record>::TYPE {
                        return serde_json::from_str::<$variant>(doc).map(AnyRecord::$variant);
                    }
                )+
                Err(<serde_json::Error as serde::de::Error>::custom(format!(
                    "{record_type} records are not stored as documents"
                )))
            }

            /// Reads a document of `record_type` from a JSON value.
            pub fn from_value(record_type: RecordType, doc: serde_json::Value) -> Result<Self, serde_json::Error> {
                $(
                    if record_type == <$variant as Record>::TYPE {
                        return serde_json::from_value::<$variant>(doc).map(AnyRecord::$variant);
                    }
                )+
                Err(<serde_json::Error as serde::de::Error>::custom(format!(
                    "{record_type} records are not stored as documents"
                )))
            }

            /// The canonical JSON of the document.
            pub fn to_json(&self) -> String {
                let text = match self {
                    $(AnyRecord::$variant(r) => serde_json::to_string(r),)+
                };
                // Plain data (strings, numbers, dates) always serialises.
                text.unwrap_or_default()
            }

            /// The record type.
            pub fn record_type(&self) -> RecordType {
                match self { $(AnyRecord::$variant(_) => <$variant as Record>::TYPE,)+ }
            }

            /// See [`Record::key`].
            pub fn key(&self) -> Key<'_> {
                match self { $(AnyRecord::$variant(r) => r.key(),)+ }
            }

            /// See [`Record::source_ref`].
            pub fn source_ref(&self) -> Option<&SourceRef> {
                match self { $(AnyRecord::$variant(r) => r.source_ref(),)+ }
            }

            /// See [`Record::person`].
            pub fn person(&self) -> Option<&Person> {
                match self { $(AnyRecord::$variant(r) => r.person(),)+ }
            }

            /// See [`Record::index`].
            pub fn index(&self) -> Index {
                match self { $(AnyRecord::$variant(r) => r.index(),)+ }
            }

            /// See [`Record::regions`].
            pub fn regions(&self) -> Vec<RegionCode> {
                match self { $(AnyRecord::$variant(r) => r.regions(),)+ }
            }

            /// See [`Record::references`].
            pub fn references(&self) -> Vec<Reference> {
                match self { $(AnyRecord::$variant(r) => r.references(),)+ }
            }

            /// See [`Record::violations`].
            pub fn violations(&self, today: NaiveDate) -> Vec<Violation> {
                match self { $(AnyRecord::$variant(r) => r.violations(today),)+ }
            }
        }
    };
}

any_record!(
    Employer,
    WorkSite,
    RptkaApproval,
    Assignment,
    ResidencePermit,
    PresenceReport,
);

/// The earliest date Sinergi accepts in any record.
pub fn earliest_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// The latest date Sinergi accepts in any record.
pub fn latest_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2100, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// A violation when `d` lies outside 1900-01-01 to 2100-12-31: dates beyond
/// any real permit or life are typing errors, and date arithmetic on them
/// would overflow.
pub fn date_in_range(field: &str, d: NaiveDate) -> Option<Violation> {
    (d < earliest_date() || d > latest_date()).then(|| {
        Violation::new(
            field,
            "date_out_of_range",
            format!("{field} must be between 1900-01-01 and 2100-12-31"),
        )
    })
}

/// The date rules of a record issued on a day and valid for a period:
/// each date in range, `valid_from` not after `valid_until`, issued before
/// the end. (Checked also when other fields keep the record from being built.)
pub fn issued_period_violations(
    issued_on: NaiveDate,
    valid_from: NaiveDate,
    valid_until: NaiveDate,
) -> Vec<Violation> {
    let mut out = Vec::new();
    check_dates(
        &mut out,
        &[
            ("issued_on", Some(issued_on)),
            ("valid_from", Some(valid_from)),
            ("valid_until", Some(valid_until)),
        ],
        &[("valid_from", "valid_until", "")],
    );
    if issued_on > valid_until {
        out.push(Violation::new(
            "issued_on",
            "invalid_date",
            "issued_on must not be after valid_until",
        ));
    }
    out
}

/// Every date out of range, and every `(earlier, later)` pair out of order.
pub fn date_violations(
    dates: &[(&str, Option<NaiveDate>)],
    order: &[(&str, &str)],
) -> Vec<Violation> {
    let mut out = Vec::new();
    let order: Vec<(&str, &str, &str)> = order.iter().map(|(a, b)| (*a, *b, "")).collect();
    check_dates(&mut out, dates, &order);
    out
}

/// Checks every `(field, date)` for range, and that each `(earlier, later)`
/// pair is in order.
pub(crate) fn check_dates(
    out: &mut Vec<Violation>,
    dates: &[(&str, Option<NaiveDate>)],
    order: &[(&str, &str, &str)],
) {
    for (field, d) in dates {
        if let Some(v) = d.and_then(|d| date_in_range(field, d)) {
            out.push(v);
        }
    }
    let get = |name: &str| dates.iter().find(|(f, _)| *f == name).and_then(|(_, d)| *d);
    for (earlier, later, what) in order {
        if let (Some(a), Some(b)) = (get(earlier), get(later)) {
            if a > b {
                out.push(Violation::new(
                    *later,
                    "invalid_period",
                    format!("{later} must not be before {earlier}{what}"),
                ));
            }
        }
    }
}

/// Free text: required and non-blank, at most `max` characters, no control characters.
pub fn check_text(out: &mut Vec<Violation>, field: &str, v: &str, max: usize) {
    if v.trim().is_empty() {
        out.push(Violation::new(
            field,
            "required",
            format!("{field} must not be empty"),
        ));
    } else if v.chars().count() > max {
        out.push(Violation::new(
            field,
            "too_long",
            format!("{field} must be at most {max} characters"),
        ));
    } else if v.chars().any(char::is_control) {
        out.push(Violation::new(
            field,
            "invalid_characters",
            format!("{field} must not contain control characters"),
        ));
    }
}

/// Optional free text.
pub(crate) fn check_opt_text(out: &mut Vec<Violation>, field: &str, v: Option<&str>, max: usize) {
    if let Some(v) = v {
        check_text(out, field, v, max);
    }
}

/// Free text as stored: trimmed; blank optional text is absent.
pub fn clean_text(v: &str) -> String {
    v.trim().to_string()
}

/// Optional free text as stored.
pub fn clean_opt_text(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests;
