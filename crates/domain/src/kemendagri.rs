//! The Kemendagri list of Indonesia's regions: 38 provinces, 514 regencies,
//! 7,285 districts and 83,762 villages with their names, embedded in the
//! binary (about 2.2 MB of text). Where it comes from, its licence and how
//! to update it: `docs/reference-data.md`.
//!
//! Each level is a text of `code<TAB>name` lines sorted by code. A level is
//! indexed on first use (one offset per line), and a code is found by binary
//! search: codes of one level have fixed-width segments, so text order is
//! code order.

use std::sync::OnceLock;

const PROVINCES: &str = include_str!("../data/regions/provinces.tsv");
const REGENCIES: &str = include_str!("../data/regions/regencies.tsv");
const DISTRICTS: &str = include_str!("../data/regions/districts.tsv");
const VILLAGES: &str = include_str!("../data/regions/villages.tsv");

/// One level's lines, by their start offsets in the text.
struct Level {
    text: &'static str,
    starts: Vec<u32>,
}

impl Level {
    fn index(text: &'static str) -> Level {
        let mut starts = vec![0u32];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(i, b)| *b == b'\n' && i + 1 < text.len())
                .map(|(i, _)| (i + 1) as u32),
        );
        Level { text, starts }
    }

    fn line(&self, i: usize) -> (&'static str, &'static str) {
        let start = self.starts[i] as usize;
        let end = self
            .starts
            .get(i + 1)
            .map_or(self.text.len(), |&e| e as usize);
        let line = self.text[start..end].trim_end_matches('\n');
        line.split_once('\t').unwrap_or((line, ""))
    }

    fn find(&self, code: &str) -> Option<&'static str> {
        let (mut lo, mut hi) = (0, self.starts.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (at, name) = self.line(mid);
            match at.cmp(code) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(name),
            }
        }
        None
    }
}

fn level(segments: usize) -> Option<&'static Level> {
    static LEVELS: [OnceLock<Level>; 4] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    let text = [PROVINCES, REGENCIES, DISTRICTS, VILLAGES].get(segments.checked_sub(1)?)?;
    Some(LEVELS[segments - 1].get_or_init(|| Level::index(text)))
}

/// The official name of a region given in canonical dotted form
/// (`64.02.06` → `Tenggarong`), or `None` when the list has no such region.
pub fn name(code: &str) -> Option<&'static str> {
    level(code.split('.').count())?.find(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_is_complete_and_sorted() {
        let counts = [1, 2, 3, 4].map(|segments| level(segments).map_or(0, |l| l.starts.len()));
        assert_eq!(counts, [38, 514, 7285, 83762]);
        for (segments, text) in [
            (1, PROVINCES),
            (2, REGENCIES),
            (3, DISTRICTS),
            (4, VILLAGES),
        ] {
            let codes: Vec<&str> = text
                .lines()
                .map(|l| l.split('\t').next().unwrap())
                .collect();
            assert!(codes.windows(2).all(|w| w[0] < w[1]), "level {segments}");
            assert!(codes.iter().all(|c| c.split('.').count() == segments));
        }
    }

    #[test]
    fn names_every_level_and_refuses_what_does_not_exist() {
        assert_eq!(name("64"), Some("Kalimantan Timur"));
        assert_eq!(name("64.02"), Some("Kabupaten Kutai Kartanegara"));
        assert_eq!(name("64.02.06"), Some("Tenggarong"));
        assert_eq!(name("11.01.01.2001"), Some("Keude Bakongan"));
        // The first and the last line of each level are found too.
        assert_eq!(name("11"), Some("Aceh"));
        let last = VILLAGES.lines().last().unwrap().split_once('\t').unwrap();
        assert_eq!(name(last.0), Some(last.1));
        for missing in [
            "64.99.99",
            "64.02.99",
            "99",
            "64.02.06.9999",
            "",
            "64.02.06.1.1",
        ] {
            assert_eq!(name(missing), None, "{missing}");
        }
    }
}
