//! What each kind of employer looks like: the positions it gets approved,
//! how many foreign workers it has, and where they come from.

use super::model::{Employer, Profile};
use super::rng::Rng;

use Profile::*;

/// Job titles (and levels) an employer of each profile gets approved.
pub fn titles(profile: Profile) -> &'static [(&'static str, &'static str)] {
    match profile {
        Coal => &[
            ("Mining Engineer", "professional"),
            ("Geologist", "professional"),
            ("Mine Planning Engineer", "professional"),
            ("Heavy Equipment Mechanic Supervisor", "professional"),
            ("Geotechnical Engineer", "professional"),
            ("Mining Operations Manager", "manager"),
            ("Plant Manager", "manager"),
            ("Finance Manager", "manager"),
            ("Technical Advisor", "advisor"),
        ],
        MiningContractor => &[
            ("Heavy Equipment Mechanic Supervisor", "professional"),
            ("Drill and Blast Engineer", "professional"),
            ("Fleet Planning Engineer", "professional"),
            ("Maintenance Superintendent", "manager"),
            ("Project Manager", "manager"),
            ("Technical Advisor", "advisor"),
        ],
        HeadOffice => &[
            ("Finance Manager", "manager"),
            ("Mining Engineer", "professional"),
            ("Legal Advisor", "advisor"),
            ("Technical Advisor", "advisor"),
        ],
        Construction => &[
            ("Project Manager", "manager"),
            ("Civil Engineer", "professional"),
            ("Quantity Surveyor", "professional"),
        ],
        OilGas => &[
            ("Drilling Supervisor", "professional"),
            ("Well Services Engineer", "professional"),
            ("Instrumentation Engineer", "professional"),
            ("Project Manager", "manager"),
            ("Production Technical Advisor", "advisor"),
        ],
        Plantation => &[
            ("Estate Manager", "manager"),
            ("Agronomist", "professional"),
        ],
        Mill => &[
            ("Plant Manager", "manager"),
            ("Process Engineer", "professional"),
            ("Boiler Engineer", "professional"),
        ],
        PlantationMill => &[
            ("Estate Manager", "manager"),
            ("Agronomist", "professional"),
            ("Plant Manager", "manager"),
            ("Process Engineer", "professional"),
        ],
        Port => &[
            ("Port Operations Manager", "manager"),
            ("Marine Superintendent", "professional"),
        ],
    }
}

/// How many foreign workers an employer of each profile has.
pub fn staff_size(profile: Profile, rng: &mut Rng) -> usize {
    let (lo, hi) = match profile {
        Coal => (6, 12),
        MiningContractor => (6, 10),
        HeadOffice => (3, 5),
        Construction => (4, 6),
        OilGas => (4, 8),
        Plantation | Port => (2, 3),
        Mill => (2, 3),
        PlantationMill => (3, 5),
    };
    rng.range(lo, hi) as usize
}

/// How strongly an employer draws workers of a nationality.
pub fn bias(nationality: &str, e: &Employer) -> u64 {
    let mut w = if e.origin == Some(nationality) { 8 } else { 1 };
    match (e.profile, nationality) {
        (Plantation | Mill | PlantationMill, "MYS") => w *= 6,
        (Plantation | Mill | PlantationMill, "IND") => w *= 3,
        (OilGas, "AUS" | "IND" | "PHL" | "LKA") => w *= 3,
        (MiningContractor, "AUS" | "PHL") => w *= 2,
        _ => {}
    }
    w
}
