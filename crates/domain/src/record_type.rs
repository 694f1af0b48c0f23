//! The kinds of records agencies exchange, and who may write each.

use crate::AgencyKind;

code_enum! {
    /// A kind of record stored in Sinergi.
    pub enum RecordType ("record type") {
        /// An employer, keyed by NIB.
        Employer => "employer",
        /// A work site of an employer.
        WorkSite => "work_site",
        /// A foreign worker (person).
        Worker => "worker",
        /// An RPTKA approval, keyed by approval number.
        RptkaApproval => "rptka_approval",
        /// A worker's assignment to an approved position.
        Assignment => "assignment",
        /// A stay permit, keyed by permit number.
        ResidencePermit => "residence_permit",
        /// A presence report from the field.
        PresenceReport => "presence_report",
    }
}

/// Who may change a record another agency created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Only the agency that created it.
    CreatorOnly,
    /// Any agency that may write the type (shared master data).
    Shared,
}

/// What holds for every record of a type: the one table the API, the
/// persistence layer and the access policy read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeInfo {
    /// The collection's path segment under `/api/v1/` (`residence-permits`).
    pub collection: &'static str,
    /// The agency kinds that own (may write) the type; admin never writes records.
    pub writers: &'static [AgencyKind],
    /// Whether its records name people (reading them needs a declared purpose).
    pub personal: bool,
    /// Who may change a record another agency created.
    pub ownership: Ownership,
}

impl RecordType {
    /// The type's row of the table.
    pub const fn info(&self) -> TypeInfo {
        use AgencyKind::*;
        let (collection, writers, personal, ownership): (_, &'static [AgencyKind], _, _) =
            match self {
                RecordType::Employer => (
                    "employers",
                    &[Manpower, Immigration],
                    false,
                    Ownership::Shared,
                ),
                RecordType::WorkSite => (
                    "work-sites",
                    &[Manpower, Regional, District],
                    false,
                    Ownership::CreatorOnly,
                ),
                RecordType::Worker => {
                    ("workers", &[Immigration, Manpower], true, Ownership::Shared)
                }
                RecordType::RptkaApproval => (
                    "rptka-approvals",
                    &[Manpower],
                    false,
                    Ownership::CreatorOnly,
                ),
                RecordType::Assignment => {
                    ("assignments", &[Manpower], true, Ownership::CreatorOnly)
                }
                RecordType::ResidencePermit => (
                    "residence-permits",
                    &[Immigration],
                    true,
                    Ownership::CreatorOnly,
                ),
                RecordType::PresenceReport => (
                    "presence-reports",
                    &[Regional, District, Immigration],
                    true,
                    Ownership::CreatorOnly,
                ),
            };
        TypeInfo {
            collection,
            writers,
            personal,
            ownership,
        }
    }

    /// The agency kinds that own (may write) this kind of record; admin never writes records.
    pub fn writers(&self) -> &'static [AgencyKind] {
        self.info().writers
    }

    /// True when an agency of `kind` may write this kind of record (jurisdiction is checked elsewhere).
    pub fn may_write(&self, kind: AgencyKind) -> bool {
        self.writers().contains(&kind)
    }

    /// Whether records of this type name people (reading them needs a purpose).
    pub fn is_personal(&self) -> bool {
        self.info().personal
    }

    /// The collection's path segment (`residence-permits`).
    pub fn collection(&self) -> &'static str {
        self.info().collection
    }

    /// Parses a type from its code (`residence_permit`) or collection (`residence-permits`).
    pub fn from_name(s: &str) -> Option<RecordType> {
        let s = s.trim().replace('-', "_");
        RecordType::ALL
            .into_iter()
            .find(|t| t.as_str() == s || t.collection().replace('-', "_") == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AgencyKind::*;

    #[test]
    fn ownership_table() {
        assert!(RecordType::Employer.may_write(Manpower));
        assert!(RecordType::Employer.may_write(Immigration));
        assert!(!RecordType::Employer.may_write(District));
        assert!(RecordType::WorkSite.may_write(District));
        assert!(RecordType::WorkSite.may_write(Regional));
        assert!(!RecordType::WorkSite.may_write(Immigration));
        assert!(RecordType::Worker.may_write(Immigration));
        assert!(!RecordType::Worker.may_write(Regional));
        assert_eq!(RecordType::RptkaApproval.writers(), &[Manpower]);
        assert_eq!(RecordType::Assignment.writers(), &[Manpower]);
        assert_eq!(RecordType::ResidencePermit.writers(), &[Immigration]);
        assert!(RecordType::PresenceReport.may_write(Immigration));
        assert!(!RecordType::PresenceReport.may_write(Manpower));
    }

    #[test]
    fn admin_writes_nothing() {
        assert!(RecordType::ALL.iter().all(|r| !r.may_write(Admin)));
    }

    #[test]
    fn names_and_collections() {
        assert_eq!(
            RecordType::from_name("residence-permits"),
            Some(RecordType::ResidencePermit)
        );
        assert_eq!(
            RecordType::from_name("residence_permit"),
            Some(RecordType::ResidencePermit)
        );
        assert_eq!(
            RecordType::from_name("work-sites"),
            Some(RecordType::WorkSite)
        );
        assert_eq!(RecordType::from_name("bogus"), None);
        let personal: Vec<_> = RecordType::ALL
            .into_iter()
            .filter(RecordType::is_personal)
            .collect();
        assert_eq!(
            personal,
            [
                RecordType::Worker,
                RecordType::Assignment,
                RecordType::ResidencePermit,
                RecordType::PresenceReport
            ]
        );
    }

    #[test]
    fn codes() {
        assert_eq!(
            RecordType::parse("rptka_approval"),
            Ok(RecordType::RptkaApproval)
        );
        assert_eq!(RecordType::ResidencePermit.as_str(), "residence_permit");
        assert_eq!(RecordType::ALL.len(), 7);
    }
}
