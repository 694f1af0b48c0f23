//! The identity a record gives for the person it names.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{check_dates, Violation};
use crate::{CountryCode, PassportNo, PersonName, Sex};

/// A person as an agency's record names them; Sinergi resolves it to one
/// worker by passport number and nationality.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Person {
    /// Passport number (ICAO 9303, upper-case).
    pub passport_no: PassportNo,
    /// Nationality and passport issuing state, ISO 3166-1 alpha-3.
    pub nationality: CountryCode,
    /// Name as in the passport (MRZ `<` separators become spaces).
    pub full_name: PersonName,
    /// `M`, `F` or `X`.
    pub sex: Option<Sex>,
    /// Date of birth.
    pub birth_date: Option<NaiveDate>,
    /// Passport expiry.
    pub passport_expires_on: Option<NaiveDate>,
    /// The passport this one replaced (a renewal), so that both numbers are
    /// known as one person's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_passport_no: Option<PassportNo>,
}

impl Person {
    /// The person's rule violations, reported under `prefix` (`worker`, or
    /// empty for a person at the top level); `today` bounds the birth date.
    pub fn violations(&self, prefix: &str, today: NaiveDate) -> Vec<Violation> {
        Person::date_violations(prefix, self.birth_date, self.passport_expires_on, today)
    }

    /// The rules on a person's dates (also checked when other fields keep
    /// the person from being built).
    pub fn date_violations(
        prefix: &str,
        birth_date: Option<NaiveDate>,
        passport_expires_on: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Vec<Violation> {
        let f = |name: &str| {
            if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}.{name}")
            }
        };
        let (birth, expiry) = (f("birth_date"), f("passport_expires_on"));
        let mut out = Vec::new();
        check_dates(
            &mut out,
            &[(&birth, birth_date), (&expiry, passport_expires_on)],
            &[],
        );
        if let (Some(b), Some(e)) = (birth_date, passport_expires_on) {
            if e <= b {
                out.push(Violation::new(
                    expiry.clone(),
                    "invalid_date",
                    format!("{expiry} must be after {birth}"),
                ));
            }
        }
        if birth_date.is_some_and(|b| b > today) {
            out.push(Violation::new(
                birth.clone(),
                "invalid_date",
                format!("{birth} must not be in the future"),
            ));
        }
        out
    }
}
