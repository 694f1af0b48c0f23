//! Generates the demo workforce: RPTKA approvals, workers, assignments and
//! stay permits, all dated relative to an anchor date so they stay current.

use std::collections::HashSet;

use chrono::{Days, NaiveDate};

use super::model::{
    Ag, Approval, Assignment, Companion, Data, Employer, Permit, Position, Profile, Worker,
};
use super::names::{self, NATIONALITY_SHARES};
use super::profiles::{bias, staff_size, titles};
use super::rng::Rng;
use super::{anomalies, employers, presence};

use Profile::*;

/// The whole demo data set for an anchor date (the same anchor gives the same data).
pub fn generate(anchor: NaiveDate) -> Data {
    let employers = employers::employers();
    let sites = employers::sites(&employers);
    let mut data = Data {
        anchor,
        employers,
        sites,
        ..Data::default()
    };
    workforce(&mut data);
    anomalies::apply(&mut data);
    presence::routine(&mut data);
    data
}

/// `anchor + days` (negative: before).
pub fn day(anchor: NaiveDate, days: i64) -> NaiveDate {
    if days >= 0 {
        anchor + Days::new(days as u64)
    } else {
        anchor - Days::new(days.unsigned_abs())
    }
}

/// Nationalities per employer: exact national shares overall, biased per employer.
fn nationalities(employers: &[Employer]) -> Vec<Vec<&'static str>> {
    let sizes: Vec<usize> = (0..employers.len())
        .map(|i| staff_size(employers[i].profile, &mut Rng::stream(&format!("size/{i}"))))
        .collect();
    let total: usize = sizes.iter().sum();
    let mut pool: Vec<(&'static str, u64)> = NATIONALITY_SHARES
        .iter()
        .map(|&(n, share)| (n, (total as u64 * u64::from(share)) / 100))
        .collect();
    let counted: u64 = pool.iter().map(|p| p.1).sum();
    pool[0].1 += total as u64 - counted;
    let mut slots: Vec<usize> = (0..employers.len())
        .flat_map(|i| std::iter::repeat_n(i, sizes[i]))
        .collect();
    let mut rng = Rng::stream("nationalities");
    rng.shuffle(&mut slots);
    let mut out = vec![Vec::new(); employers.len()];
    for e in slots {
        let weights: Vec<u64> = pool
            .iter()
            .map(|&(n, left)| left * bias(n, &employers[e]))
            .collect();
        let mut r = rng.below(weights.iter().sum());
        let k = weights
            .iter()
            .position(|&w| {
                let hit = r < w;
                r = r.saturating_sub(w);
                hit
            })
            .expect("the pool holds one nationality per slot");
        pool[k].1 -= 1;
        out[e].push(pool[k].0);
    }
    out
}

/// Unique document numbers.
#[derive(Default)]
pub struct Numbers {
    used: HashSet<String>,
    pub dkk: u32,
    pub kemnaker: u32,
    pub nik: u32,
}

impl Numbers {
    /// A number from `make` not handed out before.
    pub fn unique(&mut self, rng: &mut Rng, make: impl Fn(&mut Rng) -> String) -> String {
        loop {
            let n = make(rng);
            if self.used.insert(n.clone()) {
                return n;
            }
        }
    }

    /// The next assignment `source_ref` of a manpower agency.
    pub fn assignment_ref(&mut self, by: Ag) -> String {
        if by == Ag::Kemnaker {
            self.kemnaker += 1;
            format!("TKA-KEMNAKER-{:06}", 104_000 + self.kemnaker)
        } else {
            self.dkk += 1;
            format!("DKK-TKA-{:05}", self.dkk)
        }
    }
}

/// A stay permit number (`2C2…` ITAS, `2D2…` ITAP, `1D1…` ITK).
pub fn permit_no(kind: &str, rng: &mut Rng) -> String {
    let head = match kind {
        "ITAP" => "2D2",
        "ITK" => "1D1",
        _ => "2C2",
    };
    let u = "ABCDEFGHJKLMNPRSTUVWXYZ";
    format!(
        "{head}{}{}{}{}",
        rng.range(1, 3),
        rng.letter(u),
        rng.letter(u),
        rng.digits(7)
    )
}

fn workforce(data: &mut Data) {
    let a = data.anchor;
    let by_employer = nationalities(&data.employers);
    let mut numbers = Numbers::default();
    for (e, nats) in by_employer.into_iter().enumerate() {
        let mut rng = Rng::stream(&format!("staff/{e}"));
        let emp = data.employers[e].clone();
        let home_sites: Vec<usize> = (0..data.sites.len())
            .filter(|&s| data.sites[s].employer == e && data.sites[s].kind != "camp")
            .collect();
        // The approval.
        let type_ = if emp.profile == OilGas && rng.chance(40) {
            "temporary"
        } else if rng.chance(45) {
            "extension"
        } else {
            "new"
        };
        let (vf, vu) = if type_ == "temporary" {
            (day(a, -rng.range(30, 120)), day(a, rng.range(150, 240)))
        } else {
            (day(a, -rng.range(60, 540)), day(a, rng.range(150, 600)))
        };
        let scope = if emp.profile == HeadOffice || rng.chance(60) {
            vec!["64.02".to_string()]
        } else {
            let mut s: Vec<String> = data
                .sites
                .iter()
                .filter(|s| s.employer == e)
                .map(|s| s.region.clone())
                .collect();
            s.sort();
            s.dedup();
            s
        };
        // Who does what: a foreign director (and commissioner) at foreign-capital employers.
        let n = nats.len();
        let origin_first = nats
            .iter()
            .position(|&x| Some(x) == emp.origin)
            .unwrap_or(0);
        let mut roles: Vec<(&str, &str)> = vec![("", ""); n];
        let mut board = 0;
        if emp.capital == "PMA" {
            roles[origin_first] = if n >= 8 {
                ("President Director", "director")
            } else {
                ("Director", "director")
            };
            board = 1;
            if n >= 9 && rng.chance(50) {
                let c = (0..n).find(|&i| i != origin_first).unwrap_or(0);
                roles[c] = ("Commissioner", "commissioner");
                board = 2;
            }
        }
        let mut pool = titles(emp.profile).to_vec();
        rng.shuffle(&mut pool);
        pool.truncate(1 + (n - board) / 3);
        for r in roles.iter_mut().filter(|r| r.0.is_empty()) {
            *r = *rng.pick(&pool);
        }
        let mut positions: Vec<Position> = Vec::new();
        for r in &roles {
            if !positions.iter().any(|p| p.title == r.0) {
                positions.push(Position {
                    code: format!("P{:02}", positions.len() + 1),
                    title: r.0.to_string(),
                    level: r.1,
                    headcount: 0,
                });
            }
        }
        let approval = data.approvals.len();
        let by = if emp.profile == HeadOffice || rng.chance(30) {
            Ag::Kemnaker
        } else {
            Ag::Disnaker
        };
        for (k, &nat) in nats.iter().enumerate() {
            let (title, level) = roles[k];
            let on_board = matches!(level, "director" | "commissioner");
            let pos = positions.iter_mut().find(|p| p.title == title).unwrap();
            pos.headcount += 1;
            let position_code = pos.code.clone();
            let w = data.workers.len();
            let female = !on_board && rng.chance(8);
            let birth = if on_board {
                NaiveDate::from_ymd_opt(1965, 1, 1).unwrap() + Days::new(rng.below(15 * 365))
            } else {
                NaiveDate::from_ymd_opt(1968, 1, 1).unwrap() + Days::new(rng.below(33 * 365))
            };
            let passport = numbers.unique(&mut rng, |r| names::passport_no(nat, r));
            let old_passport = rng.chance(4).then(|| {
                let no = numbers.unique(&mut rng, |r| names::passport_no(nat, r));
                (no, day(a, -rng.range(100, 1500)))
            });
            let site = *rng.pick(&home_sites);
            // A few finished contracts, inside the approval's validity.
            let served = (a - vf).num_days();
            let ended = !on_board && served >= 150 && rng.chance(5);
            let (start, end, status) = if ended {
                let end = day(a, -rng.range(30, (served - 120).min(200)));
                (
                    vf.max(end - Days::new(rng.range(180, 540) as u64)),
                    end,
                    "ended",
                )
            } else {
                let start = vf.max(day(a, -rng.range(20, 700)));
                (start, vu.min(day(a, rng.range(90, 540))), "active")
            };
            let companion = (!on_board).then(|| {
                numbers.nik += 1;
                let region = &data.sites[site].region;
                let (name, nik) = names::companion(region, numbers.nik, &mut rng);
                Companion { nik, name }
            });
            let legacy = (on_board && type_ == "extension" && rng.chance(40))
                .then(|| format!("KEP.{}/NOTIF/PPTKA", rng.range(10_000, 99_999)));
            let (first, latest) = permits(
                data,
                &mut numbers,
                &mut rng,
                w,
                e,
                site,
                on_board,
                end,
                ended,
            );
            // The assignment began when the worker's current stay permit did (or earlier).
            let start = if ended {
                start
            } else {
                start.min(first.max(vf))
            };
            data.assignments.push(Assignment {
                source_ref: numbers.assignment_ref(by),
                by,
                worker: w,
                approval,
                position_code,
                employer: e,
                start_on: start,
                end_on: end,
                status,
                companion,
                legacy_notifikasi_no: legacy,
                reported_name: None,
                reported_birth: None,
                reported_passport: None,
            });
            data.workers.push(Worker {
                passport_no: passport,
                nationality: nat,
                full_name: names::person_name(nat, female, &mut rng),
                sex: if female { "F" } else { "M" },
                birth_date: birth,
                passport_expires_on: latest.max(end) + Days::new(rng.range(200, 2900) as u64),
                old_passport,
                renewed_from: None,
                site: Some(site),
            });
        }
        for p in positions
            .iter_mut()
            .filter(|p| p.level != "director" && p.level != "commissioner")
        {
            p.headcount += rng.range(0, 2) as u32;
        }
        data.approvals.push(Approval {
            approval_no: format!(
                "KEP.{:05}/PPTKA/PTA",
                30_000 + e * 211 + rng.below(200) as usize
            ),
            employer: e,
            type_,
            issued_on: vf - Days::new(rng.range(3, 21) as u64),
            valid_from: vf,
            valid_until: vu,
            scope,
            positions,
            status: "active",
        });
    }
}

/// The worker's stay permits (the current one, sometimes the one before);
/// returns the first valid day of the current one and its last valid day.
#[allow(clippy::too_many_arguments)]
fn permits(
    data: &mut Data,
    numbers: &mut Numbers,
    rng: &mut Rng,
    worker: usize,
    employer: usize,
    site: usize,
    on_board: bool,
    end: NaiveDate,
    ended: bool,
) -> (NaiveDate, NaiveDate) {
    let a = data.anchor;
    let itap = on_board && rng.chance(35);
    let kind = if itap { "ITAP" } else { "ITAS" };
    let visa = if itap {
        None
    } else if rng.chance(10) {
        Some("C312")
    } else {
        Some("E23")
    };
    let (vf, vu) = if itap {
        let vu = day(a, rng.range(400, 1500));
        (vu - Days::new(1825), vu)
    } else {
        let twelve = rng.chance(70);
        let vu = if ended {
            end + Days::new(rng.range(0, 60) as u64)
        } else {
            end.min(day(a, rng.range(60, if twelve { 330 } else { 170 })))
        };
        (vu - Days::new(if twelve { 364 } else { 179 }), vu)
    };
    let mut push = |numbers: &mut Numbers, rng: &mut Rng, vf: NaiveDate, vu: NaiveDate| {
        let permit_no = numbers.unique(rng, |r| permit_no(kind, r));
        data.permits.push(Permit {
            permit_no,
            worker,
            kind,
            visa_index: visa,
            sponsor: Some(employer),
            issued_on: vf - Days::new(rng.range(0, 10) as u64),
            valid_from: vf,
            valid_until: vu,
            address_region: data.sites[site].region.clone(),
            status: if ended { "exited" } else { "active" },
        });
    };
    if !itap && !ended && rng.chance(25) {
        let before = vf - Days::new(1);
        push(numbers, rng, before - Days::new(364), before);
    }
    push(numbers, rng, vf, vu);
    (vf, vu)
}
