//! Disclosure control for statistics: counts of one or two people are not
//! shown (primary suppression), and no hidden count may be derived from what
//! one answer shows (secondary suppression). `docs/statistics.md` says what
//! this protects against and what it does not.

/// Counts from 1 to this minus one are hidden.
pub const SUPPRESS_BELOW: u64 = 3;

/// What of one breakdown may be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// Per cell, in the order given: whether its count is hidden.
    pub hidden: Vec<bool>,
    /// Whether the total is hidden too.
    pub total_hidden: bool,
}

/// Decides which cells of a breakdown whose cells add up to its total are
/// hidden. Small cells (1 or 2) are hidden; then, while the hidden cells
/// could be worked out from the total and the shown cells — one hidden cell,
/// or hidden cells adding up to less than twice the threshold (so few
/// combinations of small values are possible) — the smallest shown cell is
/// hidden as well; when no shown cell is left and that still holds, the
/// total is hidden.
pub fn protect(counts: &[u64]) -> Shown {
    let mut hidden: Vec<bool> = counts
        .iter()
        .map(|n| (1..SUPPRESS_BELOW).contains(n))
        .collect();
    let exposed = |hidden: &[bool]| {
        let k = hidden.iter().filter(|h| **h).count();
        let sum: u64 = counts
            .iter()
            .zip(hidden)
            .filter(|(_, h)| **h)
            .map(|(n, _)| n)
            .sum();
        k > 0 && (k == 1 || sum < 2 * SUPPRESS_BELOW)
    };
    while exposed(&hidden) {
        let smallest = counts
            .iter()
            .enumerate()
            .filter(|(i, n)| !hidden[*i] && **n > 0)
            .min_by_key(|(i, n)| (**n, *i))
            .map(|(i, _)| i);
        match smallest {
            Some(i) => hidden[i] = true,
            None => break,
        }
    }
    let total_hidden = exposed(&hidden);
    Shown {
        hidden,
        total_hidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value each hidden cell could have, given the total and the shown cells.
    fn derivable(counts: &[u64], s: &Shown) -> bool {
        if s.total_hidden {
            return false;
        }
        let hidden: Vec<usize> = (0..counts.len()).filter(|i| s.hidden[*i]).collect();
        let sum: u64 = hidden.iter().map(|i| counts[*i]).sum();
        // With values of at least 1 each, the hidden cells are fixed only when
        // one is hidden or all are 1; small sums leave few combinations.
        !hidden.is_empty() && (hidden.len() == 1 || sum == hidden.len() as u64)
    }

    #[test]
    fn small_counts_are_hidden_and_large_ones_shown() {
        let s = protect(&[40, 12, 7]);
        assert_eq!(s.hidden, [false, false, false]);
        assert!(!s.total_hidden);
    }

    #[test]
    fn one_small_cell_takes_another_with_it() {
        // total 5 = 4 + 1: showing 4 and 5 would give the 1 away.
        let s = protect(&[4, 1]);
        assert_eq!(s.hidden, [true, true]);
        assert!(
            s.total_hidden,
            "4 + 1 hidden alone still adds up to less than 6"
        );
        let s = protect(&[40, 9, 2]);
        assert_eq!(s.hidden, [false, true, true]);
        assert!(!s.total_hidden);
        assert!(!derivable(&[40, 9, 2], &s));
    }

    #[test]
    fn two_small_cells_need_a_third() {
        let s = protect(&[30, 5, 1, 1]);
        assert_eq!(s.hidden, [false, true, true, true]);
        assert!(!s.total_hidden);
    }

    #[test]
    fn no_breakdown_leaves_a_small_cell_derivable() {
        let mut cases = 0;
        for a in 0..8u64 {
            for b in 0..8u64 {
                for c in 0..8u64 {
                    let counts = [a, b, c];
                    let s = protect(&counts);
                    for (i, n) in counts.iter().enumerate() {
                        if (1..SUPPRESS_BELOW).contains(n) {
                            assert!(s.hidden[i], "{counts:?}");
                        }
                    }
                    assert!(!derivable(&counts, &s), "{counts:?} -> {s:?}");
                    cases += 1;
                }
            }
        }
        assert_eq!(cases, 512);
    }
}
