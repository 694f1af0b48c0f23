//! Rule 15: two workers are probably one person.

use chrono::NaiveDate;

use super::finding::{Finding, RuleCode};
use super::{list_en, list_id, worker, WorkerFacts};

/// One finding per unresolved candidate pair, on the pair's first worker;
/// the discriminator is the other worker, the evidence the person link.
pub(super) fn possible_same_person(f: &WorkerFacts, _today: NaiveDate) -> Vec<Finding> {
    f.possible_same
        .iter()
        .map(|c| {
            let fields: Vec<String> = c
                .outcomes
                .iter()
                .filter(|(_, o)| o != "unknown")
                .map(|(field, o)| format!("{field} {o}"))
                .collect();
            let score = format!("{}.{:03}", c.score_permille / 1000, c.score_permille % 1000);
            let en = format!(
                "Worker {} is probably the same person as this worker (score {score}; {}); \
                 immigration confirms or rejects person link {}.",
                c.other,
                list_en(&fields),
                c.link.key
            );
            let id = format!(
                "Pekerja {} kemungkinan orang yang sama dengan pekerja ini (skor {}; {}); imigrasi \
                 mengonfirmasi atau menolak tautan orang {}.",
                c.other,
                score.replace('.', ","),
                list_id(&fields),
                c.link.key
            );
            Finding::new(
                RuleCode::PossibleSamePerson,
                worker(f),
                c.other.clone(),
                vec![c.link.clone()],
                (en, id),
            )
        })
        .collect()
}
