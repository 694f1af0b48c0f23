//! Statistics without personal data: active foreign workers by group,
//! seen-on-site versus permitted, and findings by rule, severity and district.
//! Counts of one or two people are suppressed so no person can be singled out.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use sinergi_db::records::{self, RecordFilter, RecordRow};
use sinergi_db::{DbConn, StoreError};
use sinergi_domain::{RecordType, RegionCode, Sector};
use utoipa::{IntoParams, ToSchema};

use super::engine::today;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::parse_query;
use crate::records::input::{date_param, passed, Checker};
use sinergi_domain::access::{Channel, Request};
use sinergi_domain::records::{
    Assignment as AssignmentDoc, Employer as EmployerDoc, PresenceReport as PresenceReportDoc,
    Record, RptkaApproval as RptkaApprovalDoc, WorkSite as WorkSiteDoc,
};

/// Counts below this are not shown (k-anonymity threshold).
pub const SUPPRESS_BELOW: u64 = sinergi_domain::disclosure::SUPPRESS_BELOW;

/// One group's count.
#[derive(Debug, Serialize, ToSchema, Clone)]
pub struct GroupCount {
    /// Group key (sector code, district code, alpha-3, NIB, level).
    pub key: String,
    /// Readable label (Bahasa Indonesia where one exists).
    pub label: String,
    /// Active foreign workers; null when suppressed.
    pub count: Option<u64>,
    /// True when the count is hidden: it is 1 or 2, or it would let such a
    /// count be worked out from the others and the total.
    pub suppressed: bool,
    /// Worker counts only: how many of the counted workers may be one
    /// person counted twice (unresolved `POSSIBLE_SAME_PERSON` pairs with
    /// both workers counted and one in this group); null when the count is hidden.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub possible_duplicates: Option<u64>,
}

fn cell(key: String, label: String, n: u64) -> GroupCount {
    let suppressed = n > 0 && n < SUPPRESS_BELOW;
    GroupCount {
        key,
        label,
        count: (!suppressed).then_some(n),
        suppressed,
        possible_duplicates: None,
    }
}

/// Active foreign workers as of a date.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerStats {
    /// The date counted.
    pub as_of: NaiveDate,
    /// The grouping.
    pub group_by: String,
    /// Region prefix the count is limited to.
    pub region: Option<String>,
    /// All active foreign workers in the region (each person once); null
    /// when showing it would give a hidden group's count away.
    pub total: Option<u64>,
    /// Counts per group, largest first.
    pub groups: Vec<GroupCount>,
    /// Counts from 1 to this minus one are suppressed.
    pub suppression_threshold: u64,
    /// How exact `total` is: the unresolved `POSSIBLE_SAME_PERSON` pairs
    /// with both workers counted, so the total may be up to this many too
    /// high until immigration confirms or rejects them; null with the total.
    #[schema(example = 3)]
    pub possible_duplicates: Option<u64>,
}

/// One active worker, reduced to what statistics need.
struct Active {
    employer: Option<String>,
    nationality: String,
    level: Option<String>,
    /// The district of the work site of the assignment, if it names one.
    site_district: Option<String>,
    district: Option<String>,
}

struct Snapshot {
    employers: BTreeMap<String, EmployerDoc>,
    active: BTreeMap<String, Active>,
    /// Unresolved candidate pairs (worker ids).
    pairs: Vec<(String, String)>,
    headcounts: Vec<(PresenceReportDoc, Option<String>)>,
    sightings: Vec<(PresenceReportDoc, String)>,
}

fn docs<D: Record>(rows: &[RecordRow]) -> Result<Vec<(D, &RecordRow)>, StoreError> {
    rows.iter().map(|r| Ok((r.typed_as()?, r))).collect()
}

fn district_of(code: &str) -> Option<String> {
    RegionCode::parse(code)
        .ok()
        .and_then(|r| r.district())
        .map(|d| d.as_str().to_string())
}

/// Reads what the statistics are computed from, as of `as_of`.
fn snapshot(conn: &mut DbConn, as_of: NaiveDate) -> Result<Snapshot, StoreError> {
    let valid = RecordFilter {
        status: Some("active".into()),
        valid_on: Some(as_of),
        ..Default::default()
    };
    let employers: BTreeMap<String, EmployerDoc> = docs::<EmployerDoc>(&records::find_all(
        conn,
        "employer",
        &RecordFilter::default(),
    )?)?
    .into_iter()
    .map(|(d, _)| (d.nib.to_string(), d))
    .collect();
    let approvals: BTreeMap<String, RptkaApprovalDoc> = docs::<RptkaApprovalDoc>(
        &records::find_all(conn, "rptka_approval", &RecordFilter::default())?,
    )?
    .into_iter()
    .map(|(d, _)| (d.approval_no.to_string(), d))
    .collect();
    // Work sites by Sinergi id, as the district they are in.
    let sites: BTreeMap<String, Option<String>> = docs::<WorkSiteDoc>(&records::find_all(
        conn,
        RecordType::WorkSite.as_str(),
        &RecordFilter::default(),
    )?)?
    .into_iter()
    .map(|(s, row)| (row.record_key.clone(), district_of(s.region_code.as_str())))
    .collect();
    let mut active: BTreeMap<String, Active> = BTreeMap::new();
    let assignments = records::find_all(conn, RecordType::Assignment.as_str(), &valid)?;
    for (a, row) in docs::<AssignmentDoc>(&assignments)? {
        let Some(w) = &row.worker_id else { continue };
        let level = a
            .approval_no
            .as_ref()
            .and_then(|n| approvals.get(n.as_str()))
            .and_then(|ap| ap.position(a.position_code.as_ref()?.as_str()))
            .map(|p| p.level.as_str().to_string());
        let site_district = a
            .work_site_id
            .as_ref()
            .and_then(|id| sites.get(id).cloned().flatten());
        active.entry(w.clone()).or_insert(Active {
            employer: Some(a.employer_nib.to_string()),
            nationality: a.worker.nationality.to_string(),
            level,
            site_district,
            district: None,
        });
    }
    for row in records::find_all(conn, RecordType::ResidencePermit.as_str(), &valid)? {
        let Some(w) = &row.worker_id else { continue };
        if !matches!(row.kind.as_deref(), Some("ITAS") | Some("ITAP")) {
            continue;
        }
        active.entry(w.clone()).or_insert(Active {
            employer: row.employer_nib.clone(),
            nationality: row.nationality.clone().unwrap_or_default(),
            level: None,
            site_district: None,
            district: None,
        });
    }
    // District: the latest presence report up to the date, else the
    // assignment's work site's, else the employer's.
    let seen_filter = RecordFilter {
        until: Some(as_of),
        ..Default::default()
    };
    let reports = records::find_all(conn, RecordType::PresenceReport.as_str(), &seen_filter)?;
    let mut latest: BTreeMap<String, (NaiveDate, String)> = BTreeMap::new();
    let mut headcounts = Vec::new();
    let mut sightings = Vec::new();
    for (p, row) in docs::<PresenceReportDoc>(&reports)? {
        let district = district_of(p.region_code.as_str());
        match &row.worker_id {
            Some(w) => {
                if let Some(d) = &district {
                    if latest.get(w).is_none_or(|(day, _)| *day <= p.observed_on) {
                        latest.insert(w.clone(), (p.observed_on, d.clone()));
                    }
                }
                sightings.push((p, w.clone()));
            }
            None => headcounts.push((p, district)),
        }
    }
    for (w, a) in active.iter_mut() {
        a.district = latest
            .get(w)
            .map(|(_, d)| d.clone())
            .or_else(|| a.site_district.clone())
            .or_else(|| {
                a.employer
                    .as_ref()
                    .and_then(|n| employers.get(n))
                    .and_then(|e| district_of(e.region_code.as_str()))
            });
    }
    Ok(Snapshot {
        employers,
        active,
        pairs: sinergi_db::persons::all_candidates(conn)?,
        headcounts,
        sightings,
    })
}

fn within(district: Option<&String>, prefix: &Option<RegionCode>) -> bool {
    match prefix {
        None => true,
        Some(p) => district
            .and_then(|d| RegionCode::parse(d).ok())
            .is_some_and(|d| d.is_within(p)),
    }
}

fn district_label(code: &str) -> String {
    RegionCode::parse(code)
        .ok()
        .and_then(|r| r.district_name())
        .map(str::to_string)
        .unwrap_or_else(|| code.to_string())
}

/// Parameters of the worker statistics.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorkerStatsQuery {
    /// `sector`, `region` (district), `nationality`, `employer` or `level`.
    #[param(schema_with = group_by_schema)]
    pub group_by: String,
    /// The date to count on (YYYY-MM-DD, 1900-01-01 to 2100-12-31; default today).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub as_of: Option<String>,
    /// Kemendagri region prefix, e.g. `64.02` (Kukar) or `64.02.12` (Tabang).
    #[param(value_type = Option<sinergi_domain::RegionCode>)]
    pub region: Option<String>,
}

/// What worker counts can be grouped by.
const GROUPS: [&str; 5] = ["sector", "region", "nationality", "employer", "level"];

fn group_by_schema() -> utoipa::openapi::Object {
    crate::contract::one_of(&GROUPS)
}

/// The dates statistics can be asked about (`as_of`), inclusive.
pub const AS_OF_RANGE: (NaiveDate, NaiveDate) = (
    match NaiveDate::from_ymd_opt(1900, 1, 1) {
        Some(d) => d,
        None => NaiveDate::MIN,
    },
    match NaiveDate::from_ymd_opt(2100, 12, 31) {
        Some(d) => d,
        None => NaiveDate::MAX,
    },
);

/// `as_of`: a real date within [`AS_OF_RANGE`].
fn as_of_param(ck: &mut Checker, v: Option<&str>) -> Option<Option<NaiveDate>> {
    let parsed = date_param(ck, "as_of", v)?;
    let (first, last) = AS_OF_RANGE;
    match parsed {
        Some(d) if d < first || d > last => {
            ck.check::<NaiveDate>(
                "as_of",
                Err(sinergi_domain::FieldError::new(
                    "out_of_range",
                    format!("as_of must be from {first} to {last}"),
                )),
            );
            None
        }
        other => Some(other),
    }
}

/// `days` before `date`, or the earliest date there is (never a panic).
fn days_before(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_sub_days(Days::new(days))
        .unwrap_or(NaiveDate::MIN)
}

fn common_params(
    as_of: Option<&str>,
    region: Option<&str>,
) -> Result<(NaiveDate, Option<RegionCode>), ApiError> {
    let mut ck = Checker::default();
    let as_of = as_of_param(&mut ck, as_of);
    let region = ck.check_opt("region", region, RegionCode::parse_known);
    ck.finish()?;
    Ok((passed(as_of)?.unwrap_or_else(today), passed(region)?))
}

/// Active foreign workers on a date, grouped.
///
/// A worker is active on a date when they hold a valid ITAS or ITAP or an
/// active assignment; each person is counted once. Sector comes from the
/// employer's main KBLI; the district from the latest presence report, else
/// the employer's address. Groups of one or two people are suppressed
/// (`count: null, suppressed: true`).
#[utoipa::path(
    tag = "stats",
    params(WorkerStatsQuery),
    responses(
        (status = 200, description = "Counts", body = WorkerStats),
        (status = 400, description = "Invalid grouping, date or region", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/stats/workers")]
pub async fn worker_stats(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(Request::new(Channel::Stats, &[]))?;
    let q: WorkerStatsQuery = parse_query(&req)?;
    let (as_of, region) = common_params(q.as_of.as_deref(), q.region.as_deref())?;
    let group_by = q.group_by.clone();
    if !GROUPS.contains(&group_by.as_str()) {
        return Err(ApiError::field(
            "group_by",
            "invalid_value",
            "group_by must be sector, region, nationality, employer or level",
        ));
    }
    let db = state.db.clone();
    let snap = web::block(move || db.read(|c| snapshot(c, as_of))).await??;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut group_of: BTreeMap<&str, String> = BTreeMap::new();
    let mut total = 0;
    for (w, a) in snap
        .active
        .iter()
        .filter(|(_, a)| within(a.district.as_ref(), &region))
    {
        total += 1;
        let employer = a.employer.as_ref().and_then(|n| snap.employers.get(n));
        let key = match group_by.as_str() {
            "sector" => employer.map(|e| e.sector.code().to_string()),
            "region" => a.district.clone(),
            "nationality" => Some(a.nationality.clone()).filter(|n| !n.is_empty()),
            "employer" => a.employer.clone(),
            _ => a.level.clone(),
        }
        .unwrap_or_else(|| "unknown".into());
        *counts.entry(key.clone()).or_default() += 1;
        group_of.insert(w.as_str(), key);
    }
    // A pair counts against the total when both workers are counted, and
    // against each group holding one of them.
    let mut doubles: BTreeMap<String, u64> = BTreeMap::new();
    let mut possible_duplicates = 0;
    for (a, b) in &snap.pairs {
        let (Some(ga), Some(gb)) = (group_of.get(a.as_str()), group_of.get(b.as_str())) else {
            continue;
        };
        possible_duplicates += 1;
        *doubles.entry(ga.clone()).or_default() += 1;
        if gb != ga {
            *doubles.entry(gb.clone()).or_default() += 1;
        }
    }
    let exact: Vec<u64> = counts.values().copied().collect();
    let mut groups: Vec<GroupCount> = counts
        .into_iter()
        .map(|(k, n)| {
            let label = match group_by.as_str() {
                "sector" => Sector::parse(&k)
                    .map(|s| s.name_id().to_string())
                    .unwrap_or_else(|_| k.clone()),
                "region" => district_label(&k),
                "nationality" => sinergi_domain::CountryCode::parse(&k)
                    .map(|c| c.name().to_string())
                    .unwrap_or_else(|_| k.clone()),
                "employer" => snap
                    .employers
                    .get(&k)
                    .map(|e| e.name.clone())
                    .unwrap_or_else(|| k.clone()),
                _ => k.clone(),
            };
            let doubles = doubles.get(&k).copied().unwrap_or(0);
            GroupCount {
                possible_duplicates: Some(doubles),
                ..cell(k, label, n)
            }
        })
        .collect();
    // No hidden count may be worked out from the total and the shown ones.
    let shown = sinergi_domain::disclosure::protect(&exact);
    for (g, hidden) in groups.iter_mut().zip(&shown.hidden) {
        if *hidden {
            g.count = None;
            g.suppressed = true;
        }
        if g.suppressed {
            g.possible_duplicates = None;
        }
    }
    let possible_duplicates = (!shown.total_hidden).then_some(possible_duplicates);
    let total = (!shown.total_hidden).then_some(total);
    groups.sort_by(|a, b| {
        b.count
            .unwrap_or(0)
            .cmp(&a.count.unwrap_or(0))
            .then(a.key.cmp(&b.key))
    });
    Ok(HttpResponse::Ok().json(WorkerStats {
        as_of,
        group_by: q.group_by,
        region: region.map(|r| r.as_str().to_string()),
        total,
        groups,
        suppression_threshold: SUPPRESS_BELOW,
        possible_duplicates,
    }))
}

/// Seen on site versus permitted, for one district or employer.
#[derive(Debug, Serialize, ToSchema, Clone)]
pub struct GapRow {
    /// District code or NIB.
    pub key: String,
    /// District or employer name.
    pub label: String,
    /// Foreign workers with an active assignment (employer) or active in the district.
    pub permitted: Option<u64>,
    /// Foreign workers seen: the latest headcount per site area plus named sightings in the last 30 days.
    pub seen: Option<u64>,
    /// `seen - permitted` when both are shown; positive means more seen than permitted.
    pub gap: Option<i64>,
    /// True when a count is hidden because it is 1 or 2.
    pub suppressed: bool,
}

/// Seen-on-site versus permitted.
#[derive(Debug, Serialize, ToSchema)]
pub struct PresenceStats {
    /// The date counted.
    pub as_of: NaiveDate,
    /// Region prefix.
    pub region: Option<String>,
    /// Per district.
    pub districts: Vec<GapRow>,
    /// Per employer, largest gap first.
    pub employers: Vec<GapRow>,
    /// Counts from 1 to this minus one are suppressed.
    pub suppression_threshold: u64,
}

fn gap_row(key: String, label: String, permitted: u64, seen: u64) -> GapRow {
    let hide = |n: u64| n > 0 && n < SUPPRESS_BELOW;
    let suppressed = hide(permitted) || hide(seen);
    GapRow {
        key,
        label,
        permitted: (!hide(permitted)).then_some(permitted),
        seen: (!hide(seen)).then_some(seen),
        gap: (!suppressed).then_some(seen as i64 - permitted as i64),
        suppressed,
    }
}

/// Parameters of the presence statistics.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PresenceStatsQuery {
    /// The date (YYYY-MM-DD, 1900-01-01 to 2100-12-31; default today).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub as_of: Option<String>,
    /// Kemendagri region prefix.
    #[param(value_type = Option<sinergi_domain::RegionCode>)]
    pub region: Option<String>,
}

/// Seen on site versus permitted, per district and per employer.
///
/// Permitted: foreign workers with an active assignment (per employer) or
/// active in the district. Seen: the latest headcount report per employer and
/// district within 90 days, plus distinct named workers seen in the last 30
/// days. A positive gap means more people on site than permitted.
#[utoipa::path(
    tag = "stats",
    params(PresenceStatsQuery),
    responses(
        (status = 200, description = "Counts", body = PresenceStats),
        (status = 400, description = "Invalid date or region", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/stats/presence")]
pub async fn presence_stats(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(Request::new(Channel::Stats, &[]))?;
    let q: PresenceStatsQuery = parse_query(&req)?;
    let (as_of, region) = common_params(q.as_of.as_deref(), q.region.as_deref())?;
    let db = state.db.clone();
    let snap = web::block(move || db.read(|c| snapshot(c, as_of))).await??;
    let mut permitted_d: BTreeMap<String, u64> = BTreeMap::new();
    let mut permitted_e: BTreeMap<String, u64> = BTreeMap::new();
    for a in snap
        .active
        .values()
        .filter(|a| within(a.district.as_ref(), &region))
    {
        if let Some(d) = &a.district {
            *permitted_d.entry(d.clone()).or_default() += 1;
        }
        if let Some(e) = &a.employer {
            *permitted_e.entry(e.clone()).or_default() += 1;
        }
    }
    // Latest headcount per (employer, district) within 90 days.
    let mut latest: BTreeMap<(String, String), (NaiveDate, u64)> = BTreeMap::new();
    for (p, district) in &snap.headcounts {
        let (Some(d), Some(n)) = (district, p.headcount) else {
            continue;
        };
        if p.observed_on < days_before(as_of, 90) || !within(Some(d), &region) {
            continue;
        }
        let k = (
            p.employer_nib
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            d.clone(),
        );
        if latest.get(&k).is_none_or(|(day, _)| *day <= p.observed_on) {
            latest.insert(k, (p.observed_on, n as u64));
        }
    }
    let mut seen_d: BTreeMap<String, u64> = BTreeMap::new();
    let mut seen_e: BTreeMap<String, u64> = BTreeMap::new();
    for ((e, d), (_, n)) in &latest {
        *seen_d.entry(d.clone()).or_default() += n;
        if !e.is_empty() {
            *seen_e.entry(e.clone()).or_default() += n;
        }
    }
    let mut named: BTreeSet<(String, String, String)> = BTreeSet::new();
    for (p, w) in &snap.sightings {
        let Some(d) = district_of(p.region_code.as_str()) else {
            continue;
        };
        if p.observed_on < days_before(as_of, 30) || !within(Some(&d), &region) {
            continue;
        }
        named.insert((
            w.clone(),
            d,
            p.employer_nib
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        ));
    }
    for (_, d, e) in &named {
        *seen_d.entry(d.clone()).or_default() += 1;
        if !e.is_empty() {
            *seen_e.entry(e.clone()).or_default() += 1;
        }
    }
    let keys_d: BTreeSet<String> = permitted_d.keys().chain(seen_d.keys()).cloned().collect();
    let districts = keys_d
        .into_iter()
        .map(|d| {
            gap_row(
                d.clone(),
                district_label(&d),
                permitted_d.get(&d).copied().unwrap_or(0),
                seen_d.get(&d).copied().unwrap_or(0),
            )
        })
        .collect();
    let keys_e: BTreeSet<String> = permitted_e.keys().chain(seen_e.keys()).cloned().collect();
    let mut employers: Vec<GapRow> = keys_e
        .into_iter()
        .map(|e| {
            let label = snap
                .employers
                .get(&e)
                .map(|x| x.name.clone())
                .unwrap_or_else(|| e.clone());
            gap_row(
                e.clone(),
                label,
                permitted_e.get(&e).copied().unwrap_or(0),
                seen_e.get(&e).copied().unwrap_or(0),
            )
        })
        .collect();
    employers.sort_by(|a, b| {
        b.gap
            .unwrap_or(i64::MIN)
            .cmp(&a.gap.unwrap_or(i64::MIN))
            .then(a.key.cmp(&b.key))
    });
    Ok(HttpResponse::Ok().json(PresenceStats {
        as_of,
        region: region.map(|r| r.as_str().to_string()),
        districts,
        employers,
        suppression_threshold: SUPPRESS_BELOW,
    }))
}

/// Open findings counted.
#[derive(Debug, Serialize, ToSchema)]
pub struct FindingStats {
    /// Status counted (default `open`).
    pub status: String,
    /// Region prefix.
    pub region: Option<String>,
    /// Total.
    pub total: u64,
    /// Per rule code.
    pub by_rule: Vec<GroupCount>,
    /// Per severity.
    pub by_severity: Vec<GroupCount>,
    /// Per district.
    pub by_district: Vec<GroupCount>,
}

/// Parameters of the findings statistics.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FindingStatsQuery {
    /// `open` (default), `acknowledged` or `resolved`.
    #[param(value_type = Option<sinergi_domain::rules::FindingStatus>)]
    pub status: Option<String>,
    /// Kemendagri region prefix.
    #[param(value_type = Option<sinergi_domain::RegionCode>)]
    pub region: Option<String>,
}

/// Findings counted by rule, severity and district.
///
/// Counts of findings by rule, severity and district for a status (open by
/// default) and region prefix. No personal data: counts below the disclosure
/// threshold are suppressed.
#[utoipa::path(
    tag = "stats",
    params(FindingStatsQuery),
    responses(
        (status = 200, description = "Counts", body = FindingStats),
        (status = 400, description = "Invalid status or region", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/stats/findings")]
pub async fn finding_stats(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(Request::new(Channel::Stats, &[]))?;
    let q: FindingStatsQuery = parse_query(&req)?;
    let status = q.status.clone().unwrap_or_else(|| "open".into());
    if !["open", "acknowledged", "resolved"].contains(&status.as_str()) {
        return Err(ApiError::field(
            "status",
            "invalid_value",
            "status must be open, acknowledged or resolved",
        ));
    }
    let (_, region) = common_params(None, q.region.as_deref())?;
    let db = state.db.clone();
    let s = status.clone();
    let rows = web::block(move || db.read(|c| sinergi_db::findings::all(c, Some(&s)))).await??;
    let mut by_rule: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_severity: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_district: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0;
    for f in rows
        .iter()
        .filter(|f| within(f.region_code.as_ref(), &region))
    {
        total += 1;
        *by_rule.entry(f.rule.clone()).or_default() += 1;
        *by_severity.entry(f.severity.clone()).or_default() += 1;
        *by_district
            .entry(f.region_code.clone().unwrap_or_else(|| "unknown".into()))
            .or_default() += 1;
    }
    // Findings are cases for supervisors, not people: shown exactly.
    let exact = |m: BTreeMap<String, u64>, label: &dyn Fn(&str) -> String| {
        let mut v: Vec<GroupCount> = m
            .into_iter()
            .map(|(k, n)| GroupCount {
                label: label(&k),
                key: k,
                count: Some(n),
                suppressed: false,
                possible_duplicates: None,
            })
            .collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
        v
    };
    let rule_label = |k: &str| {
        sinergi_domain::rules::RuleCode::parse(k)
            .map(|r| r.title_id().to_string())
            .unwrap_or_else(|| k.to_string())
    };
    Ok(HttpResponse::Ok().json(FindingStats {
        status,
        region: region.map(|r| r.as_str().to_string()),
        total,
        by_rule: exact(by_rule, &rule_label),
        by_severity: exact(by_severity, &|k: &str| k.to_string()),
        by_district: exact(by_district, &|k: &str| district_label(k)),
    }))
}

use crate::state::AppState;
