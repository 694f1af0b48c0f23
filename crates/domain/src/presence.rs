//! Presence reports: a worker or a headcount seen on site.

code_enum! {
    /// Where a presence report comes from.
    pub enum PresenceSource ("presence source") {
        /// A field check by supervisors (e.g. Tim PORA, district staff).
        FieldCheck => "field_check",
        /// APOA, immigration's online application for reporting foreigners' whereabouts.
        Apoa => "apoa",
        /// A report filed by the employer.
        EmployerReport => "employer_report",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(
            PresenceSource::parse("field_check"),
            Ok(PresenceSource::FieldCheck)
        );
        assert_eq!(
            PresenceSource::parse("employer_report"),
            Ok(PresenceSource::EmployerReport)
        );
        assert_eq!(PresenceSource::Apoa.to_string(), "apoa");
        assert!(PresenceSource::parse("field-check").is_err());
    }
}
