//! An agency's own identifier for a record it pushes.

use crate::FieldError;

/// An agency's own record id: 1 to 100 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceRef(String);

impl SourceRef {
    /// Parses a source reference, trimming surrounding whitespace.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        let len = s.chars().count();
        if len == 0 || len > 100 || s.chars().any(char::is_control) {
            return Err(FieldError::new(
                "invalid_source_ref",
                "source_ref must be 1 to 100 printable characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

text_newtype!(SourceRef);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_printable_text() {
        assert_eq!(
            SourceRef::parse(" DISNAKER/2025/0001 ").unwrap().as_str(),
            "DISNAKER/2025/0001"
        );
        assert_eq!(
            SourceRef::parse("lapangan #12 Tenggarong")
                .unwrap()
                .as_str(),
            "lapangan #12 Tenggarong"
        );
        assert!(SourceRef::parse(&"é".repeat(100)).is_ok());
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            "".to_owned(),
            "  ".to_owned(),
            "a\tb".to_owned(),
            "a\u{0}b".to_owned(),
            "a\nb".to_owned(),
            "x".repeat(101),
        ] {
            assert_eq!(
                SourceRef::parse(&bad).unwrap_err().code,
                "invalid_source_ref",
                "{bad:?}"
            );
        }
    }
}
