//! RPTKA approvals (work approvals for foreign workers) with their
//! positions, keyed by approval number.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{check_text, issued_period_violations, Index, Key, Record, Violation};
use crate::{
    is_closed_position, ApprovalStatus, ApprovalType, DocumentNo, Nib, PositionLevel, RecordType,
    RegionCode, SourceRef,
};

/// One approved position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Position {
    /// Position code, unique within the approval.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "P01"))]
    pub code: DocumentNo,
    /// Job title (*jabatan*).
    #[cfg_attr(feature = "openapi", schema(example = "Mining Engineer"))]
    pub title: String,
    /// Level of the position.
    pub level: PositionLevel,
    /// Approved number of foreign workers in this position (1 to 10000).
    #[cfg_attr(feature = "openapi", schema(example = 3, minimum = 1, maximum = 10000))]
    pub headcount: u32,
    /// Whether the title is closed to foreigners (Kepmenaker 349/2019).
    pub closed_position: bool,
}

impl Position {
    /// A position; whether it is closed follows from its title.
    pub fn new(code: DocumentNo, title: String, level: PositionLevel, headcount: u32) -> Self {
        Position {
            closed_position: is_closed_position(&title),
            code,
            title,
            level,
            headcount,
        }
    }
}

/// An RPTKA approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RptkaApproval {
    /// Approval number (the key).
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "KEP.12345/PPTKA/PTA/2025"))]
    pub approval_no: DocumentNo,
    /// Employer NIB.
    pub employer_nib: Nib,
    /// Approval type.
    #[serde(rename = "type")]
    pub type_: ApprovalType,
    /// Date of issue.
    pub issued_on: NaiveDate,
    /// First valid day.
    pub valid_from: NaiveDate,
    /// Last valid day.
    pub valid_until: NaiveDate,
    /// Kemendagri codes of the regencies or districts where the work is allowed.
    pub location_scope: Vec<RegionCode>,
    /// The approved positions.
    pub positions: Vec<Position>,
    /// Status.
    pub status: ApprovalStatus,
    /// The writing agency's own id (not part of the document).
    #[serde(skip)]
    pub source_ref: Option<SourceRef>,
}

impl RptkaApproval {
    /// The position with `code`.
    pub fn position(&self, code: &str) -> Option<&Position> {
        self.positions.iter().find(|p| p.code.as_str() == code)
    }
}

fn position_code_ok(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 32
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

impl Record for RptkaApproval {
    const TYPE: RecordType = RecordType::RptkaApproval;

    fn key(&self) -> Key<'_> {
        Key::Natural(self.approval_no.as_str())
    }

    fn source_ref(&self) -> Option<&SourceRef> {
        self.source_ref.as_ref()
    }

    fn index(&self) -> Index {
        Index {
            employer_nib: Some(self.employer_nib.to_string()),
            region_code: self.location_scope.first().map(ToString::to_string),
            status: Some(self.status.as_str().to_string()),
            kind: Some(self.type_.as_str().to_string()),
            valid_from: Some(self.valid_from),
            valid_until: Some(self.valid_until),
            ..Index::default()
        }
    }

    fn regions(&self) -> Vec<RegionCode> {
        self.location_scope.clone()
    }

    fn violations(&self, _today: NaiveDate) -> Vec<Violation> {
        let mut out = Vec::new();
        out.extend(issued_period_violations(
            self.issued_on,
            self.valid_from,
            self.valid_until,
        ));
        if self.location_scope.is_empty() {
            out.push(Violation::new(
                "location_scope",
                "required",
                "give at least one Kemendagri region code where the work is allowed",
            ));
        }
        if self.positions.is_empty() {
            out.push(Violation::new(
                "positions",
                "required",
                "give at least one approved position",
            ));
        }
        if self.positions.len() > 500 {
            out.push(Violation::new(
                "positions",
                "too_many",
                "at most 500 positions per approval",
            ));
        }
        let mut codes = HashSet::new();
        for (i, p) in self.positions.iter().enumerate() {
            let field = |n: &str| format!("positions[{i}].{n}");
            if !position_code_ok(p.code.as_str()) {
                out.push(Violation::new(
                    field("code"),
                    "invalid_position_code",
                    "position code must be 1-32 characters A-Z, 0-9, - _ . /",
                ));
            } else if !codes.insert(p.code.as_str()) {
                out.push(Violation::new(
                    field("code"),
                    "duplicate_position_code",
                    "position codes must be unique within the approval",
                ));
            }
            check_text(&mut out, &field("title"), &p.title, 200);
            if p.headcount == 0 || p.headcount > 10_000 {
                out.push(Violation::new(
                    field("headcount"),
                    "invalid_headcount",
                    "headcount must be 1 to 10000",
                ));
            }
        }
        out
    }
}
