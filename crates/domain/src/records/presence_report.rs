//! Presence reports: a named worker, or a headcount, seen at a site or in a
//! region on a date, keyed by the writing agency's `source_ref`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{check_dates, check_opt_text, Index, Key, Person, Record, Violation};
use crate::{Nib, PresenceSource, RecordType, RegionCode, SourceRef};

/// A person or a headcount seen on site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresenceReport {
    /// The writing agency's own id (the key).
    pub source_ref: SourceRef,
    /// Day of the observation.
    pub observed_on: NaiveDate,
    /// Where the report comes from.
    pub source: PresenceSource,
    /// Kemendagri region code (desa or kecamatan).
    pub region_code: RegionCode,
    /// The work site's `source_ref`, if seen at one.
    pub work_site_ref: Option<SourceRef>,
    /// Employer NIB, if seen with one.
    pub employer_nib: Option<Nib>,
    /// The person seen (or `headcount`).
    pub worker: Option<Person>,
    /// The number of people seen, unnamed (or `worker`), 1 to 100000.
    pub headcount: Option<u32>,
    /// What they were doing.
    #[cfg_attr(feature = "openapi", schema(example = "operating an excavator"))]
    pub activity: Option<String>,
    /// Notes.
    pub notes: Option<String>,
}

impl Record for PresenceReport {
    const TYPE: RecordType = RecordType::PresenceReport;

    fn key(&self) -> Key<'_> {
        Key::SourceRef(self.source_ref.as_str())
    }

    fn source_ref(&self) -> Option<&SourceRef> {
        Some(&self.source_ref)
    }

    fn person(&self) -> Option<&Person> {
        self.worker.as_ref()
    }

    fn index(&self) -> Index {
        Index {
            employer_nib: self.employer_nib.as_ref().map(ToString::to_string),
            region_code: Some(self.region_code.to_string()),
            kind: Some(self.source.as_str().to_string()),
            ref_key: self.work_site_ref.as_ref().map(ToString::to_string),
            valid_from: Some(self.observed_on),
            valid_until: Some(self.observed_on),
            ..Index::default()
        }
    }

    fn regions(&self) -> Vec<RegionCode> {
        vec![self.region_code.clone()]
    }

    fn violations(&self, today: NaiveDate) -> Vec<Violation> {
        let mut out = Vec::new();
        check_dates(&mut out, &[("observed_on", Some(self.observed_on))], &[]);
        if self.observed_on > today + chrono::Duration::days(1) {
            out.push(Violation::new(
                "observed_on",
                "invalid_date",
                "observed_on must not be in the future",
            ));
        }
        match (&self.worker, self.headcount) {
            (Some(w), None) => out.extend(w.violations("worker", today)),
            (None, Some(n)) if (1..=100_000).contains(&n) => {}
            (None, Some(_)) => out.push(Violation::new(
                "headcount",
                "invalid_headcount",
                "headcount must be 1 to 100000",
            )),
            _ => out.push(Violation::new(
                "worker",
                "worker_or_headcount",
                "give either worker (a person seen) or headcount, not both",
            )),
        }
        check_opt_text(&mut out, "activity", self.activity.as_deref(), 500);
        check_opt_text(&mut out, "notes", self.notes.as_deref(), 2000);
        out
    }
}
