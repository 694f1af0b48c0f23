//! The Kemendagri list of Indonesia's regions: 38 provinces, 514 regencies,
//! 7,285 districts and 83,762 villages with their names, embedded in the
//! binary (about 2.2 MB of text). Where it comes from, its licence and how
//! to update it: `docs/reference-data.md`.
//!
//! Each level is a text of `code<TAB>name` lines sorted by code; codes of
//! one level have fixed-width segments, so text order is code order. A code
//! is found by binary search over the text itself, landing on a byte and
//! stepping back to the start of its line: a look-up reads a few dozen
//! lines and the text stays where the binary maps it. (An index of line
//! offsets built on first use read the whole 2 MB village list into memory
//! and kept 330 KB of offsets besides.)

const PROVINCES: &str = include_str!("../data/regions/provinces.tsv");
const REGENCIES: &str = include_str!("../data/regions/regencies.tsv");
const DISTRICTS: &str = include_str!("../data/regions/districts.tsv");
const VILLAGES: &str = include_str!("../data/regions/villages.tsv");

/// The line of `text` that holds byte `at`: its start and end (the newline
/// or the end of the text).
fn line_around(text: &str, at: usize) -> (usize, usize) {
    let b = text.as_bytes();
    let start = b[..at]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |i| i + 1);
    let end = b[at..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |i| at + i);
    (start, end)
}

/// The name of `code` in one level's text.
fn find(text: &'static str, code: &str) -> Option<&'static str> {
    // `lo` is always the start of a line and `hi` the start of one or the
    // end of the text: the lines in between are those left to search.
    let (mut lo, mut hi) = (0, text.len());
    while lo < hi {
        let (start, end) = line_around(text, lo + (hi - lo) / 2);
        let line = &text[start..end];
        let (at, name) = line.split_once('\t').unwrap_or((line, ""));
        match at.cmp(code) {
            std::cmp::Ordering::Less => lo = end + 1,
            std::cmp::Ordering::Greater => hi = start,
            std::cmp::Ordering::Equal => return Some(name),
        }
    }
    None
}

/// The text of the level with `segments` dotted segments.
fn level(segments: usize) -> Option<&'static str> {
    [PROVINCES, REGENCIES, DISTRICTS, VILLAGES]
        .get(segments.checked_sub(1)?)
        .copied()
}

/// The official name of a region given in canonical dotted form
/// (`64.02.06` → `Tenggarong`), or `None` when the list has no such region.
pub fn name(code: &str) -> Option<&'static str> {
    find(level(code.split('.').count())?, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_is_complete_and_sorted() {
        let counts = [1, 2, 3, 4].map(|segments| level(segments).map_or(0, |l| l.lines().count()));
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
        for text in [PROVINCES, REGENCIES, DISTRICTS, VILLAGES] {
            // Every line of every level is found, first, last and between.
            for line in text.lines() {
                let (code, n) = line.split_once('\t').unwrap();
                assert_eq!(name(code), Some(n), "{code}");
            }
        }
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
