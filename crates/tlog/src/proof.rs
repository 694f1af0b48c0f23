//! Consistency and inclusion proofs (RFC 9162, sections 2.1.3 and 2.1.4).
//!
//! A proof is a list of subtree hashes. Building one is split in two: the
//! ranges of leaves whose hashes form the proof ([`consistency_ranges`],
//! [`inclusion_ranges`]), and for each range the complete subtrees it is made
//! of ([`range_nodes`]), whose stored hashes [`fold`](crate::fold) joins.

use crate::{node_hash, Hash, NodeId};

/// A proof that does not prove what it was given to prove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofError {
    /// The sizes or index cannot be proven (e.g. the first size is larger).
    Sizes,
    /// The proof has the wrong number of hashes or they do not lead to the roots.
    Mismatch,
}

impl std::fmt::Display for ProofError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProofError::Sizes => "these sizes cannot be proven against each other",
            ProofError::Mismatch => "the proof does not lead to the given roots",
        })
    }
}

impl std::error::Error for ProofError {}

/// The largest power of two strictly below `n` (for `n ≥ 2`).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The complete subtrees that make up the leaves `start..end`, left to right.
/// The hash of the range (as the tree defines it) is their [`fold`](crate::fold)
/// when `start` is a multiple of a power of two at least `end − start`, which
/// holds for every range a proof names and for `0..n`.
pub fn range_nodes(start: u64, end: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        let mut level = 0u8;
        while level < 63 {
            let size = 1u64 << (level + 1);
            if !at.is_multiple_of(size) || at + size > end {
                break;
            }
            level += 1;
        }
        out.push((level, at >> level));
        at += 1 << level;
    }
    out
}

/// The leaf ranges whose hashes prove that the tree of `first` leaves is a
/// prefix of the tree of `second` leaves, in proof order. Empty when
/// `first` is 0 or equal to `second`.
pub fn consistency_ranges(first: u64, second: u64) -> Result<Vec<(u64, u64)>, ProofError> {
    if first > second {
        return Err(ProofError::Sizes);
    }
    let mut out = Vec::new();
    if first > 0 && first < second {
        subproof(first, 0, second, true, &mut out);
    }
    Ok(out)
}

fn subproof(m: u64, start: u64, end: u64, whole: bool, out: &mut Vec<(u64, u64)>) {
    let n = end - start;
    if m == n {
        if !whole {
            out.push((start, end));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, start, start + k, whole, out);
        out.push((start + k, end));
    } else {
        subproof(m - k, start + k, end, false, out);
        out.push((start, start + k));
    }
}

/// The leaf ranges whose hashes prove that leaf `index` is in the tree of
/// `size` leaves, in proof order (nearest sibling first).
pub fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<(u64, u64)>, ProofError> {
    if index >= size {
        return Err(ProofError::Sizes);
    }
    let mut out = Vec::new();
    path(index, 0, size, &mut out);
    Ok(out)
}

fn path(m: u64, start: u64, end: u64, out: &mut Vec<(u64, u64)>) {
    let n = end - start;
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(m, start, start + k, out);
        out.push((start + k, end));
    } else {
        path(m - k, start + k, end, out);
        out.push((start, start + k));
    }
}

/// Checks that the tree of `first` leaves with root `first_root` is a prefix
/// of the tree of `second` leaves with root `second_root`.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if first > second {
        return Err(ProofError::Sizes);
    }
    if first == second {
        return if proof.is_empty() && first_root == second_root {
            Ok(())
        } else {
            Err(ProofError::Mismatch)
        };
    }
    if first == 0 {
        // Every tree extends the empty one.
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(ProofError::Mismatch)
        };
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    let Some((seed, rest)) = path.split_first() else {
        return Err(ProofError::Mismatch);
    };
    let (mut fnode, mut snode) = (first - 1, second - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        if snode == 0 {
            return Err(ProofError::Mismatch);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if fr == *first_root && sr == *second_root && snode == 0 {
        Ok(())
    } else {
        Err(ProofError::Mismatch)
    }
}

/// Checks that the leaf with hash `leaf` is at `index` in the tree of `size`
/// leaves with root `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::Sizes);
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::Mismatch);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if r == *root && snode == 0 {
        Ok(())
    } else {
        Err(ProofError::Mismatch)
    }
}
