//! Rules comparing immigration's permits with manpower's assignments:
//! 1 `PERMIT_WITHOUT_ASSIGNMENT`, 2 `ASSIGNMENT_WITHOUT_PERMIT`, 9 `SPONSOR_MISMATCH`.

use chrono::NaiveDate;

use super::facts::{AssignmentFact, PermitFact, WorkerFacts};
use super::finding::{Finding, RuleCode};
use super::{by_key, latest, list_en, list_id, worker};

/// Rule 1: a valid ITAS/ITAP sponsored by an employer while the worker has no active assignment.
pub(super) fn permit_without_assignment(f: &WorkerFacts, today: NaiveDate) -> Vec<Finding> {
    if f.active_assignments(today).next().is_some() {
        return Vec::new();
    }
    // The most recent assignment, if any, shows manpower's side of the gap.
    let last = latest(&f.assignments, |a| a.end_on, |a| &a.r.key);
    f.valid_work_permits(today)
        .filter_map(|p| Some((p, p.sponsor_nib.as_deref()?)))
        .map(|(p, sponsor)| {
            let mut en = format!(
                "Residence permit {} ({}) sponsored by employer {sponsor} is valid until {}, \
                 but the worker has no active assignment on {today}",
                p.permit_no(),
                p.kind,
                p.valid_until
            );
            let mut id = format!(
                "Izin tinggal {} ({}) dengan penjamin pemberi kerja {sponsor} berlaku sampai {}, \
                 tetapi pekerja tidak memiliki penugasan aktif pada {today}",
                p.permit_no(),
                p.kind,
                p.valid_until
            );
            let mut evidence = vec![p.r.clone()];
            match last {
                Some(a) => {
                    en += &format!(
                        "; the latest assignment {} has status {} and end date {}.",
                        a.r.key, a.status, a.end_on
                    );
                    id += &format!(
                        "; penugasan terakhir {} berstatus {} dengan tanggal akhir {}.",
                        a.r.key, a.status, a.end_on
                    );
                    evidence.push(a.r.clone());
                }
                None => {
                    en += "; no assignment is on record.";
                    id += "; tidak ada penugasan yang tercatat.";
                }
            }
            Finding::new(
                RuleCode::PermitWithoutAssignment,
                worker(f),
                p.permit_no(),
                evidence,
                (en, id),
            )
        })
        .collect()
}

/// Rule 2: an active assignment while no ITAS/ITAP is valid.
pub(super) fn assignment_without_permit(f: &WorkerFacts, today: NaiveDate) -> Vec<Finding> {
    if f.valid_work_permits(today).next().is_some() {
        return Vec::new();
    }
    // The permit that ran latest, if any, shows immigration's side of the gap.
    let last = latest(&f.permits, |p| p.valid_until, |p| &p.r.key);
    f.active_assignments(today)
        .map(|a| {
            let mut en = format!(
                "Assignment {} at employer {} is active until {}, but no ITAS or ITAP is valid \
                 on {today}",
                a.r.key, a.employer_nib, a.end_on
            );
            let mut id = format!(
                "Penugasan {} pada pemberi kerja {} aktif sampai {}, tetapi tidak ada ITAS atau \
                 ITAP yang berlaku pada {today}",
                a.r.key, a.employer_nib, a.end_on
            );
            let mut evidence = vec![a.r.clone()];
            match last {
                Some(p) => {
                    en += &format!(
                        "; the latest residence permit {} ({}) has status {} and runs from {} \
                         to {}.",
                        p.permit_no(),
                        p.kind,
                        p.status,
                        p.valid_from,
                        p.valid_until
                    );
                    id += &format!(
                        "; izin tinggal terakhir {} ({}) berstatus {} dan berlaku dari {} \
                         sampai {}.",
                        p.permit_no(),
                        p.kind,
                        p.status,
                        p.valid_from,
                        p.valid_until
                    );
                    evidence.push(p.r.clone());
                }
                None => {
                    en += "; no residence permit is on record.";
                    id += "; tidak ada izin tinggal yang tercatat.";
                }
            }
            Finding::new(
                RuleCode::AssignmentWithoutPermit,
                worker(f),
                &a.r.key,
                evidence,
                (en, id),
            )
        })
        .collect()
}

/// Rule 9: an active assignment whose employer sponsors none of the worker's valid ITAS/ITAP.
///
/// Checked per assignment: a worker lent to a second company while still
/// assigned to the sponsor is exactly the case to catch. A permit without a
/// sponsor says nothing about who employs the worker, so it is left out.
pub(super) fn sponsor_mismatch(f: &WorkerFacts, today: NaiveDate) -> Vec<Finding> {
    let sponsored = by_key(
        f.valid_work_permits(today)
            .filter(|p| p.sponsor_nib.is_some())
            .collect(),
        |p| &p.r.key,
    );
    if sponsored.is_empty() {
        return Vec::new();
    }
    f.active_assignments(today)
        .filter(|a| !sponsored.iter().any(|p| sponsors(p, a)))
        .map(|a| {
            let sponsor = |p: &PermitFact| p.sponsor_nib.clone().unwrap_or_default();
            let en: Vec<String> = sponsored
                .iter()
                .map(|p| format!("{} (sponsor {})", p.permit_no(), sponsor(p)))
                .collect();
            let id: Vec<String> = sponsored
                .iter()
                .map(|p| format!("{} (penjamin {})", p.permit_no(), sponsor(p)))
                .collect();
            let en = format!(
                "Assignment {} is with employer {}, but the valid residence permit is sponsored \
                 by another employer: {}.",
                a.r.key,
                a.employer_nib,
                list_en(&en)
            );
            let id = format!(
                "Penugasan {} pada pemberi kerja {}, tetapi izin tinggal yang berlaku dijamin \
                 oleh pemberi kerja lain: {}.",
                a.r.key,
                a.employer_nib,
                list_id(&id)
            );
            let evidence = std::iter::once(a.r.clone())
                .chain(sponsored.iter().map(|p| p.r.clone()))
                .collect();
            Finding::new(
                RuleCode::SponsorMismatch,
                worker(f),
                &a.r.key,
                evidence,
                (en, id),
            )
        })
        .collect()
}

fn sponsors(p: &PermitFact, a: &AssignmentFact) -> bool {
    p.sponsor_nib.as_deref() == Some(a.employer_nib.as_str())
}
