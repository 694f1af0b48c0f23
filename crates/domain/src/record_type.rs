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

impl RecordType {
    /// The agency kinds that own (may write) this kind of record; admin never writes records.
    pub fn writers(&self) -> &'static [AgencyKind] {
        use AgencyKind::*;
        match self {
            RecordType::Employer => &[Manpower, Immigration],
            RecordType::WorkSite => &[Manpower, Regional, District],
            RecordType::Worker => &[Immigration, Manpower],
            RecordType::RptkaApproval => &[Manpower],
            RecordType::Assignment => &[Manpower],
            RecordType::ResidencePermit => &[Immigration],
            RecordType::PresenceReport => &[Regional, District, Immigration],
        }
    }

    /// True when an agency of `kind` may write this kind of record (jurisdiction is checked elsewhere).
    pub fn may_write(&self, kind: AgencyKind) -> bool {
        self.writers().contains(&kind)
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
    fn codes() {
        assert_eq!(
            RecordType::parse("rptka_approval"),
            Ok(RecordType::RptkaApproval)
        );
        assert_eq!(RecordType::ResidencePermit.as_str(), "residence_permit");
        assert_eq!(RecordType::ALL.len(), 7);
    }
}
