//! Deliberate contradictions between the agencies' records, so that every
//! compliance rule of docs/domain.md fires at least once on the demo data.
//!
//! Each is applied to the first worker (in generation order) that fits, and
//! recorded in `Data::anomalies`; the routine presence reports leave these
//! workers alone. Dates are relative to the anchor A (Monday of this week).
//!
//! | rule | who (employer) | what |
//! |---|---|---|
//! | 1 `PERMIT_WITHOUT_ASSIGNMENT` | a worker of a Tabang coal mine | assignment ended A-20, ITAS still valid |
//! | 2 `ASSIGNMENT_WITHOUT_PERMIT` | a worker of a Muara Kaman coal mine | ITAS expired A-15, assignment still active |
//! | 3 `WORKING_ON_VISIT_PERMIT` | an extra CHN visitor at PT Rempanga Coal Indonesia (Loa Kulu) | only an ITK; Kecamatan Loa Kulu sees him drilling at the pit A-3 |
//! | 4 `OUTSIDE_APPROVED_LOCATION` | a worker of PT Kartanegara Hikari Mining (Loa Kulu) | approval limited to its own kecamatan; Kesbangpol sees him in Tenggarong Seberang |
//! | 5 `PRESENT_AFTER_EXPIRY` | a worker of a Muara Jawa coal mine | ITAS and assignment ended A-30; Kecamatan Muara Jawa sees him at the pit A-5 |
//! | 6 `HEADCOUNT_OVER_QUOTA` | the first coal employer with a position of 2+ workers | headcount one below the active assignments |
//! | 7 `NO_COMPANION` | a worker of an oil and gas support company in Muara Badak | no companion worker |
//! | 8 `CLOSED_POSITION` | PT Etam Coal Holdings Indonesia (Tenggarong) | an approved "HR Manager" position, filled |
//! | 9 `SPONSOR_MISMATCH` | a worker of a Tenggarong Seberang coal mine | ITAS sponsored by the contractor PT Mahakam Minepro Services |
//! | 10 `PASSPORT_EXPIRES_FIRST` | a worker of a Sanga Sanga coal mine | passport expires A+45, before the ITAS |
//! | 11 `IDENTITY_CONFLICT` | the first Korean worker | manpower spells the name without the space (`KIM MINJUN`) |
//! | 11 `IDENTITY_CONFLICT` | the first Indian worker | manpower has day and month of birth swapped |
//! | 12 `EXPIRING_SOON` | a worker of a Tabang coal mine | ITAS ends A+20 |
//! | 12 `EXPIRING_SOON` | a worker of a Muara Jawa coal mine | assignment and ITAS end A+25 |
//! | seen > permitted | a Loa Kulu mine | Kecamatan Loa Kulu counts four more people than are permitted there |

use chrono::{Datelike, Days, NaiveDate};

use super::generate::{day, permit_no, Numbers};
use super::model::{
    active_on, valid_on, Ag, Anomaly, Data, Employer, Permit, Position, Presence, Profile, Worker,
};
use super::names;
use super::presence::{activity, named, next_ref, note};
use super::rng::Rng;

fn mark(data: &mut Data, rule: &'static str, worker: Option<usize>, employer: Option<usize>) {
    data.anomalies.push(Anomaly {
        rule,
        worker,
        employer,
    });
}

/// The first ordinary worker (active, valid ITAS, not on the board, not used
/// yet) of an employer matching `employer` and the worker matching `extra`.
fn pick(
    data: &Data,
    employer: impl Fn(&Employer) -> bool,
    extra: impl Fn(&Data, usize) -> bool,
) -> usize {
    let a = data.anchor;
    (0..data.workers.len())
        .find(|&w| {
            let (Some(ai), Some(pi)) = (data.assignment_of(w), data.permit_of(w)) else {
                return false;
            };
            let asg = &data.assignments[ai];
            !data.is_special(w)
                && active_on(asg, a)
                && !data.is_board(asg)
                && data.permits[pi].kind == "ITAS"
                && valid_on(&data.permits[pi], a)
                && employer(&data.employers[asg.employer])
                && extra(data, w)
        })
        .expect("the demo employers have a worker for every contradiction")
}

fn coal_in(region: &'static str) -> impl Fn(&Employer) -> bool {
    move |e| e.profile == Profile::Coal && e.region == region
}

fn employer_named(data: &Data, name: &str) -> usize {
    data.employers
        .iter()
        .position(|e| e.name == name)
        .expect("employer in the table")
}

/// Replaces the worker's ITAS history by one ITAS valid `from..=until`.
fn set_permit(data: &mut Data, w: usize, from: NaiveDate, until: NaiveDate) {
    let current = data.permit_of(w).expect("worker has a permit");
    let keep = data.permits[current].clone();
    data.permits
        .retain(|p| p.worker != w || p.permit_no == keep.permit_no);
    let p = data
        .permits
        .iter_mut()
        .find(|p| p.permit_no == keep.permit_no)
        .unwrap();
    p.valid_from = from;
    p.valid_until = until;
    p.issued_on = from - Days::new(3);
}

fn assignment_mut(data: &mut Data, w: usize) -> &mut super::model::Assignment {
    let i = data.assignment_of(w).expect("worker has an assignment");
    &mut data.assignments[i]
}

/// Applies every contradiction (see the module documentation).
pub fn apply(data: &mut Data) {
    let a = data.anchor;
    let mut rng = Rng::stream("anomalies");

    let w = pick(data, coal_in("64.02.12"), |_, _| true);
    let asg = assignment_mut(data, w);
    asg.status = "ended";
    asg.end_on = day(a, -20);
    mark(data, "PERMIT_WITHOUT_ASSIGNMENT", Some(w), None);

    let w = pick(data, coal_in("64.02.11"), |_, _| true);
    set_permit(data, w, day(a, -15 - 364), day(a, -15));
    mark(data, "ASSIGNMENT_WITHOUT_PERMIT", Some(w), None);

    let w = pick(data, coal_in("64.02.14"), |d, w| {
        let site = d.workers[w].site.unwrap();
        d.sites[site].region == "64.02.14"
            && d.assignments[d.assignment_of(w).unwrap()].start_on <= day(d.anchor, -90)
    });
    assignment_mut(data, w).end_on = day(a, -30);
    set_permit(data, w, day(a, -30 - 364), day(a, -30));
    let p = named(data, Ag::KecMuaraJawa, w, day(a, -5), &mut rng);
    data.presence.push(p);
    mark(data, "PRESENT_AFTER_EXPIRY", Some(w), None);

    let w = pick(
        data,
        |e| e.profile == Profile::OilGas && e.region == "64.02.05",
        |_, _| true,
    );
    assignment_mut(data, w).companion = None;
    mark(data, "NO_COMPANION", Some(w), None);

    let e = employer_named(data, "PT Etam Coal Holdings Indonesia");
    let w = pick(
        data,
        |x| x.name == "PT Etam Coal Holdings Indonesia",
        |_, _| true,
    );
    let approval = data.assignments[data.assignment_of(w).unwrap()].approval;
    let positions = &mut data.approvals[approval].positions;
    let code = format!("P{:02}", positions.len() + 1);
    positions.push(Position {
        code: code.clone(),
        title: "HR Manager".into(),
        level: "manager",
        headcount: 1,
    });
    assignment_mut(data, w).position_code = code;
    mark(data, "CLOSED_POSITION", Some(w), Some(e));

    let lender = employer_named(data, "PT Mahakam Minepro Services");
    let w = pick(data, coal_in("64.02.16"), |_, _| true);
    for p in data.permits.iter_mut().filter(|p| p.worker == w) {
        p.sponsor = Some(lender);
    }
    mark(data, "SPONSOR_MISMATCH", Some(w), None);

    let w = pick(data, coal_in("64.02.15"), |_, _| true);
    data.workers[w].passport_expires_on = day(a, 45);
    mark(data, "PASSPORT_EXPIRES_FIRST", Some(w), None);

    let w = pick(
        data,
        |_| true,
        |d, w| {
            d.workers[w].nationality == "KOR" && d.workers[w].full_name.matches(' ').count() >= 2
        },
    );
    let name = &data.workers[w].full_name;
    let cut = name.rfind(' ').unwrap();
    let variant = format!("{}{}", &name[..cut], &name[cut + 1..]);
    assignment_mut(data, w).reported_name = Some(variant);
    mark(data, "IDENTITY_CONFLICT", Some(w), None);

    let w = pick(data, |_| true, |d, w| d.workers[w].nationality == "IND");
    let b = data.workers[w].birth_date;
    let swapped = NaiveDate::from_ymd_opt(b.year(), b.day(), b.month())
        .filter(|s| *s != b)
        .unwrap_or(b + Days::new(10));
    assignment_mut(data, w).reported_birth = Some(swapped);
    mark(data, "IDENTITY_CONFLICT", Some(w), None);

    let w = pick(data, coal_in("64.02.12"), |_, _| true);
    set_permit(data, w, day(a, 20 - 364), day(a, 20));
    mark(data, "EXPIRING_SOON", Some(w), None);

    let w = pick(data, coal_in("64.02.14"), |_, _| true);
    assignment_mut(data, w).end_on = day(a, 25);
    set_permit(data, w, day(a, 25 - 179), day(a, 25));
    mark(data, "EXPIRING_SOON", Some(w), None);

    visitor(data, &mut rng);
    outside_scope(data, &mut rng);
    over_quota(data);
    seen_exceeds_permitted(data, &mut rng);
    same_person(data);
}

/// Rule 15: manpower typed three passport numbers with a slip (two digits
/// swapped, a digit dropped, a zero typed as the letter O), so each of those
/// people is two workers until immigration confirms the pair; and two
/// passports were renewed, which immigration's permits say (the old number
/// manpower still uses joins the person outright).
fn same_person(data: &mut Data) {
    type Slip = (fn(&str) -> bool, fn(&str) -> String);
    let slips: [Slip; 3] = [
        (
            |p| p.chars().nth(p.len() - 3) != p.chars().nth(p.len() - 2),
            |p| {
                let mut c: Vec<char> = p.chars().collect();
                let i = c.len() - 3;
                c.swap(i, i + 1);
                c.into_iter().collect()
            },
        ),
        (
            |_| true,
            |p| format!("{}{}", &p[..p.len() - 2], &p[p.len() - 1..]),
        ),
        (
            |p| p[1..].contains('0'),
            |p| format!("{}{}", &p[..1], p[1..].replacen('0', "O", 1)),
        ),
    ];
    for (fits, slip) in slips {
        let w = pick(data, coal_in("64.02.12"), |d, w| {
            let p = &d.workers[w].passport_no;
            p.starts_with('E') && fits(p)
        });
        let typed = slip(&data.workers[w].passport_no);
        assignment_mut(data, w).reported_passport = Some(typed);
        mark(data, "POSSIBLE_SAME_PERSON", Some(w), None);
    }
    for _ in 0..2 {
        let w = pick(data, coal_in("64.02.11"), |d, w| {
            d.workers[w].old_passport.is_none()
        });
        let old = data.workers[w].passport_no.clone();
        // A new series letter keeps the number unlike any generated one.
        let renewed = format!("EK{}", &old[2..]);
        data.workers[w].renewed_from = Some(old.clone());
        data.workers[w].passport_no = renewed;
        assignment_mut(data, w).reported_passport = Some(old);
        mark(data, "RENEWED", Some(w), None);
    }
}

/// Rule 3: a visitor on an ITK seen working at a Loa Kulu pit.
fn visitor(data: &mut Data, rng: &mut Rng) {
    let a = data.anchor;
    let e = employer_named(data, "PT Rempanga Coal Indonesia");
    let site = (0..data.sites.len())
        .find(|&s| {
            data.sites[s].employer == e
                && data.sites[s].kind == "mine"
                && data.sites[s].region == "64.02.02"
        })
        .expect("Rempanga has a pit in Loa Kulu");
    let mut numbers = Numbers::default();
    let w = data.workers.len();
    data.workers.push(Worker {
        passport_no: format!("E{}", rng.range(60_000_000, 69_999_999)),
        nationality: "CHN",
        full_name: names::person_name("CHN", false, rng),
        sex: "M",
        birth_date: NaiveDate::from_ymd_opt(1988, 7, 19).unwrap(),
        passport_expires_on: day(a, 2100),
        old_passport: None,
        renewed_from: None,
        site: Some(site),
    });
    data.permits.push(Permit {
        permit_no: numbers.unique(rng, |r| permit_no("ITK", r)),
        worker: w,
        kind: "ITK",
        visa_index: Some("C2"),
        sponsor: Some(e),
        issued_on: day(a, -21),
        valid_from: day(a, -20),
        valid_until: day(a, 45),
        address_region: "64.02.02".into(),
        status: "active",
    });
    let mut p = named(data, Ag::KecLoaKulu, w, day(a, -3), rng);
    p.activity = Some("operating a core drilling rig".into());
    p.notes = Some("Pemegang izin tinggal kunjungan (ITK) terlihat bekerja di pit".into());
    data.presence.push(p);
    mark(data, "WORKING_ON_VISIT_PERMIT", Some(w), Some(e));
}

/// Rule 4: an approval limited to the employer's own area, and one of its
/// workers seen in Tenggarong Seberang.
fn outside_scope(data: &mut Data, rng: &mut Rng) {
    let a = data.anchor;
    let e = employer_named(data, "PT Kartanegara Hikari Mining");
    let mut scope: Vec<String> = data
        .sites
        .iter()
        .filter(|s| s.employer == e)
        .map(|s| s.region.clone())
        .collect();
    scope.sort();
    scope.dedup();
    let w = pick(
        data,
        |x| x.name == "PT Kartanegara Hikari Mining",
        |_, _| true,
    );
    let approval = data.assignments[data.assignment_of(w).unwrap()].approval;
    data.approvals[approval].scope = scope;
    let p = Presence {
        source_ref: next_ref(data, Ag::Kesbangpol),
        by: Ag::Kesbangpol,
        observed_on: day(a, -4),
        source: "field_check",
        region: "64.02.16".into(),
        site: None,
        employer: Some(e),
        worker: Some(w),
        headcount: None,
        activity: Some(activity("mine", rng)),
        notes: Some("Terlihat di luar lokasi kerja yang disetujui dalam RPTKA".into()),
    };
    data.presence.push(p);
    mark(data, "OUTSIDE_APPROVED_LOCATION", Some(w), Some(e));
}

/// Rule 6: one approved position with fewer places than active assignments.
fn over_quota(data: &mut Data) {
    let a = data.anchor;
    let active = |i: usize, code: &str| {
        data.assignments
            .iter()
            .filter(|x| x.approval == i && x.position_code == code && active_on(x, a))
            .count() as u32
    };
    let (i, k, n) = (0..data.approvals.len())
        .filter(|&i| data.employers[data.approvals[i].employer].profile == Profile::Coal)
        .find_map(|i| {
            let positions = &data.approvals[i].positions;
            (0..positions.len())
                .map(|k| (i, k, active(i, &positions[k].code)))
                .find(|&(_, k, n)| {
                    n >= 2 && !matches!(positions[k].level, "director" | "commissioner")
                })
        })
        .expect("a coal position with two active workers");
    data.approvals[i].positions[k].headcount = n - 1;
    let e = data.approvals[i].employer;
    mark(data, "HEADCOUNT_OVER_QUOTA", None, Some(e));
}

/// The employer-level gap: more people seen at a Loa Kulu pit than permitted.
fn seen_exceeds_permitted(data: &mut Data, rng: &mut Rng) {
    let a = data.anchor;
    let site = (0..data.sites.len())
        .find(|&s| {
            data.sites[s].kind == "mine"
                && data.sites[s].region == "64.02.02"
                && data.active_at_site(s) > 0
        })
        .expect("a Loa Kulu pit with workers");
    let by = Ag::KecLoaKulu;
    let p = Presence {
        source_ref: next_ref(data, by),
        by,
        observed_on: day(a, -1),
        source: "field_check",
        region: "64.02.02".into(),
        site: Some(site),
        employer: Some(data.sites[site].employer),
        worker: None,
        headcount: Some(data.active_at_site(site) + 4),
        activity: Some(activity("mine", rng)),
        notes: Some(format!(
            "{} Lebih banyak orang asing dari yang tercatat.",
            note(by)
        )),
    };
    let e = data.sites[site].employer;
    data.presence.push(p);
    mark(data, "SEEN_EXCEEDS_PERMITTED", None, Some(e));
}
