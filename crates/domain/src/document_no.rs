//! Numbers of official documents: RPTKA approvals, stay permits, legacy notifikasi.

use crate::FieldError;

/// An opaque document number: 1 to 64 characters of `A-Za-z0-9./-_`, case kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentNo(String);

impl DocumentNo {
    /// Parses a document number, trimming surrounding whitespace.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        // A narrow charset keeps keys comparable across agencies: no spaces or invisible characters.
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'/' | b'-' | b'_'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(FieldError::new(
                "invalid_document_no",
                "document number must be 1 to 64 characters of letters, digits and . / - _",
            ))
        }
    }
}

text_newtype!(DocumentNo);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_keeps_case() {
        assert_eq!(
            DocumentNo::parse(" KEP.12345/PPTKA/PTA/2025 ")
                .unwrap()
                .as_str(),
            "KEP.12345/PPTKA/PTA/2025"
        );
        assert_eq!(
            DocumentNo::parse("2C21AB1234-x_y").unwrap().as_str(),
            "2C21AB1234-x_y"
        );
        assert_eq!(
            DocumentNo::parse(&"a".repeat(64)).unwrap().as_str().len(),
            64
        );
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            "".to_owned(),
            " ".to_owned(),
            "KEP 123".to_owned(),
            "KEP#1".to_owned(),
            "KÉP1".to_owned(),
            "a".repeat(65),
        ] {
            assert_eq!(
                DocumentNo::parse(&bad).unwrap_err().code,
                "invalid_document_no",
                "{bad:?}"
            );
        }
    }
}
