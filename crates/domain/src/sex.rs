//! Sex as printed in the passport.

code_enum! {
    /// Sex as in ICAO 9303 (`X` = unspecified).
    pub enum Sex ("sex") {
        /// Male.
        M => "M",
        /// Female.
        F => "F",
        /// Unspecified.
        X => "X",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(Sex::parse("F"), Ok(Sex::F));
        assert_eq!(Sex::X.as_str(), "X");
        assert!(Sex::parse("f").is_err());
        assert!(Sex::parse("<").is_err());
    }
}
