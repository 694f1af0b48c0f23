//! The identity a record gives for the person it names, as agencies send it.

use chrono::NaiveDate;
use serde::Deserialize;
use sinergi_domain::records::Person;
use sinergi_domain::{CountryCode, PassportNo, PersonName, Sex};
use utoipa::ToSchema;

use super::input::Checker;

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
    #[schema(value_type = Option<sinergi_domain::Sex>, example = "M")]
    pub sex: Option<String>,
    /// Date of birth (YYYY-MM-DD).
    #[schema(example = "1985-04-12")]
    pub birth_date: Option<NaiveDate>,
    /// Passport expiry (YYYY-MM-DD).
    #[schema(example = "2031-06-30")]
    pub passport_expires_on: Option<NaiveDate>,
    /// The passport this one replaced, when the permit or assignment was
    /// moved to a renewed passport: both numbers are then known as one
    /// person's.
    #[serde(default)]
    #[schema(example = "E41234567")]
    pub previous_passport_no: Option<String>,
}

impl PersonInput {
    /// The person as a domain value; field problems are reported under `prefix`.
    pub fn person(&self, ck: &mut Checker, prefix: &str) -> Option<Person> {
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
        let previous = ck.check_opt(
            &f("previous_passport_no"),
            self.previous_passport_no.as_deref(),
            PassportNo::parse,
        );
        Some(Person {
            passport_no: passport?,
            nationality: nationality?,
            full_name: name?,
            sex: sex?,
            birth_date: self.birth_date,
            passport_expires_on: self.passport_expires_on,
            previous_passport_no: previous?,
        })
    }
}
