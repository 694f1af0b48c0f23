//! Turns one cell into the JSON value a field takes: text, a date from a
//! format hint (`dd/mm/yyyy`, `d mmmm yyyy` with Indonesian month names),
//! whole numbers, decimals with a comma, lists split on `;`.

use chrono::NaiveDate;
use serde_json::Value;

use super::read::{number_text, Cell};
use super::schema::Kind;

/// How to read the cells of one column.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Date format hint, e.g. `dd/mm/yyyy`.
    pub date_format: Option<String>,
    /// Separator of list cells (default `;`).
    pub split: Option<String>,
    /// Replacements of whole cell values (`"L": "M"`), matched ignoring case.
    pub map: Vec<(String, String)>,
}

/// Why a cell could not be converted: (code, message).
pub type Bad = (&'static str, String);

/// The JSON value of `cell` for a field of `kind`; `None` when the cell is empty.
pub fn convert(cell: &Cell, kind: Kind, rules: &Rules) -> Result<Option<Value>, Bad> {
    if cell.is_empty() {
        return Ok(None);
    }
    let v = match kind {
        Kind::Str => Value::String(rules.translate(&text(cell))),
        Kind::Date => Value::String(date(cell, rules.date_format.as_deref())?.to_string()),
        Kind::Int => int(cell)?,
        Kind::Float => float(cell)?,
        Kind::StrList => list(cell, rules)?,
        Kind::Obj(_) | Kind::ObjList(_) => json(cell)?,
    };
    Ok(Some(v))
}

impl Rules {
    /// Applies `map` to a value (unchanged when no entry matches).
    pub fn translate(&self, s: &str) -> String {
        let t = s.trim();
        self.map
            .iter()
            .find(|(from, _)| from == t)
            .or_else(|| {
                self.map
                    .iter()
                    .find(|(from, _)| from.eq_ignore_ascii_case(t))
            })
            .map_or_else(|| t.to_string(), |(_, to)| to.clone())
    }
}

fn text(cell: &Cell) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(s) => s.trim().to_string(),
        Cell::Number(n) => number_text(*n),
        Cell::Bool(b) => b.to_string(),
        Cell::Date(d) => d.to_string(),
        Cell::Json(Value::String(s)) => s.clone(),
        Cell::Json(v) => v.to_string(),
    }
}

fn int(cell: &Cell) -> Result<Value, Bad> {
    let bad = || {
        (
            "invalid_number",
            format!("expected a whole number, got {:?}", text(cell)),
        )
    };
    match cell {
        Cell::Number(n) if n.fract() == 0.0 && *n >= 0.0 && *n < 1e15 => Ok((*n as u64).into()),
        Cell::Text(s) => s.trim().parse::<u64>().map(Value::from).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

fn float(cell: &Cell) -> Result<Value, Bad> {
    let bad = || {
        (
            "invalid_number",
            format!("expected a number, got {:?}", text(cell)),
        )
    };
    let n = match cell {
        Cell::Number(n) => *n,
        Cell::Text(s) => {
            let s = s.trim();
            // A decimal comma (-0,5412) as Indonesian locales write it.
            let s = if s.contains(',') && !s.contains('.') {
                s.replace(',', ".")
            } else {
                s.to_string()
            };
            s.parse::<f64>().map_err(|_| bad())?
        }
        _ => return Err(bad()),
    };
    serde_json::Number::from_f64(n)
        .map(Value::Number)
        .ok_or_else(bad)
}

fn list(cell: &Cell, rules: &Rules) -> Result<Value, Bad> {
    if let Cell::Json(Value::Array(items)) = cell {
        return Ok(Value::Array(items.clone()));
    }
    // Sinergi's CSV export writes lists as JSON: ["05100","09900"].
    if let Cell::Text(s) = cell {
        if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(s.trim()) {
            return Ok(Value::Array(items));
        }
    }
    let sep = rules.split.as_deref().unwrap_or(";");
    let items = text(cell)
        .split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Value::String(rules.translate(s)))
        .collect();
    Ok(Value::Array(items))
}

fn json(cell: &Cell) -> Result<Value, Bad> {
    match cell {
        Cell::Json(v) => Ok(v.clone()),
        Cell::Text(s) => serde_json::from_str(s.trim())
            .map_err(|e| ("invalid_json", format!("expected JSON in this cell: {e}"))),
        _ => Err(("invalid_json", "expected JSON in this cell".into())),
    }
}

/// chrono's format for a hint like `dd/mm/yyyy`, `d-m-yy` or `dd mmmm yyyy`.
pub fn chrono_format(hint: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = hint.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].to_ascii_lowercase();
        let run = chars[i..]
            .iter()
            .take_while(|x| x.to_ascii_lowercase() == c)
            .count();
        let token = match (c, run) {
            ('y', 4) => Some("%Y"),
            ('y', 2) => Some("%y"),
            ('m', 3) => Some("%b"),
            ('m', 4) => Some("%B"),
            ('m', 1 | 2) => Some("%m"),
            ('d', 1 | 2) => Some("%d"),
            _ => None,
        };
        match token {
            Some(t) => out.push_str(t),
            None => chars[i..i + run].iter().for_each(|x| out.push(*x)),
        }
        i += run;
    }
    out
}

/// Indonesian month names and abbreviations that differ from English.
const MONTHS_ID: &[(&str, &str)] = &[
    ("januari", "January"),
    ("februari", "February"),
    ("pebruari", "February"),
    ("maret", "March"),
    ("mei", "May"),
    ("juni", "June"),
    ("juli", "July"),
    ("agustus", "August"),
    ("oktober", "October"),
    ("nopember", "November"),
    ("desember", "December"),
    ("agu", "Aug"),
    ("agt", "Aug"),
    ("ags", "Aug"),
    ("okt", "Oct"),
    ("nop", "Nov"),
    ("des", "Dec"),
];

fn english_months(s: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let lower = word.to_lowercase();
        match MONTHS_ID.iter().find(|(id, _)| *id == lower) {
            Some((_, en)) => out.push_str(en),
            None => out.push_str(word),
        }
        word.clear();
    };
    for c in s.chars() {
        if c.is_alphabetic() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Parses a date cell with the hint, falling back to ISO `YYYY-MM-DD`.
pub fn date(cell: &Cell, hint: Option<&str>) -> Result<NaiveDate, Bad> {
    let s = match cell {
        Cell::Date(d) => return Ok(*d),
        Cell::Text(s) => s.trim(),
        Cell::Json(Value::String(s)) => s.trim(),
        other => {
            return Err((
                "invalid_date",
                format!(
                    "expected a date, got the number {:?} (format the cell as a date or text)",
                    text(other)
                ),
            ))
        }
    };
    // Spreadsheets often append a midnight time: 05/01/2026 00:00:00.
    let s = s
        .split_once(' ')
        .map_or(s, |(d, rest)| if rest.contains(':') { d } else { s });
    let s = s.split_once('T').map_or(s, |(d, _)| d);
    if let Some(h) = hint {
        if let Ok(d) = NaiveDate::parse_from_str(&english_months(s), &chrono_format(h)) {
            return Ok(d);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
        (
            "invalid_date",
            match hint {
                Some(h) => format!("{s:?} is not a date in the format {h}"),
                None => {
                    format!("{s:?} is not a date YYYY-MM-DD (give a date_format in the mapping)")
                }
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    #[test]
    fn dates_by_hint_with_indonesian_months_and_iso_fallback() {
        let d = |s, h| date(&t(s), h).map(|d| d.to_string());
        assert_eq!(d("05/01/2026", Some("dd/mm/yyyy")).unwrap(), "2026-01-05");
        assert_eq!(d("5/1/2026", Some("dd/mm/yyyy")).unwrap(), "2026-01-05");
        assert_eq!(d("2026-01-05", Some("dd/mm/yyyy")).unwrap(), "2026-01-05");
        assert_eq!(
            d("12 Agustus 1985", Some("dd mmmm yyyy")).unwrap(),
            "1985-08-12"
        );
        assert_eq!(d("12-Des-85", Some("dd-mmm-yy")).unwrap(), "1985-12-12");
        assert_eq!(
            d("05/01/2026 00:00:00", Some("dd/mm/yyyy")).unwrap(),
            "2026-01-05"
        );
        assert_eq!(
            d("31/02/2026", Some("dd/mm/yyyy")).unwrap_err().0,
            "invalid_date"
        );
        assert_eq!(d("05/01/2026", None).unwrap_err().0, "invalid_date");
    }

    #[test]
    fn numbers_lists_and_translations() {
        let rules = Rules {
            map: vec![("L".into(), "M".into())],
            ..Rules::default()
        };
        assert_eq!(convert(&t(" l "), Kind::Str, &rules).unwrap().unwrap(), "M");
        assert_eq!(
            convert(&Cell::Number(9120001234567.0), Kind::Str, &rules)
                .unwrap()
                .unwrap(),
            "9120001234567"
        );
        assert_eq!(
            convert(&t("05100; 09900;"), Kind::StrList, &rules)
                .unwrap()
                .unwrap(),
            serde_json::json!(["05100", "09900"])
        );
        assert_eq!(
            convert(&t("-0,5412"), Kind::Float, &rules)
                .unwrap()
                .unwrap(),
            serde_json::json!(-0.5412)
        );
        assert_eq!(
            convert(&t("3.5"), Kind::Int, &rules).unwrap_err().0,
            "invalid_number"
        );
        assert_eq!(convert(&t("  "), Kind::Int, &rules).unwrap(), None);
    }
}
