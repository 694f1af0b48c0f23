//! NIB: the business identification number issued by the OSS licensing system.

use crate::text::is_n_digits;
use crate::FieldError;

/// NIB (Nomor Induk Berusaha): exactly 13 digits, the employer's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nib(String);

impl Nib {
    /// Parses a NIB, ignoring surrounding whitespace.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        if is_n_digits(s, 13) {
            Ok(Self(s.to_owned()))
        } else {
            Err(FieldError::new(
                "invalid_nib",
                "NIB must be exactly 13 digits",
            ))
        }
    }
}

text_newtype!(Nib, Some("9120001234567"));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::test_support::from_str;

    #[test]
    fn accepts_13_digits_and_trims() {
        assert_eq!(
            Nib::parse("9120001234567").unwrap().as_str(),
            "9120001234567"
        );
        assert_eq!(
            Nib::parse("  9120001234567\n").unwrap().to_string(),
            "9120001234567"
        );
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "",
            "912000123456",
            "91200012345678",
            "91200012345a7",
            "9120-001234567",
            "91200 01234567",
        ] {
            let e = Nib::parse(bad).unwrap_err();
            assert_eq!(e.code, "invalid_nib", "{bad:?}");
        }
    }

    #[test]
    fn deserialises_through_parse() {
        let n: Nib = from_str(" 9120001234567 ").unwrap();
        assert_eq!(n.as_str(), "9120001234567");
        let e = from_str::<Nib>("123").unwrap_err();
        assert_eq!(e.to_string(), "NIB must be exactly 13 digits");
    }
}
