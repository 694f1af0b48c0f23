//! Validity periods of approvals, permits and assignments.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::FieldError;

/// Validity period with from <= until (both days inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawPeriod")]
pub struct Period {
    from: NaiveDate,
    until: NaiveDate,
}

/// Unchecked wire shape, validated through `Period::new` on deserialisation.
#[derive(Deserialize)]
struct RawPeriod {
    from: NaiveDate,
    until: NaiveDate,
}

impl TryFrom<RawPeriod> for Period {
    type Error = FieldError;

    fn try_from(raw: RawPeriod) -> Result<Self, Self::Error> {
        Period::new(raw.from, raw.until)
    }
}

impl Period {
    /// Builds a period; `from` after `until` is `invalid_period`.
    pub fn new(from: NaiveDate, until: NaiveDate) -> Result<Self, FieldError> {
        if from > until {
            return Err(FieldError::new(
                "invalid_period",
                "the start date must not be after the end date",
            ));
        }
        Ok(Self { from, until })
    }

    /// First valid day.
    pub fn from(&self) -> NaiveDate {
        self.from
    }

    /// Last valid day.
    pub fn until(&self) -> NaiveDate {
        self.until
    }

    /// True when `d` is within the period, both ends included.
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.until
    }

    /// Days from `d` to the last valid day: 0 on the last day, negative once past it.
    pub fn days_left(&self, d: NaiveDate) -> i64 {
        (self.until - d).num_days()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn order_is_enforced() {
        assert!(Period::new(day(2025, 1, 1), day(2025, 12, 31)).is_ok());
        assert!(Period::new(day(2025, 1, 1), day(2025, 1, 1)).is_ok());
        let e = Period::new(day(2025, 1, 2), day(2025, 1, 1)).unwrap_err();
        assert_eq!(e.code, "invalid_period");
    }

    #[test]
    fn contains_is_inclusive() {
        let p = Period::new(day(2025, 1, 1), day(2025, 6, 30)).unwrap();
        assert_eq!((p.from(), p.until()), (day(2025, 1, 1), day(2025, 6, 30)));
        assert!(p.contains(day(2025, 1, 1)));
        assert!(p.contains(day(2025, 6, 30)));
        assert!(!p.contains(day(2024, 12, 31)));
        assert!(!p.contains(day(2025, 7, 1)));
    }

    #[test]
    fn days_left() {
        let p = Period::new(day(2025, 1, 1), day(2025, 6, 30)).unwrap();
        assert_eq!(p.days_left(day(2025, 6, 30)), 0);
        assert_eq!(p.days_left(day(2025, 5, 31)), 30);
        assert_eq!(p.days_left(day(2025, 7, 2)), -2);
    }

    #[test]
    fn deserialisation_validates() {
        use serde::de::value::{Error, MapDeserializer};
        let map = |from: &'static str, until: &'static str| {
            MapDeserializer::<_, Error>::new([("from", from), ("until", until)].into_iter())
        };
        let p = Period::deserialize(map("2025-01-01", "2025-02-01")).unwrap();
        assert_eq!(p.until(), day(2025, 2, 1));
        let e = Period::deserialize(map("2025-03-01", "2025-02-01")).unwrap_err();
        assert!(e.to_string().contains("start date"));
    }
}
