//! Economic sectors: the 21 sections of KBLI 2020, used to group statistics.

use crate::FieldError;

/// A KBLI 2020 section (A–U), named for statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sector {
    /// A: agriculture, forestry and fishing (plantations).
    Agriculture,
    /// B: mining and quarrying.
    Mining,
    /// C: manufacturing (e.g. palm-oil mills).
    Manufacturing,
    /// D: electricity, gas, steam and air conditioning supply.
    Electricity,
    /// E: water supply, sewerage and waste management.
    WaterWaste,
    /// F: construction.
    Construction,
    /// G: wholesale and retail trade.
    Trade,
    /// H: transportation and storage.
    Transport,
    /// I: accommodation and food service.
    Accommodation,
    /// J: information and communication.
    Information,
    /// K: financial and insurance activities.
    Finance,
    /// L: real estate activities.
    RealEstate,
    /// M: professional, scientific and technical activities.
    Professional,
    /// N: administrative and support service activities.
    Administrative,
    /// O: public administration and defence.
    PublicAdministration,
    /// P: education.
    Education,
    /// Q: human health and social work.
    Health,
    /// R: arts, entertainment and recreation.
    Arts,
    /// S: other service activities.
    OtherServices,
    /// T: activities of households as employers.
    Households,
    /// U: extraterritorial organisations.
    ExtraTerritorial,
}

/// Per sector, in `Sector::ALL` order: (section, code, English name, Indonesian name).
const TABLE: [(char, &str, &str, &str); 21] = [
    ('A', "agriculture", "Agriculture, forestry and fishing", "Pertanian, kehutanan dan perikanan"),
    ('B', "mining", "Mining and quarrying", "Pertambangan dan penggalian"),
    ('C', "manufacturing", "Manufacturing", "Industri pengolahan"),
    (
        'D',
        "electricity",
        "Electricity, gas, steam and air conditioning supply",
        "Pengadaan listrik, gas, uap/air panas dan udara dingin",
    ),
    (
        'E',
        "water_waste",
        "Water supply; sewerage, waste management and remediation activities",
        "Pengelolaan air, pengelolaan air limbah, pengelolaan dan daur ulang sampah, dan aktivitas remediasi",
    ),
    ('F', "construction", "Construction", "Konstruksi"),
    (
        'G',
        "trade",
        "Wholesale and retail trade; repair of motor vehicles and motorcycles",
        "Perdagangan besar dan eceran; reparasi dan perawatan mobil dan sepeda motor",
    ),
    ('H', "transport", "Transportation and storage", "Pengangkutan dan pergudangan"),
    (
        'I',
        "accommodation",
        "Accommodation and food service activities",
        "Penyediaan akomodasi dan penyediaan makan minum",
    ),
    ('J', "information", "Information and communication", "Informasi dan komunikasi"),
    ('K', "finance", "Financial and insurance activities", "Aktivitas keuangan dan asuransi"),
    ('L', "real_estate", "Real estate activities", "Real estat"),
    (
        'M',
        "professional",
        "Professional, scientific and technical activities",
        "Aktivitas profesional, ilmiah dan teknis",
    ),
    (
        'N',
        "administrative",
        "Administrative and support service activities",
        "Aktivitas penyewaan dan sewa guna usaha tanpa hak opsi, ketenagakerjaan, agen perjalanan dan penunjang usaha lainnya",
    ),
    (
        'O',
        "public_administration",
        "Public administration and defence; compulsory social security",
        "Administrasi pemerintahan, pertahanan dan jaminan sosial wajib",
    ),
    ('P', "education", "Education", "Pendidikan"),
    (
        'Q',
        "health",
        "Human health and social work activities",
        "Aktivitas kesehatan manusia dan aktivitas sosial",
    ),
    ('R', "arts", "Arts, entertainment and recreation", "Kesenian, hiburan dan rekreasi"),
    ('S', "other_services", "Other service activities", "Aktivitas jasa lainnya"),
    (
        'T',
        "households",
        "Activities of households as employers; undifferentiated goods- and services-producing activities of households for own use",
        "Aktivitas rumah tangga sebagai pemberi kerja; aktivitas yang menghasilkan barang dan jasa oleh rumah tangga yang digunakan untuk memenuhi kebutuhan sendiri",
    ),
    (
        'U',
        "extra_territorial",
        "Activities of extraterritorial organizations and bodies",
        "Aktivitas badan internasional dan badan ekstra internasional lainnya",
    ),
];

impl Sector {
    /// Every sector, in section order A–U.
    pub const ALL: [Sector; 21] = [
        Sector::Agriculture,
        Sector::Mining,
        Sector::Manufacturing,
        Sector::Electricity,
        Sector::WaterWaste,
        Sector::Construction,
        Sector::Trade,
        Sector::Transport,
        Sector::Accommodation,
        Sector::Information,
        Sector::Finance,
        Sector::RealEstate,
        Sector::Professional,
        Sector::Administrative,
        Sector::PublicAdministration,
        Sector::Education,
        Sector::Health,
        Sector::Arts,
        Sector::OtherServices,
        Sector::Households,
        Sector::ExtraTerritorial,
    ];

    fn row(&self) -> &'static (char, &'static str, &'static str, &'static str) {
        // Declaration order equals table order, so the discriminant is the row index.
        &TABLE[*self as usize]
    }

    /// The sector of a KBLI section letter (upper-case `A`..=`U`).
    pub fn from_section(c: char) -> Option<Sector> {
        Self::ALL.iter().copied().find(|s| s.section() == c)
    }

    /// The KBLI section letter.
    pub fn section(&self) -> char {
        self.row().0
    }

    /// Stable snake_case code, e.g. `mining`.
    pub fn code(&self) -> &'static str {
        self.row().1
    }

    /// English section title, e.g. "Mining and quarrying".
    pub fn name_en(&self) -> &'static str {
        self.row().2
    }

    /// Bahasa Indonesia section title, e.g. "Pertambangan dan penggalian".
    pub fn name_id(&self) -> &'static str {
        self.row().3
    }

    /// Parses a stable code such as `mining`.
    pub fn parse(s: &str) -> Result<Sector, FieldError> {
        Self::ALL
            .iter()
            .copied()
            .find(|x| x.code() == s)
            .ok_or_else(|| {
                let codes: Vec<&str> = Self::ALL.iter().map(Sector::code).collect();
                FieldError::new(
                    "invalid_value",
                    format!("sector must be one of: {}", codes.join(", ")),
                )
            })
    }
}

impl std::fmt::Display for Sector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for Sector {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Sector {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Sector::parse(&s).map_err(|e| <D::Error as serde::de::Error>::custom(e.message))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Sector {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(Sector::ALL.map(|s| s.code())))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Sector {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::test_support::from_str;

    #[test]
    fn table_matches_declaration_order() {
        let letters: String = Sector::ALL.iter().map(Sector::section).collect();
        assert_eq!(letters, "ABCDEFGHIJKLMNOPQRSTU");
        for s in Sector::ALL {
            assert_eq!(Sector::from_section(s.section()), Some(s));
            assert_eq!(Sector::parse(s.code()), Ok(s));
        }
    }

    #[test]
    fn names_and_codes() {
        assert_eq!(Sector::Mining.code(), "mining");
        assert_eq!(Sector::Mining.name_en(), "Mining and quarrying");
        assert_eq!(Sector::Mining.name_id(), "Pertambangan dan penggalian");
        assert_eq!(Sector::Agriculture.code(), "agriculture");
        assert_eq!(
            Sector::Agriculture.name_id(),
            "Pertanian, kehutanan dan perikanan"
        );
        assert_eq!(Sector::Manufacturing.code(), "manufacturing");
        assert_eq!(Sector::Manufacturing.to_string(), "manufacturing");
    }

    #[test]
    fn unknown_section_or_code() {
        assert_eq!(Sector::from_section('V'), None);
        assert_eq!(Sector::from_section('b'), None);
        assert_eq!(Sector::parse("Mining").unwrap_err().code, "invalid_value");
    }

    #[test]
    fn deserialises_codes() {
        assert_eq!(
            from_str::<Sector>("water_waste").unwrap(),
            Sector::WaterWaste
        );
        assert!(from_str::<Sector>("B").is_err());
    }
}
