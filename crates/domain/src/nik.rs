//! NIK: the Indonesian national identity number of a companion worker.

use crate::text::is_n_digits;
use crate::FieldError;

/// NIK (Nomor Induk Kependudukan): exactly 16 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nik(String);

impl Nik {
    /// Parses a NIK, ignoring surrounding whitespace.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        if is_n_digits(s, 16) {
            Ok(Self(s.to_owned()))
        } else {
            Err(FieldError::new(
                "invalid_nik",
                "NIK must be exactly 16 digits",
            ))
        }
    }
}

text_newtype!(Nik, Some("6402061203900001"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_16_digits() {
        assert_eq!(
            Nik::parse(" 6402061505900001 ").unwrap().as_str(),
            "6402061505900001"
        );
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "",
            "640206150590000",
            "64020615059000012",
            "64020615059O0001",
            "6402.0615.0590.0001",
        ] {
            assert_eq!(Nik::parse(bad).unwrap_err().code, "invalid_nik", "{bad:?}");
        }
    }
}
