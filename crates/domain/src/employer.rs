//! Employers: the companies that employ foreign workers.

code_enum! {
    /// The origin of an employer's capital.
    pub enum Capital ("capital") {
        /// Foreign investment (Penanaman Modal Asing).
        Pma => "PMA",
        /// Domestic investment (Penanaman Modal Dalam Negeri).
        Pmdn => "PMDN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(Capital::parse("PMA"), Ok(Capital::Pma));
        assert_eq!(Capital::parse("PMDN"), Ok(Capital::Pmdn));
        assert!(Capital::parse("pma").is_err());
        assert_eq!(Capital::ALL.map(|c| c.as_str()), ["PMA", "PMDN"]);
    }
}
