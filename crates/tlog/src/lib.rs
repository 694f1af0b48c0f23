//! The pure parts of a transparency log, as Certificate Transparency
//! (RFC 9162, section 2.1) defines them: leaf and node hashing, the tree's
//! root, consistency and inclusion proofs, and signed checkpoints (a tree
//! size and root signed with Ed25519). Nothing here touches storage: proofs
//! are built from the hashes of complete subtrees, which the caller fetches.
//!
//! A node is addressed by `(level, index)`: it covers the leaves
//! `index·2^level .. (index+1)·2^level`; level 0 is the leaves themselves.

mod note;
mod proof;

pub use note::{Checkpoint, NoteError, Signer, Verifier};
pub use proof::{
    consistency_ranges, inclusion_ranges, range_nodes, verify_consistency, verify_inclusion,
    ProofError,
};

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// A node's address: level and index within the level.
pub type NodeId = (u8, u64);

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// The hash of a leaf holding `data`: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an inner node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The hash of a range from the hashes of the complete subtrees that make it
/// up, left to right (as [`range_nodes`] lists them): the rightmost pair is
/// joined first, as the tree's recursive definition splits.
pub fn fold(subtrees: &[Hash]) -> Option<Hash> {
    let (last, rest) = subtrees.split_last()?;
    Some(rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)))
}

/// The right edge of a tree: the roots of its complete subtrees, one per set
/// bit of the size, largest first. Enough to append leaves and compute the
/// root without the rest of the tree.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Edge {
    size: u64,
    subtrees: Vec<Hash>,
}

impl Edge {
    /// The edge of the empty tree.
    pub fn new() -> Edge {
        Edge::default()
    }

    /// The nodes that make up the edge of a tree of `size` leaves, largest first.
    pub fn node_ids(size: u64) -> Vec<NodeId> {
        range_nodes(0, size)
    }

    /// An edge from the hashes of [`Edge::node_ids`]`(size)`, in that order.
    pub fn from_nodes(size: u64, subtrees: Vec<Hash>) -> Option<Edge> {
        (subtrees.len() == size.count_ones() as usize).then_some(Edge { size, subtrees })
    }

    /// Leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf (its leaf hash) and returns every node it completes,
    /// the leaf first and then up the levels.
    pub fn push(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let index = self.size;
        let mut done = vec![((0u8, index), leaf)];
        let mut hash = leaf;
        let mut level = 0u8;
        // Each trailing one bit of the old size is a left sibling to join.
        while (index >> level) & 1 == 1 {
            let left = self.subtrees.pop().expect("a set bit has its subtree");
            hash = node_hash(&left, &hash);
            level += 1;
            done.push(((level, index >> level), hash));
        }
        self.subtrees.push(hash);
        self.size += 1;
        done
    }

    /// The root of the tree.
    pub fn root(&self) -> Hash {
        fold(&self.subtrees).unwrap_or_else(empty_root)
    }
}

#[cfg(test)]
mod tests;
