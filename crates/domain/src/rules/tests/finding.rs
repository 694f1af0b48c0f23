//! Rule codes, severities, subjects and the finding constructor.

use crate::rules::*;
use crate::text::test_support::from_str;
use crate::AgencyKind;

#[test]
fn rule_codes_round_trip_and_match_domain_md() {
    let codes: Vec<&str> = RuleCode::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        codes,
        [
            "PERMIT_WITHOUT_ASSIGNMENT",
            "ASSIGNMENT_WITHOUT_PERMIT",
            "WORKING_ON_VISIT_PERMIT",
            "OUTSIDE_APPROVED_LOCATION",
            "PRESENT_AFTER_EXPIRY",
            "HEADCOUNT_OVER_QUOTA",
            "NO_COMPANION",
            "CLOSED_POSITION",
            "SPONSOR_MISMATCH",
            "PASSPORT_EXPIRES_FIRST",
            "IDENTITY_CONFLICT",
            "EXPIRING_SOON",
            "SEEN_OVER_PERMITTED",
            "EMPLOYER_NOT_REGISTERED",
            "POSSIBLE_SAME_PERSON",
        ]
    );
    for (i, r) in RuleCode::ALL.into_iter().enumerate() {
        assert_eq!(RuleCode::parse(r.as_str()), Some(r));
        assert_eq!(r.to_string(), r.as_str());
        assert_eq!(usize::from(r.number()), i + 1);
        assert_eq!(from_str::<RuleCode>(r.as_str()).unwrap(), r);
    }
    assert_eq!(RuleCode::parse("permit_without_assignment"), None);
    assert!(from_str::<RuleCode>("NOPE").is_err());
}

#[test]
fn severities_and_owners_follow_the_table() {
    use AgencyKind::*;
    use Severity::*;
    let table = RuleCode::ALL.map(|r| (r.severity(), r.responsible()));
    assert_eq!(
        table,
        [
            (High, Manpower),
            (High, Immigration),
            (High, Immigration),
            (Medium, Manpower),
            (High, Immigration),
            (Medium, Manpower),
            (Low, Manpower),
            (High, Manpower),
            (Medium, Immigration),
            (Low, Immigration),
            (Medium, Immigration),
            (Info, Immigration),
            (Medium, Manpower),
            (Low, Manpower),
            (Medium, Immigration),
        ]
    );
    let employer: Vec<u8> = RuleCode::ALL
        .iter()
        .filter(|r| r.is_employer_rule())
        .map(|r| r.number())
        .collect();
    assert_eq!(employer, [6, 8, 13, 14]);
}

#[test]
fn severity_codes_and_order() {
    assert!(Severity::High > Severity::Medium);
    assert!(Severity::Low > Severity::Info);
    assert_eq!(
        Severity::ALL.map(|s| s.as_str()),
        ["info", "low", "medium", "high"]
    );
    assert_eq!(Severity::parse("medium"), Some(Severity::Medium));
    assert_eq!(Severity::parse("HIGH"), None);
    assert_eq!(from_str::<Severity>("low").unwrap(), Severity::Low);
}

#[test]
fn subjects() {
    let w = Subject::Worker("w1".into());
    let e = Subject::Employer("8120000000001".into());
    assert_eq!((w.kind(), w.id()), ("worker", "w1"));
    assert_eq!((e.kind(), e.id()), ("employer", "8120000000001"));
}

#[test]
fn new_sorts_evidence_and_takes_the_rule_defaults() {
    let r = |t: &str, k: &str| RecordRef {
        record_type: t.into(),
        key: k.into(),
        version: 1,
        agency: "imigrasi".into(),
    };
    let f = Finding::new(
        RuleCode::ExpiringSoon,
        Subject::Worker("w1".into()),
        "A-1",
        vec![
            r("residence_permit", "B"),
            r("assignment", "A"),
            r("assignment", "A"),
        ],
        ("en".into(), "id".into()),
    );
    assert_eq!(
        f.evidence,
        vec![r("assignment", "A"), r("residence_permit", "B")]
    );
    assert_eq!(
        (f.severity, f.responsible),
        (Severity::Info, AgencyKind::Immigration)
    );
    assert_eq!(
        f.with_responsible(AgencyKind::Manpower).responsible,
        AgencyKind::Manpower
    );
}
