//! Visa index: the immigration category printed on a visa or stay permit.

use crate::FieldError;

/// A visa index such as `E23` or `C312`; kept as text because the list keeps changing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VisaIndex(String);

impl VisaIndex {
    /// Parses a visa index: trimmed, upper-cased, 1 to 8 characters of `A-Z0-9`.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        let ok = (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric());
        if ok {
            Ok(Self(s.to_ascii_uppercase()))
        } else {
            Err(FieldError::new(
                "invalid_visa_index",
                "visa index must be 1 to 8 letters or digits, e.g. E23 or C312",
            ))
        }
    }
}

text_newtype!(VisaIndex, Some("E23"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_current_and_legacy_indexes() {
        assert_eq!(VisaIndex::parse("E23").unwrap().as_str(), "E23");
        assert_eq!(VisaIndex::parse(" c312 ").unwrap().as_str(), "C312");
        assert_eq!(VisaIndex::parse("E33G").unwrap().as_str(), "E33G");
    }

    #[test]
    fn rejects_bad_values() {
        for bad in ["", "   ", "E23A12345", "E-23", "E 23", "C3.12"] {
            assert_eq!(
                VisaIndex::parse(bad).unwrap_err().code,
                "invalid_visa_index",
                "{bad:?}"
            );
        }
    }
}
