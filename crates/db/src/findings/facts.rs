//! The rule engine's facts, read from the stored records: typed documents
//! converted by the domain's pure conversions.

use std::collections::{BTreeMap, BTreeSet};

use sinergi_domain::records::{AnyRecord, RptkaApproval};
use sinergi_domain::rules::{
    ApprovalFact, AssignmentFact, EmployerFacts, IdentityFact, PassportFact, PermitFact,
    PossibleSameFact, PresenceFact, RecordRef, Unregistered, WorkerFacts,
};
use sinergi_domain::RecordType;

use crate::conn::DbConn;
use crate::error::StoreError;
use crate::records::{self, RecordFilter, RecordRow};
use crate::workers as people;

/// The reference a finding cites for a stored record.
pub fn record_ref(row: &RecordRow) -> RecordRef {
    RecordRef {
        record_type: row.record_type.clone(),
        key: row.record_key.clone(),
        version: row.version,
        agency: row.agency_code.clone(),
    }
}

/// An approval row as a fact.
fn approval(row: &RecordRow) -> Result<ApprovalFact, StoreError> {
    let a: RptkaApproval = row.typed_as()?;
    Ok(ApprovalFact::of(record_ref(row), &a))
}

/// Everything known about many workers, read with a few queries for all of
/// them; each with what it was read from: the worker with their identity
/// and the records that name them (all a stored view needs besides findings).
///
/// Workers found in `read` (read earlier in this transaction and not changed
/// since) are taken from it instead of being read again.
pub fn workers(
    conn: &mut DbConn,
    ids: &[String],
    read: &mut BTreeMap<String, people::WorkerDetail>,
) -> Result<Vec<(WorkerFacts, people::WorkerDetail, Vec<RecordRow>)>, StoreError> {
    let mut details = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    for id in ids {
        match read.remove(id) {
            Some(d) => details.push(d),
            None => missing.push(id.clone()),
        }
    }
    details.extend(people::get_workers(conn, &missing)?);
    details.sort_by(|a, b| a.worker.id.cmp(&b.worker.id));
    let rows = records::records_of_workers(conn, ids)?;
    // Assignments keep their approval number in the index column.
    let keys: BTreeSet<String> = rows
        .iter()
        .filter(|r| r.record_type == RecordType::Assignment.as_str())
        .filter_map(|r| r.ref_key.clone())
        .collect();
    let keys: Vec<String> = keys.into_iter().collect();
    let approvals: BTreeMap<String, ApprovalFact> =
        records::get_records(conn, RecordType::RptkaApproval.as_str(), &keys)?
            .iter()
            .map(|r| Ok((r.record_key.clone(), approval(r)?)))
            .collect::<Result<_, StoreError>>()?;
    let mut rows = people::group_by_worker(
        rows.into_iter().filter(|r| r.worker_id.is_some()).collect(),
        |r| r.worker_id.as_ref().expect("filtered"),
    );
    let mut links =
        people::group_by_worker(crate::persons::candidates_of(conn, ids)?, |l| &l.worker_a);
    details
        .into_iter()
        .map(|d| {
            let mine = rows.remove(&d.worker.id).unwrap_or_default();
            let mut facts = worker_from(&d, &mine, &approvals)?;
            for l in links.remove(&d.worker.id).unwrap_or_default() {
                facts.possible_same.push(possible_same(&l)?);
            }
            Ok((facts, d, mine))
        })
        .collect()
}

/// A candidate pair as rule 15's fact.
fn possible_same(l: &crate::persons::LinkRow) -> Result<PossibleSameFact, StoreError> {
    Ok(PossibleSameFact {
        link: RecordRef {
            record_type: "person_link".into(),
            key: l.id.clone(),
            version: l.version,
            agency: crate::findings::engine::SYSTEM.into(),
        },
        other: l.worker_b.clone(),
        score_permille: (l.score * 1000.0).round().clamp(0.0, 1000.0) as u32,
        outcomes: l
            .agreements()?
            .into_iter()
            .map(|a| (a.field, a.outcome))
            .collect(),
    })
}

/// A worker's facts from their identity, the records naming them and the
/// approvals (any superset) their assignments may refer to.
fn worker_from(
    detail: &people::WorkerDetail,
    rows: &[RecordRow],
    approvals: &BTreeMap<String, ApprovalFact>,
) -> Result<WorkerFacts, StoreError> {
    let mut facts = WorkerFacts {
        worker_id: detail.worker.id.clone(),
        permits: vec![],
        assignments: vec![],
        approvals: vec![],
        presence: vec![],
        passports: detail
            .passports
            .iter()
            .map(|p| PassportFact {
                number: p.number.clone(),
                country: p.country.clone(),
                expires_on: p.expires_on,
            })
            .collect(),
        identities: vec![],
        possible_same: vec![],
    };
    for row in rows {
        match row.typed()? {
            AnyRecord::ResidencePermit(p) => {
                facts.permits.push(PermitFact::of(record_ref(row), &p))
            }
            AnyRecord::Assignment(a) => facts
                .assignments
                .push(AssignmentFact::of(record_ref(row), &a)),
            AnyRecord::PresenceReport(p) => {
                facts.presence.push(PresenceFact::of(record_ref(row), &p).0)
            }
            _ => {}
        }
    }
    for i in &detail.identities {
        let version = rows
            .iter()
            .find(|r| r.record_type == i.record_type && r.record_key == i.record_key)
            .map(|r| r.version)
            .unwrap_or(detail.worker.version);
        facts.identities.push(IdentityFact {
            agency: i.agency_code.clone(),
            passport_no: i.passport_no.clone(),
            full_name: i.full_name.clone(),
            birth_date: i.birth_date,
            r: RecordRef {
                record_type: i.record_type.clone(),
                key: i.record_key.clone(),
                version,
                agency: i.agency_code.clone(),
            },
        });
    }
    let wanted: BTreeSet<&str> = facts
        .assignments
        .iter()
        .filter_map(|a| a.approval_no.as_deref())
        .collect();
    facts.approvals = wanted
        .into_iter()
        .filter_map(|k| approvals.get(k).cloned())
        .collect();
    Ok(facts)
}

/// Everything known about many employers, read with a few queries for all
/// of them (in the order of `nibs`); `registered` says which have an
/// employer record stored (the caller has read them).
pub fn employers(
    conn: &mut DbConn,
    nibs: &[String],
    registered: impl Fn(&str) -> bool,
) -> Result<Vec<EmployerFacts>, StoreError> {
    let mut approvals: BTreeMap<String, Vec<ApprovalFact>> = BTreeMap::new();
    records::for_each_of_employers(conn, RecordType::RptkaApproval.as_str(), nibs, |row| {
        let nib = row.employer_nib.clone().unwrap_or_default();
        approvals.entry(nib).or_default().push(approval(&row)?);
        Ok(())
    })?;
    let mut assignments: BTreeMap<String, Vec<AssignmentFact>> = BTreeMap::new();
    records::for_each_of_employers(conn, RecordType::Assignment.as_str(), nibs, |row| {
        if let AnyRecord::Assignment(a) = row.typed()? {
            let nib = row.employer_nib.clone().unwrap_or_default();
            let fact = AssignmentFact::of(record_ref(&row), &a);
            assignments.entry(nib).or_default().push(fact);
        }
        Ok(())
    })?;
    // The latest headcount report per district speaks for that district.
    // An employer may have years of reports: they are read a page at a time.
    let mut latest: BTreeMap<String, BTreeMap<String, (PresenceFact, u32)>> = BTreeMap::new();
    let reports = RecordType::PresenceReport.as_str();
    records::for_each_of_employers(conn, reports, nibs, |row| {
        let AnyRecord::PresenceReport(p) = row.typed()? else {
            return Ok(());
        };
        let (fact, headcount) = PresenceFact::of(record_ref(&row), &p);
        let Some(n) = headcount else { return Ok(()) };
        let district = fact
            .region
            .district()
            .map(|d| d.as_str().to_string())
            .unwrap_or_default();
        let mine = latest
            .entry(row.employer_nib.clone().unwrap_or_default())
            .or_default();
        let newer = mine
            .get(&district)
            .is_none_or(|(f, _)| (f.observed_on, &f.r.key) < (fact.observed_on, &fact.r.key));
        if newer {
            mine.insert(district, (fact, n));
        }
        Ok(())
    })?;
    nibs.iter()
        .map(|nib| {
            Ok(EmployerFacts {
                nib: nib.clone(),
                approvals: approvals.remove(nib).unwrap_or_default(),
                assignments: assignments.remove(nib).unwrap_or_default(),
                headcount_reports: latest
                    .remove(nib)
                    .map(|m| m.into_values().collect())
                    .unwrap_or_default(),
                unregistered: if registered(nib) {
                    None
                } else {
                    Some(unregistered(conn, nib)?)
                },
            })
        })
        .collect()
}

/// How many records cite as evidence that an employer is not registered.
const NAMED_BY_CITED: usize = 10;

/// The records naming `nib`, which no agency has registered.
fn unregistered(conn: &mut DbConn, nib: &str) -> Result<Unregistered, StoreError> {
    let filter = RecordFilter {
        employer_nib: Some(nib.to_string()),
        ..Default::default()
    };
    // The first few of each type in key order are all that can be cited.
    let mut named_by = Vec::new();
    for t in RecordType::ALL {
        if matches!(t, RecordType::Employer | RecordType::Worker) {
            continue;
        }
        let first = records::list_records(conn, t.as_str(), &filter, None, NAMED_BY_CITED as i64)?;
        named_by.extend(first.iter().map(record_ref));
    }
    named_by.sort_by(|a, b| (&a.record_type, &a.key).cmp(&(&b.record_type, &b.key)));
    named_by.truncate(NAMED_BY_CITED);
    Ok(Unregistered { named_by })
}
