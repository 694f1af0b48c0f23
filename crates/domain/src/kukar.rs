//! Reference data for Kabupaten Kutai Kartanegara (Kukar), copied from
//! `shared/data/kukar-districts.csv` so that the domain needs no file at run time.

/// Kemendagri code of Kutai Kartanegara regency.
pub const KUKAR: &str = "64.02";

/// BPS code of Kutai Kartanegara regency (differs from Kemendagri's).
pub(crate) const KUKAR_BPS: &str = "6403";

/// Kemendagri code of the province (Kalimantan Timur); BPS uses the same `64`.
pub(crate) const KALTIM: &str = "64";

/// The 20 kecamatan: (Kemendagri code, BPS code if published, name).
/// The two newest districts have no published BPS code.
pub(crate) const KUKAR_DISTRICTS: [(&str, Option<&str>, &str); 20] = [
    ("64.02.01", Some("6403060"), "Muara Muntai"),
    ("64.02.02", Some("6403050"), "Loa Kulu"),
    ("64.02.03", Some("6403040"), "Loa Janan"),
    ("64.02.04", Some("6403120"), "Anggana"),
    ("64.02.05", Some("6403130"), "Muara Badak"),
    ("64.02.06", Some("6403090"), "Tenggarong"),
    ("64.02.07", Some("6403100"), "Sebulu"),
    ("64.02.08", Some("6403080"), "Kota Bangun"),
    ("64.02.09", Some("6403160"), "Kenohan"),
    ("64.02.10", Some("6403170"), "Kembang Janggut"),
    ("64.02.11", Some("6403150"), "Muara Kaman"),
    ("64.02.12", Some("6403180"), "Tabang"),
    ("64.02.13", Some("6403010"), "Samboja"),
    ("64.02.14", Some("6403020"), "Muara Jawa"),
    ("64.02.15", Some("6403030"), "Sanga Sanga"),
    ("64.02.16", Some("6403110"), "Tenggarong Seberang"),
    ("64.02.17", Some("6403140"), "Marang Kayu"),
    ("64.02.18", Some("6403070"), "Muara Wis"),
    ("64.02.19", None, "Kota Bangun Darat"),
    ("64.02.20", None, "Samboja Barat"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn table_is_consistent() {
        let codes: HashSet<_> = KUKAR_DISTRICTS.iter().map(|d| d.0).collect();
        let bps: HashSet<_> = KUKAR_DISTRICTS.iter().filter_map(|d| d.1).collect();
        assert_eq!(codes.len(), 20);
        assert_eq!(bps.len(), 18);
        for (code, bps, _) in KUKAR_DISTRICTS {
            assert!(code.starts_with("64.02."));
            if let Some(b) = bps {
                assert!(b.starts_with(KUKAR_BPS) && b.len() == 7);
            }
        }
    }

    #[test]
    fn table_agrees_with_the_kemendagri_list() {
        assert_eq!(crate::kemendagri::name(KALTIM), Some("Kalimantan Timur"));
        assert_eq!(
            crate::kemendagri::name(KUKAR),
            Some("Kabupaten Kutai Kartanegara")
        );
        for (code, _, name) in KUKAR_DISTRICTS {
            assert_eq!(crate::kemendagri::name(code), Some(name), "{code}");
        }
        // Kukar has exactly these 20 districts in the list.
        let listed = (1..=99)
            .filter(|n| crate::kemendagri::name(&format!("{KUKAR}.{n:02}")).is_some())
            .count();
        assert_eq!(listed, KUKAR_DISTRICTS.len());
    }
}
