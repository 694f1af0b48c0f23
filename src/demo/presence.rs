//! Routine presence reports: Tim PORA field checks by Kesbangpol, district
//! offices in their own kecamatan, and immigration's APOA lodging reports.

use chrono::NaiveDate;

use super::generate::day;
use super::model::{active_on, valid_on, Ag, Data, Presence};
use super::rng::Rng;

/// The next `source_ref` of a reporting agency.
pub fn next_ref(data: &Data, by: Ag) -> String {
    let n = data.presence.iter().filter(|p| p.by == by).count() + 1;
    match by {
        Ag::Kesbangpol => format!("PORA-KK-{n:04}"),
        Ag::KecLoaKulu => format!("KEC-LK-{n:04}"),
        Ag::KecTenggarong => format!("KEC-TGR-{n:04}"),
        Ag::KecMuaraJawa => format!("KEC-MJ-{n:04}"),
        _ => format!("APOA-SMD-{n:05}"),
    }
}

/// What a foreign worker is typically seen doing at a site of this kind.
pub fn activity(kind: &str, rng: &mut Rng) -> String {
    let options: &[&str] = match kind {
        "mine" => &[
            "supervising overburden removal",
            "inspecting the haul road",
            "checking pit dewatering pumps",
            "supervising blasting preparation",
            "surveying the pit wall",
        ],
        "mill" => &["supervising the boiler station", "checking the press line"],
        "plantation" => &[
            "inspecting harvest blocks",
            "checking fertiliser application",
        ],
        "office" => &["office work", "coordination meeting"],
        "port" => &["supervising barge loading", "inspecting the conveyor"],
        _ => &["supervising field work", "maintaining heavy equipment"],
    };
    rng.pick(options).to_string()
}

/// The note an agency writes on its reports.
pub fn note(by: Ag) -> &'static str {
    match by {
        Ag::Kesbangpol => "Pemeriksaan lapangan Tim PORA Kukar",
        Ag::Imigrasi => "Laporan orang asing dari penyedia akomodasi (APOA)",
        _ => "Pemantauan orang asing oleh kecamatan",
    }
}

/// A named person seen at their work site.
pub fn named(data: &Data, by: Ag, worker: usize, on: NaiveDate, rng: &mut Rng) -> Presence {
    let site = data.workers[worker]
        .site
        .expect("employed worker has a site");
    let s = &data.sites[site];
    Presence {
        source_ref: next_ref(data, by),
        by,
        observed_on: on,
        source: "field_check",
        region: s.region.clone(),
        site: Some(site),
        employer: Some(s.employer),
        worker: Some(worker),
        headcount: None,
        activity: Some(activity(s.kind, rng)),
        notes: Some(note(by).to_string()),
    }
}

/// Named and headcount reports for workers and sites not involved in a
/// deliberate contradiction, each dated while the worker was permitted.
pub fn routine(data: &mut Data) {
    let a = data.anchor;
    let mut rng = Rng::stream("presence");
    for w in 0..data.workers.len() {
        if data.is_special(w) {
            continue;
        }
        let (Some(ai), Some(pi), Some(site)) = (
            data.assignment_of(w),
            data.permit_of(w),
            data.workers[w].site,
        ) else {
            continue;
        };
        let (asg, permit) = (&data.assignments[ai], &data.permits[pi]);
        if !active_on(asg, a) || !valid_on(permit, a) {
            continue;
        }
        let earliest = asg.start_on.max(permit.valid_from).max(day(a, -90));
        let span = (a - earliest).num_days().max(1);
        let when = |rng: &mut Rng| day(a, -rng.range(1, span));
        let region = data.sites[site].region.clone();
        if let Some(office) = Ag::district_office(&region) {
            if rng.chance(50) {
                let on = when(&mut rng);
                let p = named(data, office, w, on, &mut rng);
                data.presence.push(p);
            }
        }
        if rng.chance(25) {
            let on = when(&mut rng);
            let p = named(data, Ag::Kesbangpol, w, on, &mut rng);
            data.presence.push(p);
        }
        if rng.chance(8) {
            let on = when(&mut rng);
            data.presence.push(Presence {
                source_ref: next_ref(data, Ag::Imigrasi),
                by: Ag::Imigrasi,
                observed_on: on,
                source: "apoa",
                region,
                site: None,
                employer: None,
                worker: Some(w),
                headcount: None,
                activity: None,
                notes: Some(note(Ag::Imigrasi).to_string()),
            });
        }
    }
    // Unnamed headcounts at sites, no more than the workers permitted there.
    for s in 0..data.sites.len() {
        let permitted = data.active_at_site(s);
        if permitted == 0 {
            continue;
        }
        let region = data.sites[s].region.clone();
        let mut reporters = Vec::new();
        if rng.chance(50) {
            reporters.push(Ag::Kesbangpol);
        }
        if let Some(office) = Ag::district_office(&region) {
            reporters.push(office);
        }
        for by in reporters {
            let seen = if by == Ag::Kesbangpol {
                permitted.saturating_sub(rng.below(2) as u32).max(1)
            } else {
                permitted
            };
            let source = if by == Ag::Kesbangpol && rng.chance(40) {
                "employer_report"
            } else {
                "field_check"
            };
            data.presence.push(Presence {
                source_ref: next_ref(data, by),
                by,
                observed_on: day(a, -rng.range(3, 60)),
                source,
                region: region.clone(),
                site: Some(s),
                employer: Some(data.sites[s].employer),
                worker: None,
                headcount: Some(seen),
                activity: Some(activity(data.sites[s].kind, &mut rng)),
                notes: Some(note(by).to_string()),
            });
        }
    }
}

impl Data {
    /// Workers with an active assignment today whose work site is `site`.
    pub fn active_at_site(&self, site: usize) -> u32 {
        self.assignments
            .iter()
            .filter(|x| active_on(x, self.anchor) && self.workers[x.worker].site == Some(site))
            .count() as u32
    }
}
