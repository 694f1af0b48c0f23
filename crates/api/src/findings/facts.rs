//! Builds the rule engine's facts from stored records.

use std::collections::BTreeMap;

use sinergi_db::records::{self, RecordFilter, RecordRow};
use sinergi_db::workers as people;
use sinergi_db::{DbConn, StoreError};
use sinergi_domain::rules::{
    ApprovalFact, AssignmentFact, EmployerFacts, IdentityFact, PassportFact, PermitFact,
    PositionFact, PresenceFact, RecordRef, WorkerFacts,
};
use sinergi_domain::{
    ApprovalStatus, AssignmentStatus, PermitKind, PermitStatus, PositionLevel, RecordType,
    RegionCode,
};

use crate::records::assignments::AssignmentDoc;
use crate::records::presence_reports::PresenceReportDoc;
use crate::records::residence_permits::ResidencePermitDoc;
use crate::records::rptka_approvals::RptkaApprovalDoc;

fn corrupt(what: &str, row: &RecordRow) -> StoreError {
    StoreError::Corrupt(format!("{what} {} cannot be read back", row.record_key))
}

fn doc<D: serde::de::DeserializeOwned>(row: &RecordRow) -> Result<D, StoreError> {
    Ok(serde_json::from_str(&row.doc)?)
}

/// The reference a finding cites for a stored record.
pub fn record_ref(row: &RecordRow) -> RecordRef {
    RecordRef {
        record_type: row.record_type.clone(),
        key: row.record_key.clone(),
        version: row.version,
        agency: row.agency_code.clone(),
    }
}

/// A permit as a fact.
pub fn permit(row: &RecordRow) -> Result<PermitFact, StoreError> {
    let d: ResidencePermitDoc = doc(row)?;
    Ok(PermitFact {
        r: record_ref(row),
        kind: PermitKind::parse(&d.kind).map_err(|_| corrupt("permit", row))?,
        status: PermitStatus::parse(&d.status).map_err(|_| corrupt("permit", row))?,
        sponsor_nib: d.sponsor_nib,
        valid_from: d.valid_from,
        valid_until: d.valid_until,
        passport_no: d.worker.passport_no,
    })
}

/// An assignment as a fact.
pub fn assignment(row: &RecordRow) -> Result<AssignmentFact, StoreError> {
    let d: AssignmentDoc = doc(row)?;
    Ok(AssignmentFact {
        r: record_ref(row),
        employer_nib: d.employer_nib,
        approval_no: d.approval_no,
        position_code: d.position_code,
        status: AssignmentStatus::parse(&d.status).map_err(|_| corrupt("assignment", row))?,
        start_on: d.start_on,
        end_on: d.end_on,
        has_companion: d.companion.is_some(),
        passport_no: d.worker.passport_no,
    })
}

/// An approval as a fact.
pub fn approval(row: &RecordRow) -> Result<ApprovalFact, StoreError> {
    let d: RptkaApprovalDoc = doc(row)?;
    let scope = d
        .location_scope
        .iter()
        .map(|c| RegionCode::parse(c).map_err(|_| corrupt("approval", row)))
        .collect::<Result<Vec<_>, _>>()?;
    let positions = d
        .positions
        .iter()
        .map(|p| {
            Ok(PositionFact {
                code: p.code.clone(),
                title: p.title.clone(),
                level: PositionLevel::parse(&p.level).map_err(|_| corrupt("approval", row))?,
                headcount: p.headcount,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(ApprovalFact {
        r: record_ref(row),
        employer_nib: d.employer_nib,
        status: ApprovalStatus::parse(&d.status).map_err(|_| corrupt("approval", row))?,
        valid_from: d.valid_from,
        valid_until: d.valid_until,
        location_scope: scope,
        positions,
    })
}

/// A presence report as a fact, with its headcount if it counts people.
pub fn presence(row: &RecordRow) -> Result<(PresenceFact, Option<u32>), StoreError> {
    let d: PresenceReportDoc = doc(row)?;
    Ok((
        PresenceFact {
            r: record_ref(row),
            observed_on: d.observed_on,
            region: RegionCode::parse(&d.region_code)
                .map_err(|_| corrupt("presence report", row))?,
            at_work_site: d.work_site_ref.is_some(),
            employer_nib: d.employer_nib,
        },
        d.headcount,
    ))
}

/// Everything known about many workers, read with a few queries for all of
/// them; each with the records that name them.
pub fn workers(
    conn: &mut DbConn,
    ids: &[String],
) -> Result<Vec<(WorkerFacts, Vec<RecordRow>)>, StoreError> {
    let details = people::get_workers(conn, ids)?;
    let rows = records::records_of_workers(conn, ids)?;
    let keys = approval_keys(&rows)?;
    let approvals = records::get_records(conn, RecordType::RptkaApproval.as_str(), &keys)?;
    let mut rows = people::group_by_worker(
        rows.into_iter().filter(|r| r.worker_id.is_some()).collect(),
        |r| r.worker_id.as_ref().expect("filtered"),
    );
    details
        .iter()
        .map(|d| {
            let mine = rows.remove(&d.worker.id).unwrap_or_default();
            Ok((worker_from(d, &mine, &approvals)?, mine))
        })
        .collect()
}

/// The approval numbers the assignments among `rows` are placed under.
fn approval_keys(rows: &[RecordRow]) -> Result<Vec<String>, StoreError> {
    let mut keys = std::collections::BTreeSet::new();
    for row in rows.iter().filter(|r| r.record_type == "assignment") {
        if let Some(k) = assignment(row)?.approval_no {
            keys.insert(k);
        }
    }
    Ok(keys.into_iter().collect())
}

/// A worker's facts from their identity, the records naming them and the
/// approvals (any superset) their assignments may refer to.
fn worker_from(
    detail: &people::WorkerDetail,
    rows: &[RecordRow],
    approvals: &[RecordRow],
) -> Result<WorkerFacts, StoreError> {
    let worker_id = &detail.worker.id;
    let mut facts = WorkerFacts {
        worker_id: worker_id.to_string(),
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
    };
    for row in rows {
        match row.record_type.as_str() {
            "residence_permit" => facts.permits.push(permit(row)?),
            "assignment" => facts.assignments.push(assignment(row)?),
            "presence_report" => facts.presence.push(presence(row)?.0),
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
    let mut wanted: BTreeMap<&str, ()> = BTreeMap::new();
    for a in &facts.assignments {
        if let Some(k) = &a.approval_no {
            wanted.insert(k.as_str(), ());
        }
    }
    facts.approvals = approvals
        .iter()
        .filter(|r| wanted.contains_key(r.record_key.as_str()))
        .map(approval)
        .collect::<Result<Vec<_>, _>>()?;
    facts.approvals.sort_by(|a, b| a.r.key.cmp(&b.r.key));
    Ok(facts)
}

/// Everything known about one employer.
pub fn employer(conn: &mut DbConn, nib: &str) -> Result<EmployerFacts, StoreError> {
    let filter = RecordFilter {
        employer_nib: Some(nib.to_string()),
        ..Default::default()
    };
    let approvals = records::find_all(conn, RecordType::RptkaApproval.as_str(), &filter)?
        .iter()
        .map(approval)
        .collect::<Result<Vec<_>, _>>()?;
    let assignments = records::find_all(conn, RecordType::Assignment.as_str(), &filter)?
        .iter()
        .map(assignment)
        .collect::<Result<Vec<_>, _>>()?;
    // The latest headcount report per district speaks for that district.
    let mut latest: BTreeMap<String, (PresenceFact, u32)> = BTreeMap::new();
    for row in records::find_all(conn, RecordType::PresenceReport.as_str(), &filter)? {
        let (fact, headcount) = presence(&row)?;
        let Some(n) = headcount else { continue };
        let district = fact
            .region
            .district()
            .map(|d| d.as_str().to_string())
            .unwrap_or_default();
        let newer = latest
            .get(&district)
            .is_none_or(|(f, _)| (f.observed_on, &f.r.key) < (fact.observed_on, &fact.r.key));
        if newer {
            latest.insert(district, (fact, n));
        }
    }
    Ok(EmployerFacts {
        nib: nib.to_string(),
        approvals,
        assignments,
        headcount_reports: latest.into_values().collect(),
    })
}
