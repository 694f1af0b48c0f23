//! What the rules produce: findings with a rule code, a severity, a subject,
//! the responsible agency and the evidence.

use serde::{Deserialize, Serialize};

use super::facts::RecordRef;
use crate::AgencyKind;

/// Adds `Display` and string serde through `as_str` / `parse` (which returns `Option`).
macro_rules! string_code {
    ($name:ident, $label:literal) => {
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as Deserialize>::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| {
                    <D::Error as ::serde::de::Error>::custom(concat!("unknown ", $label))
                })
            }
        }

        #[cfg(feature = "openapi")]
        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                ::utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(::utoipa::openapi::schema::Type::String)
                    .enum_values(Some(Self::ALL.iter().map(|v| v.as_str())))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl ::utoipa::ToSchema for $name {}
    };
}

code_enum! {
    /// Where a finding stands.
    pub enum FindingStatus ("finding status") {
        /// Detected and not handled yet (or reopened).
        Open => "open",
        /// Seen by the responsible agency and being handled.
        Acknowledged => "acknowledged",
        /// Handled, or no longer true of the data.
        Resolved => "resolved",
    }
}

/// How serious a finding is; ordered so that `High > Info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// For information (e.g. something expires soon).
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 4] = [Self::Info, Self::Low, Self::Medium, Self::High];

    /// The wire code: `info`, `low`, `medium`, `high`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    /// Parses the exact wire code.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

string_code!(Severity, "severity");

/// What a finding is about: a worker or an employer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum Subject {
    /// A worker, by Sinergi's worker id.
    Worker(String),
    /// An employer, by NIB.
    Employer(String),
}

impl Subject {
    /// Every kind of subject, as [`Subject::kind`] names it.
    pub const KINDS: [&'static str; 2] = ["worker", "employer"];

    /// `worker` or `employer`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Worker(_) => Self::KINDS[0],
            Self::Employer(_) => Self::KINDS[1],
        }
    }

    /// The worker id or the employer's NIB.
    pub fn id(&self) -> &str {
        match self {
            Self::Worker(id) | Self::Employer(id) => id,
        }
    }
}

/// The compliance rules of docs/domain.md, in rule-number order (the 13th is the
/// employer-level "seen versus permitted" gap, the 14th an employer that
/// records name but no agency has registered, the 15th two workers that are
/// probably one person).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleCode {
    /// 1: a valid ITAS/ITAP sponsored by an employer and no active assignment.
    PermitWithoutAssignment,
    /// 2: an active assignment and no valid ITAS/ITAP.
    AssignmentWithoutPermit,
    /// 3: seen at work while the only valid permit is a visit permit (ITK).
    WorkingOnVisitPermit,
    /// 4: seen outside the approval's location scope.
    OutsideApprovedLocation,
    /// 5: seen after every permit, or the assignment, has ended.
    PresentAfterExpiry,
    /// 6: more active assignments in a position than its approved headcount.
    HeadcountOverQuota,
    /// 7: no companion worker in a position that needs one.
    NoCompanion,
    /// 8: an approved position that is closed to foreign workers.
    ClosedPosition,
    /// 9: the permit's sponsor is not the assignment's employer.
    SponsorMismatch,
    /// 10: the passport expires before the permit or assignment ends.
    PassportExpiresFirst,
    /// 11: agencies disagree on the name or birth date for one passport.
    IdentityConflict,
    /// 12: a valid permit or active assignment ends within 30 days.
    ExpiringSoon,
    /// 13: more people seen on site than active assignments permitted there.
    SeenOverPermitted,
    /// 14: records name an employer (NIB) that no agency has registered.
    EmployerNotRegistered,
    /// 15: two workers are probably one person (a renewed passport, a typed slip).
    PossibleSamePerson,
}

impl RuleCode {
    /// Every rule, in rule-number order.
    pub const ALL: [RuleCode; 15] = [
        Self::PermitWithoutAssignment,
        Self::AssignmentWithoutPermit,
        Self::WorkingOnVisitPermit,
        Self::OutsideApprovedLocation,
        Self::PresentAfterExpiry,
        Self::HeadcountOverQuota,
        Self::NoCompanion,
        Self::ClosedPosition,
        Self::SponsorMismatch,
        Self::PassportExpiresFirst,
        Self::IdentityConflict,
        Self::ExpiringSoon,
        Self::SeenOverPermitted,
        Self::EmployerNotRegistered,
        Self::PossibleSamePerson,
    ];

    /// The stable code, e.g. `PERMIT_WITHOUT_ASSIGNMENT`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::PermitWithoutAssignment => "PERMIT_WITHOUT_ASSIGNMENT",
            Self::AssignmentWithoutPermit => "ASSIGNMENT_WITHOUT_PERMIT",
            Self::WorkingOnVisitPermit => "WORKING_ON_VISIT_PERMIT",
            Self::OutsideApprovedLocation => "OUTSIDE_APPROVED_LOCATION",
            Self::PresentAfterExpiry => "PRESENT_AFTER_EXPIRY",
            Self::HeadcountOverQuota => "HEADCOUNT_OVER_QUOTA",
            Self::NoCompanion => "NO_COMPANION",
            Self::ClosedPosition => "CLOSED_POSITION",
            Self::SponsorMismatch => "SPONSOR_MISMATCH",
            Self::PassportExpiresFirst => "PASSPORT_EXPIRES_FIRST",
            Self::IdentityConflict => "IDENTITY_CONFLICT",
            Self::ExpiringSoon => "EXPIRING_SOON",
            Self::SeenOverPermitted => "SEEN_OVER_PERMITTED",
            Self::EmployerNotRegistered => "EMPLOYER_NOT_REGISTERED",
            Self::PossibleSamePerson => "POSSIBLE_SAME_PERSON",
        }
    }

    /// Parses the exact code.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The rule's number in docs/domain.md (1 to 12; 13 for the seen-versus-permitted
    /// gap, 14 for an employer not registered, 15 for a possible duplicate person).
    pub fn number(&self) -> u8 {
        *self as u8 + 1
    }

    /// The severity every finding of this rule has.
    pub fn severity(&self) -> Severity {
        use Severity::*;
        match self {
            Self::PermitWithoutAssignment
            | Self::AssignmentWithoutPermit
            | Self::WorkingOnVisitPermit
            | Self::PresentAfterExpiry
            | Self::ClosedPosition => High,
            Self::OutsideApprovedLocation
            | Self::HeadcountOverQuota
            | Self::SponsorMismatch
            | Self::IdentityConflict
            | Self::SeenOverPermitted
            | Self::PossibleSamePerson => Medium,
            Self::NoCompanion | Self::PassportExpiresFirst | Self::EmployerNotRegistered => Low,
            Self::ExpiringSoon => Info,
        }
    }

    /// The agency kind that usually has to act. For `EXPIRING_SOON` it is the
    /// owner of the expiring record, so the `responsible` field of [`Finding`] is the
    /// authority; this returns immigration (permits) as the default.
    pub fn responsible(&self) -> AgencyKind {
        match self {
            Self::AssignmentWithoutPermit
            | Self::WorkingOnVisitPermit
            | Self::PresentAfterExpiry
            | Self::SponsorMismatch
            | Self::PassportExpiresFirst
            | Self::IdentityConflict
            | Self::ExpiringSoon
            | Self::PossibleSamePerson => AgencyKind::Immigration,
            Self::PermitWithoutAssignment
            | Self::OutsideApprovedLocation
            | Self::HeadcountOverQuota
            | Self::NoCompanion
            | Self::ClosedPosition
            | Self::SeenOverPermitted
            | Self::EmployerNotRegistered => AgencyKind::Manpower,
        }
    }

    /// True for the rules whose subject is an employer (6, 8, 13 and 14).
    pub fn is_employer_rule(&self) -> bool {
        matches!(
            self,
            Self::HeadcountOverQuota
                | Self::ClosedPosition
                | Self::SeenOverPermitted
                | Self::EmployerNotRegistered
        )
    }
}

string_code!(RuleCode, "rule code");

/// One occurrence of a rule being broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule.
    pub rule: RuleCode,
    /// The rule's severity.
    pub severity: Severity,
    /// The worker or employer the finding is about.
    pub subject: Subject,
    /// The agency kind expected to act on it.
    pub responsible: AgencyKind,
    /// Stable within a subject+rule so recomputation can match an existing finding
    /// (the permit, assignment or presence key, `approval_no/position`, a district code,
    /// or "" when the subject itself is enough).
    pub discriminator: String,
    /// The records (with versions) from each agency that show the contradiction, sorted.
    pub evidence: Vec<RecordRef>,
    /// This occurrence explained in English, with dates and keys but never names or passport numbers.
    pub message_en: String,
    /// The same in Bahasa Indonesia.
    pub message_id: String,
}

impl Finding {
    /// Builds a finding with the rule's severity and responsible agency; evidence is sorted and deduplicated.
    pub(crate) fn new(
        rule: RuleCode,
        subject: Subject,
        discriminator: impl Into<String>,
        mut evidence: Vec<RecordRef>,
        (message_en, message_id): (String, String),
    ) -> Self {
        // Sorted so that the same facts in any order give the same finding.
        evidence.sort();
        evidence.dedup();
        Self {
            rule,
            severity: rule.severity(),
            subject,
            responsible: rule.responsible(),
            discriminator: discriminator.into(),
            evidence,
            message_en,
            message_id,
        }
    }

    /// The same finding with another responsible agency.
    pub(crate) fn with_responsible(mut self, kind: AgencyKind) -> Self {
        self.responsible = kind;
        self
    }
}
