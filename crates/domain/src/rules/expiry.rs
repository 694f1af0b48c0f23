//! Rules about end dates: 10 `PASSPORT_EXPIRES_FIRST` and 12 `EXPIRING_SOON`.
//!
//! Both look at the valid permits and active assignments of today and give
//! one finding per record, keyed by the record's key.

use chrono::NaiveDate;

use super::facts::{IdentityFact, RecordRef, WorkerFacts};
use super::finding::{Finding, RuleCode};
use super::{worker, EXPIRING_WITHIN_DAYS};
use crate::AgencyKind;

/// Rule 10: the passport a valid permit or active assignment names expires before it ends.
pub(super) fn passport_expires_first(f: &WorkerFacts, today: NaiveDate) -> Vec<Finding> {
    let permits = f.valid_permits(today).filter_map(|p| {
        let expires = passport_expiry(f, &p.passport_no)?;
        (expires < p.valid_until).then(|| {
            let en = format!(
                "The passport used for residence permit {} ({}) expires on {expires}, before \
                 the permit ends on {}.",
                p.permit_no(),
                p.kind,
                p.valid_until
            );
            let id = format!(
                "Paspor yang digunakan untuk izin tinggal {} ({}) habis berlaku pada {expires}, \
                 sebelum izin tinggal berakhir pada {}.",
                p.permit_no(),
                p.kind,
                p.valid_until
            );
            passport_finding(f, &p.r, &p.passport_no, (en, id))
        })
    });
    let assignments = f.active_assignments(today).filter_map(|a| {
        let expires = passport_expiry(f, &a.passport_no)?;
        (expires < a.end_on).then(|| {
            let en = format!(
                "The passport used for assignment {} expires on {expires}, before the \
                 assignment ends on {}.",
                a.r.key, a.end_on
            );
            let id = format!(
                "Paspor yang digunakan untuk penugasan {} habis berlaku pada {expires}, sebelum \
                 penugasan berakhir pada {}.",
                a.r.key, a.end_on
            );
            passport_finding(f, &a.r, &a.passport_no, (en, id))
        })
    });
    permits.chain(assignments).collect()
}

fn passport_expiry(f: &WorkerFacts, number: &str) -> Option<NaiveDate> {
    f.passport(number)?.expires_on
}

/// The evidence is the record plus the records that state the passport's details.
fn passport_finding(
    f: &WorkerFacts,
    record: &RecordRef,
    passport_no: &str,
    messages: (String, String),
) -> Finding {
    let evidence = std::iter::once(record.clone())
        .chain(
            f.identities
                .iter()
                .filter(|i| i.passport_no == passport_no)
                .map(|i: &IdentityFact| i.r.clone()),
        )
        .collect();
    Finding::new(
        RuleCode::PassportExpiresFirst,
        worker(f),
        &record.key,
        evidence,
        messages,
    )
}

/// Rule 12: a valid permit (owner: immigration) or an active assignment (owner:
/// manpower) ends within 30 days of today, the last day included.
pub(super) fn expiring_soon(f: &WorkerFacts, today: NaiveDate) -> Vec<Finding> {
    let soon = |end: NaiveDate| {
        let days = (end - today).num_days();
        (days <= EXPIRING_WITHIN_DAYS).then_some(days)
    };
    let permits = f.valid_permits(today).filter_map(|p| {
        let days = soon(p.valid_until)?;
        let en = format!(
            "Residence permit {} ({}) ends on {}, {}.",
            p.permit_no(),
            p.kind,
            p.valid_until,
            in_days_en(days)
        );
        let id = format!(
            "Izin tinggal {} ({}) berakhir pada {}, {}.",
            p.permit_no(),
            p.kind,
            p.valid_until,
            in_days_id(days)
        );
        Some(expiring(f, &p.r, (en, id)).with_responsible(AgencyKind::Immigration))
    });
    let assignments = f.active_assignments(today).filter_map(|a| {
        let days = soon(a.end_on)?;
        let en = format!(
            "Assignment {} at employer {} ends on {}, {}.",
            a.r.key,
            a.employer_nib,
            a.end_on,
            in_days_en(days)
        );
        let id = format!(
            "Penugasan {} pada pemberi kerja {} berakhir pada {}, {}.",
            a.r.key,
            a.employer_nib,
            a.end_on,
            in_days_id(days)
        );
        Some(expiring(f, &a.r, (en, id)).with_responsible(AgencyKind::Manpower))
    });
    permits.chain(assignments).collect()
}

fn expiring(f: &WorkerFacts, record: &RecordRef, messages: (String, String)) -> Finding {
    Finding::new(
        RuleCode::ExpiringSoon,
        worker(f),
        &record.key,
        vec![record.clone()],
        messages,
    )
}

fn in_days_en(days: i64) -> String {
    match days {
        0 => "today".into(),
        1 => "tomorrow".into(),
        n => format!("in {n} days"),
    }
}

fn in_days_id(days: i64) -> String {
    match days {
        0 => "hari ini".into(),
        1 => "besok".into(),
        n => format!("{n} hari lagi"),
    }
}
