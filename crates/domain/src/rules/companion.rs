//! Rule 7 `NO_COMPANION`: an Indonesian companion worker is required for every
//! position but director and commissioner.

use chrono::NaiveDate;

use super::facts::WorkerFacts;
use super::finding::{Finding, RuleCode};
use super::worker;

/// Rule 7: an active assignment in a position needing a companion, with none named.
///
/// The level comes from the approval's position; when the approval or the
/// position is not among the facts the level is unknown (it may be a
/// director), so the assignment is not judged.
pub(super) fn no_companion(f: &WorkerFacts, today: NaiveDate) -> Vec<Finding> {
    f.active_assignments(today)
        .filter(|a| !a.has_companion)
        .filter_map(|a| {
            let approval = f.approval_of(a)?;
            let position = approval.position(a.position_code.as_deref()?)?;
            if !position.level.needs_companion() {
                return None;
            }
            let en = format!(
                "Assignment {} in position {} \"{}\" ({}) of RPTKA approval {} names no \
                 Indonesian companion worker.",
                a.r.key,
                position.code,
                position.title,
                position.level,
                approval.approval_no()
            );
            let id = format!(
                "Penugasan {} pada jabatan {} \"{}\" ({}) dalam RPTKA {} tidak mencantumkan \
                 tenaga kerja pendamping.",
                a.r.key,
                position.code,
                position.title,
                position.level,
                approval.approval_no()
            );
            Some(Finding::new(
                RuleCode::NoCompanion,
                worker(f),
                &a.r.key,
                vec![a.r.clone(), approval.r.clone()],
                (en, id),
            ))
        })
        .collect()
}
