//! Work sites (mines, camps, mills, plantations, offices), keyed by the
//! writing agency's `source_ref`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{check_text, Index, Key, Record, Violation};
use crate::{GeoPoint, Nib, RecordType, RegionCode, SiteKind, SourceRef};

/// A place where foreign workers work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkSite {
    /// The writing agency's own id (the key).
    pub source_ref: SourceRef,
    /// Employer NIB.
    pub employer_nib: Nib,
    /// Site name.
    #[cfg_attr(feature = "openapi", schema(example = "Pit Loa Kulu Utara"))]
    pub name: String,
    /// Kind of site.
    pub kind: SiteKind,
    /// Kemendagri region code (desa or kecamatan).
    pub region_code: RegionCode,
    /// Latitude (WGS84), with `lon`.
    #[cfg_attr(feature = "openapi", schema(example = -0.5412))]
    pub lat: Option<f64>,
    /// Longitude (WGS84), with `lat`.
    #[cfg_attr(feature = "openapi", schema(example = 117.0231))]
    pub lon: Option<f64>,
}

impl Record for WorkSite {
    const TYPE: RecordType = RecordType::WorkSite;

    fn key(&self) -> Key<'_> {
        Key::SourceRef(self.source_ref.as_str())
    }

    fn source_ref(&self) -> Option<&SourceRef> {
        Some(&self.source_ref)
    }

    fn index(&self) -> Index {
        Index {
            employer_nib: Some(self.employer_nib.to_string()),
            region_code: Some(self.region_code.to_string()),
            kind: Some(self.kind.as_str().to_string()),
            ..Index::default()
        }
    }

    fn regions(&self) -> Vec<RegionCode> {
        vec![self.region_code.clone()]
    }

    fn violations(&self, _today: NaiveDate) -> Vec<Violation> {
        let mut out = Vec::new();
        check_text(&mut out, "name", &self.name, 200);
        match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => {
                if let Err(e) = GeoPoint::new(lat, lon) {
                    out.push(Violation::new("lat", e.code, e.message));
                }
            }
            (None, None) => {}
            _ => out.push(Violation::new(
                "lon",
                "incomplete_coordinates",
                "give both lat and lon, or neither",
            )),
        }
        out
    }
}
