//! Work sites where foreign workers are employed.

code_enum! {
    /// The kind of a work site.
    pub enum SiteKind ("site kind") {
        /// Mine pit or concession area.
        Mine => "mine",
        /// Workers' camp (mess).
        Camp => "camp",
        /// Processing mill, e.g. a palm-oil mill.
        Mill => "mill",
        /// Plantation.
        Plantation => "plantation",
        /// Office.
        Office => "office",
        /// Port or jetty.
        Port => "port",
        /// Anything else.
        Other => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(SiteKind::ALL.len(), 7);
        for k in SiteKind::ALL {
            assert_eq!(SiteKind::parse(k.as_str()), Ok(k));
        }
        assert!(SiteKind::parse("factory").is_err());
    }
}
