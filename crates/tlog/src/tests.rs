use super::*;

/// The tree hash as RFC 9162 defines it, straight from the definition.
fn naive_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
        }
    }
}

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

/// Every node a tree of `n` leaves has completed, by building it leaf by leaf.
fn nodes(n: u64) -> std::collections::HashMap<NodeId, Hash> {
    let mut edge = Edge::new();
    let mut all = std::collections::HashMap::new();
    for leaf in leaves(n) {
        all.extend(edge.push(leaf));
    }
    all
}

fn range_hash(all: &std::collections::HashMap<NodeId, Hash>, (a, b): (u64, u64)) -> Hash {
    let hashes: Vec<Hash> = range_nodes(a, b).iter().map(|id| all[id]).collect();
    fold(&hashes).expect("a proof range is never empty")
}

#[test]
fn small_trees_have_the_roots_of_the_definition() {
    let l = leaves(3);
    assert_eq!(Edge::new().root(), empty_root());
    let mut e = Edge::new();
    e.push(l[0]);
    assert_eq!(e.root(), l[0]);
    e.push(l[1]);
    assert_eq!(e.root(), node_hash(&l[0], &l[1]));
    e.push(l[2]);
    assert_eq!(e.root(), node_hash(&node_hash(&l[0], &l[1]), &l[2]));
    // The empty root is SHA-256 of the empty string.
    assert_eq!(
        empty_root()[..4],
        [0xe3, 0xb0, 0xc4, 0x42],
        "SHA-256(\"\") starts e3b0c442"
    );
}

#[test]
fn the_right_edge_gives_the_root_of_the_definition_at_every_size() {
    let all = leaves(2000);
    let mut edge = Edge::new();
    for (i, leaf) in all.iter().enumerate() {
        edge.push(*leaf);
        if i < 300 || i % 97 == 0 || i == 1999 {
            assert_eq!(edge.root(), naive_root(&all[..=i]), "size {}", i + 1);
        }
    }
}

#[test]
fn an_edge_reloaded_from_its_nodes_continues_the_same_tree() {
    let all = nodes(37);
    let ids = Edge::node_ids(37);
    let mut edge = Edge::from_nodes(37, ids.iter().map(|id| all[id]).collect()).unwrap();
    let more = leaves(50);
    for leaf in &more[37..] {
        edge.push(*leaf);
    }
    assert_eq!(edge.root(), naive_root(&more));
    assert!(Edge::from_nodes(37, vec![]).is_none());
}

#[test]
fn every_consistency_proof_verifies_and_fails_when_altered() {
    let all = nodes(64);
    let l = leaves(64);
    for n in 1..=64u64 {
        let root_n = naive_root(&l[..n as usize]);
        for m in 0..=n {
            let root_m = naive_root(&l[..m as usize]);
            let proof: Vec<Hash> = consistency_ranges(m, n)
                .unwrap()
                .into_iter()
                .map(|r| range_hash(&all, r))
                .collect();
            assert_eq!(
                verify_consistency(m, n, &root_m, &root_n, &proof),
                Ok(()),
                "{m} → {n}"
            );
            if m == 0 || m == n {
                continue;
            }
            // A changed hash, a missing hash, another first root or size all fail.
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i][0] ^= 1;
                assert!(verify_consistency(m, n, &root_m, &root_n, &bad).is_err());
            }
            assert!(verify_consistency(m, n, &root_m, &root_n, &proof[1..]).is_err());
            let mut other = root_m;
            other[31] ^= 0x80;
            assert!(verify_consistency(m, n, &other, &root_n, &proof).is_err());
            if m + 1 < n {
                assert!(verify_consistency(m + 1, n, &root_m, &root_n, &proof).is_err());
            }
        }
    }
    assert_eq!(consistency_ranges(5, 4), Err(ProofError::Sizes));
}

#[test]
fn every_inclusion_proof_verifies_and_fails_when_altered() {
    let all = nodes(40);
    let l = leaves(40);
    for n in 1..=40u64 {
        let root = naive_root(&l[..n as usize]);
        for i in 0..n {
            let proof: Vec<Hash> = inclusion_ranges(i, n)
                .unwrap()
                .into_iter()
                .map(|r| range_hash(&all, r))
                .collect();
            assert_eq!(
                verify_inclusion(i, n, &l[i as usize], &root, &proof),
                Ok(())
            );
            let other = l[((i + 1) % 40) as usize];
            if n > 1 {
                assert!(verify_inclusion(i, n, &other, &root, &proof).is_err());
            }
        }
    }
    assert_eq!(inclusion_ranges(4, 4), Err(ProofError::Sizes));
}

fn signer(name: &str, seed: u8) -> Signer {
    Signer::from_seed(name, &[seed; 32]).unwrap()
}

fn checkpoint() -> Checkpoint {
    Checkpoint {
        origin: "sinergi.example/audit".into(),
        size: 1234,
        root: leaf_hash(b"root"),
        time: 1_764_556_800,
    }
}

#[test]
fn a_signed_note_opens_with_its_key_only() {
    let s = signer("sinergi.example/audit", 7);
    let note = s.sign(&checkpoint());
    assert!(note.starts_with("sinergi.example/audit\n1234\n"));
    assert!(note.contains("\ntime 1764556800\n\n\u{2014} sinergi.example/audit "));
    let v = s.verifier();
    assert_eq!(
        Checkpoint::open(&note, std::slice::from_ref(&v)),
        Ok(checkpoint())
    );
    // Its text form round-trips.
    assert_eq!(Verifier::parse(&v.to_string()), Ok(v.clone()));
    let again = Signer::parse(&s.to_secret_string()).unwrap();
    assert_eq!(again.verifier(), v);

    // Another key with the same name, a changed byte, another origin, or no
    // final newline: refused.
    let other = signer("sinergi.example/audit", 8).verifier();
    assert_eq!(
        Checkpoint::open(&note, &[other]),
        Err(NoteError::Unverified)
    );
    let changed = note.replacen("1234", "1235", 1);
    assert_eq!(
        Checkpoint::open(&changed, std::slice::from_ref(&v)),
        Err(NoteError::Unverified)
    );
    let foreign = signer("elsewhere/audit", 7);
    let foreign_note = foreign.sign(&Checkpoint {
        origin: "elsewhere/audit".into(),
        ..checkpoint()
    });
    assert_eq!(
        Checkpoint::open(&foreign_note, std::slice::from_ref(&v)),
        Err(NoteError::Unverified)
    );
    assert!(Checkpoint::open(note.trim_end(), std::slice::from_ref(&v)).is_ok());
    assert!(matches!(
        Checkpoint::open("sinergi.example/audit\n12\n", &[v]),
        Err(NoteError::Malformed(_))
    ));
}

#[test]
fn a_file_of_notes_opens_note_by_note() {
    let s = signer("sinergi.example/audit", 7);
    let a = s.sign(&checkpoint());
    let b = s.sign(&Checkpoint {
        size: 2000,
        ..checkpoint()
    });
    let both = format!("{a}{b}");
    let opened = Checkpoint::open_all(&both, &[s.verifier()]).unwrap();
    assert_eq!(
        opened.iter().map(|c| c.size).collect::<Vec<_>>(),
        [1234, 2000]
    );
    let spaced = format!("{a}\n{b}\n");
    assert_eq!(
        Checkpoint::open_all(&spaced, &[s.verifier()])
            .unwrap()
            .len(),
        2
    );
    let tampered = format!("{a}{}", b.replacen("2000", "2001", 1));
    assert_eq!(
        Checkpoint::open_all(&tampered, &[s.verifier()]),
        Err(NoteError::Unverified)
    );
}

#[test]
fn keys_in_text_form_are_checked() {
    let v = signer("log", 1).verifier().to_string();
    assert!(Verifier::parse(&v).is_ok());
    let wrong_id = format!("log+00000000+{}", v.rsplit('+').next().unwrap());
    assert!(Verifier::parse(&wrong_id).is_err());
    assert!(Verifier::parse("log+abc").is_err());
    assert!(
        Signer::parse(&v).is_err(),
        "a public key is not a signing key"
    );
    assert!(Signer::from_seed("two words", &[0; 32]).is_err());
}
