//! Fixtures: a worker and an employer that break no rule on [`today`].

use chrono::NaiveDate;

use crate::rules::*;
use crate::{
    ApprovalStatus, AssignmentStatus, PermitKind, PermitStatus, PositionLevel, RegionCode,
};

/// The employer of the clean fixtures (a NIB).
pub const EMPLOYER: &str = "8120000000001";
/// Another employer.
pub const OTHER: &str = "8120000000002";
/// The worker's passport number; must never appear in a message.
pub const PASSPORT: &str = "E12345678";
/// The worker's name; must never appear in a message.
pub const NAME: &str = "WANG WEI";

pub fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// The evaluation date of every test.
pub fn today() -> NaiveDate {
    d("2025-06-15")
}

pub fn rc(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
}

pub fn rr(record_type: &str, key: &str, agency: &str) -> RecordRef {
    RecordRef {
        record_type: record_type.into(),
        key: key.into(),
        version: 1,
        agency: agency.into(),
    }
}

pub fn permit(no: &str, kind: PermitKind, from: &str, until: &str) -> PermitFact {
    PermitFact {
        r: rr("residence_permit", no, "imigrasi"),
        kind,
        status: PermitStatus::Active,
        sponsor_nib: Some(EMPLOYER.into()),
        valid_from: d(from),
        valid_until: d(until),
        passport_no: PASSPORT.into(),
    }
}

pub fn itas(no: &str, from: &str, until: &str) -> PermitFact {
    permit(no, PermitKind::Itas, from, until)
}

/// An active assignment in position P01 (professional) of RPTKA-1, with a companion.
pub fn assignment(key: &str, from: &str, until: &str) -> AssignmentFact {
    AssignmentFact {
        r: rr("assignment", key, "kemnaker"),
        employer_nib: EMPLOYER.into(),
        approval_no: Some("RPTKA-1".into()),
        position_code: Some("P01".into()),
        status: AssignmentStatus::Active,
        start_on: d(from),
        end_on: d(until),
        has_companion: true,
        passport_no: PASSPORT.into(),
    }
}

pub fn position(code: &str, title: &str, level: PositionLevel, headcount: u32) -> PositionFact {
    PositionFact {
        code: code.into(),
        title: title.into(),
        level,
        headcount,
    }
}

/// In force 2024–2026 for Loa Kulu (64.02.02): P01 engineers (2), D01 a director (1).
pub fn approval(no: &str) -> ApprovalFact {
    ApprovalFact {
        r: rr("rptka_approval", no, "kemnaker"),
        employer_nib: EMPLOYER.into(),
        status: ApprovalStatus::Active,
        valid_from: d("2024-01-01"),
        valid_until: d("2026-12-31"),
        location_scope: vec![rc("64.02.02")],
        positions: vec![
            position("P01", "Mining Engineer", PositionLevel::Professional, 2),
            position("D01", "President Director", PositionLevel::Director, 1),
        ],
    }
}

/// The worker seen at a work site of [`EMPLOYER`].
pub fn seen(key: &str, on: &str, region: &str) -> PresenceFact {
    PresenceFact {
        r: rr("presence_report", key, "kec-loa-kulu"),
        observed_on: d(on),
        region: rc(region),
        at_work_site: true,
        employer_nib: Some(EMPLOYER.into()),
    }
}

pub fn passport(number: &str, expires_on: Option<&str>) -> PassportFact {
    PassportFact {
        number: number.into(),
        country: "CHN".into(),
        expires_on: expires_on.map(d),
    }
}

pub fn identity(agency: &str, r: RecordRef, name: &str, birth: Option<&str>) -> IdentityFact {
    IdentityFact {
        agency: agency.into(),
        passport_no: PASSPORT.into(),
        full_name: name.into(),
        birth_date: birth.map(d),
        r,
    }
}

/// ITAS and assignment through 2025, seen at a Loa Kulu pit on 2025-06-10,
/// immigration and manpower agreeing on who they are.
pub fn clean_worker() -> WorkerFacts {
    WorkerFacts {
        worker_id: "w-1".into(),
        permits: vec![itas("ITAS-1", "2025-01-01", "2025-12-31")],
        assignments: vec![assignment("ASG-1", "2025-01-01", "2025-12-31")],
        approvals: vec![approval("RPTKA-1")],
        presence: vec![seen("PR-1", "2025-06-10", "64.02.02.2001")],
        passports: vec![passport(PASSPORT, Some("2030-01-01"))],
        identities: vec![
            identity(
                "imigrasi",
                rr("residence_permit", "ITAS-1", "imigrasi"),
                NAME,
                Some("1985-03-04"),
            ),
            identity(
                "kemnaker",
                rr("assignment", "ASG-1", "kemnaker"),
                NAME,
                Some("1985-03-04"),
            ),
        ],
        possible_same: vec![],
    }
}

/// Two engineers (full quota) and a director; three people counted in Loa Kulu.
pub fn clean_employer() -> EmployerFacts {
    let mut director = assignment("ASG-3", "2025-01-01", "2025-12-31");
    director.position_code = Some("D01".into());
    director.has_companion = false;
    EmployerFacts {
        nib: EMPLOYER.into(),
        approvals: vec![approval("RPTKA-1")],
        assignments: vec![
            assignment("ASG-1", "2025-01-01", "2025-12-31"),
            assignment("ASG-2", "2025-02-01", "2025-12-31"),
            director,
        ],
        headcount_reports: vec![(headcount("HC-1", "2025-06-10", "64.02.02.2001"), 3)],
        unregistered: None,
    }
}

/// A headcount report at a work site of [`EMPLOYER`].
pub fn headcount(key: &str, on: &str, region: &str) -> PresenceFact {
    seen(key, on, region)
}

/// The findings of one rule.
pub fn of(findings: Vec<Finding>, rule: RuleCode) -> Vec<Finding> {
    findings.into_iter().filter(|f| f.rule == rule).collect()
}

/// The worker's findings of one rule, as of [`today`].
pub fn worker_findings(f: &WorkerFacts, rule: RuleCode) -> Vec<Finding> {
    of(evaluate_worker(f, today()), rule)
}

/// The employer's findings of one rule, as of [`today`].
pub fn employer_findings(f: &EmployerFacts, rule: RuleCode) -> Vec<Finding> {
    of(evaluate_employer(f, today()), rule)
}

/// The discriminators of some findings.
pub fn keys(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.discriminator.as_str()).collect()
}

/// The evidence keys of a finding.
pub fn evidence(f: &Finding) -> Vec<&str> {
    f.evidence.iter().map(|r| r.key.as_str()).collect()
}
