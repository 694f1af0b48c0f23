//! Employers, keyed by NIB: shared master data of manpower and immigration.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{check_opt_text, check_text, Index, Key, Record, Violation};
use crate::{Capital, Kbli, Nib, Npwp, RecordType, RegionCode, Sector, SourceRef};

/// An employer of foreign workers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Employer {
    /// NIB, 13 digits (the key).
    pub nib: Nib,
    /// NPWP, 16 digits.
    pub npwp: Option<Npwp>,
    /// Registered company name.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "PT Batu Bara Mahakam Sejahtera")
    )]
    pub name: String,
    /// `PMA` (foreign capital) or `PMDN` (domestic).
    pub capital: Capital,
    /// KBLI 2020 codes; the first is the main activity and gives the sector.
    pub kbli: Vec<Kbli>,
    /// Sector of the main KBLI code.
    pub sector: Sector,
    /// Address.
    pub address: Option<String>,
    /// Kemendagri region code.
    pub region_code: RegionCode,
    /// The writing agency's own id (not part of the document).
    #[serde(skip)]
    pub source_ref: Option<SourceRef>,
}

impl Employer {
    /// The sector of a list of KBLI codes: that of the first (main) one.
    pub fn sector_of(kbli: &[Kbli]) -> Sector {
        kbli.first()
            .map(Kbli::sector)
            .unwrap_or(Sector::OtherServices)
    }
}

impl Record for Employer {
    const TYPE: RecordType = RecordType::Employer;

    fn key(&self) -> Key<'_> {
        Key::Natural(self.nib.as_str())
    }

    fn source_ref(&self) -> Option<&SourceRef> {
        self.source_ref.as_ref()
    }

    fn index(&self) -> Index {
        Index {
            employer_nib: Some(self.nib.to_string()),
            region_code: Some(self.region_code.to_string()),
            kind: Some(self.sector.code().to_string()),
            ..Index::default()
        }
    }

    fn regions(&self) -> Vec<RegionCode> {
        vec![self.region_code.clone()]
    }

    fn violations(&self, _today: NaiveDate) -> Vec<Violation> {
        let mut out = Vec::new();
        check_text(&mut out, "name", &self.name, 200);
        check_opt_text(&mut out, "address", self.address.as_deref(), 500);
        if self.kbli.is_empty() {
            out.push(Violation::new(
                "kbli",
                "required",
                "give at least one KBLI 2020 code; the first is the main activity",
            ));
        }
        if self.kbli.len() > 20 {
            out.push(Violation::new("kbli", "too_many", "at most 20 KBLI codes"));
        }
        if self.sector != Employer::sector_of(&self.kbli) && !self.kbli.is_empty() {
            out.push(Violation::new(
                "kbli",
                "sector_mismatch",
                "the sector must be that of the first KBLI code",
            ));
        }
        out
    }
}
