//! The identity a record gives for the person it names.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sinergi_db::workers::PersonRef;
use sinergi_domain::{CountryCode, PassportNo, PersonName, Sex};
use utoipa::ToSchema;

use super::common::Checker;

/// A person as an agency record names them; Sinergi resolves it to one worker
/// by passport number and nationality.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    /// Passport number (ICAO 9303: A-Z, 0-9, 5 to 9 characters; case is normalised).
    #[schema(example = "E51234567")]
    pub passport_no: String,
    /// Nationality and passport issuing state, ISO 3166-1 alpha-3.
    #[schema(example = "CHN")]
    pub nationality: String,
    /// Name as in the passport (MRZ `<` separators become spaces).
    #[schema(example = "ZHANG WEI")]
    pub full_name: String,
    /// `M`, `F` or `X`.
    #[schema(example = "M")]
    pub sex: Option<String>,
    /// Date of birth (YYYY-MM-DD).
    #[schema(example = "1985-04-12")]
    pub birth_date: Option<NaiveDate>,
    /// Passport expiry (YYYY-MM-DD).
    #[schema(example = "2031-06-30")]
    pub passport_expires_on: Option<NaiveDate>,
}

/// A person as stored with the record, normalised.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PersonDoc {
    /// Passport number (upper-case).
    #[schema(example = "E51234567")]
    pub passport_no: String,
    /// Nationality, ISO 3166-1 alpha-3.
    #[schema(example = "CHN")]
    pub nationality: String,
    /// Name as in the passport.
    #[schema(example = "ZHANG WEI")]
    pub full_name: String,
    /// `M`, `F` or `X`.
    pub sex: Option<String>,
    /// Date of birth.
    pub birth_date: Option<NaiveDate>,
    /// Passport expiry.
    pub passport_expires_on: Option<NaiveDate>,
}

impl PersonInput {
    /// Validates into the stored form; problems are reported under `prefix`.
    pub fn check(&self, ck: &mut Checker, prefix: &str) -> Option<PersonDoc> {
        let f = |name: &str| {
            if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}.{name}")
            }
        };
        let passport = ck.check(&f("passport_no"), PassportNo::parse(&self.passport_no));
        let nationality = ck.check(&f("nationality"), CountryCode::parse(&self.nationality));
        let name = ck.check(&f("full_name"), PersonName::parse(&self.full_name));
        let sex = ck.check_opt(&f("sex"), self.sex.as_deref(), Sex::parse);
        if let (Some(b), Some(e)) = (self.birth_date, self.passport_expires_on) {
            if e <= b {
                ck.fail(
                    &f("passport_expires_on"),
                    "invalid_date",
                    "passport_expires_on must be after birth_date",
                );
            }
        }
        if let Some(b) = self.birth_date {
            if b > chrono::Utc::now().date_naive() {
                ck.fail(
                    &f("birth_date"),
                    "invalid_date",
                    "birth_date must not be in the future",
                );
            }
        }
        Some(PersonDoc {
            passport_no: passport?.as_str().to_string(),
            nationality: nationality?.as_str().to_string(),
            full_name: name?.as_str().to_string(),
            sex: sex?.map(|s| s.as_str().to_string()),
            birth_date: self.birth_date,
            passport_expires_on: self.passport_expires_on,
        })
    }
}

impl PersonDoc {
    /// The identity to resolve in the store.
    pub fn person_ref(&self) -> PersonRef {
        PersonRef {
            passport_no: self.passport_no.clone(),
            nationality: self.nationality.clone(),
            full_name: self.full_name.clone(),
            sex: self.sex.clone(),
            birth_date: self.birth_date,
            passport_expires_on: self.passport_expires_on,
        }
    }
}
