//! Fictional Kukar employers and their work sites. Every company name here is
//! invented; place words are Kukar villages and rivers.

use std::collections::HashSet;

use sinergi_domain::kukar_districts;

use super::model::{Employer, Profile, Site};
use super::rng::Rng;

use Profile::*;

/// (name, kecamatan suffix of `64.02.xx`, profile, capital, origin of the foreign staff, KBLI codes)
type Row = (
    &'static str,
    &'static str,
    Profile,
    &'static str,
    Option<&'static str>,
    &'static [&'static str],
);

const COAL: &[&str] = &["05100"];
const COAL_SVC: &[&str] = &["05100", "09900"];
const MINING_SVC: &[&str] = &["09900"];
const OIL_GAS: &[&str] = &["09100"];

/// Coal around Tabang, Muara Kaman, Muara Jawa, Loa Kulu, Sanga Sanga and
/// Tenggarong Seberang (and smaller pits elsewhere); oil and gas support in
/// Muara Badak, Anggana and Samboja; oil palm in Kembang Janggut, Kenohan,
/// Muara Wis and Kota Bangun; head offices in Tenggarong.
#[rustfmt::skip]
const EMPLOYERS: [Row; 37] = [
    ("PT Belayan Bara Nusantara", "12", Coal, "PMA", Some("CHN"), COAL),
    ("PT Tabang Hulu Coalindo", "12", Coal, "PMDN", None, COAL_SVC),
    ("PT Ritan Mineral Perkasa", "12", Coal, "PMA", Some("KOR"), COAL),
    ("PT Kaman Sino Resources", "11", Coal, "PMA", Some("CHN"), COAL),
    ("PT Sabintulung Bara Makmur", "11", Coal, "PMDN", None, COAL),
    ("PT Martadipura Coal Mining", "11", Coal, "PMA", Some("IND"), COAL),
    ("PT Muara Jawa Hengsheng Mining", "14", Coal, "PMA", Some("CHN"), COAL),
    ("PT Dondang Energi Pratama", "14", Coal, "PMDN", None, COAL),
    ("PT Borneo Haul Contractors Indonesia", "14", MiningContractor, "PMA", Some("AUS"), MINING_SVC),
    ("PT Rempanga Coal Indonesia", "02", Coal, "PMA", Some("CHN"), COAL),
    ("PT Kartanegara Hikari Mining", "02", Coal, "PMA", Some("JPN"), COAL),
    ("PT Payang Sumber Energi", "02", Coal, "PMDN", None, COAL),
    ("PT Xinda Sanga Coal", "15", Coal, "PMA", Some("CHN"), COAL),
    ("PT Pendingin Bara Abadi", "15", Coal, "PMDN", None, COAL_SVC),
    ("PT Tanjung Batu Jinhai Mining", "16", Coal, "PMA", Some("CHN"), COAL),
    ("PT Separi Bara Utama", "16", Coal, "PMDN", None, COAL),
    ("PT Mahakam Minepro Services", "16", MiningContractor, "PMA", Some("CHN"), MINING_SVC),
    ("PT Loa Duri Coal Resources", "03", Coal, "PMA", Some("CHN"), COAL),
    ("PT Tani Bhakti Daeyang Energi", "03", Coal, "PMA", Some("KOR"), COAL),
    ("PT Senoni Bara Indah", "07", Coal, "PMA", Some("CHN"), COAL),
    ("PT Sebulu Wanli Mining", "07", Coal, "PMA", Some("CHN"), COAL),
    ("PT Bunga Putih Drilling Services", "17", MiningContractor, "PMA", Some("IND"), MINING_SVC),
    ("PT Argosari Coal Indonesia", "20", Coal, "PMA", Some("CHN"), COAL),
    ("PT Etam Coal Holdings Indonesia", "06", HeadOffice, "PMA", Some("CHN"), COAL),
    ("PT Kartanegara Mining Contractors", "06", HeadOffice, "PMA", Some("AUS"), MINING_SVC),
    ("PT Mulawarman Karya Konstruksi", "06", Construction, "PMA", Some("CHN"), &["42919"]),
    ("PT Saliki Petro Services", "05", OilGas, "PMA", Some("AUS"), OIL_GAS),
    ("PT Tanjung Limau Energi Servis", "05", OilGas, "PMA", Some("CHN"), OIL_GAS),
    ("PT Sepatin Offshore Support", "04", OilGas, "PMA", Some("MYS"), OIL_GAS),
    ("PT Kutai Lama Petroteknik", "04", OilGas, "PMDN", None, OIL_GAS),
    ("PT Handil Wellservices Indonesia", "13", OilGas, "PMA", Some("IND"), OIL_GAS),
    ("PT Muntai Mahakam Terminal", "01", Port, "PMDN", None, &["52221"]),
    ("PT Belayan Sawit Lestari", "10", PlantationMill, "PMA", Some("MYS"), &["01262", "10431"]),
    ("PT Semayang Agro Plantation", "09", Plantation, "PMA", Some("MYS"), &["01262"]),
    ("PT Melintang Palm Oil Mill", "18", Mill, "PMA", Some("MYS"), &["10431"]),
    ("PT Liang Agro Sejahtera", "08", Plantation, "PMA", Some("MYS"), &["01262"]),
    ("PT Kedang Ipil Sawit Makmur", "19", Plantation, "PMDN", None, &["01262", "10431"]),
];

/// Approximate centre (lat, lon) of each kecamatan, by suffix.
fn centre(suffix: &str) -> (f64, f64) {
    match suffix {
        "01" => (-0.37, 116.40), // Muara Muntai
        "02" => (-0.55, 116.93), // Loa Kulu
        "03" => (-0.62, 117.08), // Loa Janan
        "04" => (-0.60, 117.30), // Anggana
        "05" => (-0.30, 117.35), // Muara Badak
        "06" => (-0.42, 116.99), // Tenggarong
        "07" => (-0.25, 116.98), // Sebulu
        "08" => (-0.27, 116.58), // Kota Bangun
        "09" => (-0.45, 116.50), // Kenohan
        "10" => (-0.05, 116.45), // Kembang Janggut
        "11" => (-0.10, 116.75), // Muara Kaman
        "12" => (0.25, 116.05),  // Tabang
        "13" => (-1.03, 117.08), // Samboja
        "14" => (-0.82, 117.20), // Muara Jawa
        "15" => (-0.66, 117.22), // Sanga Sanga
        "16" => (-0.35, 117.08), // Tenggarong Seberang
        "17" => (-0.08, 117.42), // Marang Kayu
        "18" => (-0.25, 116.38), // Muara Wis
        "19" => (-0.15, 116.62), // Kota Bangun Darat
        _ => (-0.95, 116.95),    // Samboja Barat
    }
}

/// A mining district next door, where a coal company may have a second pit.
fn neighbour(suffix: &str) -> Option<&'static str> {
    match suffix {
        "02" => Some("03"),
        "03" => Some("02"),
        "07" => Some("16"),
        "11" => Some("07"),
        "14" => Some("15"),
        "15" => Some("14"),
        "16" => Some("07"),
        "20" => Some("13"),
        _ => None,
    }
}

/// Name of a Kukar kecamatan by its code.
pub fn district_name(code: &str) -> &'static str {
    kukar_districts()
        .find(|(c, _)| c.as_str() == code)
        .map(|(_, n)| n)
        .unwrap_or("Kutai Kartanegara")
}

const STREETS: &[&str] = &[
    "Jl. Poros",
    "Jl. Negara",
    "Jl. Mulawarman",
    "Jl. Ahmad Yani",
    "Jl. Gunung Belah",
    "Jl. Pesut",
    "Jl. Imam Bonjol",
];

/// The demo employers.
pub fn employers() -> Vec<Employer> {
    let mut nibs = HashSet::new();
    EMPLOYERS
        .iter()
        .enumerate()
        .map(|(i, &(name, suffix, profile, capital, origin, kbli))| {
            let mut rng = Rng::stream(&format!("employer/{i}"));
            let nib = loop {
                let nib = format!("9120{}{}", rng.range(1, 9), rng.digits(8));
                if nibs.insert(nib.clone()) {
                    break nib;
                }
            };
            // Legacy 15-digit NPWP with the Tenggarong tax office code, prefixed with 0.
            let npwp = format!("0{}{}725000", rng.range(1, 3), rng.digits(7));
            let region = format!("64.02.{suffix}");
            let district = district_name(&region);
            let street = rng.pick(STREETS);
            let street = if *street == "Jl. Poros" {
                format!("Jl. Poros {district} Km {}", rng.range(2, 40))
            } else {
                format!("{street} No. {}", rng.range(1, 120))
            };
            Employer {
                nib,
                npwp,
                name: name.to_string(),
                capital,
                kbli: kbli.to_vec(),
                address: format!(
                    "{street}, Kec. {district}, Kab. Kutai Kartanegara, Kalimantan Timur"
                ),
                region,
                origin,
                profile,
            }
        })
        .collect()
}

/// The sites (kind, name pattern) an employer of each profile runs.
fn site_plan(profile: Profile, rng: &mut Rng) -> Vec<(&'static str, &'static str)> {
    let mut plan = match profile {
        Coal => vec![("mine", "Pit {d} {q}"), ("camp", "Camp Karyawan {d}")],
        MiningContractor => vec![
            ("mine", "Proyek Tambang {d} {q}"),
            ("other", "Workshop Alat Berat {d}"),
            ("camp", "Mess {d}"),
        ],
        HeadOffice => vec![("office", "Kantor Pusat {d}")],
        Construction => vec![
            ("office", "Kantor Proyek {d}"),
            ("other", "Proyek Jalan Tambang {q}"),
        ],
        OilGas => vec![
            ("port", "Supply Base {d}"),
            ("other", "Field Support Base {d} {q}"),
        ],
        Plantation => vec![
            ("plantation", "Kebun Sawit {d} {q}"),
            ("office", "Kantor Kebun {d}"),
        ],
        Mill => vec![("mill", "PKS {d}")],
        PlantationMill => vec![("plantation", "Kebun Sawit {d} {q}"), ("mill", "PKS {d}")],
        Port => vec![
            ("port", "Terminal Batubara {d}"),
            ("office", "Kantor Terminal {d}"),
        ],
    };
    if profile == Coal {
        if rng.chance(50) {
            plan.push(("mine", "Pit {d} {q}"));
        }
        if rng.chance(30) {
            plan.push(("port", "Jetty Batubara {d}"));
        }
    }
    plan
}

const QUARTERS: &[&str] = &[
    "Utara", "Selatan", "Barat", "Timur", "Tengah", "Hulu", "Hilir",
];

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The work sites of every employer, in the employer's kecamatan (a coal
/// company's second pit may lie in the neighbouring one).
pub fn sites(employers: &[Employer]) -> Vec<Site> {
    let mut out = Vec::new();
    for (i, e) in employers.iter().enumerate() {
        let mut rng = Rng::stream(&format!("sites/{i}"));
        let home = &e.region[6..];
        let mut quarters = QUARTERS.to_vec();
        rng.shuffle(&mut quarters);
        for (n, (kind, pattern)) in site_plan(e.profile, &mut rng).into_iter().enumerate() {
            let suffix = match neighbour(home) {
                Some(other) if kind == "mine" && n > 1 && rng.chance(40) => other,
                _ => home,
            };
            let region = format!("64.02.{suffix}");
            let (lat, lon) = centre(suffix);
            let name = pattern
                .replace("{d}", district_name(&region))
                .replace("{q}", quarters[n % quarters.len()]);
            out.push(Site {
                source_ref: format!("DKK-LOK-{:03}-{}", i + 1, n + 1),
                employer: i,
                name,
                kind,
                region,
                lat: round4(lat + (rng.below(801) as f64 - 400.0) / 10_000.0),
                lon: round4(lon + (rng.below(801) as f64 - 400.0) / 10_000.0),
            });
        }
    }
    out
}
