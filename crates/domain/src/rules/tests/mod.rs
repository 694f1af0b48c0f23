//! Tests of the compliance rules: for each rule, the case it must catch and
//! the near miss it must not. Every test bends one clean fixture.

mod employer;
mod finding;
mod permits;
mod presence;
mod support;
mod worker;

use super::*;
use support::*;

#[test]
fn a_clean_worker_and_employer_have_no_findings() {
    assert_eq!(evaluate_worker(&clean_worker(), today()), vec![]);
    assert_eq!(evaluate_employer(&clean_employer(), today()), vec![]);
}

/// A worker who breaks many rules at once: lent out, passport expiring,
/// identity disputed, seen out of scope, everything ending soon.
fn troubled_worker() -> WorkerFacts {
    let mut f = clean_worker();
    f.permits[0].sponsor_nib = Some(OTHER.into());
    f.permits[0].valid_until = d("2025-07-01");
    f.assignments[0].end_on = d("2025-07-10");
    f.assignments[0].has_companion = false;
    f.passports[0].expires_on = Some(d("2025-06-30"));
    f.identities[1].full_name = "WANG WEIWEI".into();
    f.presence.push(seen("PR-2", "2025-06-11", "64.02.16"));
    f
}

#[test]
fn findings_are_sorted_and_independent_of_input_order() {
    let f = troubled_worker();
    let found = evaluate_worker(&f, today());
    let keys: Vec<(&str, &str)> = found
        .iter()
        .map(|x| (x.rule.as_str(), x.discriminator.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("OUTSIDE_APPROVED_LOCATION", "PR-2"),
            ("NO_COMPANION", "ASG-1"),
            ("SPONSOR_MISMATCH", "ASG-1"),
            ("PASSPORT_EXPIRES_FIRST", "ASG-1"),
            ("PASSPORT_EXPIRES_FIRST", "ITAS-1"),
            ("IDENTITY_CONFLICT", ""),
            ("EXPIRING_SOON", "ASG-1"),
            ("EXPIRING_SOON", "ITAS-1"),
        ]
    );
    let mut shuffled = f.clone();
    shuffled.presence.reverse();
    shuffled.identities.reverse();
    shuffled.passports.insert(0, passport("X0000001", None));
    assert_eq!(evaluate_worker(&shuffled, today()), found);
}

#[test]
fn messages_name_keys_and_dates_but_never_the_person() {
    let found = evaluate_worker(&troubled_worker(), today());
    assert!(!found.is_empty());
    for x in &found {
        for m in [&x.message_en, &x.message_id] {
            assert!(!m.contains(PASSPORT), "{m}");
            assert!(!m.contains("WANG"), "{m}");
            assert!(m.ends_with('.'), "{m}");
        }
        assert_ne!(x.message_en, x.message_id);
        assert!(!x.evidence.is_empty(), "{}", x.rule);
        assert!(x.evidence.windows(2).all(|w| w[0] < w[1]), "{}", x.rule);
        assert_eq!(x.subject, Subject::Worker("w-1".into()));
        assert_eq!(x.severity, x.rule.severity());
    }
}

#[test]
fn list_joins_like_a_sentence() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(list_en(&s(&[])), "");
    assert_eq!(list_en(&s(&["A"])), "A");
    assert_eq!(list_en(&s(&["A", "B"])), "A and B");
    assert_eq!(list_id(&s(&["A", "B", "C"])), "A, B dan C");
}

#[test]
fn a_candidate_pair_is_a_finding_on_its_first_worker_without_names_or_numbers() {
    let mut f = clean_worker();
    assert!(evaluate_worker(&f, d("2025-06-15"))
        .iter()
        .all(|x| x.rule != RuleCode::PossibleSamePerson));
    f.possible_same.push(PossibleSameFact {
        link: rr("person_link", "link-1", "SINERGI"),
        other: "w-2".into(),
        score_permille: 998,
        outcomes: vec![
            ("passport_no".into(), "transposition".into()),
            ("full_name".into(), "equal".into()),
            ("birth_date".into(), "unknown".into()),
        ],
    });
    let found: Vec<_> = evaluate_worker(&f, d("2025-06-15"))
        .into_iter()
        .filter(|x| x.rule == RuleCode::PossibleSamePerson)
        .collect();
    assert_eq!(found.len(), 1);
    let x = &found[0];
    assert_eq!(x.subject, Subject::Worker("w-1".into()));
    assert_eq!(x.discriminator, "w-2");
    assert_eq!(x.responsible, crate::AgencyKind::Immigration);
    assert_eq!(x.evidence[0].key, "link-1");
    assert!(
        x.message_en
            .contains("score 0.998; passport_no transposition and full_name equal"),
        "{}",
        x.message_en
    );
    assert!(x.message_id.contains("skor 0,998"), "{}", x.message_id);
    assert!(!x.message_en.contains(PASSPORT) && !x.message_en.contains(NAME));
}
