//! Rules 6, 8, 13 and 14: the employer's positions and headcounts, and an
//! employer records name but nobody registered.

use super::support::*;
use crate::rules::*;
use crate::{AgencyKind, ApprovalStatus, AssignmentStatus, PositionLevel};

use RuleCode::{ClosedPosition, EmployerNotRegistered, HeadcountOverQuota, SeenOverPermitted};

fn third_engineer() -> AssignmentFact {
    assignment("ASG-4", "2025-05-01", "2025-12-31")
}

#[test]
fn rule6_more_engineers_than_approved() {
    let mut f = clean_employer();
    f.assignments.push(third_engineer());
    let found = employer_findings(&f, HeadcountOverQuota);
    assert_eq!(keys(&found), ["RPTKA-1/P01"]);
    let x = &found[0];
    assert_eq!(x.subject, Subject::Employer(EMPLOYER.into()));
    assert_eq!(
        (x.severity, x.responsible),
        (Severity::Medium, AgencyKind::Manpower)
    );
    assert_eq!(evidence(x), ["ASG-1", "ASG-2", "ASG-4", "RPTKA-1"]);
    assert_eq!(
        x.message_en,
        "Position P01 \"Mining Engineer\" of RPTKA approval RPTKA-1 has 3 active assignments \
         on 2025-06-15, above its approved headcount of 2."
    );
}

#[test]
fn rule6_not_at_exactly_the_headcount() {
    // The clean employer fills P01's two places exactly.
    let mut f = clean_employer();
    assert_eq!(employer_findings(&f, HeadcountOverQuota), vec![]);
    // A third engineer whose assignment ended, or who starts later, does not count.
    let mut ended = third_engineer();
    ended.status = AssignmentStatus::Ended;
    let mut later = third_engineer();
    later.start_on = d("2025-07-01");
    f.assignments.extend([ended, later]);
    assert_eq!(employer_findings(&f, HeadcountOverQuota), vec![]);
}

#[test]
fn rule6_counts_per_approval_and_position() {
    let mut f = clean_employer();
    let mut elsewhere = third_engineer();
    elsewhere.approval_no = Some("RPTKA-2".into());
    f.assignments.push(elsewhere);
    let mut second = approval("RPTKA-2");
    second.positions[0].headcount = 0;
    f.approvals.push(second);
    assert_eq!(
        keys(&employer_findings(&f, HeadcountOverQuota)),
        ["RPTKA-2/P01"]
    );
}

fn with_hr_manager(f: &mut EmployerFacts) {
    let hr = position("P02", "HR Manager", PositionLevel::Manager, 1);
    f.approvals[0].positions.push(hr);
    let mut a = assignment("ASG-5", "2025-03-01", "2025-12-31");
    a.position_code = Some("P02".into());
    f.assignments.push(a);
}

#[test]
fn rule8_an_hr_manager_in_an_approval_in_force() {
    let mut f = clean_employer();
    with_hr_manager(&mut f);
    let found = employer_findings(&f, ClosedPosition);
    assert_eq!(keys(&found), ["RPTKA-1/P02"]);
    let x = &found[0];
    assert_eq!(
        (x.severity, x.responsible),
        (Severity::High, AgencyKind::Manpower)
    );
    assert_eq!(x.subject, Subject::Employer(EMPLOYER.into()));
    assert_eq!(evidence(x), ["ASG-5", "RPTKA-1"]);
    assert!(x
        .message_en
        .contains("position P02 \"HR Manager\", which is closed"));
    assert!(x
        .message_en
        .contains("1 active assignment(s) on 2025-06-15"));
    assert!(x.message_id.contains("tertutup bagi tenaga kerja asing"));
}

#[test]
fn rule8_an_unfilled_closed_position_is_still_reported() {
    let mut f = clean_employer();
    with_hr_manager(&mut f);
    f.assignments.retain(|a| a.r.key != "ASG-5");
    let found = employer_findings(&f, ClosedPosition);
    assert_eq!(evidence(&found[0]), ["RPTKA-1"]);
}

#[test]
fn rule8_not_for_open_titles_or_approvals_no_longer_in_force() {
    let mut f = clean_employer();
    assert_eq!(employer_findings(&f, ClosedPosition), vec![]);
    with_hr_manager(&mut f);
    f.approvals[0].valid_until = d("2025-06-14");
    assert_eq!(employer_findings(&f, ClosedPosition), vec![]);
    f.approvals[0].valid_until = d("2026-12-31");
    f.approvals[0].status = ApprovalStatus::Revoked;
    assert_eq!(employer_findings(&f, ClosedPosition), vec![]);
}

#[test]
fn rule13_more_people_counted_than_permitted() {
    let mut f = clean_employer();
    f.headcount_reports[0].1 = 4;
    let found = employer_findings(&f, SeenOverPermitted);
    assert_eq!(keys(&found), ["64.02.02"]);
    let x = &found[0];
    assert_eq!(
        (x.severity, x.responsible),
        (Severity::Medium, AgencyKind::Manpower)
    );
    assert_eq!(evidence(x), ["HC-1", "RPTKA-1"]);
    assert_eq!(
        x.message_en,
        "On 2025-06-10, 4 people were counted at employer 8120000000001 in district 64.02.02 \
         (Loa Kulu), but only 3 of its assignments active that day are permitted there by \
         RPTKA location scope."
    );
    assert!(x.message_id.contains("kecamatan 64.02.02 (Loa Kulu)"));
}

#[test]
fn rule13_not_when_the_count_matches() {
    let f = clean_employer();
    assert_eq!(employer_findings(&f, SeenOverPermitted), vec![]);
}

#[test]
fn rule13_counts_only_assignments_permitted_in_that_district_that_day() {
    let mut f = clean_employer();
    // Tenggarong Seberang is outside RPTKA-1's scope: nobody is permitted there.
    f.headcount_reports = vec![(headcount("HC-2", "2025-06-10", "64.02.16"), 1)];
    assert_eq!(
        keys(&employer_findings(&f, SeenOverPermitted)),
        ["64.02.16"]
    );
    // A regency-wide scope permits all three there.
    f.approvals[0].location_scope = vec![rc("64.02")];
    f.headcount_reports[0].1 = 3;
    assert_eq!(employer_findings(&f, SeenOverPermitted), vec![]);
    // On a date before ASG-2 started only two were permitted.
    f.headcount_reports[0].0.observed_on = d("2025-01-15");
    assert_eq!(
        keys(&employer_findings(&f, SeenOverPermitted)),
        ["64.02.16"]
    );
}

#[test]
fn rule13_an_assignment_with_an_unknown_approval_may_be_anywhere() {
    let mut f = clean_employer();
    f.headcount_reports = vec![(headcount("HC-2", "2025-06-10", "64.02.16"), 1)];
    f.assignments[0].approval_no = Some("RPTKA-9".into());
    assert_eq!(employer_findings(&f, SeenOverPermitted), vec![]);
}

#[test]
fn rule13_one_finding_per_district_from_the_largest_gap() {
    let mut f = clean_employer();
    f.headcount_reports = vec![
        (headcount("HC-1", "2025-06-10", "64.02.02.2001"), 4),
        (headcount("HC-2", "2025-06-12", "64.02.02.2002"), 6),
        (headcount("HC-3", "2025-06-12", "64.02.02.2003"), 2),
    ];
    let found = employer_findings(&f, SeenOverPermitted);
    assert_eq!(keys(&found), ["64.02.02"]);
    assert_eq!(evidence(&found[0]), ["HC-2", "RPTKA-1"]);
    assert!(found[0].message_en.starts_with("On 2025-06-12, 6 people"));
}

#[test]
fn rule14_an_employer_named_but_not_registered() {
    let mut f = clean_employer();
    assert!(employer_findings(&f, EmployerNotRegistered).is_empty());
    let permit = RecordRef {
        record_type: "residence_permit".into(),
        key: "ITAS-9".into(),
        version: 1,
        agency: "IMI".into(),
    };
    f.unregistered = Some(Unregistered {
        named_by: vec![permit],
    });
    let found = employer_findings(&f, EmployerNotRegistered);
    assert_eq!(found.len(), 1);
    let x = &found[0];
    assert_eq!(x.subject, Subject::Employer(EMPLOYER.into()));
    assert_eq!(
        (x.severity, x.responsible),
        (Severity::Low, AgencyKind::Manpower)
    );
    assert_eq!(evidence(x), ["ITAS-9"]);
    assert!(
        x.message_en
            .starts_with(&format!("Records name employer NIB {EMPLOYER}")),
        "{}",
        x.message_en
    );
    // Registered (or named by nothing): no finding.
    f.unregistered = None;
    assert!(employer_findings(&f, EmployerNotRegistered).is_empty());
}
