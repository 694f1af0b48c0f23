//! Geographic positions of work sites.

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// WGS84 point inside Indonesia's bounding box (lat -11.5..=6.5, lon 94.5..=141.5).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawPoint")]
pub struct GeoPoint {
    lat: f64,
    lon: f64,
}

/// Unchecked wire shape, validated through `GeoPoint::new` on deserialisation.
#[derive(Deserialize)]
struct RawPoint {
    lat: f64,
    lon: f64,
}

impl TryFrom<RawPoint> for GeoPoint {
    type Error = FieldError;

    fn try_from(raw: RawPoint) -> Result<Self, Self::Error> {
        GeoPoint::new(raw.lat, raw.lon)
    }
}

impl GeoPoint {
    /// Builds a point; NaN/infinite is `invalid_coordinates`, outside the box `outside_indonesia`.
    pub fn new(lat: f64, lon: f64) -> Result<Self, FieldError> {
        if !lat.is_finite() || !lon.is_finite() {
            return Err(FieldError::new(
                "invalid_coordinates",
                "latitude and longitude must be numbers",
            ));
        }
        // A swapped lat/lon pair lands far outside this box, which catches the commonest mistake.
        if !(-11.5..=6.5).contains(&lat) || !(94.5..=141.5).contains(&lon) {
            return Err(FieldError::new(
                "outside_indonesia",
                "the point is outside Indonesia (latitude -11.5 to 6.5, longitude 94.5 to 141.5)",
            ));
        }
        Ok(Self { lat, lon })
    }

    /// Latitude in degrees.
    pub fn lat(&self) -> f64 {
        self.lat
    }

    /// Longitude in degrees.
    pub fn lon(&self) -> f64 {
        self.lon
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_points_in_indonesia() {
        // Tenggarong, Kukar.
        let p = GeoPoint::new(-0.4167, 116.9833).unwrap();
        assert_eq!((p.lat(), p.lon()), (-0.4167, 116.9833));
        assert!(GeoPoint::new(-11.5, 94.5).is_ok());
        assert!(GeoPoint::new(6.5, 141.5).is_ok());
    }

    #[test]
    fn rejects_points_outside() {
        for (lat, lon) in [
            (116.98, -0.41),
            (0.0, 0.0),
            (1.35, 94.4),
            (-11.6, 120.0),
            (6.6, 120.0),
            (0.0, 141.6),
        ] {
            assert_eq!(
                GeoPoint::new(lat, lon).unwrap_err().code,
                "outside_indonesia",
                "{lat},{lon}"
            );
        }
    }

    #[test]
    fn rejects_non_numbers() {
        assert_eq!(
            GeoPoint::new(f64::NAN, 116.0).unwrap_err().code,
            "invalid_coordinates"
        );
        assert_eq!(
            GeoPoint::new(0.0, f64::INFINITY).unwrap_err().code,
            "invalid_coordinates"
        );
    }
}
