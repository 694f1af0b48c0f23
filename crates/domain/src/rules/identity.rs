//! Rule 11 `IDENTITY_CONFLICT`: two agencies give a different name or birth
//! date for one passport.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::facts::{IdentityFact, WorkerFacts};
use super::finding::{Finding, RuleCode};
use super::{list_en, list_id, worker};

/// What two identities disagree on.
#[derive(Default, Clone, Copy)]
struct Disagreement {
    name: bool,
    birth_date: bool,
}

impl Disagreement {
    fn between(a: &IdentityFact, b: &IdentityFact) -> Self {
        Self {
            name: normalised(&a.full_name) != normalised(&b.full_name),
            // A record that gives no birth date does not contradict one that does.
            birth_date: matches!((a.birth_date, b.birth_date), (Some(x), Some(y)) if x != y),
        }
    }

    fn any(&self) -> bool {
        self.name || self.birth_date
    }

    fn add(&mut self, other: Self) {
        self.name |= other.name;
        self.birth_date |= other.birth_date;
    }

    fn text(&self) -> (&'static str, &'static str) {
        match (self.name, self.birth_date) {
            (true, true) => ("name and birth date", "nama dan tanggal lahir"),
            (true, false) => ("name", "nama"),
            _ => ("birth date", "tanggal lahir"),
        }
    }
}

/// Names are stored upper-case with single spaces; normalising again keeps a
/// formatting difference from ever reading as a conflict.
fn normalised(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

/// Rule 11: one finding per worker (discriminator ""), citing every record
/// that takes part in a disagreement, passport by passport.
///
/// The finding is per worker rather than per passport so that no passport
/// number has to appear in the discriminator; only records of different
/// agencies can conflict.
pub(super) fn identity_conflict(f: &WorkerFacts, _today: NaiveDate) -> Vec<Finding> {
    let mut by_passport: BTreeMap<&str, Vec<&IdentityFact>> = BTreeMap::new();
    for i in &f.identities {
        by_passport
            .entry(i.passport_no.as_str())
            .or_default()
            .push(i);
    }
    let mut parts_en = Vec::new();
    let mut parts_id = Vec::new();
    let mut evidence = Vec::new();
    for group in by_passport.values_mut() {
        group.sort_by(|a, b| (&a.agency, &a.r).cmp(&(&b.agency, &b.r)));
        let Some((what, involved)) = conflicts(group) else {
            continue;
        };
        let sources: Vec<String> = involved
            .iter()
            .map(|i| {
                format!(
                    "{} ({} {} v{})",
                    i.agency, i.r.record_type, i.r.key, i.r.version
                )
            })
            .collect();
        let (what_en, what_id) = what.text();
        parts_en.push(format!("the {what_en} given by {}", list_en(&sources)));
        parts_id.push(format!("{what_id} menurut {}", list_id(&sources)));
        evidence.extend(involved.iter().map(|i| i.r.clone()));
    }
    if evidence.is_empty() {
        return Vec::new();
    }
    let (passports_en, passports_id) = match parts_en.len() {
        1 => ("one passport".to_owned(), "satu paspor".to_owned()),
        n => (format!("{n} passports"), format!("{n} paspor")),
    };
    let en = format!(
        "Agencies disagree for {passports_en} of the worker: {}.",
        parts_en.join("; ")
    );
    let id = format!(
        "Data instansi berbeda untuk {passports_id} pekerja: {}.",
        parts_id.join("; ")
    );
    vec![Finding::new(
        RuleCode::IdentityConflict,
        worker(f),
        "",
        evidence,
        (en, id),
    )]
}

/// What the identities of one passport disagree on across agencies, and who takes part.
fn conflicts<'a>(group: &[&'a IdentityFact]) -> Option<(Disagreement, Vec<&'a IdentityFact>)> {
    let mut what = Disagreement::default();
    let mut involved = vec![false; group.len()];
    for (i, a) in group.iter().enumerate() {
        for (j, b) in group.iter().enumerate().skip(i + 1) {
            let d = Disagreement::between(a, b);
            if a.agency != b.agency && d.any() {
                what.add(d);
                involved[i] = true;
                involved[j] = true;
            }
        }
    }
    let involved: Vec<&IdentityFact> = group
        .iter()
        .zip(involved)
        .filter_map(|(i, yes)| yes.then_some(*i))
        .collect();
    (!involved.is_empty()).then_some((what, involved))
}

/// Whether the identities show a conflict under rule 11: two agencies give a
/// different name (after normalising) or birth date (both given) for one passport.
pub fn identities_conflict(identities: &[IdentityFact]) -> bool {
    let mut by_passport: BTreeMap<&str, Vec<&IdentityFact>> = BTreeMap::new();
    for i in identities {
        by_passport
            .entry(i.passport_no.as_str())
            .or_default()
            .push(i);
    }
    by_passport.values().any(|g| conflicts(g).is_some())
}
