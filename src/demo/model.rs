//! The demo data set as plain values, independent of the API's input types so
//! that it can be generated, compared and checked without a database.

use chrono::NaiveDate;

/// The demo agencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ag {
    /// Kantor Imigrasi Samarinda (immigration, province `64`).
    Imigrasi,
    /// Kementerian Ketenagakerjaan (manpower, national).
    Kemnaker,
    /// Disnakertrans Kukar (manpower, `64.02`).
    Disnaker,
    /// Kesbangpol Kukar (regional, `64.02`).
    Kesbangpol,
    /// Kecamatan Loa Kulu (district).
    KecLoaKulu,
    /// Kecamatan Tenggarong (district).
    KecTenggarong,
    /// Kecamatan Muara Jawa (district).
    KecMuaraJawa,
    /// Sinergi administration.
    Admin,
}

impl Ag {
    /// Every demo agency.
    pub const ALL: [Ag; 8] = [
        Ag::Imigrasi,
        Ag::Kemnaker,
        Ag::Disnaker,
        Ag::Kesbangpol,
        Ag::KecLoaKulu,
        Ag::KecTenggarong,
        Ag::KecMuaraJawa,
        Ag::Admin,
    ];

    /// Agency code.
    pub fn code(self) -> &'static str {
        match self {
            Ag::Imigrasi => "IMI-SMD",
            Ag::Kemnaker => "KEMNAKER",
            Ag::Disnaker => "DISNAKER-KUKAR",
            Ag::Kesbangpol => "KESBANGPOL-KUKAR",
            Ag::KecLoaKulu => "KEC-LOA-KULU",
            Ag::KecTenggarong => "KEC-TENGGARONG",
            Ag::KecMuaraJawa => "KEC-MUARA-JAWA",
            Ag::Admin => "SINERGI-ADMIN",
        }
    }

    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Ag::Imigrasi => "Kantor Imigrasi Kelas I TPI Samarinda",
            Ag::Kemnaker => "Kementerian Ketenagakerjaan RI",
            Ag::Disnaker => "Dinas Tenaga Kerja dan Transmigrasi Kabupaten Kutai Kartanegara",
            Ag::Kesbangpol => "Badan Kesatuan Bangsa dan Politik Kabupaten Kutai Kartanegara",
            Ag::KecLoaKulu => "Kecamatan Loa Kulu",
            Ag::KecTenggarong => "Kecamatan Tenggarong",
            Ag::KecMuaraJawa => "Kecamatan Muara Jawa",
            Ag::Admin => "Sinergi Administrator",
        }
    }

    /// Agency kind code.
    pub fn kind(self) -> &'static str {
        match self {
            Ag::Imigrasi => "immigration",
            Ag::Kemnaker | Ag::Disnaker => "manpower",
            Ag::Kesbangpol => "regional",
            Ag::KecLoaKulu | Ag::KecTenggarong | Ag::KecMuaraJawa => "district",
            Ag::Admin => "admin",
        }
    }

    /// Region prefix the agency may write in.
    pub fn jurisdiction(self) -> Option<&'static str> {
        match self {
            Ag::Imigrasi => Some("64"),
            Ag::Kemnaker | Ag::Admin => None,
            Ag::Disnaker | Ag::Kesbangpol => Some("64.02"),
            Ag::KecLoaKulu => Some("64.02.02"),
            Ag::KecTenggarong => Some("64.02.06"),
            Ag::KecMuaraJawa => Some("64.02.14"),
        }
    }

    /// The district office whose kecamatan is `region`, if any.
    pub fn district_office(region: &str) -> Option<Ag> {
        [Ag::KecLoaKulu, Ag::KecTenggarong, Ag::KecMuaraJawa]
            .into_iter()
            .find(|a| a.jurisdiction().is_some_and(|j| within(region, j)))
    }
}

/// Whether Kemendagri code `code` lies inside `prefix`.
pub fn within(code: &str, prefix: &str) -> bool {
    code == prefix || (code.starts_with(prefix) && code.as_bytes().get(prefix.len()) == Some(&b'.'))
}

/// What an employer does, which decides its sites, positions and workforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Coal mine owner (KBLI 05100).
    Coal,
    /// Mining contractor (KBLI 09900).
    MiningContractor,
    /// Head office of a mining group in Tenggarong.
    HeadOffice,
    /// Oil and gas support services (KBLI 09100).
    OilGas,
    /// Oil palm plantation (KBLI 01262).
    Plantation,
    /// Palm oil mill (KBLI 10431).
    Mill,
    /// Plantation with its own mill.
    PlantationMill,
    /// Civil construction.
    Construction,
    /// River port / coal terminal.
    Port,
}

/// An employer.
#[derive(Debug, Clone, PartialEq)]
pub struct Employer {
    pub nib: String,
    pub npwp: String,
    pub name: String,
    pub capital: &'static str,
    pub kbli: Vec<&'static str>,
    /// Kecamatan code.
    pub region: String,
    pub address: String,
    /// Nationality most of its foreign staff come from (foreign-capital employers).
    pub origin: Option<&'static str>,
    pub profile: Profile,
}

/// A work site, pushed by Disnaker Kukar.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub source_ref: String,
    pub employer: usize,
    pub name: String,
    pub kind: &'static str,
    pub region: String,
    pub lat: f64,
    pub lon: f64,
}

/// An approved RPTKA position.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub code: String,
    pub title: String,
    pub level: &'static str,
    pub headcount: u32,
}

/// An RPTKA approval, pushed by Kemnaker.
#[derive(Debug, Clone, PartialEq)]
pub struct Approval {
    pub approval_no: String,
    pub employer: usize,
    pub type_: &'static str,
    pub issued_on: NaiveDate,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub scope: Vec<String>,
    pub positions: Vec<Position>,
    pub status: &'static str,
}

/// A foreign worker as immigration knows them.
#[derive(Debug, Clone, PartialEq)]
pub struct Worker {
    pub passport_no: String,
    pub nationality: &'static str,
    pub full_name: String,
    pub sex: &'static str,
    pub birth_date: NaiveDate,
    pub passport_expires_on: NaiveDate,
    /// An earlier passport (number, expiry) registered with the person.
    pub old_passport: Option<(String, NaiveDate)>,
    /// The passport this one renewed, which immigration names on its permits
    /// (manpower still has the old number on file).
    pub renewed_from: Option<String>,
    /// The site the worker works at (their district), if employed.
    pub site: Option<usize>,
}

/// The Indonesian companion worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Companion {
    pub nik: String,
    pub name: String,
}

/// A worker in an approved position, pushed by a manpower agency.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub source_ref: String,
    pub by: Ag,
    pub worker: usize,
    pub approval: usize,
    pub position_code: String,
    pub employer: usize,
    pub start_on: NaiveDate,
    pub end_on: NaiveDate,
    pub status: &'static str,
    pub companion: Option<Companion>,
    pub legacy_notifikasi_no: Option<String>,
    /// The name manpower has on file when it differs from the passport.
    pub reported_name: Option<String>,
    /// The birth date manpower has on file when it differs.
    pub reported_birth: Option<NaiveDate>,
    /// The passport number manpower has on file when it differs: a typed
    /// slip, or the passport immigration has since seen renewed.
    pub reported_passport: Option<String>,
}

/// A stay permit, pushed by immigration.
#[derive(Debug, Clone, PartialEq)]
pub struct Permit {
    pub permit_no: String,
    pub worker: usize,
    pub kind: &'static str,
    pub visa_index: Option<&'static str>,
    pub sponsor: Option<usize>,
    pub issued_on: NaiveDate,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub address_region: String,
    pub status: &'static str,
}

/// A presence report from the field.
#[derive(Debug, Clone, PartialEq)]
pub struct Presence {
    pub source_ref: String,
    pub by: Ag,
    pub observed_on: NaiveDate,
    pub source: &'static str,
    pub region: String,
    pub site: Option<usize>,
    pub employer: Option<usize>,
    pub worker: Option<usize>,
    pub headcount: Option<u32>,
    pub activity: Option<String>,
    pub notes: Option<String>,
}

/// One deliberate contradiction: which rule it makes fire, and for whom.
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    pub rule: &'static str,
    pub worker: Option<usize>,
    pub employer: Option<usize>,
}

/// The whole demo data set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Data {
    /// The date every other date is relative to (Monday of the current week).
    pub anchor: NaiveDate,
    pub employers: Vec<Employer>,
    pub sites: Vec<Site>,
    pub approvals: Vec<Approval>,
    pub workers: Vec<Worker>,
    pub assignments: Vec<Assignment>,
    pub permits: Vec<Permit>,
    pub presence: Vec<Presence>,
    pub anomalies: Vec<Anomaly>,
}

impl Data {
    /// The approved position an assignment is in.
    pub fn position(&self, a: &Assignment) -> &Position {
        self.approvals[a.approval]
            .positions
            .iter()
            .find(|p| p.code == a.position_code)
            .expect("assignment names a position of its approval")
    }

    /// Whether the assignment is in a director or commissioner position.
    pub fn is_board(&self, a: &Assignment) -> bool {
        matches!(self.position(a).level, "director" | "commissioner")
    }

    /// Workers named in a deliberate contradiction.
    pub fn is_special(&self, worker: usize) -> bool {
        self.anomalies.iter().any(|x| x.worker == Some(worker))
    }

    /// Index of the worker's current assignment (the latest starting one).
    pub fn assignment_of(&self, worker: usize) -> Option<usize> {
        (0..self.assignments.len())
            .filter(|&i| self.assignments[i].worker == worker)
            .max_by_key(|&i| self.assignments[i].start_on)
    }

    /// Index of the worker's current ITAS/ITAP (the latest ending one).
    pub fn permit_of(&self, worker: usize) -> Option<usize> {
        (0..self.permits.len())
            .filter(|&i| self.permits[i].worker == worker && self.permits[i].kind != "ITK")
            .max_by_key(|&i| self.permits[i].valid_until)
    }
}

/// An assignment is active on `d` when active and `start_on <= d <= end_on`.
pub fn active_on(a: &Assignment, d: NaiveDate) -> bool {
    a.status == "active" && a.start_on <= d && d <= a.end_on
}

/// A permit is valid on `d` when active and `valid_from <= d <= valid_until`.
pub fn valid_on(p: &Permit, d: NaiveDate) -> bool {
    p.status == "active" && p.valid_from <= d && d <= p.valid_until
}
