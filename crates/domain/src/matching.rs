//! Finding workers that are probably one person: a renewed passport, or a
//! number one agency typed with a slip, makes one person two workers.
//!
//! Pure functions over what agencies reported (`docs/person-matching.md`):
//! [`blocks`] gives the keys that put two identities in the same block, so a
//! sweep compares only identities that share one; [`compare`] weighs two
//! workers field by field (Fellegi–Sunter style: agreement adds log-odds,
//! disagreement subtracts) and says whether they are a candidate pair, with
//! the evidence: which field agreed or differed, and which agencies said so.
//! Values never appear in the evidence; the people deciding read both
//! workers' views (an audited access).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One agency's account of a person, as the matcher compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    /// The reporting agency's code.
    pub agency: String,
    /// The passport number the agency used.
    pub passport_no: String,
    /// The passport the agency said this one replaced, if it said so.
    pub previous_passport_no: Option<String>,
    /// Name as reported (already normalised to upper case by parsing).
    pub full_name: String,
    /// `M`, `F` or `X`, if reported.
    pub sex: Option<String>,
    /// Birth date, if reported.
    pub birth_date: Option<NaiveDate>,
    /// [`name_key`] of `full_name`, computed once.
    pub name_key: String,
}

impl Reported {
    /// One agency's report, its name key computed.
    pub fn new(
        agency: String,
        passport_no: String,
        previous_passport_no: Option<String>,
        full_name: String,
        sex: Option<String>,
        birth_date: Option<NaiveDate>,
    ) -> Reported {
        Reported {
            name_key: name_key(&full_name),
            agency,
            passport_no,
            previous_passport_no,
            full_name,
            sex,
            birth_date,
        }
    }
}

/// Everything the matcher knows of one worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Sinergi's worker id.
    pub worker_id: String,
    /// Nationality (alpha-3): people of different nationalities never match.
    pub nationality: String,
    /// Every passport number the worker holds in Sinergi.
    pub passports: Vec<String>,
    /// What each agency reported.
    pub reported: Vec<Reported>,
}

/// A key two identities must share to be compared at all.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Block {
    /// Same nationality and birth date.
    Birth(String, NaiveDate),
    /// Same nationality and normalised name.
    Name(String, String),
    /// Same nationality and passport number (a previous passport named by one
    /// side is held by the other).
    Passport(String, String),
}

/// Blocks with more members than this are too common to tell people apart
/// (a placeholder birth date, a name thousands share): they are not
/// compared, so one of them never costs a quadratic number of comparisons.
/// Pairs that share a smaller block as well are still found.
pub const MAX_BLOCK: usize = 30;

/// At most this many candidates per worker, the likeliest first: a real
/// person is two workers, rarely three; more means data that cannot tell
/// people apart, which a person should not have to page through.
pub const MAX_CANDIDATES: usize = 5;

/// Keeps the likeliest pairs, at most [`MAX_CANDIDATES`] per worker (by
/// score, then ids, so the choice is stable), in (worker_a, worker_b) order.
pub fn likeliest(mut matches: Vec<Match>) -> Vec<Match> {
    matches.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then_with(|| (&x.worker_a, &x.worker_b).cmp(&(&y.worker_a, &y.worker_b)))
    });
    let mut per: BTreeMap<String, usize> = BTreeMap::new();
    let mut out: Vec<Match> = Vec::new();
    for m in matches {
        let (a, b) = (
            per.get(&m.worker_a).copied().unwrap_or(0),
            per.get(&m.worker_b).copied().unwrap_or(0),
        );
        if a < MAX_CANDIDATES && b < MAX_CANDIDATES {
            *per.entry(m.worker_a.clone()).or_default() += 1;
            *per.entry(m.worker_b.clone()).or_default() += 1;
            out.push(m);
        }
    }
    out.sort_by(|x, y| (&x.worker_a, &x.worker_b).cmp(&(&y.worker_a, &y.worker_b)));
    out
}

/// The blocks a person falls in.
pub fn blocks(p: &Person) -> BTreeSet<Block> {
    let mut out = BTreeSet::new();
    for r in &p.reported {
        if let Some(b) = r.birth_date {
            out.insert(Block::Birth(p.nationality.clone(), b));
        }
        out.insert(Block::Name(p.nationality.clone(), r.name_key.clone()));
        if let Some(prev) = &r.previous_passport_no {
            out.insert(Block::Passport(p.nationality.clone(), prev.clone()));
        }
    }
    for n in &p.passports {
        out.insert(Block::Passport(p.nationality.clone(), n.clone()));
    }
    out
}

/// Common spellings of one name in Latin letters, each mapped to one form.
const VARIANTS: &[(&str, &str)] = &[
    ("MOHAMMAD", "MUHAMMAD"),
    ("MOHAMMED", "MUHAMMAD"),
    ("MOHAMED", "MUHAMMAD"),
    ("MOHAMAD", "MUHAMMAD"),
    ("MUHAMMED", "MUHAMMAD"),
    ("MUHAMAD", "MUHAMMAD"),
    ("MOHAMMAT", "MUHAMMAD"),
    ("MOHD", "MUHAMMAD"),
    ("MD", "MUHAMMAD"),
    ("AHMAD", "AHMED"),
    ("ACHMAD", "AHMED"),
    ("AKHMAD", "AHMED"),
    ("ABDOUL", "ABDUL"),
    ("ABDEL", "ABDUL"),
    ("YOUSSEF", "YUSUF"),
    ("YOUSEF", "YUSUF"),
    ("YOUSUF", "YUSUF"),
    ("YUSOF", "YUSUF"),
    ("HUSSEIN", "HUSAIN"),
    ("HUSSAIN", "HUSAIN"),
    ("HUSEIN", "HUSAIN"),
    ("NGUYEN", "NGUYEN"),
    ("NGUYÊN", "NGUYEN"),
    ("CHOW", "ZHOU"),
    ("CHOU", "ZHOU"),
    ("CHANG", "ZHANG"),
    ("HSU", "XU"),
    ("HSIAO", "XIAO"),
    ("HSIEH", "XIE"),
    ("CHEUNG", "ZHANG"),
    ("WONG", "WANG"),
    ("LEE", "LI"),
    ("TSAI", "CAI"),
    ("CHIANG", "JIANG"),
    ("KIM", "KIM"),
    ("SERGEI", "SERGEY"),
    ("ALEKSANDR", "ALEXANDER"),
    ("ALEXANDR", "ALEXANDER"),
];

/// A name as the matcher compares it: letters only, accents dropped, words
/// in a fixed order and common transliteration variants mapped to one form,
/// so `Wei ZHANG`, `ZHANG  WEI` and `CHANG WEI` give the same key.
pub fn name_key(name: &str) -> String {
    let mut words: Vec<String> = name
        .chars()
        .map(|c| {
            let c = fold_accent(c.to_uppercase().next().unwrap_or(c));
            if c.is_ascii_alphabetic() {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .map(|w| {
            VARIANTS
                .iter()
                .find(|(from, _)| *from == w)
                .map_or_else(|| w.to_string(), |(_, to)| to.to_string())
        })
        .collect();
    words.sort();
    words.join(" ")
}

/// Latin letters with diacritics as their base letter.
fn fold_accent(c: char) -> char {
    match c {
        'À'..='Å'
        | 'Ā'
        | 'Ă'
        | 'Ą'
        | 'Ạ'
        | 'Ả'
        | 'Ấ'
        | 'Ầ'
        | 'Ẩ'
        | 'Ẫ'
        | 'Ậ'
        | 'Ắ'
        | 'Ằ'
        | 'Ẳ'
        | 'Ẵ'
        | 'Ặ' => 'A',
        'Ç' | 'Ć' | 'Č' => 'C',
        'Đ' | 'Ď' => 'D',
        'È'..='Ë' | 'Ē' | 'Ė' | 'Ę' | 'Ě' | 'Ẹ' | 'Ẻ' | 'Ẽ' | 'Ế' | 'Ề' | 'Ể' | 'Ễ' | 'Ệ' => {
            'E'
        }
        'Ì'..='Ï' | 'Ī' | 'Į' | 'İ' | 'Ỉ' | 'Ị' => 'I',
        'Ñ' | 'Ń' | 'Ň' => 'N',
        'Ò'..='Ö'
        | 'Ø'
        | 'Ō'
        | 'Ő'
        | 'Ơ'
        | 'Ọ'
        | 'Ỏ'
        | 'Ố'
        | 'Ồ'
        | 'Ổ'
        | 'Ỗ'
        | 'Ộ'
        | 'Ớ'
        | 'Ờ'
        | 'Ở'
        | 'Ỡ'
        | 'Ợ' => 'O',
        'Ù'..='Ü' | 'Ū' | 'Ů' | 'Ű' | 'Ư' | 'Ụ' | 'Ủ' | 'Ứ' | 'Ừ' | 'Ử' | 'Ữ' | 'Ự' => {
            'U'
        }
        'Ý' | 'Ÿ' | 'Ỳ' | 'Ỵ' | 'Ỷ' | 'Ỹ' => 'Y',
        'Ś' | 'Š' | 'Ş' => 'S',
        'Ź' | 'Ż' | 'Ž' => 'Z',
        'Ł' => 'L',
        'Ř' => 'R',
        'Ť' => 'T',
        other => other,
    }
}

/// How two passport numbers relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PassportRelation {
    /// One side named the other's number as the passport it replaced.
    Renewal,
    /// Equal once `O`/`0` and `I`/`1` are read alike.
    LookAlike,
    /// One character differs.
    Substitution,
    /// Two neighbouring characters are swapped.
    Transposition,
    /// One number has one character more.
    ExtraCharacter,
}

impl PassportRelation {
    /// The evidence's outcome code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Renewal => "renewal",
            Self::LookAlike => "look_alike",
            Self::Substitution => "substitution",
            Self::Transposition => "transposition",
            Self::ExtraCharacter => "extra_character",
        }
    }

    /// Log-odds weight of this agreement.
    fn weight(self) -> f64 {
        match self {
            Self::Renewal => 20.0,
            Self::LookAlike => 10.0,
            Self::Transposition | Self::ExtraCharacter => 7.0,
            Self::Substitution => 6.0,
        }
    }
}

/// Characters that one agency's keyboard or OCR reads as another.
fn look_alike(c: char) -> char {
    match c {
        'O' | 'Q' => '0',
        'I' | 'L' => '1',
        other => other,
    }
}

/// How two different passport numbers are one slip apart, if they are
/// (passport numbers are ASCII: letters and digits).
pub fn passport_relation(a: &str, b: &str) -> Option<PassportRelation> {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a == b || a.len().abs_diff(b.len()) > 1 {
        return None;
    }
    if a.len() == b.len() {
        if a.iter()
            .zip(b)
            .all(|(x, y)| look_alike(*x as char) == look_alike(*y as char))
        {
            return Some(PassportRelation::LookAlike);
        }
        let mut diff = (0..a.len()).filter(|&i| a[i] != b[i]);
        return match (diff.next(), diff.next(), diff.next()) {
            (Some(_), None, _) => Some(PassportRelation::Substitution),
            (Some(i), Some(j), None) if j == i + 1 && a[i] == b[j] && a[j] == b[i] => {
                Some(PassportRelation::Transposition)
            }
            _ => None,
        };
    }
    let (long, short) = if a.len() > b.len() { (a, b) } else { (b, a) };
    let first = (0..short.len())
        .find(|&i| long[i] != short[i])
        .unwrap_or(short.len());
    (long[first + 1..] == short[first..]).then_some(PassportRelation::ExtraCharacter)
}

/// How two names compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameRelation {
    /// Equal after normalisation (case, spacing, accents, word order, variants).
    Equal,
    /// Most words shared (a middle name missing on one side, one word misspelt).
    Similar,
    /// Different people's names.
    Different,
}

/// Compares two names.
pub fn name_relation(a: &str, b: &str) -> NameRelation {
    keys_relation(&name_key(a), &name_key(b))
}

/// Compares two names by their [`name_key`]s.
fn keys_relation(ka: &str, kb: &str) -> NameRelation {
    if ka == kb {
        return NameRelation::Equal;
    }
    let wa: BTreeSet<&str> = ka.split(' ').collect();
    let wb: BTreeSet<&str> = kb.split(' ').collect();
    let shared = wa.intersection(&wb).count();
    let fewer = wa.len().min(wb.len());
    // Every word of the shorter name in the longer one (a dropped middle
    // name), or names of three words or more with all but one shared and
    // that one a single slip apart (two-word names one letter apart, such
    // as ZHANG WEI and ZHANG LEI, are different people).
    if shared == fewer && fewer >= 2 {
        return NameRelation::Similar;
    }
    if wa.len() == wb.len() && shared + 1 == wa.len() && wa.len() >= 3 {
        let odd_a = wa.difference(&wb).next().copied().unwrap_or("");
        let odd_b = wb.difference(&wa).next().copied().unwrap_or("");
        if edit_distance(odd_a, odd_b) <= 1 {
            return NameRelation::Similar;
        }
    }
    NameRelation::Different
}

/// Levenshtein distance (names are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// What one field of the two workers showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agreement {
    /// `passport_no`, `full_name`, `birth_date` or `sex`.
    #[cfg_attr(feature = "openapi", schema(example = "passport_no"))]
    pub field: String,
    /// `equal`, `similar`, `renewal`, `look_alike`, `substitution`,
    /// `transposition`, `extra_character`, `different` or `unknown`.
    #[cfg_attr(feature = "openapi", schema(example = "transposition"))]
    pub outcome: String,
    /// The agencies whose reports about the first worker were compared.
    pub agencies_a: Vec<String>,
    /// The agencies whose reports about the second worker were compared.
    pub agencies_b: Vec<String>,
    /// Log-odds this outcome adds (negative when it speaks against).
    pub weight: f64,
}

/// A pair of workers that are probably one person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// The smaller worker id.
    pub worker_a: String,
    /// The larger worker id.
    pub worker_b: String,
    /// Match probability from the summed weights, 0 to 1, three decimals.
    pub score: f64,
    /// Field by field, in a fixed order.
    pub evidence: Vec<Agreement>,
}

impl Match {
    /// A digest of what the evidence shows (fields and outcomes, not
    /// agencies or weights): a rejected pair comes back only when it changes.
    pub fn basis(&self) -> String {
        self.evidence
            .iter()
            .map(|e| format!("{}={}", e.field, e.outcome))
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// Prior log-odds that two workers in one block are one person.
const PRIOR: f64 = -10.0;
const BIRTH_EQUAL: f64 = 7.0;
const NAME_EQUAL: f64 = 8.0;
const NAME_SIMILAR: f64 = 4.0;
const NAME_DIFFERENT: f64 = -8.0;
const SEX_EQUAL: f64 = 0.5;

/// The best comparison of one report about each worker.
struct Pairing<'a> {
    a: &'a Reported,
    b: &'a Reported,
    passport: Option<PassportRelation>,
    name: NameRelation,
    birth: Option<bool>,
    sex: Option<bool>,
}

impl Pairing<'_> {
    /// The pair is a candidate by the rules of `docs/person-matching.md`.
    fn is_candidate(&self) -> bool {
        // A known birth date or sex that differs is another person (a typo
        // there is rule 11's business within one worker).
        if self.birth == Some(false) || self.sex == Some(false) {
            return self.passport == Some(PassportRelation::Renewal);
        }
        match self.passport {
            Some(PassportRelation::Renewal) => true,
            Some(_) => {
                self.name == NameRelation::Equal
                    || (self.birth == Some(true) && self.name == NameRelation::Similar)
            }
            None => self.name == NameRelation::Equal && self.birth == Some(true),
        }
    }

    fn weight(&self) -> f64 {
        let mut w = self.passport.map_or(0.0, PassportRelation::weight);
        w += match self.name {
            NameRelation::Equal => NAME_EQUAL,
            NameRelation::Similar => NAME_SIMILAR,
            NameRelation::Different => NAME_DIFFERENT,
        };
        w += match self.birth {
            Some(true) => BIRTH_EQUAL,
            _ => 0.0,
        };
        w += match self.sex {
            Some(true) => SEX_EQUAL,
            _ => 0.0,
        };
        w
    }
}

fn same<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> Option<bool> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x == y),
        _ => None,
    }
}

/// How the passports of two reports relate, a named renewal first.
fn passports(
    a: &Reported,
    b: &Reported,
    held_a: &[String],
    held_b: &[String],
) -> Option<PassportRelation> {
    let renewed = |r: &Reported, other: &[String]| {
        r.previous_passport_no
            .as_ref()
            .is_some_and(|p| other.contains(p))
    };
    if renewed(a, held_b) || renewed(b, held_a) {
        return Some(PassportRelation::Renewal);
    }
    passport_relation(&a.passport_no, &b.passport_no)
}

/// Compares two workers; `Some` when they are a candidate pair.
pub fn compare(x: &Person, y: &Person) -> Option<Match> {
    if x.worker_id == y.worker_id || x.nationality != y.nationality {
        return None;
    }
    let (a, b) = if x.worker_id < y.worker_id {
        (x, y)
    } else {
        (y, x)
    };
    let mut best: Option<(f64, Pairing)> = None;
    for ra in &a.reported {
        for rb in &b.reported {
            // The cheap fields first: most pairs in a block are told apart by them.
            let birth = same(&ra.birth_date, &rb.birth_date);
            let sex = same(&ra.sex, &rb.sex);
            let passport = passports(ra, rb, &a.passports, &b.passports);
            let renewal = passport == Some(PassportRelation::Renewal);
            if !renewal && (birth == Some(false) || sex == Some(false)) {
                continue;
            }
            if passport.is_none() && (birth != Some(true) || ra.name_key != rb.name_key) {
                continue;
            }
            let p = Pairing {
                a: ra,
                b: rb,
                passport,
                name: keys_relation(&ra.name_key, &rb.name_key),
                birth,
                sex,
            };
            if !p.is_candidate() {
                continue;
            }
            let w = p.weight();
            // Ties go to the first pairing in agency order, so the evidence is stable.
            if best.as_ref().is_none_or(|(bw, _)| w > *bw) {
                best = Some((w, p));
            }
        }
    }
    let (weight, p) = best?;
    let agencies = |f: &dyn Fn(&Reported) -> bool, who: &Person| -> Vec<String> {
        let set: BTreeSet<String> = who
            .reported
            .iter()
            .filter(|r| f(r))
            .map(|r| r.agency.clone())
            .collect();
        set.into_iter().collect()
    };
    let field = |name: &str,
                 outcome: &str,
                 w: f64,
                 fa: &dyn Fn(&Reported) -> bool,
                 fb: &dyn Fn(&Reported) -> bool| Agreement {
        field: name.to_string(),
        outcome: outcome.to_string(),
        agencies_a: agencies(fa, a),
        agencies_b: agencies(fb, b),
        weight: w,
    };
    let mut evidence = Vec::new();
    let (pa, pb) = (p.a.passport_no.clone(), p.b.passport_no.clone());
    evidence.push(match p.passport {
        Some(rel) => field(
            "passport_no",
            rel.as_str(),
            rel.weight(),
            &|r| r.passport_no == pa || r.previous_passport_no.as_ref() == Some(&pb),
            &|r| r.passport_no == pb || r.previous_passport_no.as_ref() == Some(&pa),
        ),
        None => field(
            "passport_no",
            "different",
            0.0,
            &|r| r.passport_no == pa,
            &|r| r.passport_no == pb,
        ),
    });
    let (na, nb) = (&p.a.name_key, &p.b.name_key);
    let (outcome, w) = match p.name {
        NameRelation::Equal => ("equal", NAME_EQUAL),
        NameRelation::Similar => ("similar", NAME_SIMILAR),
        NameRelation::Different => ("different", NAME_DIFFERENT),
    };
    evidence.push(field(
        "full_name",
        outcome,
        w,
        &|r| r.name_key == *na,
        &|r| r.name_key == *nb,
    ));
    let (ba, bb) = (p.a.birth_date, p.b.birth_date);
    let (outcome, w) = match p.birth {
        Some(true) => ("equal", BIRTH_EQUAL),
        Some(false) => ("different", 0.0),
        None => ("unknown", 0.0),
    };
    evidence.push(field(
        "birth_date",
        outcome,
        w,
        &|r| r.birth_date.is_some() && r.birth_date == ba,
        &|r| r.birth_date.is_some() && r.birth_date == bb,
    ));
    let (sa, sb) = (p.a.sex.clone(), p.b.sex.clone());
    let (outcome, w) = match p.sex {
        Some(true) => ("equal", SEX_EQUAL),
        Some(false) => ("different", 0.0),
        None => ("unknown", 0.0),
    };
    evidence.push(field(
        "sex",
        outcome,
        w,
        &|r| r.sex.is_some() && r.sex == sa,
        &|r| r.sex.is_some() && r.sex == sb,
    ));
    Some(Match {
        worker_a: a.worker_id.clone(),
        worker_b: b.worker_id.clone(),
        score: probability(weight),
        evidence,
    })
}

/// Summed log-odds (base 2) as a probability, rounded to three decimals.
fn probability(weight: f64) -> f64 {
    let p = 1.0 / (1.0 + (-(weight + PRIOR)).exp2());
    (p * 1000.0).round() / 1000.0
}

/// Every candidate pair among `people`, comparing only people who share a
/// block of at most [`MAX_BLOCK`] members, at most [`MAX_CANDIDATES`] per
/// worker; in (worker_a, worker_b) order.
pub fn sweep(people: &[Person]) -> Vec<Match> {
    let mut by_block: BTreeMap<Block, Vec<usize>> = BTreeMap::new();
    for (i, p) in people.iter().enumerate() {
        for b in blocks(p) {
            by_block.entry(b).or_default().push(i);
        }
    }
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for members in by_block.values().filter(|m| m.len() <= MAX_BLOCK) {
        for (n, &i) in members.iter().enumerate() {
            for &j in &members[n + 1..] {
                if i != j {
                    pairs.push((i.min(j) as u32, i.max(j) as u32));
                }
            }
        }
    }
    // Two people may share several blocks: each pair is compared once.
    pairs.sort_unstable();
    pairs.dedup();
    likeliest(
        pairs
            .into_iter()
            .map(|(i, j)| (i as usize, j as usize))
            .filter_map(|(i, j)| compare(&people[i], &people[j]))
            .collect(),
    )
}

#[cfg(test)]
mod tests;
