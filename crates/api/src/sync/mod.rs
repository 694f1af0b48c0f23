//! Sync for agency systems and batch jobs: batch writes, the change feed and bulk export.

pub mod batch;
pub mod changes;
pub mod export;

use sinergi_domain::RecordType;

/// Parses a record type from its code (`residence_permit`) or collection name (`residence-permits`).
pub fn record_type(s: &str) -> Option<RecordType> {
    let normalised = s.trim().replace('-', "_");
    let singular = normalised.strip_suffix('s').unwrap_or(&normalised);
    RecordType::ALL
        .into_iter()
        .find(|t| t.as_str() == normalised || t.as_str() == singular)
}

/// Whether records of this type name people (reading them needs a purpose).
pub fn is_personal(t: RecordType) -> bool {
    matches!(
        t,
        RecordType::Worker
            | RecordType::ResidencePermit
            | RecordType::Assignment
            | RecordType::PresenceReport
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_types_by_code_or_collection() {
        assert_eq!(
            record_type("residence-permits"),
            Some(RecordType::ResidencePermit)
        );
        assert_eq!(
            record_type("residence_permit"),
            Some(RecordType::ResidencePermit)
        );
        assert_eq!(record_type("employers"), Some(RecordType::Employer));
        assert_eq!(
            record_type("rptka-approvals"),
            Some(RecordType::RptkaApproval)
        );
        assert_eq!(record_type("work-sites"), Some(RecordType::WorkSite));
        assert_eq!(record_type("bogus"), None);
    }
}
