//! Kinds of agencies that use Sinergi.

code_enum! {
    /// The kind of an agency, which decides which records it may write.
    pub enum AgencyKind ("agency kind") {
        /// Immigration office (stay permits).
        Immigration => "immigration",
        /// Ministry or office of manpower (RPTKA approvals, assignments).
        Manpower => "manpower",
        /// Regional office such as Kesbangpol.
        Regional => "regional",
        /// District (kecamatan) office.
        District => "district",
        /// Sinergi administrator; manages clients, writes no records.
        Admin => "admin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::test_support::from_str;
    use crate::FieldError;

    #[test]
    fn codes_round_trip() {
        for k in AgencyKind::ALL {
            assert_eq!(AgencyKind::parse(k.as_str()), Ok(k));
            assert_eq!(k.to_string(), k.as_str());
        }
        assert_eq!(AgencyKind::ALL.len(), 5);
    }

    #[test]
    fn rejects_unknown_codes_listing_allowed_values() {
        let e = AgencyKind::parse("Immigration").unwrap_err();
        assert_eq!(e.code, "invalid_value");
        assert!(
            e.message
                .contains("immigration, manpower, regional, district, admin"),
            "{}",
            e.message
        );
        assert!(AgencyKind::parse("").is_err());
        let e: FieldError = AgencyKind::parse(" manpower").unwrap_err();
        assert_eq!(e.code, "invalid_value");
    }

    #[test]
    fn serde_uses_codes() {
        assert_eq!(
            from_str::<AgencyKind>("district").unwrap(),
            AgencyKind::District
        );
        assert!(from_str::<AgencyKind>("DISTRICT").is_err());
    }
}
