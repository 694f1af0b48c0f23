//! Employer-level rules about approved positions: 6 `HEADCOUNT_OVER_QUOTA`
//! and 8 `CLOSED_POSITION`, one finding per approval position, keyed
//! `approval_no/position_code`; and 14 `EMPLOYER_NOT_REGISTERED`, one per
//! employer.

use chrono::NaiveDate;

use super::by_key;
use super::facts::{ApprovalFact, AssignmentFact, EmployerFacts, PositionFact};
use super::finding::{Finding, RuleCode, Subject};
use crate::is_closed_position;

/// Rule 6: more assignments active today in one approval position than its headcount.
///
/// Counted whatever the approval's own status: a revoked approval with
/// workers still assigned is no licence to exceed it.
pub(super) fn headcount_over_quota(f: &EmployerFacts, today: NaiveDate) -> Vec<Finding> {
    positions(f)
        .filter_map(|(ap, pos)| {
            let active = active_in(f, ap, pos, today);
            if active.len() as u64 <= u64::from(pos.headcount) {
                return None;
            }
            let en = format!(
                "Position {} \"{}\" of RPTKA approval {} has {} active assignments on {today}, \
                 above its approved headcount of {}.",
                pos.code,
                pos.title,
                ap.approval_no(),
                active.len(),
                pos.headcount
            );
            let id = format!(
                "Jabatan {} \"{}\" dalam RPTKA {} memiliki {} penugasan aktif pada {today}, \
                 melebihi jumlah yang disetujui sebanyak {}.",
                pos.code,
                pos.title,
                ap.approval_no(),
                active.len(),
                pos.headcount
            );
            Some(position_finding(
                RuleCode::HeadcountOverQuota,
                f,
                ap,
                pos,
                &active,
                (en, id),
            ))
        })
        .collect()
}

/// Rule 8: a position closed to foreign workers in an approval in force today.
pub(super) fn closed_position(f: &EmployerFacts, today: NaiveDate) -> Vec<Finding> {
    positions(f)
        .filter(|(ap, pos)| ap.is_valid_on(today) && is_closed_position(&pos.title))
        .map(|(ap, pos)| {
            let active = active_in(f, ap, pos, today);
            let en = format!(
                "RPTKA approval {}, valid until {}, includes position {} \"{}\", which is closed \
                 to foreign workers (Kepmenaker 349/2019); {} active assignment(s) on {today}.",
                ap.approval_no(),
                ap.valid_until,
                pos.code,
                pos.title,
                active.len()
            );
            let id = format!(
                "RPTKA {} yang berlaku sampai {} memuat jabatan {} \"{}\" yang tertutup bagi \
                 tenaga kerja asing (Kepmenaker 349/2019); {} penugasan aktif pada {today}.",
                ap.approval_no(),
                ap.valid_until,
                pos.code,
                pos.title,
                active.len()
            );
            position_finding(RuleCode::ClosedPosition, f, ap, pos, &active, (en, id))
        })
        .collect()
}

/// Every (approval, position) pair of the employer.
fn positions(f: &EmployerFacts) -> impl Iterator<Item = (&ApprovalFact, &PositionFact)> {
    f.approvals
        .iter()
        .flat_map(|ap| ap.positions.iter().map(move |pos| (ap, pos)))
}

/// The assignments active on `d` in the position, sorted by key.
fn active_in<'a>(
    f: &'a EmployerFacts,
    ap: &ApprovalFact,
    pos: &PositionFact,
    d: NaiveDate,
) -> Vec<&'a AssignmentFact> {
    let active = f
        .assignments
        .iter()
        .filter(|a| a.is_active_on(d) && a.is_in_position(ap.approval_no(), &pos.code))
        .collect();
    by_key(active, |a| &a.r.key)
}

/// The finding of a position: the approval and the assignments in it are the evidence.
fn position_finding(
    rule: RuleCode,
    f: &EmployerFacts,
    ap: &ApprovalFact,
    pos: &PositionFact,
    active: &[&AssignmentFact],
    messages: (String, String),
) -> Finding {
    let evidence = std::iter::once(ap.r.clone())
        .chain(active.iter().map(|a| a.r.clone()))
        .collect();
    Finding::new(
        rule,
        Subject::Employer(f.nib.clone()),
        format!("{}/{}", ap.approval_no(), pos.code),
        evidence,
        messages,
    )
}

/// Rule 14: records name the employer and no agency has registered it.
///
/// Agencies push in any order, so such a record is stored; the finding says
/// so until the employer record arrives, which resolves it.
pub(super) fn not_registered(f: &EmployerFacts, _today: NaiveDate) -> Vec<Finding> {
    let Some(u) = f.unregistered.as_ref().filter(|u| !u.named_by.is_empty()) else {
        return Vec::new();
    };
    let en = format!(
        "Records name employer NIB {}, which no agency has registered; {} of them are cited.",
        f.nib,
        u.named_by.len()
    );
    let id = format!(
        "Sejumlah data menyebut pemberi kerja dengan NIB {}, yang belum didaftarkan oleh instansi \
         mana pun; {} di antaranya dikutip.",
        f.nib,
        u.named_by.len()
    );
    vec![Finding::new(
        RuleCode::EmployerNotRegistered,
        Subject::Employer(f.nib.clone()),
        "",
        u.named_by.clone(),
        (en, id),
    )]
}
