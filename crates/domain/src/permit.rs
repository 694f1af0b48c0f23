//! Stay permits issued by immigration.

code_enum! {
    /// The kind of stay permit.
    pub enum PermitKind ("permit kind") {
        /// Limited stay permit (Izin Tinggal Terbatas), the usual work permit.
        Itas => "ITAS",
        /// Permanent stay permit (Izin Tinggal Tetap).
        Itap => "ITAP",
        /// Visit stay permit (Izin Tinggal Kunjungan); its holder may not work.
        Itk => "ITK",
    }
}

impl PermitKind {
    /// True when the holder may work in Indonesia (ITAS, ITAP).
    pub fn allows_work(&self) -> bool {
        matches!(self, PermitKind::Itas | PermitKind::Itap)
    }
}

code_enum! {
    /// Lifecycle status of a stay permit.
    pub enum PermitStatus ("permit status") {
        /// In force (subject to its validity dates).
        Active => "active",
        /// Cancelled by immigration.
        Cancelled => "cancelled",
        /// The holder left Indonesia for good (exit permit only).
        Exited => "exited",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::test_support::from_str;

    #[test]
    fn kinds_use_upper_case_codes() {
        assert_eq!(PermitKind::parse("ITAS"), Ok(PermitKind::Itas));
        assert_eq!(PermitKind::parse("ITK"), Ok(PermitKind::Itk));
        assert_eq!(PermitKind::parse("itas").unwrap_err().code, "invalid_value");
        assert_eq!(PermitKind::Itap.to_string(), "ITAP");
        assert_eq!(from_str::<PermitKind>("ITAP").unwrap(), PermitKind::Itap);
    }

    #[test]
    fn only_itas_and_itap_allow_work() {
        assert!(PermitKind::Itas.allows_work());
        assert!(PermitKind::Itap.allows_work());
        assert!(!PermitKind::Itk.allows_work());
    }

    #[test]
    fn statuses() {
        assert_eq!(
            PermitStatus::ALL.map(|s| s.as_str()),
            ["active", "cancelled", "exited"]
        );
        assert_eq!(PermitStatus::parse("exited"), Ok(PermitStatus::Exited));
        assert!(PermitStatus::parse("expired").is_err());
    }
}
