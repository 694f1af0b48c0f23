//! Countries: issuing states of passports and nationalities of workers.

use crate::countries::COUNTRIES;
use crate::FieldError;

/// An officially assigned ISO 3166-1 alpha-3 country code, e.g. `IDN`, `CHN`, `KOR`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode(&'static str);

impl CountryCode {
    /// Parses an alpha-3 code, trimming and upper-casing it.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        let found = if s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphabetic()) {
            let upper = s.to_ascii_uppercase();
            COUNTRIES
                .binary_search_by(|(code, _)| (*code).cmp(upper.as_str()))
                .ok()
        } else {
            None
        };
        match found {
            Some(i) => Ok(Self(COUNTRIES[i].0)),
            None => Err(FieldError::new(
                "invalid_country",
                "country must be an ISO 3166-1 alpha-3 code such as IDN, CHN or KOR",
            )),
        }
    }

    /// English short name, e.g. "China", "South Korea".
    pub fn name(&self) -> &'static str {
        COUNTRIES
            .binary_search_by(|(code, _)| (*code).cmp(self.0))
            .map(|i| COUNTRIES[i].1)
            .expect("validated by parse")
    }

    /// Every officially assigned country code, in code order.
    pub fn all() -> impl Iterator<Item = CountryCode> {
        COUNTRIES.iter().map(|(code, _)| Self(code))
    }
}

text_newtype!(CountryCode, Some("CHN"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_complete() {
        assert_eq!(COUNTRIES.len(), 249);
        assert!(COUNTRIES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(COUNTRIES.iter().all(|(c, n)| c.len() == 3
            && c.bytes().all(|b| b.is_ascii_uppercase())
            && !n.is_empty()));
        assert_eq!(CountryCode::all().count(), 249);
    }

    #[test]
    fn accepts_assigned_codes_in_any_case() {
        assert_eq!(CountryCode::parse("IDN").unwrap().name(), "Indonesia");
        assert_eq!(CountryCode::parse("CHN").unwrap().name(), "China");
        assert_eq!(CountryCode::parse("KOR").unwrap().name(), "South Korea");
        assert_eq!(CountryCode::parse(" jpn ").unwrap().as_str(), "JPN");
        assert_eq!(CountryCode::parse("Ind").unwrap().name(), "India");
        for c in ["MYS", "AUS", "PHL", "THA", "LKA", "ABW", "ZWE", "SSD"] {
            assert!(CountryCode::parse(c).is_ok(), "{c}");
        }
    }

    #[test]
    fn rejects_unassigned_or_malformed() {
        // XKX (Kosovo) and the ICAO-only "D" are not officially assigned ISO codes.
        for bad in ["XYZ", "CH", "china", "", "XKX", "D", "ID N", "C1N", "ÇHN"] {
            assert_eq!(
                CountryCode::parse(bad).unwrap_err().code,
                "invalid_country",
                "{bad:?}"
            );
        }
    }
}
