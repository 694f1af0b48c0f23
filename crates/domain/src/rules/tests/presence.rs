//! Rules 3, 4 and 5: where and when the worker was seen.

use super::support::*;
use crate::rules::*;
use crate::{AgencyKind, AssignmentStatus, PermitKind, PermitStatus};

use RuleCode::{OutsideApprovedLocation, PresentAfterExpiry, WorkingOnVisitPermit};

/// A visitor: only an ITK, no assignment, seen at the pit on 2025-06-10.
fn visitor() -> WorkerFacts {
    let mut f = clean_worker();
    f.permits = vec![permit("ITK-1", PermitKind::Itk, "2025-06-01", "2025-07-30")];
    f.assignments.clear();
    f
}

#[test]
fn rule3_seen_at_a_work_site_on_a_visit_permit() {
    let found = worker_findings(&visitor(), WorkingOnVisitPermit);
    assert_eq!(keys(&found), ["PR-1"]);
    let x = &found[0];
    assert_eq!(
        (x.severity, x.responsible),
        (Severity::High, AgencyKind::Immigration)
    );
    assert_eq!(evidence(x), ["PR-1", "ITK-1"]);
    assert_eq!(
        x.message_en,
        "Seen on 2025-06-10 in region 64.02.02.2001 at a work site of employer 8120000000001, \
         while the only valid permit is visit permit (ITK) ITK-1, which does not allow work."
    );
    assert!(x.message_id.contains("izin tinggal kunjungan (ITK) ITK-1"));
}

#[test]
fn rule3_with_an_employer_but_not_at_a_site() {
    let mut f = visitor();
    f.presence[0].at_work_site = false;
    let found = worker_findings(&f, WorkingOnVisitPermit);
    assert!(found[0].message_en.contains("with employer 8120000000001,"));
}

#[test]
fn rule3_not_when_an_itas_is_also_valid() {
    let mut f = visitor();
    f.permits.push(itas("ITAS-1", "2025-06-05", "2025-12-31"));
    assert_eq!(worker_findings(&f, WorkingOnVisitPermit), vec![]);
}

#[test]
fn rule3_not_when_seen_away_from_work() {
    let mut f = visitor();
    f.presence[0].at_work_site = false;
    f.presence[0].employer_nib = None;
    assert_eq!(worker_findings(&f, WorkingOnVisitPermit), vec![]);
}

#[test]
fn rule3_is_judged_on_the_observation_date() {
    let mut f = visitor();
    // The ITK starts after the sighting: no permit at all that day, which is not rule 3.
    f.permits[0].valid_from = d("2025-06-12");
    assert_eq!(worker_findings(&f, WorkingOnVisitPermit), vec![]);
    // An ITAS that had ended before the sighting leaves the ITK as the only valid permit.
    f.permits[0].valid_from = d("2025-06-01");
    f.permits.push(itas("ITAS-0", "2024-06-01", "2025-05-31"));
    assert_eq!(keys(&worker_findings(&f, WorkingOnVisitPermit)), ["PR-1"]);
}

#[test]
fn rule4_seen_outside_the_approved_district() {
    let mut f = clean_worker();
    f.presence[0].region = rc("64.02.16.2003");
    let found = worker_findings(&f, OutsideApprovedLocation);
    assert_eq!(keys(&found), ["PR-1"]);
    let x = &found[0];
    assert_eq!(
        (x.severity, x.responsible),
        (Severity::Medium, AgencyKind::Manpower)
    );
    assert_eq!(evidence(x), ["ASG-1", "PR-1", "RPTKA-1"]);
    assert_eq!(
        x.message_en,
        "Seen on 2025-06-10 in region 64.02.16.2003, outside the location scope of RPTKA \
         approval RPTKA-1 (64.02.02) for assignment ASG-1."
    );
}

#[test]
fn rule4_not_when_the_region_lies_within_the_scope() {
    let mut f = clean_worker();
    // The fixture's village 64.02.02.2001 is within the district 64.02.02.
    assert_eq!(worker_findings(&f, OutsideApprovedLocation), vec![]);
    f.approvals[0].location_scope = vec![rc("64.02.16"), rc("64.02")];
    f.presence[0].region = rc("64.02.11");
    assert_eq!(worker_findings(&f, OutsideApprovedLocation), vec![]);
}

#[test]
fn rule4_any_active_assignment_may_allow_the_region() {
    let mut f = clean_worker();
    f.presence[0].region = rc("64.02.16");
    let mut second = assignment("ASG-2", "2025-06-01", "2025-08-31");
    second.approval_no = Some("RPTKA-2".into());
    let mut other = approval("RPTKA-2");
    other.location_scope = vec![rc("64.02.16")];
    f.assignments.push(second);
    f.approvals.push(other);
    assert_eq!(worker_findings(&f, OutsideApprovedLocation), vec![]);
}

#[test]
fn rule4_not_without_an_assignment_active_that_day_or_a_known_approval() {
    let mut f = clean_worker();
    f.presence[0].region = rc("64.02.16");
    f.assignments[0].start_on = d("2025-06-11");
    assert_eq!(worker_findings(&f, OutsideApprovedLocation), vec![]);
    f.assignments[0].start_on = d("2025-01-01");
    f.approvals.clear();
    assert_eq!(worker_findings(&f, OutsideApprovedLocation), vec![]);
}

/// Both permit and assignment ended on 2025-05-31.
fn departed() -> WorkerFacts {
    let mut f = clean_worker();
    f.permits[0].valid_until = d("2025-05-31");
    f.assignments[0].end_on = d("2025-05-31");
    f
}

#[test]
fn rule5_seen_after_permit_and_assignment_ended() {
    let found = worker_findings(&departed(), PresentAfterExpiry);
    assert_eq!(keys(&found), ["PR-1"]);
    let x = &found[0];
    assert_eq!(
        (x.severity, x.responsible),
        (Severity::High, AgencyKind::Immigration)
    );
    assert_eq!(evidence(x), ["ASG-1", "PR-1", "ITAS-1"]);
    assert_eq!(
        x.message_en,
        "Seen on 2025-06-10 in region 64.02.02.2001, after the last residence permit ITAS-1 \
         (ITAS) ended on 2025-05-31 and the last assignment ASG-1 ended on 2025-05-31."
    );
    assert_eq!(
        x.message_id,
        "Terlihat pada 2025-06-10 di wilayah 64.02.02.2001, setelah izin tinggal terakhir \
         ITAS-1 (ITAS) berakhir pada 2025-05-31 dan penugasan terakhir ASG-1 berakhir pada \
         2025-05-31."
    );
}

#[test]
fn rule5_not_on_the_last_valid_day() {
    let mut f = departed();
    f.presence[0].observed_on = d("2025-05-31");
    assert_eq!(worker_findings(&f, PresentAfterExpiry), vec![]);
}

#[test]
fn rule5_either_the_permits_or_the_assignment_is_enough() {
    let mut f = departed();
    f.assignments[0].end_on = d("2025-12-31");
    let found = worker_findings(&f, PresentAfterExpiry);
    assert_eq!(evidence(&found[0]), ["PR-1", "ITAS-1"]);
    let mut f = departed();
    f.permits[0].valid_until = d("2025-12-31");
    let found = worker_findings(&f, PresentAfterExpiry);
    assert_eq!(evidence(&found[0]), ["ASG-1", "PR-1"]);
    assert!(found[0]
        .message_en
        .contains("after the last assignment ASG-1 ended"));
}

#[test]
fn rule5_every_permit_must_have_ended() {
    let mut f = departed();
    f.assignments[0].end_on = d("2025-12-31");
    // A renewal covering the sighting: the older permit's end does not matter.
    f.permits.push(itas("ITAS-2", "2025-06-01", "2026-05-31"));
    assert_eq!(worker_findings(&f, PresentAfterExpiry), vec![]);
    // A gap between two permits: nothing covered the day of the sighting.
    f.permits[1].valid_from = d("2025-06-12");
    assert_eq!(keys(&worker_findings(&f, PresentAfterExpiry)), ["PR-1"]);
}

#[test]
fn rule5_a_status_alone_does_not_date_the_end() {
    // Cancelled or terminated today, the records may well have been in force on 2025-06-10.
    let mut f = clean_worker();
    f.permits[0].status = PermitStatus::Cancelled;
    f.assignments[0].status = AssignmentStatus::Terminated;
    assert_eq!(worker_findings(&f, PresentAfterExpiry), vec![]);
}

#[test]
fn rule5_not_before_anything_started_or_with_nothing_on_record() {
    let mut f = clean_worker();
    f.permits[0].valid_from = d("2025-07-01");
    f.assignments[0].start_on = d("2025-07-01");
    assert_eq!(worker_findings(&f, PresentAfterExpiry), vec![]);
    f.permits.clear();
    f.assignments.clear();
    assert_eq!(worker_findings(&f, PresentAfterExpiry), vec![]);
}

#[test]
fn rule5_applies_wherever_the_worker_was_seen() {
    let mut f = departed();
    f.presence[0].at_work_site = false;
    f.presence[0].employer_nib = None;
    assert_eq!(keys(&worker_findings(&f, PresentAfterExpiry)), ["PR-1"]);
}
