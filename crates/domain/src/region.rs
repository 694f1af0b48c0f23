//! Region codes: Kemendagri administrative codes, with BPS codes accepted on input.

use crate::kukar::{KALTIM, KUKAR, KUKAR_BPS, KUKAR_DISTRICTS};
use crate::text::is_n_digits;
use crate::FieldError;

/// Administrative level of a region code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegionLevel {
    /// Provinsi, e.g. `64`.
    Province,
    /// Kabupaten/kota, e.g. `64.02`.
    Regency,
    /// Kecamatan, e.g. `64.02.06`.
    District,
    /// Desa/kelurahan, e.g. `64.02.06.1003`.
    Village,
}

/// A Kemendagri region code in canonical dotted form (`64`, `64.02`, `64.02.06`, `64.02.06.1003`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode(String);

/// Digit counts of the dotted segments, province first.
const SEGMENT_WIDTHS: [usize; 4] = [2, 2, 2, 4];

impl RegionCode {
    /// Parses a Kemendagri dotted code, or a known BPS code which is converted.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        if s.contains('.') {
            return parse_dotted(s);
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        match s.len() {
            // Province codes are the same in both systems.
            2 => parse_dotted(s),
            4 | 7 | 10 => from_bps(s).ok_or_else(|| {
                FieldError::new(
                    "unknown_bps_code",
                    "unknown BPS region code; send the Kemendagri dotted code instead (e.g. 64.02.06)",
                )
            }),
            _ => Err(invalid()),
        }
    }

    /// Parses as [`RegionCode::parse`] and accepts only a region of the
    /// Kemendagri list (`64.99.99` is well-formed but does not exist): how
    /// every code an agency sends is read. Stored codes are read back with
    /// `parse`, so a list update never makes stored data unreadable.
    pub fn parse_known(input: &str) -> Result<Self, FieldError> {
        let code = Self::parse(input)?;
        if code.name().is_none() {
            return Err(FieldError::new(
                "unknown_region_code",
                "no region of the Kemendagri list of provinces, regencies, districts and \
                 villages has this code",
            ));
        }
        Ok(code)
    }

    /// The region's official name (`64.02.06` → `Tenggarong`), when the
    /// Kemendagri list has it.
    pub fn name(&self) -> Option<&'static str> {
        crate::kemendagri::name(&self.0)
    }

    /// The administrative level, from the number of segments.
    pub fn level(&self) -> RegionLevel {
        match self.0.split('.').count() {
            1 => RegionLevel::Province,
            2 => RegionLevel::Regency,
            3 => RegionLevel::District,
            _ => RegionLevel::Village,
        }
    }

    /// True when this region equals `prefix` or lies inside it (whole segments only).
    pub fn is_within(&self, prefix: &RegionCode) -> bool {
        // Canonical codes have fixed-width segments, so a prefix followed by a dot is a parent.
        self.0 == prefix.0
            || (self.0.starts_with(&prefix.0)
                && self.0.as_bytes().get(prefix.0.len()) == Some(&b'.'))
    }

    /// The kecamatan this code lies in, when it is at district level or below.
    pub fn district(&self) -> Option<RegionCode> {
        match self.level() {
            RegionLevel::Province | RegionLevel::Regency => None,
            RegionLevel::District => Some(self.clone()),
            // "PP.RR.DD" is the first 8 characters of a village code.
            RegionLevel::Village => Some(Self(self.0[..8].to_owned())),
        }
    }

    /// The name of the district (kecamatan) this code lies in, if any.
    pub fn district_name(&self) -> Option<&'static str> {
        self.district()?.name()
    }

    /// The code of Kutai Kartanegara regency (`64.02`).
    pub fn kukar() -> RegionCode {
        Self(KUKAR.to_owned())
    }

    /// All 20 Kukar districts with their names, in Kemendagri code order.
    pub fn kukar_districts() -> impl Iterator<Item = (RegionCode, &'static str)> {
        KUKAR_DISTRICTS
            .iter()
            .map(|(code, _, name)| (Self((*code).to_owned()), *name))
    }
}

/// All 20 Kukar districts with their names, in Kemendagri code order.
pub fn kukar_districts() -> impl Iterator<Item = (RegionCode, &'static str)> {
    RegionCode::kukar_districts()
}

fn invalid() -> FieldError {
    FieldError::new(
        "invalid_region_code",
        "region code must be a Kemendagri code like 64, 64.02, 64.02.06 or 64.02.06.1003",
    )
}

fn parse_dotted(s: &str) -> Result<RegionCode, FieldError> {
    let segments: Vec<&str> = s.split('.').collect();
    if segments.len() > SEGMENT_WIDTHS.len() {
        return Err(invalid());
    }
    // No Kemendagri code uses an all-zero segment at any level.
    let ok = segments
        .iter()
        .zip(SEGMENT_WIDTHS)
        .all(|(seg, width)| is_n_digits(seg, width) && seg.bytes().any(|b| b != b'0'));
    if ok {
        Ok(RegionCode(s.to_owned()))
    } else {
        Err(invalid())
    }
}

fn from_bps(s: &str) -> Option<RegionCode> {
    // Only the BPS codes Sinergi has reference data for can be translated;
    // BPS village codes never can, their numbering differs from Kemendagri's.
    let code = if s == KALTIM {
        KALTIM
    } else if s == KUKAR_BPS {
        KUKAR
    } else {
        KUKAR_DISTRICTS
            .iter()
            .find(|(_, bps, _)| *bps == Some(s))
            .map(|(code, _, _)| *code)?
    };
    Some(RegionCode(code.to_owned()))
}

text_newtype!(RegionCode, Some("64.02.06"));

#[cfg(test)]
mod tests {
    use super::*;

    fn rc(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn accepts_dotted_codes_at_every_level() {
        assert_eq!(rc("64").level(), RegionLevel::Province);
        assert_eq!(rc("64.02").level(), RegionLevel::Regency);
        assert_eq!(rc("64.02.06").level(), RegionLevel::District);
        assert_eq!(rc(" 64.02.06.1003 ").level(), RegionLevel::Village);
        assert_eq!(rc("64.02.06.1003").as_str(), "64.02.06.1003");
        assert!(RegionLevel::Village > RegionLevel::District);
    }

    #[test]
    fn rejects_malformed_codes() {
        for bad in [
            "",
            "6",
            "640",
            "64.2",
            "64.021",
            "64.02.1",
            "64.02.06.103",
            "64.02.06.10033",
            "64.02.06.1003.01",
            "64..02",
            ".64",
            "64.",
            "64-02",
            "6a.02",
            "00",
            "64.00",
            "64.02.00",
            "64.02.06.0000",
            "640206",
        ] {
            assert_eq!(
                RegionCode::parse(bad).unwrap_err().code,
                "invalid_region_code",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn converts_known_bps_codes() {
        assert_eq!(rc("64").as_str(), "64");
        assert_eq!(rc("6403").as_str(), "64.02");
        assert_eq!(rc("6403090").as_str(), "64.02.06");
        assert_eq!(rc("6403090").district_name(), Some("Tenggarong"));
        assert_eq!(rc("6403180").as_str(), "64.02.12");
        assert_eq!(rc("6403010").district_name(), Some("Samboja"));
    }

    #[test]
    fn rejects_unknown_bps_codes() {
        for unknown in [
            "6402",
            "3171",
            "6403190",
            "6403000",
            "6401010",
            "6403090001",
        ] {
            let e = RegionCode::parse(unknown).unwrap_err();
            assert_eq!(e.code, "unknown_bps_code", "{unknown}");
            assert!(e.message.contains("Kemendagri"));
        }
    }

    #[test]
    fn is_within_respects_segments() {
        let village = rc("64.02.06.1003");
        assert!(village.is_within(&rc("64.02")));
        assert!(village.is_within(&rc("64.02.06")));
        assert!(village.is_within(&rc("64")));
        assert!(village.is_within(&village));
        assert!(!village.is_within(&rc("64.02.07")));
        assert!(!rc("64.02").is_within(&village));
        assert!(!rc("64.02.16").is_within(&rc("64.02.01")));
        // "64.1x" style overlaps cannot happen between canonical codes, but check the boundary anyway.
        assert!(!rc("64.21").is_within(&rc("64.02")));
        assert!(!rc("65.02").is_within(&rc("64")));
    }

    #[test]
    fn district_of_a_code() {
        assert_eq!(rc("64.02.06.1003").district(), Some(rc("64.02.06")));
        assert_eq!(rc("64.02.06").district(), Some(rc("64.02.06")));
        assert_eq!(rc("64.02").district(), None);
        assert_eq!(rc("64").district(), None);
        assert_eq!(rc("64.02.06.1003").district_name(), Some("Tenggarong"));
        assert_eq!(rc("64.02.20").district_name(), Some("Samboja Barat"));
        assert_eq!(rc("64.02").district_name(), None);
        // Every district of Indonesia is named, not only Kukar's.
        assert_eq!(rc("64.01.06").district_name(), Some("Long Ikis"));
        assert_eq!(rc("64.99.99").district_name(), None);
    }

    #[test]
    fn only_regions_of_the_kemendagri_list_are_known() {
        for code in ["64", "64.02", "64.02.06", "64.02.06.1003", "6403"] {
            let known = RegionCode::parse_known(code).unwrap();
            assert!(known.name().is_some(), "{code}");
        }
        assert_eq!(rc("64.02.06.1003").name(), Some("Bukit Biru"));
        for code in ["64.99.99", "64.02.21", "99", "64.02.06.9999"] {
            assert!(RegionCode::parse(code).is_ok(), "{code} is well-formed");
            let e = RegionCode::parse_known(code).unwrap_err();
            assert_eq!(e.code, "unknown_region_code", "{code}");
            assert!(!e.message.contains(code), "never echoed: {}", e.message);
        }
        assert_eq!(
            RegionCode::parse_known("64.2").unwrap_err().code,
            "invalid_region_code"
        );
    }

    #[test]
    fn kukar_reference() {
        let all: Vec<_> = kukar_districts().collect();
        assert_eq!(all.len(), 20);
        assert_eq!(RegionCode::kukar_districts().count(), 20);
        assert!(all
            .iter()
            .all(|(code, _)| code.is_within(&RegionCode::kukar())));
        assert!(all.contains(&(rc("64.02.06"), "Tenggarong")));
        assert_eq!(RegionCode::kukar().as_str(), KUKAR);
    }
}
