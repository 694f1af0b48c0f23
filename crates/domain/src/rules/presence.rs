//! Rules about where and when a worker was seen: 3 `WORKING_ON_VISIT_PERMIT`,
//! 4 `OUTSIDE_APPROVED_LOCATION`, 5 `PRESENT_AFTER_EXPIRY`.
//!
//! Each is judged on the observation date and gives one finding per presence
//! report, keyed by the report's key.

use chrono::NaiveDate;

use super::facts::{ApprovalFact, AssignmentFact, PresenceFact, WorkerFacts};
use super::finding::{Finding, RuleCode};
use super::{by_key, latest, list_en, list_id, worker};
use crate::PermitKind;

/// Rule 3: seen at a work site or with an employer while the only valid permits are ITKs.
pub(super) fn working_on_visit_permit(f: &WorkerFacts, _today: NaiveDate) -> Vec<Finding> {
    f.presence
        .iter()
        .filter(|p| p.at_work_site || p.employer_nib.is_some())
        .filter_map(|p| {
            let valid = by_key(f.valid_permits(p.observed_on).collect(), |x| &x.r.key);
            // No valid permit at all is rule 5's business, not a visit permit used for work.
            if valid.is_empty() || valid.iter().any(|x| x.kind != PermitKind::Itk) {
                return None;
            }
            let nos: Vec<String> = valid.iter().map(|x| x.permit_no().to_owned()).collect();
            let (where_en, where_id) = whereabouts(p);
            let en = format!(
                "Seen on {} in region {} {where_en}, while the only valid permit is visit \
                 permit (ITK) {}, which does not allow work.",
                p.observed_on,
                p.region,
                list_en(&nos)
            );
            let id = format!(
                "Terlihat pada {} di wilayah {} {where_id}, padahal izin tinggal yang berlaku \
                 hanya izin tinggal kunjungan (ITK) {} yang tidak mengizinkan bekerja.",
                p.observed_on,
                p.region,
                list_id(&nos)
            );
            let evidence = std::iter::once(p.r.clone())
                .chain(valid.iter().map(|x| x.r.clone()))
                .collect();
            Some(Finding::new(
                RuleCode::WorkingOnVisitPermit,
                worker(f),
                &p.r.key,
                evidence,
                (en, id),
            ))
        })
        .collect()
}

/// "at a work site of employer N" and its Indonesian, from what the report names.
fn whereabouts(p: &PresenceFact) -> (String, String) {
    match (p.at_work_site, p.employer_nib.as_deref()) {
        (true, Some(nib)) => (
            format!("at a work site of employer {nib}"),
            format!("di lokasi kerja pemberi kerja {nib}"),
        ),
        (true, None) => ("at a work site".into(), "di lokasi kerja".into()),
        (false, Some(nib)) => (
            format!("with employer {nib}"),
            format!("bersama pemberi kerja {nib}"),
        ),
        (false, None) => (String::new(), String::new()),
    }
}

/// Rule 4: seen in a region that no approval of the worker's active assignments allows.
///
/// With two active assignments, being inside either scope is lawful, so the
/// report is judged against all of them. Assignments whose approval is not
/// among the facts cannot be judged and are skipped.
pub(super) fn outside_approved_location(f: &WorkerFacts, _today: NaiveDate) -> Vec<Finding> {
    f.presence
        .iter()
        .filter_map(|p| {
            let active = by_key(f.active_assignments(p.observed_on).collect(), |a| &a.r.key);
            let judged: Vec<(&AssignmentFact, &ApprovalFact)> = active
                .into_iter()
                .filter_map(|a| Some((a, f.approval_of(a)?)))
                .collect();
            if judged.is_empty() || judged.iter().any(|(_, ap)| ap.allows_work_in(&p.region)) {
                return None;
            }
            let scopes = |word: &str| -> Vec<String> {
                judged
                    .iter()
                    .map(|(a, ap)| {
                        format!(
                            "{} ({}) {word} {}",
                            ap.approval_no(),
                            ap.scope_text(),
                            a.r.key
                        )
                    })
                    .collect()
            };
            let en = format!(
                "Seen on {} in region {}, outside the location scope of RPTKA approval {}.",
                p.observed_on,
                p.region,
                list_en(&scopes("for assignment"))
            );
            let id = format!(
                "Terlihat pada {} di wilayah {}, di luar lokasi kerja RPTKA {}.",
                p.observed_on,
                p.region,
                list_id(&scopes("untuk penugasan"))
            );
            let evidence = std::iter::once(p.r.clone())
                .chain(
                    judged
                        .iter()
                        .flat_map(|(a, ap)| [a.r.clone(), ap.r.clone()]),
                )
                .collect();
            Some(Finding::new(
                RuleCode::OutsideApprovedLocation,
                worker(f),
                &p.r.key,
                evidence,
                (en, id),
            ))
        })
        .collect()
}

/// Rule 5: seen after the last valid day of every permit, or after every assignment ended.
///
/// Judged on dates only: the stored status is today's, and a permit cancelled
/// (or an assignment terminated) today may well have been in force on an
/// earlier observation date, so a status alone never makes a report late. A
/// gap between two permits does count: on that day no permit covered the
/// worker and an earlier one had ended.
pub(super) fn present_after_expiry(f: &WorkerFacts, _today: NaiveDate) -> Vec<Finding> {
    f.presence
        .iter()
        .filter_map(|p| {
            let d = p.observed_on;
            let permit = ended_before(
                &f.permits,
                d,
                |x| (x.valid_from, x.valid_until),
                |x| &x.r.key,
            );
            let assignment =
                ended_before(&f.assignments, d, |a| (a.start_on, a.end_on), |a| &a.r.key);
            if permit.is_none() && assignment.is_none() {
                return None;
            }
            let mut en = Vec::new();
            let mut id = Vec::new();
            let mut evidence = vec![p.r.clone()];
            if let Some(x) = permit {
                en.push(format!(
                    "the last residence permit {} ({}) ended on {}",
                    x.permit_no(),
                    x.kind,
                    x.valid_until
                ));
                id.push(format!(
                    "izin tinggal terakhir {} ({}) berakhir pada {}",
                    x.permit_no(),
                    x.kind,
                    x.valid_until
                ));
                evidence.push(x.r.clone());
            }
            if let Some(a) = assignment {
                en.push(format!(
                    "the last assignment {} ended on {}",
                    a.r.key, a.end_on
                ));
                id.push(format!(
                    "penugasan terakhir {} berakhir pada {}",
                    a.r.key, a.end_on
                ));
                evidence.push(a.r.clone());
            }
            let en = format!(
                "Seen on {d} in region {}, after {}.",
                p.region,
                list_en(&en)
            );
            let id = format!(
                "Terlihat pada {d} di wilayah {}, setelah {}.",
                p.region,
                list_id(&id)
            );
            Some(Finding::new(
                RuleCode::PresentAfterExpiry,
                worker(f),
                &p.r.key,
                evidence,
                (en, id),
            ))
        })
        .collect()
}

/// The latest item that ended before `d`, provided none covers `d`.
fn ended_before<T>(
    items: &[T],
    d: NaiveDate,
    period: impl Fn(&T) -> (NaiveDate, NaiveDate),
    key: impl Fn(&T) -> &str,
) -> Option<&T> {
    let covers = |x: &T| {
        let (from, until) = period(x);
        from <= d && d <= until
    };
    if items.iter().any(covers) {
        return None;
    }
    latest(
        items.iter().filter(|x| period(x).1 < d),
        |x| period(x).1,
        key,
    )
}
