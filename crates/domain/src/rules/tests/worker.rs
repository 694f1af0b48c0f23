//! Rules 7, 10, 11 and 12: companion, passport, identity and end dates.

use super::support::*;
use crate::rules::*;
use crate::{AgencyKind, PermitKind};

use RuleCode::{ExpiringSoon, IdentityConflict, NoCompanion, PassportExpiresFirst};

#[test]
fn rule7_a_professional_without_a_companion() {
    let mut f = clean_worker();
    f.assignments[0].has_companion = false;
    let found = worker_findings(&f, NoCompanion);
    assert_eq!(keys(&found), ["ASG-1"]);
    let x = &found[0];
    assert_eq!(
        (x.severity, x.responsible),
        (Severity::Low, AgencyKind::Manpower)
    );
    assert_eq!(evidence(x), ["ASG-1", "RPTKA-1"]);
    assert_eq!(
        x.message_en,
        "Assignment ASG-1 in position P01 \"Mining Engineer\" (professional) of RPTKA approval \
         RPTKA-1 names no Indonesian companion worker."
    );
}

#[test]
fn rule7_not_for_a_director_or_commissioner() {
    let mut f = clean_worker();
    f.assignments[0].has_companion = false;
    f.assignments[0].position_code = Some("D01".into());
    assert_eq!(worker_findings(&f, NoCompanion), vec![]);
    f.approvals[0].positions[1].level = crate::PositionLevel::Commissioner;
    assert_eq!(worker_findings(&f, NoCompanion), vec![]);
}

#[test]
fn rule7_not_when_the_level_is_unknown_or_the_assignment_inactive() {
    let mut f = clean_worker();
    f.assignments[0].has_companion = false;
    f.assignments[0].position_code = Some("X99".into());
    assert_eq!(worker_findings(&f, NoCompanion), vec![]);
    f.assignments[0].position_code = None;
    assert_eq!(worker_findings(&f, NoCompanion), vec![]);
    f.assignments[0].position_code = Some("P01".into());
    f.assignments[0].end_on = d("2025-06-14");
    assert_eq!(worker_findings(&f, NoCompanion), vec![]);
}

#[test]
fn rule10_passport_expires_before_the_permit_and_the_assignment() {
    let mut f = clean_worker();
    f.passports[0].expires_on = Some(d("2025-09-30"));
    let found = worker_findings(&f, PassportExpiresFirst);
    assert_eq!(keys(&found), ["ASG-1", "ITAS-1"]);
    for x in &found {
        assert_eq!(
            (x.severity, x.responsible),
            (Severity::Low, AgencyKind::Immigration)
        );
        assert!(!x.message_en.contains(PASSPORT));
    }
    // The identity records state the passport; they are evidence too.
    assert_eq!(evidence(&found[1]), ["ASG-1", "ITAS-1"]);
    assert_eq!(
        found[1].message_en,
        "The passport used for residence permit ITAS-1 (ITAS) expires on 2025-09-30, before \
         the permit ends on 2025-12-31."
    );
    assert_eq!(
        found[0].message_id,
        "Paspor yang digunakan untuk penugasan ASG-1 habis berlaku pada 2025-09-30, sebelum \
         penugasan berakhir pada 2025-12-31."
    );
}

#[test]
fn rule10_not_when_the_passport_lasts_to_the_end_or_its_expiry_is_unknown() {
    let mut f = clean_worker();
    f.passports[0].expires_on = Some(d("2025-12-31"));
    assert_eq!(worker_findings(&f, PassportExpiresFirst), vec![]);
    f.passports[0].expires_on = None;
    assert_eq!(worker_findings(&f, PassportExpiresFirst), vec![]);
}

#[test]
fn rule10_looks_at_the_passport_each_record_names() {
    let mut f = clean_worker();
    // An old passport expiring soon, used by no current record.
    f.passports.push(passport("G0000001", Some("2025-07-01")));
    assert_eq!(worker_findings(&f, PassportExpiresFirst), vec![]);
    f.assignments[0].passport_no = "G0000001".into();
    assert_eq!(keys(&worker_findings(&f, PassportExpiresFirst)), ["ASG-1"]);
}

#[test]
fn rule11_agencies_spell_the_name_differently() {
    let mut f = clean_worker();
    f.identities[1].full_name = "WANG  WEIWEI".into();
    let found = worker_findings(&f, IdentityConflict);
    assert_eq!(keys(&found), [""]);
    let x = &found[0];
    assert_eq!(
        (x.severity, x.responsible),
        (Severity::Medium, AgencyKind::Immigration)
    );
    assert_eq!(evidence(x), ["ASG-1", "ITAS-1"]);
    assert_eq!(
        x.message_en,
        "Agencies disagree for one passport of the worker: the name given by imigrasi \
         (residence_permit ITAS-1 v1) and kemnaker (assignment ASG-1 v1)."
    );
    assert!(!x.message_id.contains("WANG"));
}

#[test]
fn rule11_a_different_birth_date() {
    let mut f = clean_worker();
    f.identities[1].birth_date = Some(d("1985-04-03"));
    let found = worker_findings(&f, IdentityConflict);
    assert!(found[0].message_en.contains("the birth date given by"));
    assert!(found[0].message_id.contains("tanggal lahir menurut"));
    f.identities[1].full_name = "WANG WEI MING".into();
    let found = worker_findings(&f, IdentityConflict);
    assert!(found[0]
        .message_en
        .contains("the name and birth date given by"));
}

#[test]
fn rule11_not_for_the_same_identity_in_another_case_or_spacing() {
    let mut f = clean_worker();
    f.identities[1].full_name = "wang  wei ".into();
    assert_eq!(worker_findings(&f, IdentityConflict), vec![]);
}

#[test]
fn rule11_a_missing_birth_date_is_no_conflict() {
    let mut f = clean_worker();
    f.identities[1].birth_date = None;
    assert_eq!(worker_findings(&f, IdentityConflict), vec![]);
}

#[test]
fn rule11_only_between_agencies_and_within_one_passport() {
    let mut f = clean_worker();
    // Immigration's own two records differ: not a cross-agency conflict.
    let mut own = f.identities[0].clone();
    own.r = rr("worker", "w-1", "imigrasi");
    own.full_name = "WANG WEI MING".into();
    f.identities[1] = own;
    assert_eq!(worker_findings(&f, IdentityConflict), vec![]);
    f = clean_worker();
    // Another passport of the same person with another name: not compared.
    let mut other = f.identities[1].clone();
    other.passport_no = "G0000001".into();
    other.full_name = "WANG WEI MING".into();
    f.identities.push(other);
    assert_eq!(worker_findings(&f, IdentityConflict), vec![]);
}

#[test]
fn rule11_one_finding_citing_every_disputed_passport() {
    let mut f = clean_worker();
    f.identities[1].full_name = "WANG WEIWEI".into();
    for (agency, key, name) in [
        ("imigrasi", "ITAS-0", NAME),
        ("kemnaker", "ASG-0", "WANG W"),
    ] {
        let kind = if agency == "imigrasi" {
            "residence_permit"
        } else {
            "assignment"
        };
        let r = rr(kind, key, agency);
        let mut i = identity(agency, r, name, None);
        i.passport_no = "G0000001".into();
        f.identities.push(i);
    }
    let found = worker_findings(&f, IdentityConflict);
    assert_eq!(found.len(), 1);
    assert_eq!(evidence(&found[0]), ["ASG-0", "ASG-1", "ITAS-0", "ITAS-1"]);
    assert!(found[0]
        .message_en
        .starts_with("Agencies disagree for 2 passports of the worker: the name"));
}

#[test]
fn rule12_permit_ending_in_30_days_but_not_31() {
    let mut f = clean_worker();
    f.permits[0].valid_until = d("2025-07-15");
    let found = worker_findings(&f, ExpiringSoon);
    assert_eq!(keys(&found), ["ITAS-1"]);
    let x = &found[0];
    assert_eq!(
        (x.severity, x.responsible),
        (Severity::Info, AgencyKind::Immigration)
    );
    assert_eq!(evidence(x), ["ITAS-1"]);
    assert_eq!(
        x.message_en,
        "Residence permit ITAS-1 (ITAS) ends on 2025-07-15, in 30 days."
    );
    assert_eq!(
        x.message_id,
        "Izin tinggal ITAS-1 (ITAS) berakhir pada 2025-07-15, 30 hari lagi."
    );
    f.permits[0].valid_until = d("2025-07-16");
    assert_eq!(worker_findings(&f, ExpiringSoon), vec![]);
}

#[test]
fn rule12_assignment_ending_soon_is_for_manpower() {
    let mut f = clean_worker();
    f.assignments[0].end_on = d("2025-06-16");
    let found = worker_findings(&f, ExpiringSoon);
    assert_eq!(keys(&found), ["ASG-1"]);
    assert_eq!(found[0].responsible, AgencyKind::Manpower);
    assert!(found[0]
        .message_en
        .ends_with("ends on 2025-06-16, tomorrow."));
}

#[test]
fn rule12_one_finding_per_record_and_the_last_day_counts() {
    let mut f = clean_worker();
    f.permits[0].valid_until = today();
    f.assignments[0].end_on = d("2025-07-01");
    f.permits
        .push(permit("ITK-1", PermitKind::Itk, "2025-06-01", "2025-06-20"));
    let found = worker_findings(&f, ExpiringSoon);
    assert_eq!(keys(&found), ["ASG-1", "ITAS-1", "ITK-1"]);
    assert!(found[1].message_en.ends_with("today."));
    assert!(found[1].message_id.ends_with("hari ini."));
}

#[test]
fn rule12_not_for_records_already_ended() {
    let mut f = clean_worker();
    f.permits[0].valid_until = d("2025-06-14");
    f.assignments[0].end_on = d("2025-06-14");
    assert_eq!(worker_findings(&f, ExpiringSoon), vec![]);
}
