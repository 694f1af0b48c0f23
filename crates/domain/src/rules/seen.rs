//! Rule 13 `SEEN_OVER_PERMITTED`: more people seen at an employer in a
//! district (latest headcount reports) than it has active assignments
//! permitted there.
//!
//! Assignments carry no location of their own, so "permitted there" means
//! active on the observation date under an approval whose location scope
//! overlaps the district. An assignment whose approval is not among the facts
//! could be anywhere and is counted as permitted, so that missing data never
//! raises a finding.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::facts::{AssignmentFact, EmployerFacts, PresenceFact};
use super::finding::{Finding, RuleCode, Subject};
use crate::RegionCode;

/// One headcount report judged against the assignments permitted in its area on its date.
struct Judged<'a> {
    report: &'a PresenceFact,
    seen: u32,
    permitted: usize,
}

impl Judged<'_> {
    fn excess(&self) -> i64 {
        i64::from(self.seen) - self.permitted as i64
    }
}

/// Rule 13: one finding per district (discriminator: the district code).
///
/// Reports from several sites in one district are not added up (they may
/// count the same people on different days); the report with the largest
/// excess speaks for the district.
pub(super) fn seen_over_permitted(f: &EmployerFacts, _today: NaiveDate) -> Vec<Finding> {
    let mut by_area: BTreeMap<RegionCode, Vec<Judged>> = BTreeMap::new();
    for (report, seen) in &f.headcount_reports {
        // A report above district level is judged for the region it names.
        let area = report
            .region
            .district()
            .unwrap_or_else(|| report.region.clone());
        let permitted = permitted(f, &area, report.observed_on);
        by_area.entry(area).or_default().push(Judged {
            report,
            seen: *seen,
            permitted,
        });
    }
    by_area
        .into_iter()
        .filter_map(|(area, judged)| {
            let worst = judged
                .into_iter()
                .filter(|j| j.excess() > 0)
                .max_by(|a, b| {
                    (a.excess(), a.report.observed_on, &a.report.r.key).cmp(&(
                        b.excess(),
                        b.report.observed_on,
                        &b.report.r.key,
                    ))
                })?;
            Some(finding(f, &area, &worst))
        })
        .collect()
}

/// Assignments of the employer active on `d` that may work in `area`.
fn permitted(f: &EmployerFacts, area: &RegionCode, d: NaiveDate) -> usize {
    f.assignments
        .iter()
        .filter(|a| a.employer_nib == f.nib && a.is_active_on(d) && may_work_in(f, a, area))
        .count()
}

fn may_work_in(f: &EmployerFacts, a: &AssignmentFact, area: &RegionCode) -> bool {
    f.approval_of(a).is_none_or(|ap| ap.overlaps(area))
}

fn finding(f: &EmployerFacts, area: &RegionCode, j: &Judged) -> Finding {
    let d = j.report.observed_on;
    let (place_en, place_id) = match (area.level(), area.district_name()) {
        (crate::RegionLevel::District, Some(name)) => (
            format!("district {area} ({name})"),
            format!("kecamatan {area} ({name})"),
        ),
        (crate::RegionLevel::District, None) => {
            (format!("district {area}"), format!("kecamatan {area}"))
        }
        _ => (format!("region {area}"), format!("wilayah {area}")),
    };
    let en = format!(
        "On {d}, {} people were counted at employer {} in {place_en}, but only {} of its \
         assignments active that day are permitted there by RPTKA location scope.",
        j.seen, f.nib, j.permitted
    );
    let id = format!(
        "Pada {d}, terhitung {} orang di pemberi kerja {} di {place_id}, tetapi hanya {} \
         penugasannya yang aktif pada hari itu diizinkan di sana menurut lokasi kerja RPTKA.",
        j.seen, f.nib, j.permitted
    );
    // The approvals in force that day show where the employer's people may work.
    let evidence = std::iter::once(j.report.r.clone())
        .chain(
            f.approvals
                .iter()
                .filter(|ap| ap.is_valid_on(d))
                .map(|ap| ap.r.clone()),
        )
        .collect();
    Finding::new(
        RuleCode::SeenOverPermitted,
        Subject::Employer(f.nib.clone()),
        area.as_str(),
        evidence,
        (en, id),
    )
}
