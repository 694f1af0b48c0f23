//! RPTKA approvals issued by the Ministry of Manpower.

code_enum! {
    /// The type of RPTKA approval.
    pub enum ApprovalType ("approval type") {
        /// A first approval.
        New => "new",
        /// An extension of an earlier approval.
        Extension => "extension",
        /// Temporary work (at most six months, e.g. installation or audits).
        Temporary => "temporary",
    }
}

code_enum! {
    /// Lifecycle status of an RPTKA approval.
    pub enum ApprovalStatus ("approval status") {
        /// In force (subject to its validity dates).
        Active => "active",
        /// Revoked by the ministry.
        Revoked => "revoked",
    }
}

code_enum! {
    /// The level of an approved position (jabatan).
    pub enum PositionLevel ("position level") {
        /// Director (direksi).
        Director => "director",
        /// Commissioner (komisaris).
        Commissioner => "commissioner",
        /// Manager.
        Manager => "manager",
        /// Professional or technical specialist.
        Professional => "professional",
        /// Advisor or consultant.
        Advisor => "advisor",
    }
}

impl PositionLevel {
    /// True when the position needs an Indonesian companion worker (all but director and commissioner).
    pub fn needs_companion(&self) -> bool {
        !matches!(self, PositionLevel::Director | PositionLevel::Commissioner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_codes() {
        assert_eq!(
            ApprovalType::parse("extension"),
            Ok(ApprovalType::Extension)
        );
        assert_eq!(ApprovalType::ALL.len(), 3);
        assert_eq!(
            ApprovalStatus::parse("revoked"),
            Ok(ApprovalStatus::Revoked)
        );
        assert_eq!(PositionLevel::parse("advisor"), Ok(PositionLevel::Advisor));
        assert_eq!(
            PositionLevel::parse("Advisor").unwrap_err().code,
            "invalid_value"
        );
    }

    #[test]
    fn companion_rule() {
        assert!(!PositionLevel::Director.needs_companion());
        assert!(!PositionLevel::Commissioner.needs_companion());
        assert!(PositionLevel::Manager.needs_companion());
        assert!(PositionLevel::Professional.needs_companion());
        assert!(PositionLevel::Advisor.needs_companion());
    }
}
