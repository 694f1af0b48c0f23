//! Fictional people: names as in the passport MRZ (upper case, surname first
//! where the MRZ puts it first), passport numbers in each country's usual shape,
//! and Indonesian companion workers.

use super::rng::Rng;

/// Nationalities of the demo workers with their share in percent (about the
/// mix the Samarinda immigration office reports: China first by far).
pub const NATIONALITY_SHARES: [(&str, u32); 9] = [
    ("CHN", 57),
    ("KOR", 10),
    ("JPN", 8),
    ("IND", 7),
    ("MYS", 6),
    ("AUS", 4),
    ("PHL", 3),
    ("THA", 3),
    ("LKA", 2),
];

struct NameBook {
    surnames: &'static [&'static str],
    male: &'static [&'static str],
    female: &'static [&'static str],
    /// Given name first (no MRZ surname split, as in many Indian passports).
    given_first: bool,
}

const CHN: NameBook = NameBook {
    surnames: &[
        "WANG", "LI", "ZHANG", "LIU", "CHEN", "YANG", "HUANG", "ZHAO", "WU", "ZHOU", "XU", "SUN",
        "MA", "ZHU", "HU", "GUO", "HE", "LIN", "LUO", "GAO", "ZHENG", "LIANG", "XIE", "TANG",
        "HAN", "CAO", "DENG", "FENG", "PENG", "JIANG",
    ],
    male: &[
        "WEI", "JUN", "QIANG", "LEI", "YONG", "JIANHUA", "JIANGUO", "HAIBO", "ZHIQIANG",
        "XIAODONG", "MING", "TAO", "BIN", "PENG", "HAO", "CHAO", "GANG", "LIANG", "JIE", "FENG",
        "ZHIWEI", "WENBO", "GUOQING", "XIN", "YU", "HONGWEI", "JIANJUN", "DAWEI",
    ],
    female: &[
        "FANG", "NA", "XIUYING", "JING", "YAN", "LING", "HUI", "XIA", "YING", "LI",
    ],
    given_first: false,
};

const KOR: NameBook = NameBook {
    surnames: &[
        "KIM", "LEE", "PARK", "CHOI", "JUNG", "KANG", "CHO", "YOON", "JANG", "LIM", "HAN", "OH",
        "SEO", "SHIN", "KWON",
    ],
    male: &[
        "MIN JUN",
        "SEO JUN",
        "JI HOON",
        "HYUN WOO",
        "SUNG MIN",
        "DONG HYUN",
        "JAE WON",
        "YOUNG HO",
        "SANG WOO",
        "JIN HO",
        "TAE HYUN",
        "KYUNG SOO",
    ],
    female: &["JI YOUNG", "SOO JIN", "HYE JIN", "MIN JI"],
    given_first: false,
};

const JPN: NameBook = NameBook {
    surnames: &[
        "SATO",
        "SUZUKI",
        "TAKAHASHI",
        "TANAKA",
        "WATANABE",
        "ITO",
        "YAMAMOTO",
        "NAKAMURA",
        "KOBAYASHI",
        "KATO",
        "YOSHIDA",
        "YAMADA",
        "SASAKI",
        "MATSUMOTO",
        "INOUE",
        "KIMURA",
    ],
    male: &[
        "HIROSHI", "TAKESHI", "KENJI", "DAISUKE", "YUSUKE", "KAZUKI", "SHOTA", "TAKUYA", "KOJI",
        "NAOKI", "MASAHIRO", "TETSUYA",
    ],
    female: &["YUKI", "AYAKA", "MISAKI", "EMI"],
    given_first: false,
};

const IND: NameBook = NameBook {
    surnames: &[
        "KUMAR", "SHARMA", "SINGH", "PATEL", "REDDY", "NAIR", "IYER", "GUPTA", "RAO", "VERMA",
        "MENON", "PILLAI",
    ],
    male: &[
        "RAJESH",
        "SURESH",
        "ANIL",
        "SANJAY",
        "VIKRAM",
        "ARUN",
        "RAMESH",
        "PRAKASH",
        "DEEPAK",
        "MANOJ",
        "RAHUL",
        "VENKATESH",
    ],
    female: &["PRIYA", "ANJALI", "SUNITA", "DEEPA"],
    given_first: true,
};

const AUS: NameBook = NameBook {
    surnames: &[
        "SMITH", "JONES", "WILLIAMS", "BROWN", "WILSON", "TAYLOR", "ANDERSON", "THOMPSON",
        "MITCHELL", "CAMPBELL", "O'BRIEN", "MCDONALD",
    ],
    male: &[
        "JAMES",
        "MICHAEL ANDREW",
        "DAVID",
        "MATTHEW JOHN",
        "PETER",
        "SCOTT",
        "BENJAMIN",
        "DANIEL",
        "CRAIG",
        "LUKE",
    ],
    female: &["SARAH", "JESSICA", "REBECCA"],
    given_first: false,
};

const PHL: NameBook = NameBook {
    surnames: &[
        "SANTOS",
        "REYES",
        "CRUZ",
        "BAUTISTA",
        "GARCIA",
        "MENDOZA",
        "DELA CRUZ",
        "VILLANUEVA",
        "RAMOS",
        "AQUINO",
    ],
    male: &[
        "JOSE",
        "MARK ANTHONY",
        "JOHN PAUL",
        "RONALDO",
        "ROMMEL",
        "JERRY",
        "ARNEL",
        "RODEL",
    ],
    female: &["MARIA CRISTINA", "JOCELYN", "MARICEL"],
    given_first: false,
};

const THA: NameBook = NameBook {
    surnames: &[
        "SRISUK",
        "WONGSAWAT",
        "CHAIYAPORN",
        "SUKSAWAT",
        "KAEWMANEE",
        "PHROMMA",
        "BOONMA",
        "THONGDEE",
    ],
    male: &[
        "SOMCHAI",
        "PRASERT",
        "ANUCHA",
        "WICHAI",
        "SOMPONG",
        "THANAKORN",
        "KITTIPONG",
    ],
    female: &["SUDA", "NIPA", "KANYA"],
    given_first: false,
};

const LKA: NameBook = NameBook {
    surnames: &[
        "PERERA",
        "FERNANDO",
        "SILVA",
        "JAYAWARDENA",
        "BANDARA",
        "WICKRAMASINGHE",
        "DISSANAYAKE",
        "RATNAYAKE",
    ],
    male: &[
        "KASUN", "NUWAN", "CHAMINDA", "PRASAD", "RUWAN", "SAMAN", "THARINDU",
    ],
    female: &["DILANI", "NADEESHA"],
    given_first: false,
};

const MYS_MALAY_MALE: &[&str] = &[
    "MOHD FAIZAL",
    "AHMAD ZAKI",
    "MUHAMMAD HAFIZ",
    "MOHD RIDZUAN",
    "AZMAN",
    "KHAIRUL ANUAR",
    "SYAFIQ",
    "MOHD NAZRI",
];
const MYS_MALAY_FEMALE: &[&str] = &["NURUL AIN", "SITI AISYAH", "NUR FARHANA"];
const MYS_FATHERS: &[&str] = &[
    "AHMAD", "ISMAIL", "ABDULLAH", "OTHMAN", "HASSAN", "YUSOF", "IBRAHIM", "RAHMAN",
];
const MYS_CHINESE: NameBook = NameBook {
    surnames: &["TAN", "LIM", "WONG", "ONG", "LEE", "CHONG", "NG", "TEO"],
    male: &[
        "CHEE KEONG",
        "WEI MING",
        "KOK LEONG",
        "BOON HUAT",
        "CHIN HOCK",
        "KAH WAI",
    ],
    female: &["MEI LING", "SIEW LAN"],
    given_first: false,
};

fn from_book(book: &NameBook, female: bool, rng: &mut Rng) -> String {
    let surname = rng.pick(book.surnames);
    let given = rng.pick(if female { book.female } else { book.male });
    if book.given_first {
        format!("{given} {surname}")
    } else {
        format!("{surname} {given}")
    }
}

/// A full name as in the passport of a person of `nationality`.
pub fn person_name(nationality: &str, female: bool, rng: &mut Rng) -> String {
    match nationality {
        "CHN" => from_book(&CHN, female, rng),
        "KOR" => from_book(&KOR, female, rng),
        "JPN" => from_book(&JPN, female, rng),
        "IND" => from_book(&IND, female, rng),
        "AUS" => from_book(&AUS, female, rng),
        "PHL" => from_book(&PHL, female, rng),
        "THA" => from_book(&THA, female, rng),
        "LKA" => from_book(&LKA, female, rng),
        "MYS" if rng.chance(55) => {
            let given = rng.pick(if female {
                MYS_MALAY_FEMALE
            } else {
                MYS_MALAY_MALE
            });
            let link = if female { "BINTI" } else { "BIN" };
            format!("{given} {link} {}", rng.pick(MYS_FATHERS))
        }
        _ => from_book(&MYS_CHINESE, female, rng),
    }
}

const UPPER: &str = "ABCDEFGHIJKLMNPRSTUVWXYZ";

/// A passport number in the usual shape of the issuing state.
pub fn passport_no(nationality: &str, rng: &mut Rng) -> String {
    match nationality {
        // E + 8 digits (e-passport series E, first digit non-zero).
        "CHN" => format!("E{}{}", rng.range(1, 9), rng.digits(7)),
        // M + 8 digits.
        "KOR" => format!("M{}{}", rng.range(1, 9), rng.digits(7)),
        // Two letters + 7 digits (TK, TR, TS, TZ, MZ series).
        "JPN" => format!(
            "{}{}",
            rng.pick(&["TK", "TR", "TS", "TZ", "MZ"]),
            rng.digits(7)
        ),
        // One letter + 7 digits.
        "IND" => format!("{}{}", rng.letter("JKLMNPRSTUVWZ"), rng.digits(7)),
        // A or H + 8 digits.
        "MYS" => format!("{}{}", rng.letter("AAAH"), rng.digits(8)),
        // P + letter + 7 digits.
        "AUS" => format!("P{}{}", rng.letter("ABCDE"), rng.digits(7)),
        // P + 7 digits + letter.
        "PHL" => format!("P{}{}", rng.digits(7), rng.letter(UPPER)),
        // A + letter + 7 digits.
        "THA" => format!("A{}{}", rng.letter("ABCDEFGH"), rng.digits(7)),
        // N + 7 digits.
        _ => format!("N{}", rng.digits(7)),
    }
}

const ID_MALE: &[&str] = &[
    "Budi", "Agus", "Andi", "Rizky", "Dedi", "Hendra", "Fajar", "Ahmad", "Muhammad", "Yusuf",
    "Arif", "Eko", "Bayu", "Rahmat", "Syahrul", "Irfan", "Aditya", "Wahyu", "Rudi", "Joko",
    "Akhmad", "Heri", "Taufik", "Gusti",
];
const ID_FEMALE: &[&str] = &[
    "Siti",
    "Dewi",
    "Nur",
    "Rina",
    "Sri",
    "Fitri",
    "Ayu",
    "Wulan",
    "Lestari",
    "Rahmawati",
];
const ID_FAMILY: &[&str] = &[
    "Santoso",
    "Pratama",
    "Saputra",
    "Hidayat",
    "Kurniawan",
    "Setiawan",
    "Nugroho",
    "Wijaya",
    "Rahman",
    "Hakim",
    "Syahputra",
    "Ramadhan",
    "Firmansyah",
    "Maulana",
    "Hasanuddin",
    "Gunawan",
    "Siregar",
    "Lubis",
    "Aminuddin",
    "Noor",
    "Anshari",
    "Kadir",
    "Daeng Mapata",
    "Effendi",
];

/// An Indonesian companion worker: name, and NIK registered in the given
/// Kukar kecamatan (`64.02.xx`); `seq` makes the NIK unique.
pub fn companion(kecamatan: &str, seq: u32, rng: &mut Rng) -> (String, String) {
    let female = rng.chance(20);
    let first = rng.pick(if female { ID_FEMALE } else { ID_MALE });
    let name = format!("{first} {}", rng.pick(ID_FAMILY));
    let region: String = kecamatan.chars().filter(char::is_ascii_digit).collect();
    let day = rng.range(1, 28) + if female { 40 } else { 0 };
    let month = rng.range(1, 12);
    let year = rng.range(75, 102) % 100;
    let nik = format!("{region}{day:02}{month:02}{year:02}{:04}", seq % 10_000);
    (name, nik)
}
