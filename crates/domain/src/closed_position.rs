//! Positions closed to foreign workers (Kepmenaker 349/2019): human-resources roles.

/// Closed job titles in normalised form (lower-case words, synonyms folded, see `normalise`).
/// Matched as whole-word phrases so that e.g. "safety engineer" or "plant manager" stay open.
const CLOSED_PHRASES: &[&str] = &[
    // Personnel director.
    "personnel director",
    "director of personnel",
    "hr director",
    "human resources director",
    "direktur personalia",
    "direktur sdm",
    "direktur sumber daya manusia",
    // Industrial relations manager.
    "industrial relations manager",
    "manager of industrial relations",
    "manager hubungan industrial",
    // HR manager.
    "hr manager",
    "human resources manager",
    "manager of human resources",
    "manager human resources",
    "manager hr",
    "head of hr",
    "head of human resources",
    "personnel manager",
    "manager sumber daya manusia",
    "manager sdm",
    "manager personalia",
    "kepala personalia",
    // HRD in any title (HRD manager, staf HRD, ...).
    "hrd",
    "human resources development",
    // Recruitment and career development staff.
    "recruitment",
    "recruiter",
    "rekrutmen",
    "perekrutan",
    "career development",
    "pengembangan karir",
    // Job analyst, job interviewer.
    "job analyst",
    "analis jabatan",
    "job interviewer",
    "pewawancara",
    // Employee mediator.
    "employee mediator",
    "industrial relations mediator",
    "mediator hubungan industrial",
    // Occupational safety specialist; kept specific, plain "safety" titles are open.
    "occupational safety specialist",
    "occupational safety and health specialist",
    "occupational health and safety specialist",
    "ahli k3",
    "spesialis k3",
    "keselamatan dan kesehatan kerja",
];

/// Folds spelling variants so one phrase covers them.
fn fold(word: &str) -> &str {
    match word {
        "manajer" | "mgr" => "manager",
        "karier" => "karir",
        "resource" => "resources",
        "relation" => "relations",
        "personel" | "personil" => "personalia",
        other => other,
    }
}

/// Lower-cases, turns punctuation into word breaks and pads with spaces for whole-word search.
fn normalise(title: &str) -> String {
    let lower: String = title
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let words: Vec<&str> = lower.split_whitespace().map(fold).collect();
    format!(" {} ", words.join(" "))
}

/// Closed positions for foreign workers (Kepmenaker 349/2019): HR roles.
pub fn is_closed_position(title: &str) -> bool {
    let haystack = normalise(title);
    CLOSED_PHRASES
        .iter()
        .any(|phrase| haystack.contains(&format!(" {phrase} ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_titles_in_english_and_indonesian() {
        for title in [
            "Personnel Director",
            "Direktur Personalia",
            "Industrial Relations Manager",
            "Manajer Hubungan Industrial",
            "HR Manager",
            "Human Resources Manager",
            "Human Resource Manager",
            "Manajer Sumber Daya Manusia",
            "MANAJER PERSONALIA",
            "Recruitment Officer",
            "Staf Rekrutmen",
            "Career Development Specialist",
            "Staf Pengembangan Karier",
            "Job Analyst",
            "Analis Jabatan",
            "Job Interviewer",
            "Pewawancara Kerja",
            "Employee Mediator",
            "Mediator Hubungan Industrial",
            "Occupational Safety Specialist",
            "Ahli K3 Umum",
            "Ahli Keselamatan dan Kesehatan Kerja",
            "HRD",
            "HRD Manager",
            "Manager - HRD",
            "hr-manager",
            "Senior Recruiter",
        ] {
            assert!(is_closed_position(title), "{title}");
        }
    }

    #[test]
    fn open_titles_and_near_misses() {
        for title in [
            "",
            "Mining Engineer",
            "Plant Manager",
            "Geologist",
            "Safety Engineer",
            "HSE Manager",
            "Safety Officer",
            "Public Relations Manager",
            "Project Manager",
            "Finance Director",
            "Direktur Utama",
            "Komisaris",
            "Mill Manager",
            "Heavy Equipment Mechanic",
            "Chro mining", // "hr" inside a word is not an HR title
            "Shredder Operator",
            "Hydraulic Specialist",
            "Personal Assistant",
        ] {
            assert!(!is_closed_position(title), "{title}");
        }
    }
}
