//! KBLI 2020: the Indonesian standard industrial classification of an employer's activity.

use crate::text::is_n_digits;
use crate::{FieldError, Sector};

/// A KBLI 2020 activity code: exactly 5 digits in an existing division.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kbli(String);

/// Inclusive 2-digit division ranges of each KBLI 2020 section; gaps (00, 04, 34, ...) do not exist.
const DIVISIONS: [(u8, u8, char); 21] = [
    (1, 3, 'A'),
    (5, 9, 'B'),
    (10, 33, 'C'),
    (35, 35, 'D'),
    (36, 39, 'E'),
    (41, 43, 'F'),
    (45, 47, 'G'),
    (49, 53, 'H'),
    (55, 56, 'I'),
    (58, 63, 'J'),
    (64, 66, 'K'),
    (68, 68, 'L'),
    (69, 75, 'M'),
    (77, 82, 'N'),
    (84, 84, 'O'),
    (85, 85, 'P'),
    (86, 88, 'Q'),
    (90, 93, 'R'),
    (94, 96, 'S'),
    (97, 98, 'T'),
    (99, 99, 'U'),
];

fn section_of_division(division: u8) -> Option<char> {
    DIVISIONS
        .iter()
        .find(|(lo, hi, _)| (*lo..=*hi).contains(&division))
        .map(|(_, _, section)| *section)
}

fn division(code: &str) -> u8 {
    // Only called on validated 5-digit codes.
    let b = code.as_bytes();
    (b[0] - b'0') * 10 + (b[1] - b'0')
}

impl Kbli {
    /// Parses a 5-digit KBLI 2020 code, ignoring surrounding whitespace.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        if !is_n_digits(s, 5) {
            return Err(FieldError::new(
                "invalid_kbli",
                "KBLI must be a 5-digit KBLI 2020 code",
            ));
        }
        if section_of_division(division(s)).is_none() {
            return Err(FieldError::new(
                "invalid_kbli",
                "KBLI code starts with a division that does not exist in KBLI 2020",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The KBLI 2020 section letter (A–U) of the code's division.
    pub fn section(&self) -> char {
        section_of_division(division(&self.0)).expect("validated by parse")
    }

    /// The sector used in statistics.
    pub fn sector(&self) -> Sector {
        Sector::from_section(self.section()).expect("every section letter has a sector")
    }
}

text_newtype!(Kbli, Some("05100"));

#[cfg(test)]
mod tests {
    use super::*;

    fn sector(code: &str) -> (char, Sector) {
        let k = Kbli::parse(code).unwrap();
        (k.section(), k.sector())
    }

    #[test]
    fn sectors_of_kukar_activities() {
        assert_eq!(sector("05100"), ('B', Sector::Mining)); // coal
        assert_eq!(sector("06100"), ('B', Sector::Mining)); // crude oil
        assert_eq!(sector("07295"), ('B', Sector::Mining)); // nickel
        assert_eq!(sector("09100"), ('B', Sector::Mining)); // oil and gas support
        assert_eq!(sector("09900"), ('B', Sector::Mining)); // mining support
        assert_eq!(sector("01262"), ('A', Sector::Agriculture)); // oil palm
        assert_eq!(sector("10431"), ('C', Sector::Manufacturing)); // palm-oil mill
        assert_eq!(sector("41011"), ('F', Sector::Construction));
        assert_eq!(sector("99000"), ('U', Sector::ExtraTerritorial));
        assert_eq!(sector("35101"), ('D', Sector::Electricity));
    }

    #[test]
    fn every_existing_division_maps_to_its_sector_letter() {
        for (lo, hi, letter) in DIVISIONS {
            for d in lo..=hi {
                let k = Kbli::parse(&format!("{d:02}000")).unwrap();
                assert_eq!(k.section(), letter);
                assert_eq!(k.sector().section(), letter);
            }
        }
    }

    #[test]
    fn rejects_missing_divisions() {
        for bad in [
            "00000", "04000", "34000", "40000", "44000", "48000", "54000", "57000", "67000",
            "76000", "83000", "89000",
        ] {
            assert_eq!(Kbli::parse(bad).unwrap_err().code, "invalid_kbli", "{bad}");
        }
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in ["", "0510", "051000", "05.100", "O5100", "B0510"] {
            assert_eq!(
                Kbli::parse(bad).unwrap_err().code,
                "invalid_kbli",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn trims_and_keeps_leading_zero() {
        assert_eq!(Kbli::parse(" 05100 ").unwrap().as_str(), "05100");
    }
}
