//! Rules 1, 2 and 9: permits against assignments.

use super::support::*;
use crate::rules::*;
use crate::{AgencyKind, AssignmentStatus, PermitKind, PermitStatus};

use RuleCode::{AssignmentWithoutPermit, PermitWithoutAssignment, SponsorMismatch};

#[test]
fn rule1_valid_itas_after_the_assignment_ended() {
    let mut f = clean_worker();
    f.assignments[0].status = AssignmentStatus::Ended;
    f.assignments[0].end_on = d("2025-05-26");
    let found = worker_findings(&f, PermitWithoutAssignment);
    assert_eq!(keys(&found), ["ITAS-1"]);
    let x = &found[0];
    assert_eq!(
        (x.severity, x.responsible),
        (Severity::High, AgencyKind::Manpower)
    );
    assert_eq!(evidence(x), ["ASG-1", "ITAS-1"]);
    assert_eq!(
        x.message_en,
        "Residence permit ITAS-1 (ITAS) sponsored by employer 8120000000001 is valid until \
         2025-12-31, but the worker has no active assignment on 2025-06-15; the latest \
         assignment ASG-1 has status ended and end date 2025-05-26."
    );
    assert!(x
        .message_id
        .contains("tidak memiliki penugasan aktif pada 2025-06-15"));
}

#[test]
fn rule1_an_assignment_past_its_end_date_is_not_active_whatever_its_status() {
    let mut f = clean_worker();
    f.assignments[0].end_on = d("2025-06-14");
    assert_eq!(
        keys(&worker_findings(&f, PermitWithoutAssignment)),
        ["ITAS-1"]
    );
    f.assignments.clear();
    let found = worker_findings(&f, PermitWithoutAssignment);
    assert!(found[0].message_en.ends_with("no assignment is on record."));
    assert_eq!(evidence(&found[0]), ["ITAS-1"]);
}

#[test]
fn rule1_not_when_an_assignment_is_active() {
    let mut f = clean_worker();
    // Ends today: still active, the last day included.
    f.assignments[0].end_on = today();
    assert_eq!(worker_findings(&f, PermitWithoutAssignment), vec![]);
}

#[test]
fn rule1_not_for_unsponsored_or_visit_permits() {
    let mut f = clean_worker();
    f.assignments.clear();
    f.permits[0].sponsor_nib = None;
    assert_eq!(worker_findings(&f, PermitWithoutAssignment), vec![]);
    f.permits = vec![permit("ITK-1", PermitKind::Itk, "2025-06-01", "2025-07-30")];
    assert_eq!(worker_findings(&f, PermitWithoutAssignment), vec![]);
}

#[test]
fn rule1_an_itap_counts_like_an_itas() {
    let mut f = clean_worker();
    f.assignments.clear();
    f.permits = vec![permit(
        "ITAP-1",
        PermitKind::Itap,
        "2023-01-01",
        "2027-12-31",
    )];
    assert_eq!(
        keys(&worker_findings(&f, PermitWithoutAssignment)),
        ["ITAP-1"]
    );
}

#[test]
fn rule2_active_assignment_after_the_itas_expired() {
    let mut f = clean_worker();
    f.permits[0].valid_until = d("2025-06-14");
    let found = worker_findings(&f, AssignmentWithoutPermit);
    assert_eq!(keys(&found), ["ASG-1"]);
    let x = &found[0];
    assert_eq!(
        (x.severity, x.responsible),
        (Severity::High, AgencyKind::Immigration)
    );
    assert_eq!(evidence(x), ["ASG-1", "ITAS-1"]);
    assert!(x
        .message_en
        .contains("no ITAS or ITAP is valid on 2025-06-15"));
    assert!(x
        .message_en
        .contains("ITAS-1 (ITAS) has status active and runs from 2025-01-01 to 2025-06-14"));
    assert!(x
        .message_id
        .contains("tidak ada ITAS atau ITAP yang berlaku pada 2025-06-15"));
}

#[test]
fn rule2_not_when_an_itas_is_valid_that_day() {
    let mut f = clean_worker();
    f.permits[0].valid_until = today();
    assert_eq!(worker_findings(&f, AssignmentWithoutPermit), vec![]);
    // An expired ITAS beside a valid ITAP is fine too.
    f.permits[0].valid_until = d("2025-06-01");
    f.permits.push(permit(
        "ITAP-1",
        PermitKind::Itap,
        "2025-06-02",
        "2030-06-01",
    ));
    assert_eq!(worker_findings(&f, AssignmentWithoutPermit), vec![]);
}

#[test]
fn rule2_cancelled_or_visit_permits_do_not_count() {
    let mut f = clean_worker();
    f.permits[0].status = PermitStatus::Cancelled;
    assert_eq!(
        keys(&worker_findings(&f, AssignmentWithoutPermit)),
        ["ASG-1"]
    );
    f.permits = vec![permit("ITK-1", PermitKind::Itk, "2025-06-01", "2025-07-30")];
    assert_eq!(
        keys(&worker_findings(&f, AssignmentWithoutPermit)),
        ["ASG-1"]
    );
    f.permits.clear();
    let found = worker_findings(&f, AssignmentWithoutPermit);
    assert!(found[0]
        .message_en
        .ends_with("no residence permit is on record."));
}

#[test]
fn rule2_not_without_an_active_assignment() {
    let mut f = clean_worker();
    f.permits.clear();
    f.assignments[0].status = AssignmentStatus::Terminated;
    assert_eq!(worker_findings(&f, AssignmentWithoutPermit), vec![]);
}

#[test]
fn rule9_itas_sponsored_by_another_employer() {
    let mut f = clean_worker();
    f.permits[0].sponsor_nib = Some(OTHER.into());
    let found = worker_findings(&f, SponsorMismatch);
    assert_eq!(keys(&found), ["ASG-1"]);
    let x = &found[0];
    assert_eq!(
        (x.severity, x.responsible),
        (Severity::Medium, AgencyKind::Immigration)
    );
    assert_eq!(evidence(x), ["ASG-1", "ITAS-1"]);
    assert_eq!(
        x.message_en,
        "Assignment ASG-1 is with employer 8120000000001, but the valid residence permit is \
         sponsored by another employer: ITAS-1 (sponsor 8120000000002)."
    );
}

#[test]
fn rule9_not_when_the_sponsor_is_the_employer_or_unknown() {
    let mut f = clean_worker();
    assert_eq!(worker_findings(&f, SponsorMismatch), vec![]);
    f.permits[0].sponsor_nib = None;
    assert_eq!(worker_findings(&f, SponsorMismatch), vec![]);
}

#[test]
fn rule9_not_for_a_permit_that_is_no_longer_valid() {
    let mut f = clean_worker();
    let mut old = itas("ITAS-0", "2024-01-01", "2024-12-31");
    old.sponsor_nib = Some(OTHER.into());
    f.permits.push(old);
    assert_eq!(worker_findings(&f, SponsorMismatch), vec![]);
}

#[test]
fn rule9_a_worker_lent_to_a_second_employer() {
    let mut f = clean_worker();
    let mut lent = assignment("ASG-9", "2025-03-01", "2025-09-30");
    lent.employer_nib = OTHER.into();
    f.assignments.push(lent);
    // The assignment with the sponsor is fine; the one at the other employer is not.
    assert_eq!(keys(&worker_findings(&f, SponsorMismatch)), ["ASG-9"]);
}
