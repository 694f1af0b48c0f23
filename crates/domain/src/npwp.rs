//! NPWP: the taxpayer number of an employer.

use crate::text::is_digits;
use crate::FieldError;

/// NPWP (Nomor Pokok Wajib Pajak): 16 digits; legacy 15-digit numbers get a leading `0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Npwp(String);

impl Npwp {
    /// Parses an NPWP, accepting `.`/`-` punctuation and the legacy 15-digit form.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        // Punctuation only groups digits ("99.999.999.9-999.999"), so it carries no meaning.
        let digits: String = input
            .trim()
            .chars()
            .filter(|c| !matches!(c, '.' | '-'))
            .collect();
        if !is_digits(&digits) {
            return Err(invalid());
        }
        match digits.len() {
            16 => Ok(Self(digits)),
            // The 16-digit format writes an old 15-digit NPWP with a leading 0 (PMK 112/2022).
            15 => Ok(Self(format!("0{digits}"))),
            _ => Err(invalid()),
        }
    }
}

fn invalid() -> FieldError {
    FieldError::new(
        "invalid_npwp",
        "NPWP must be 16 digits, or the legacy 15-digit form 99.999.999.9-999.999",
    )
}

text_newtype!(Npwp, Some("0012345678901000"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_16_digits() {
        assert_eq!(
            Npwp::parse("0012345678901000").unwrap().as_str(),
            "0012345678901000"
        );
        assert_eq!(
            Npwp::parse(" 3174012345678901 ").unwrap().as_str(),
            "3174012345678901"
        );
    }

    #[test]
    fn normalises_legacy_15_digit_form() {
        assert_eq!(
            Npwp::parse("01.234.567.8-901.000").unwrap().as_str(),
            "0012345678901000"
        );
        assert_eq!(
            Npwp::parse("012345678901000").unwrap().as_str(),
            "0012345678901000"
        );
        assert_eq!(
            Npwp::parse("99.999.999.9-999.999").unwrap().as_str(),
            "0999999999999999"
        );
    }

    #[test]
    fn legacy_and_new_forms_are_equal() {
        assert_eq!(
            Npwp::parse("01.234.567.8-901.000").unwrap(),
            Npwp::parse("0012345678901000").unwrap()
        );
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "",
            ".-",
            "01234567890100",
            "00123456789010001",
            "01.234.567.8/901.000",
            "01 234 567 8 901 000",
            "0123456789O1000",
        ] {
            assert_eq!(
                Npwp::parse(bad).unwrap_err().code,
                "invalid_npwp",
                "{bad:?}"
            );
        }
    }
}
