//! The cross-agency compliance rules of docs/domain.md as pure functions.
//!
//! The persistence layer gathers [`WorkerFacts`] or [`EmployerFacts`] from the
//! stored records; [`evaluate_worker`] and [`evaluate_employer`] return every
//! [`Finding`] those facts show as of `today`, sorted by rule and
//! discriminator, so that the same facts always give the same findings and a
//! recomputation can match findings it already stored.

mod companion;
mod employer;
mod expiry;
pub mod facts;
pub mod finding;
mod identity;
mod permits;
mod presence;
mod same_person;
mod seen;
mod texts;

#[cfg(test)]
mod tests;

use chrono::NaiveDate;

pub use facts::{
    ApprovalFact, AssignmentFact, EmployerFacts, IdentityFact, PassportFact, PermitFact,
    PositionFact, PossibleSameFact, PresenceFact, RecordRef, Unregistered, WorkerFacts,
};
pub use finding::{Finding, FindingStatus, RuleCode, Severity, Subject};
pub use identity::identities_conflict;

/// Days ahead within which an ending permit or assignment is reported (rule 12).
pub const EXPIRING_WITHIN_DAYS: i64 = 30;

type WorkerRule = fn(&WorkerFacts, NaiveDate) -> Vec<Finding>;
type EmployerRule = fn(&EmployerFacts, NaiveDate) -> Vec<Finding>;

/// The rules whose subject is a worker, in rule-number order.
const WORKER_RULES: [WorkerRule; 11] = [
    permits::permit_without_assignment,
    permits::assignment_without_permit,
    presence::working_on_visit_permit,
    presence::outside_approved_location,
    presence::present_after_expiry,
    companion::no_companion,
    permits::sponsor_mismatch,
    expiry::passport_expires_first,
    identity::identity_conflict,
    expiry::expiring_soon,
    same_person::possible_same_person,
];

/// The rules whose subject is an employer.
const EMPLOYER_RULES: [EmployerRule; 4] = [
    employer::headcount_over_quota,
    employer::closed_position,
    seen::seen_over_permitted,
    employer::not_registered,
];

/// Worker-level findings as of `today`: rules 1–5, 7, 9–12 and 15.
pub fn evaluate_worker(f: &WorkerFacts, today: NaiveDate) -> Vec<Finding> {
    sorted(
        WORKER_RULES
            .iter()
            .flat_map(|rule| rule(f, today))
            .collect(),
    )
}

/// Employer-level findings as of `today`: rules 6, 8, 13 (seen versus
/// permitted) and 14 (not registered).
pub fn evaluate_employer(f: &EmployerFacts, today: NaiveDate) -> Vec<Finding> {
    sorted(
        EMPLOYER_RULES
            .iter()
            .flat_map(|rule| rule(f, today))
            .collect(),
    )
}

fn sorted(mut findings: Vec<Finding>) -> Vec<Finding> {
    // The message breaks ties so that even an unexpected duplicate key sorts the same every time.
    findings.sort_by(|a, b| {
        (a.rule, &a.discriminator, &a.message_en).cmp(&(b.rule, &b.discriminator, &b.message_en))
    });
    findings
}

/// The subject of a worker-level finding.
fn worker(f: &WorkerFacts) -> Subject {
    Subject::Worker(f.worker_id.clone())
}

/// The item that ends last; the key breaks ties so that input order never matters.
fn latest<'a, T>(
    items: impl IntoIterator<Item = &'a T>,
    end: impl Fn(&T) -> NaiveDate,
    key: impl Fn(&T) -> &str,
) -> Option<&'a T> {
    items
        .into_iter()
        .max_by(|a, b| (end(a), key(a)).cmp(&(end(b), key(b))))
}

/// Sorts references to facts by their record key, for stable messages.
fn by_key<T>(mut items: Vec<&T>, key: impl Fn(&T) -> &str) -> Vec<&T> {
    items.sort_by(|a, b| key(a).cmp(key(b)));
    items
}

/// "X", "X and Y", "X, Y and Z" in English.
fn list_en(items: &[String]) -> String {
    list(items, ", ", " and ")
}

/// "X", "X dan Y", "X, Y dan Z" in Bahasa Indonesia.
fn list_id(items: &[String]) -> String {
    list(items, ", ", " dan ")
}

fn list(items: &[String], sep: &str, last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., tail] => format!("{}{last}{tail}", init.join(sep)),
    }
}
