//! Passport document numbers as printed in the machine-readable zone.

use crate::FieldError;

/// An ICAO 9303 passport number: 5 to 9 characters of `A-Z0-9`, stored upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PassportNo(String);

impl PassportNo {
    /// Parses a passport number, trimming and upper-casing it.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        // Checked before upper-casing: Unicode case mapping could turn e.g. 'ß' into "SS".
        let ok = (5..=9).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric());
        if ok {
            Ok(Self(s.to_ascii_uppercase()))
        } else {
            Err(FieldError::new(
                "invalid_passport_no",
                "passport number must be 5 to 9 letters A-Z or digits (no '<' filler, spaces or punctuation)",
            ))
        }
    }
}

text_newtype!(PassportNo, Some("E51234567"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(
            PassportNo::parse(" ej1234567 ").unwrap().as_str(),
            "EJ1234567"
        );
        assert_eq!(
            PassportNo::parse("M12345678").unwrap().as_str(),
            "M12345678"
        );
        assert_eq!(PassportNo::parse("A1234").unwrap().as_str(), "A1234");
        assert_eq!(
            PassportNo::parse("e12345678").unwrap(),
            PassportNo::parse("E12345678").unwrap()
        );
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            "",
            "A123",
            "E123456789",
            "E1234567<",
            "E12-34567",
            "E12 34567",
            "E1234567.",
            "ÉJ123456",
            "straße1",
        ] {
            assert_eq!(
                PassportNo::parse(bad).unwrap_err().code,
                "invalid_passport_no",
                "{bad:?}"
            );
        }
    }
}
