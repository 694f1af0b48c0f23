//! Person names as written in the passport's machine-readable zone.

use crate::FieldError;

/// A person's full name: upper-case, single spaces, letters plus `'`, `-` and `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonName(String);

const MAX_CHARS: usize = 120;

impl PersonName {
    /// Parses a name: MRZ `<` fillers become spaces, whitespace collapses, letters are upper-cased.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        // The typographic apostrophe (’) is how many systems store O'BRIEN; treat it as '.
        let spaced: String = input
            .chars()
            .map(|c| match c {
                '<' => ' ',
                '\u{2019}' => '\'',
                other => other,
            })
            .collect();
        let name = spaced
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_uppercase();
        let len = name.chars().count();
        if len == 0 || len > MAX_CHARS {
            return Err(FieldError::new(
                "invalid_name",
                format!("name must be 1 to {MAX_CHARS} characters"),
            ));
        }
        if !name
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | '\'' | '-' | '.'))
        {
            return Err(FieldError::new(
                "invalid_name",
                "name may contain only letters, spaces, apostrophes, hyphens and periods",
            ));
        }
        if !name.chars().any(char::is_alphabetic) {
            return Err(FieldError::new(
                "invalid_name",
                "name must contain a letter",
            ));
        }
        Ok(Self(name))
    }
}

text_newtype!(PersonName, Some("ZHANG WEI"));

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> String {
        PersonName::parse(s).unwrap().as_str().to_owned()
    }

    #[test]
    fn normalises_mrz_and_case() {
        assert_eq!(name("ZHANG<<WEI"), "ZHANG WEI");
        assert_eq!(name("zhang wei"), "ZHANG WEI");
        assert_eq!(name("  Kim   Min-jun\t"), "KIM MIN-JUN");
        assert_eq!(name("O\u{2019}Brien<<Sean<<<<<<"), "O'BRIEN SEAN");
        assert_eq!(name("Jr. Santos"), "JR. SANTOS");
        assert_eq!(name("Müller"), "MÜLLER");
        assert_eq!(name("张伟"), "张伟");
    }

    #[test]
    fn length_limits() {
        assert_eq!(name(&"A".repeat(120)).chars().count(), 120);
        assert_eq!(
            PersonName::parse(&"A".repeat(121)).unwrap_err().code,
            "invalid_name"
        );
        // Collapsing happens before counting.
        assert!(PersonName::parse(&format!("A{}B", " ".repeat(200))).is_ok());
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            "",
            "   ",
            "<<<",
            "ZHANG1 WEI",
            "ZHANG_WEI",
            "ZHANG@WEI",
            "ZHANG,WEI",
            "-",
            "'.-",
        ] {
            assert_eq!(
                PersonName::parse(bad).unwrap_err().code,
                "invalid_name",
                "{bad:?}"
            );
        }
    }
}
