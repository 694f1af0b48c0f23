//! How a finding is shown to agencies: in the API and as the change feed's
//! payload of a finding change.

use super::FindingRow;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sinergi_domain::rules::RuleCode;
use utoipa::ToSchema;

/// A record cited as evidence.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema, Clone)]
pub struct EvidenceRef {
    /// Record type.
    pub record_type: String,
    /// Record key.
    pub key: String,
    /// The version the finding was computed from.
    pub version: i64,
    /// Agency that holds the record.
    pub agency: String,
}

/// The subject of a finding.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectView {
    /// `worker` or `employer`.
    #[schema(schema_with = subject_kind_schema)]
    pub kind: String,
    /// Worker id or NIB.
    pub id: String,
}

/// A cross-agency compliance finding.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "daf0d0e4-cad8-4fec-a4eb-e1ff0c023f77", "rule": "PERMIT_WITHOUT_ASSIGNMENT",
    "rule_title_en": "Work permit without an active assignment",
    "rule_title_id": "Izin tinggal kerja tanpa penugasan aktif",
    "severity": "high", "subject": {"kind": "worker", "id": "1d7cd09c-b14a-4591-b6ae-5057aca9d9c9"},
    "responsible": "manpower", "status": "open",
    "evidence": [{"record_type": "residence_permit", "key": "2C21JE0123456", "version": 1, "agency": "IMI-SMD"}],
    "message_en": "ITAS 2C21JE0123456, sponsored by 9120001234567 and valid until 2027-01-04, has no active assignment.",
    "message_id": "ITAS 2C21JE0123456, disponsori 9120001234567 dan berlaku sampai 2027-01-04, tidak memiliki penugasan aktif.",
    "region_code": "64.02.06", "employer_nib": "9120001234567",
    "worker_id": "1d7cd09c-b14a-4591-b6ae-5057aca9d9c9", "status_by": "sinergi", "status_note": null,
    "status_changed_at": "2026-12-01T02:14:07Z", "first_seen_at": "2026-12-01T02:14:07Z",
    "last_seen_at": "2026-12-01T02:14:07Z", "version": 1}))]
pub struct FindingView {
    /// Id.
    pub id: String,
    /// Rule code, e.g. `ASSIGNMENT_WITHOUT_PERMIT`.
    #[schema(value_type = RuleCode)]
    pub rule: String,
    /// The rule in English.
    pub rule_title_en: String,
    /// The rule in Bahasa Indonesia.
    pub rule_title_id: String,
    /// `info`, `low`, `medium` or `high`.
    #[schema(value_type = sinergi_domain::rules::Severity)]
    pub severity: String,
    /// Who or what the finding is about.
    pub subject: SubjectView,
    /// Agency kind expected to act (`immigration`, `manpower`, ...).
    #[schema(value_type = sinergi_domain::AgencyKind)]
    pub responsible: String,
    /// `open`, `acknowledged` or `resolved`.
    #[schema(value_type = sinergi_domain::rules::FindingStatus)]
    pub status: String,
    /// The records, with versions, that show the contradiction.
    pub evidence: Vec<EvidenceRef>,
    /// This occurrence explained (English; no names or passport numbers).
    pub message_en: String,
    /// This occurrence explained (Bahasa Indonesia).
    pub message_id: String,
    /// District (Kemendagri) the finding is located in.
    pub region_code: Option<String>,
    /// Employer concerned.
    pub employer_nib: Option<String>,
    /// Worker concerned.
    pub worker_id: Option<String>,
    /// Who set the status: `sinergi` when the data decided, else `AGENCY/client`.
    pub status_by: String,
    /// Note given with the status.
    pub status_note: Option<String>,
    /// When the status was set.
    pub status_changed_at: DateTime<Utc>,
    /// First detected.
    pub first_seen_at: DateTime<Utc>,
    /// Last changed by a recomputation.
    pub last_seen_at: DateTime<Utc>,
    /// +1 on each change; the ETag is this number in quotes.
    pub version: i64,
}

impl FindingView {
    /// The view of a stored finding.
    pub fn of(r: &FindingRow) -> FindingView {
        let code = RuleCode::parse(&r.rule);
        FindingView {
            id: r.id.clone(),
            rule: r.rule.clone(),
            rule_title_en: code.map(|c| c.title_en()).unwrap_or_default().to_string(),
            rule_title_id: code.map(|c| c.title_id()).unwrap_or_default().to_string(),
            severity: r.severity.clone(),
            subject: SubjectView {
                kind: r.subject_kind.clone(),
                id: r.subject_id.clone(),
            },
            responsible: r.responsible.clone(),
            status: r.status.clone(),
            evidence: serde_json::from_str(&r.evidence).unwrap_or_default(),
            message_en: r.message_en.clone(),
            message_id: r.message_id.clone(),
            region_code: r.region_code.clone(),
            employer_nib: r.employer_nib.clone(),
            worker_id: r.worker_id.clone(),
            status_by: r.status_by.clone(),
            status_note: r.status_note.clone(),
            status_changed_at: r.status_changed_at.and_utc(),
            first_seen_at: r.first_seen_at.and_utc(),
            last_seen_at: r.last_seen_at.and_utc(),
            version: r.version,
        }
    }
}

fn subject_kind_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(sinergi_domain::rules::Subject::KINDS))
        .build()
}
