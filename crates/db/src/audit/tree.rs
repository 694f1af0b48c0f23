//! The audit log as a Merkle tree (RFC 9162) and its signed checkpoints.
//!
//! Entry `seq = s` is leaf `s − 1`; its leaf hash is computed from the
//! entry's SHA-256 (`audit_events.hash`). A background round, run by one
//! instance at a time, integrates the entries committed since the last round
//! (re-checking each entry's content hash and chain link), stores every
//! subtree they complete in `audit_tree`, and signs a checkpoint — origin,
//! size, root, time — with a key that is never in the database. Proofs are
//! folded from the stored subtrees.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use sinergi_tlog::{Checkpoint, Edge, Hash, NodeId, Signer};

use crate::audit::{event_hash, AuditRow};
use crate::conn::{read_snapshot, Db, DbConn};
use crate::error::StoreError;
use crate::schema::{audit_checkpoints, audit_events, audit_tree};

/// Entries integrated in one round at most.
pub const ROUND_LIMIT: i64 = 10_000;

/// Advisory lock key of the round on PostgreSQL ("SINE", 2): one instance
/// integrates and signs at a time; the others skip the round.
const ROUND_LOCK: (i32, i32) = (1_397_313_093, 2);

/// Leaves in the stored tree.
pub fn size(conn: &mut DbConn) -> Result<u64, StoreError> {
    let last: Option<i64> = audit_tree::table
        .filter(audit_tree::level.eq(0))
        .select(diesel::dsl::max(audit_tree::idx))
        .first(conn)?;
    Ok(last.map_or(0, |i| i as u64 + 1))
}

fn as_hash(bytes: &[u8]) -> Result<Hash, StoreError> {
    Hash::try_from(bytes)
        .map_err(|_| StoreError::Corrupt("a stored audit tree hash is not 32 bytes".into()))
}

/// The stored hashes of `ids`, in one query; a missing node is an error.
fn nodes(conn: &mut DbConn, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, StoreError> {
    let mut by_level: BTreeMap<u8, Vec<i64>> = BTreeMap::new();
    for (level, idx) in ids {
        by_level.entry(*level).or_default().push(*idx as i64);
    }
    if by_level.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = audit_tree::table.into_boxed();
    for (level, idxs) in by_level {
        q = q.or_filter(
            audit_tree::level
                .eq(i32::from(level))
                .and(audit_tree::idx.eq_any(idxs)),
        );
    }
    let rows: Vec<(i32, i64, Vec<u8>)> = q
        .select((audit_tree::level, audit_tree::idx, audit_tree::hash))
        .load(conn)?;
    let mut out = HashMap::with_capacity(rows.len());
    for (level, idx, hash) in rows {
        out.insert((level as u8, idx as u64), as_hash(&hash)?);
    }
    match ids.iter().find(|id| !out.contains_key(id)) {
        Some((level, idx)) => Err(StoreError::Corrupt(format!(
            "the audit tree lacks node ({level}, {idx})"
        ))),
        None => Ok(out),
    }
}

/// The hashes of leaf ranges, each folded from its stored subtrees.
fn range_hashes(conn: &mut DbConn, ranges: &[(u64, u64)]) -> Result<Vec<Hash>, StoreError> {
    let per_range: Vec<Vec<NodeId>> = ranges
        .iter()
        .map(|(a, b)| sinergi_tlog::range_nodes(*a, *b))
        .collect();
    let all: Vec<NodeId> = per_range.iter().flatten().copied().collect();
    let stored = nodes(conn, &all)?;
    Ok(per_range
        .iter()
        .map(|ids| {
            let hashes: Vec<Hash> = ids.iter().map(|id| stored[id]).collect();
            sinergi_tlog::fold(&hashes).unwrap_or_else(sinergi_tlog::empty_root)
        })
        .collect())
}

/// The root of the first `n` leaves of the stored tree.
pub fn root_at(conn: &mut DbConn, n: u64) -> Result<Hash, StoreError> {
    if n == 0 {
        return Ok(sinergi_tlog::empty_root());
    }
    Ok(range_hashes(conn, &[(0, n)])?[0])
}

fn check_sizes(conn: &mut DbConn, sizes: &[u64]) -> Result<(), StoreError> {
    let have = size(conn)?;
    match sizes.iter().find(|s| **s > have) {
        Some(s) => Err(StoreError::Corrupt(format!(
            "the audit tree has {have} entries, not {s}"
        ))),
        None => Ok(()),
    }
}

/// The consistency proof from the tree of `first` leaves to that of `second`.
pub fn consistency(conn: &mut DbConn, first: u64, second: u64) -> Result<Vec<Hash>, StoreError> {
    check_sizes(conn, &[second])?;
    let ranges = sinergi_tlog::consistency_ranges(first, second)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    range_hashes(conn, &ranges)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves.
pub fn inclusion(conn: &mut DbConn, index: u64, tree_size: u64) -> Result<Vec<Hash>, StoreError> {
    check_sizes(conn, &[tree_size])?;
    let ranges = sinergi_tlog::inclusion_ranges(index, tree_size)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    range_hashes(conn, &ranges)
}

/// The leaf hash of an entry whose SHA-256 is `hex`.
pub fn leaf_of(hex: &str) -> Option<Hash> {
    let mut bytes = [0u8; 32];
    // Exactly 32 bytes: a shorter or longer text does not decode into them.
    base16ct::mixed::decode(hex, &mut bytes)
        .ok()
        .filter(|b| b.len() == 32)?;
    Some(sinergi_tlog::leaf_hash(&bytes))
}

/// A stored subtree hash.
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_tree)]
struct TreeNode {
    level: i32,
    idx: i64,
    hash: Vec<u8>,
}

/// A stored checkpoint.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = audit_checkpoints)]
pub struct StoredCheckpoint {
    /// Entries it covers.
    pub tree_size: i64,
    /// Root over them.
    pub root: Vec<u8>,
    /// When it was signed.
    pub signed_at: NaiveDateTime,
    /// The signed note, verbatim.
    pub note: String,
}

/// The newest stored checkpoint, or the one of exactly `tree_size` entries.
pub fn checkpoint(
    conn: &mut DbConn,
    tree_size: Option<u64>,
) -> Result<Option<StoredCheckpoint>, StoreError> {
    let q = audit_checkpoints::table
        .select(StoredCheckpoint::as_select())
        .into_boxed();
    let q = match tree_size {
        Some(n) => q.filter(audit_checkpoints::tree_size.eq(n as i64)),
        None => q.order(audit_checkpoints::tree_size.desc()),
    };
    Ok(q.first(conn).optional()?)
}

/// What one round did.
#[derive(Debug, Clone, PartialEq)]
pub enum Round {
    /// Another instance holds the round.
    Busy,
    /// Nothing new since the last checkpoint.
    Unchanged {
        /// Entries in the tree.
        size: u64,
    },
    /// New entries were integrated and a checkpoint signed.
    Signed {
        /// The checkpoint.
        checkpoint: Checkpoint,
        /// Its signed note.
        note: String,
    },
    /// The stored log does not extend the newest checkpoint the signer
    /// trusts, or an entry's content or link does not hold: nothing is signed.
    Halted {
        /// What is wrong.
        reason: String,
    },
}

/// Integrates new entries into the tree and signs a checkpoint when it grew.
/// Call after the journal's queues were drained (`sequencer::drain`): it
/// takes what is in `audit_events`. `trusted` is the newest checkpoint the
/// caller signed or verified before (kept in memory); the newest stored
/// checkpoint counts too when it opens with `signer`'s key. The tree is
/// signed only if it extends the larger of them (a database rewritten behind
/// the signer's back is not signed over).
///
/// The entries are read, re-checked and folded into subtrees in a read
/// snapshot, holding no lock: on SQLite, whose one writer also stores the
/// audit events of reads, a round used to hold that writer while it hashed
/// and stored a second's worth of events (about 100 ms at 6,000 reads a
/// second), and every read waited. The new subtrees are then stored in parts
/// of [`STORE_NODES`], a write transaction each, so reads' events are stored
/// between them; each part first makes sure no other round integrated
/// anything since (otherwise this round is `Busy`), and the last part signs
/// the checkpoint.
pub fn round(
    db: &Db,
    signer: &Signer,
    trusted: Option<&Checkpoint>,
    now: NaiveDateTime,
) -> Result<Round, StoreError> {
    let survey = db.read(|c| read_snapshot(c, |c| survey(c, signer, trusted)))?;
    let growth = match survey {
        Survey::Done(round) => return Ok(round),
        Survey::Grew(growth) => growth,
    };
    let parts = leaf_aligned(&growth.nodes, STORE_NODES);
    let mut stored = growth.before;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let sign = last.then_some((signer, &growth.edge, now));
        match db.write(|c| store(c, stored, growth.signed_up_to, part, sign))? {
            Stored::Moved => return Ok(Round::Busy),
            Stored::Leaves(n) => stored = n,
            Stored::Done(round) => return Ok(round),
        }
    }
    Ok(Round::Unchanged { size: stored })
}

/// Subtrees stored per write transaction of a round (a few milliseconds of
/// SQLite's writer).
const STORE_NODES: usize = 1000;

/// `nodes` cut into parts of about `n`, each ending before a leaf: every
/// part leaves a tree whose completed subtrees are all stored.
fn leaf_aligned(nodes: &[TreeNode], n: usize) -> Vec<&[TreeNode]> {
    let mut parts = Vec::new();
    let mut rest = nodes;
    while rest.len() > n {
        let cut = rest[n..]
            .iter()
            .position(|node| node.level == 0)
            .map_or(rest.len(), |p| n + p);
        let (part, tail) = rest.split_at(cut);
        parts.push(part);
        rest = tail;
    }
    if !rest.is_empty() || parts.is_empty() {
        parts.push(rest);
    }
    parts
}

/// New entries, re-checked and folded, ready to store.
struct Growth {
    /// Leaves in the stored tree when they were read.
    before: u64,
    /// Size of the newest stored checkpoint when they were read.
    signed_up_to: u64,
    /// The subtrees the new entries complete.
    nodes: Vec<TreeNode>,
    /// The tree's edge after them.
    edge: Edge,
}

/// What a round's snapshot found.
enum Survey {
    /// Nothing to store: the round's outcome.
    Done(Round),
    /// Subtrees to store (and maybe a checkpoint to sign).
    Grew(Growth),
}

fn survey(
    conn: &mut DbConn,
    signer: &Signer,
    trusted: Option<&Checkpoint>,
) -> Result<Survey, StoreError> {
    let verifier = [signer.verifier()];
    let newest = checkpoint(conn, None)?;
    let signed_up_to = newest.as_ref().map_or(0, |c| c.tree_size as u64);
    let stored = newest.and_then(|c| Checkpoint::open(&c.note, &verifier).ok());
    let anchor = [stored, trusted.cloned()]
        .into_iter()
        .flatten()
        .max_by_key(|c| c.size);
    let before = size(conn)?;
    if let Some(a) = &anchor {
        if a.size > before {
            return Ok(Survey::Done(Round::Halted {
                reason: format!(
                    "the audit tree holds {before} entries, fewer than the {} of the last checkpoint",
                    a.size
                ),
            }));
        }
        if root_at(conn, a.size)? != a.root {
            return Ok(Survey::Done(Round::Halted {
                reason: format!(
                    "the audit tree no longer has the root of the checkpoint of {} entries",
                    a.size
                ),
            }));
        }
    }
    let (edge, nodes) = match integrate(conn, before)? {
        Ok(grown) => grown,
        Err(reason) => return Ok(Survey::Done(Round::Halted { reason })),
    };
    // A size is signed once (a checkpoint by an earlier key stays as it was).
    if nodes.is_empty() && (edge.size() == 0 || edge.size() <= signed_up_to) {
        return Ok(Survey::Done(Round::Unchanged { size: edge.size() }));
    }
    Ok(Survey::Grew(Growth {
        before,
        signed_up_to,
        nodes,
        edge,
    }))
}

/// What one write of a round did.
enum Stored {
    /// The tree or the checkpoints moved since the snapshot: another round
    /// got there first.
    Moved,
    /// Subtrees stored; the tree now has this many leaves.
    Leaves(u64),
    /// The round's last write: its outcome.
    Done(Round),
}

/// Stores a part of what [`survey`] found on a tree of `before` leaves, and
/// with `sign` the checkpoint over the grown tree.
fn store(
    conn: &mut DbConn,
    before: u64,
    signed_before: u64,
    nodes: &[TreeNode],
    sign: Option<(&Signer, &Edge, NaiveDateTime)>,
) -> Result<Stored, StoreError> {
    if let DbConn::Postgresql(pg) = conn {
        if !crate::sequencer::advisory(pg, ROUND_LOCK, crate::sequencer::Advisory::Try)? {
            return Ok(Stored::Moved);
        }
    }
    let signed_up_to = checkpoint(conn, None)?.map_or(0, |c| c.tree_size as u64);
    if size(conn)? != before || signed_up_to != signed_before {
        return Ok(Stored::Moved);
    }
    crate::insert_all!(conn, audit_tree::table, nodes);
    let leaves = before + nodes.iter().filter(|n| n.level == 0).count() as u64;
    let Some((signer, edge, now)) = sign else {
        return Ok(Stored::Leaves(leaves));
    };
    // A size is signed once (a checkpoint by an earlier key stays as it was).
    if edge.size() == 0 || edge.size() <= signed_up_to {
        return Ok(Stored::Done(Round::Unchanged { size: edge.size() }));
    }
    let checkpoint = Checkpoint {
        origin: signer.name().to_string(),
        size: edge.size(),
        root: edge.root(),
        time: now.and_utc().timestamp(),
    };
    let note = signer.sign(&checkpoint);
    diesel::insert_into(audit_checkpoints::table)
        .values(StoredCheckpoint {
            tree_size: checkpoint.size as i64,
            root: checkpoint.root.to_vec(),
            signed_at: now,
            note: note.clone(),
        })
        .execute(conn)?;
    Ok(Stored::Done(Round::Signed { checkpoint, note }))
}

/// Folds the entries after the first `before` into the tree, checking each
/// one's content hash and link: the edge after them and the subtrees they
/// complete. `Err(reason)` when one does not hold.
#[allow(clippy::type_complexity)]
fn integrate(
    conn: &mut DbConn,
    before: u64,
) -> Result<Result<(Edge, Vec<TreeNode>), String>, StoreError> {
    let ids = Edge::node_ids(before);
    let mut wanted = ids.clone();
    if before > 0 {
        wanted.push((0, before - 1));
    }
    let stored = nodes(conn, &wanted)?;
    let mut edge = Edge::from_nodes(before, ids.iter().map(|id| stored[id]).collect())
        .expect("one node per set bit");
    let mut prev_hash = crate::audit::GENESIS_HASH.to_string();
    if before > 0 {
        let last: String = audit_events::table
            .find(before as i64)
            .select(audit_events::hash)
            .first(conn)
            .optional()?
            .unwrap_or_default();
        if leaf_of(&last) != Some(stored[&(0, before - 1)]) {
            return Ok(Err(format!(
                "audit event {before} is not the entry the tree holds"
            )));
        }
        prev_hash = last;
    }
    let rows: Vec<AuditRow> = audit_events::table
        .select(AuditRow::as_select())
        .filter(audit_events::seq.gt(before as i64))
        .order(audit_events::seq.asc())
        .limit(ROUND_LIMIT)
        .load(conn)?;
    let mut new_nodes = Vec::with_capacity(rows.len() * 2);
    for row in rows {
        let seq = edge.size() as i64 + 1;
        if row.seq != seq {
            // Positions commit in order: a gap is an entry not yet visible.
            break;
        }
        if row.prev_hash != prev_hash {
            return Ok(Err(format!(
                "audit event {seq} does not link to the event before"
            )));
        }
        if event_hash(&row) != row.hash {
            return Ok(Err(format!(
                "audit event {seq} does not match its hash (edited)"
            )));
        }
        let Some(leaf) = leaf_of(&row.hash) else {
            return Ok(Err(format!("audit event {seq} has a malformed hash")));
        };
        new_nodes.extend(
            edge.push(leaf)
                .into_iter()
                .map(|((level, idx), hash)| TreeNode {
                    level: i32::from(level),
                    idx: idx as i64,
                    hash: hash.to_vec(),
                }),
        );
        prev_hash = row.hash;
    }
    Ok(Ok((edge, new_nodes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{self, AuditEntry};

    fn node(level: i32, idx: i64) -> TreeNode {
        TreeNode {
            level,
            idx,
            hash: vec![0; 32],
        }
    }

    /// The subtrees of `leaves` leaves, in the order a round folds them.
    fn folded(leaves: u64) -> Vec<TreeNode> {
        let mut edge = Edge::from_nodes(0, vec![]).expect("empty tree");
        let mut out = Vec::new();
        for i in 0..leaves {
            let leaf = sinergi_tlog::leaf_hash(&i.to_be_bytes());
            out.extend(
                edge.push(leaf)
                    .into_iter()
                    .map(|((level, idx), _)| node(i32::from(level), idx as i64)),
            );
        }
        out
    }

    #[test]
    fn parts_end_before_a_leaf_and_cover_every_subtree() {
        for (leaves, n) in [(0, 10), (1, 10), (7, 3), (100, 10), (1_000, 64)] {
            let nodes = folded(leaves);
            let parts = leaf_aligned(&nodes, n);
            assert_eq!(
                parts.iter().map(|p| p.len()).sum::<usize>(),
                nodes.len(),
                "{leaves} leaves in parts of {n}"
            );
            for (i, part) in parts.iter().enumerate() {
                if !part.is_empty() {
                    assert_eq!(part[0].level, 0, "a part starts with a leaf");
                }
                if i + 1 < parts.len() {
                    assert!(part.len() >= n, "only the last part is short");
                    // A part never ends before the subtrees its last leaf completes.
                    assert_eq!(parts[i + 1][0].level, 0);
                }
            }
        }
        assert_eq!(leaf_aligned(&[], 10).len(), 1);
    }

    #[test]
    fn a_round_that_lost_the_race_stores_nothing() {
        let scratch = crate::conn::ScratchDb::new(2);
        let db = &scratch.db;
        let signer = Signer::from_seed("sinergi.test/tree", &[7; 32]).expect("key");
        let entries: Vec<AuditEntry> = (0..10)
            .map(|i| AuditEntry {
                occurred_at: chrono::Utc::now().naive_utc(),
                action: "read".into(),
                resource_type: "worker".into(),
                resource_key: Some(format!("W-{i}")),
                status: 200,
                request_id: format!("req-{i}"),
                ..Default::default()
            })
            .collect();
        db.write(|c| audit::append_many(c, &entries))
            .expect("logged");
        let now = chrono::Utc::now().naive_utc();
        // Two rounds read the same snapshot; the second one stores first.
        let Survey::Grew(late) = db
            .read(|c| read_snapshot(c, |c| survey(c, &signer, None)))
            .expect("survey")
        else {
            panic!("ten new entries");
        };
        assert!(matches!(
            round(db, &signer, None, now).expect("round"),
            Round::Signed { .. }
        ));
        let stored = db
            .write(|c| {
                store(
                    c,
                    late.before,
                    late.signed_up_to,
                    &late.nodes,
                    Some((&signer, &late.edge, now)),
                )
            })
            .expect("store");
        assert!(matches!(stored, Stored::Moved));
        assert_eq!(db.read(size).expect("size"), 10);
        let signed: i64 = db
            .read(|c| Ok(audit_checkpoints::table.count().get_result(c)?))
            .expect("count");
        assert_eq!(signed, 1, "the tree is signed once");
    }
}
