//! Reads an agency's export into rows: CSV (comma, semicolon or tab separated),
//! NDJSON (one JSON object a line) or a spreadsheet (XLSX, XLSM, XLS, ODS).
//! Every row keeps where it came from (file line or sheet row) for messages.

use std::io::Cursor;
use std::path::Path;

use anyhow::{bail, Context};
use calamine::{Data, Reader};
use chrono::NaiveDate;
use serde_json::Value;

/// One cell as read, before mapping.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing in it.
    Empty,
    /// Text (CSV cells are always text).
    Text(String),
    /// A number from a spreadsheet or JSON.
    Number(f64),
    /// A boolean from a spreadsheet or JSON.
    Bool(bool),
    /// A spreadsheet cell formatted as a date.
    Date(NaiveDate),
    /// A JSON array (NDJSON) or object.
    Json(Value),
}

impl Cell {
    /// Whether the cell holds nothing (or only spaces).
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            Cell::Json(Value::Null) => true,
            _ => false,
        }
    }
}

/// One data row.
#[derive(Debug)]
pub struct Row {
    /// File line (CSV, NDJSON) or sheet row number (spreadsheets), 1-based.
    pub line: usize,
    /// Cells in header order.
    pub cells: Vec<Cell>,
}

/// A sheet of rows under one header.
#[derive(Debug)]
pub struct Table {
    /// Column headers (NDJSON: the property paths seen, `worker.passport_no`).
    pub headers: Vec<String>,
    /// Data rows, in file order.
    pub rows: Vec<Row>,
    /// Rows that could not be read at all: (line, message).
    pub broken: Vec<(usize, String)>,
}

/// Whether places in this file are called lines or rows in messages.
pub fn unit(path: &Path) -> &'static str {
    match extension(path).as_str() {
        "xlsx" | "xlsm" | "xls" | "ods" => "row",
        _ => "line",
    }
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Parses `bytes` by the file's extension.
pub fn read(path: &Path, bytes: &[u8], sheet: Option<&str>) -> anyhow::Result<Table> {
    match extension(path).as_str() {
        "csv" | "txt" => read_csv(bytes, None),
        "tsv" => read_csv(bytes, Some(b'\t')),
        "ndjson" | "jsonl" => Ok(lines_to_table(read_ndjson(bytes))),
        "xlsx" | "xlsm" | "xls" | "ods" => read_sheet(bytes, sheet),
        other => bail!(
            "cannot tell the format of {} (extension {other:?}); use .csv, .tsv, .ndjson, .jsonl, .xlsx, .xls or .ods",
            path.display()
        ),
    }
}

/// Spreadsheet programs in Indonesian locales save CSV with `;`: take whichever
/// of `,` `;` tab occurs most in the header line.
fn sniff_delimiter(bytes: &[u8]) -> u8 {
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or(&[]);
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first.iter().filter(|b| *b == d).count())
        .unwrap_or(b',')
}

fn read_csv(bytes: &[u8], delimiter: Option<u8>) -> anyhow::Result<Table> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter.unwrap_or_else(|| sniff_delimiter(bytes)))
        .flexible(true)
        .has_headers(true)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .context("cannot read the CSV header line (save the file as CSV UTF-8)")?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut table = Table {
        headers,
        rows: vec![],
        broken: vec![],
    };
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line() as usize;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(line, |p| p.line() as usize);
                // Extra cells are fine when empty (a separator at the end of each line).
                if record
                    .iter()
                    .skip(table.headers.len())
                    .any(|c| !c.trim().is_empty())
                {
                    table.broken.push((
                        line,
                        format!(
                            "has {} cells but the header has {} (a stray separator or quote?)",
                            record.len(),
                            table.headers.len()
                        ),
                    ));
                    continue;
                }
                let cells: Vec<Cell> = record
                    .iter()
                    .take(table.headers.len())
                    .map(|s| Cell::Text(s.to_string()))
                    .collect();
                push_row(&mut table, line, cells);
            }
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line() as usize);
                match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => table.broken.push((
                        line,
                        "is not UTF-8 text (save the file as CSV UTF-8)".into(),
                    )),
                    _ => bail!("cannot read the CSV file at line {line}: {e}"),
                }
            }
        }
    }
    Ok(table)
}

/// Adds a row unless every cell is empty; short rows are padded.
fn push_row(table: &mut Table, line: usize, mut cells: Vec<Cell>) {
    if cells.iter().all(Cell::is_empty) {
        return;
    }
    cells.resize(table.headers.len(), Cell::Empty);
    table.rows.push(Row { line, cells });
}

fn read_ndjson(bytes: &[u8]) -> Vec<(usize, Result<Value, String>)> {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let parsed = match serde_json::from_str::<Value>(l) {
                Ok(v @ Value::Object(_)) => Ok(v),
                Ok(_) => Err("is not a JSON object".to_string()),
                Err(e) => Err(format!("is not valid JSON: {e}")),
            };
            (i + 1, parsed)
        })
        .collect()
}

/// Flattens NDJSON objects into a table whose headers are property paths
/// (`worker.passport_no`); arrays stay whole (`kbli`, `positions`).
fn lines_to_table(lines: Vec<(usize, Result<Value, String>)>) -> Table {
    let mut table = Table {
        headers: vec![],
        rows: vec![],
        broken: vec![],
    };
    let mut flat_rows = vec![];
    for (line, parsed) in lines {
        match parsed {
            Err(e) => table.broken.push((line, e)),
            Ok(v) => {
                let mut flat = vec![];
                flatten("", &v, &mut flat);
                for (k, _) in &flat {
                    if !table.headers.contains(k) {
                        table.headers.push(k.clone());
                    }
                }
                flat_rows.push((line, flat));
            }
        }
    }
    for (line, flat) in flat_rows {
        let mut cells = vec![Cell::Empty; table.headers.len()];
        for (k, cell) in flat {
            if let Some(i) = table.headers.iter().position(|h| *h == k) {
                cells[i] = cell;
            }
        }
        push_row(&mut table, line, cells);
    }
    table
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Cell)>) {
    let cell = match v {
        Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
            return;
        }
        Value::Null => Cell::Empty,
        Value::String(s) => Cell::Text(s.clone()),
        Value::Number(n) => Cell::Number(n.as_f64().unwrap_or(f64::NAN)),
        Value::Bool(b) => Cell::Bool(*b),
        Value::Array(_) => Cell::Json(v.clone()),
    };
    out.push((prefix.to_string(), cell));
}

fn read_sheet(bytes: &[u8], sheet: Option<&str>) -> anyhow::Result<Table> {
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes.to_vec()))
        .context("cannot open the spreadsheet")?;
    let names = book.sheet_names();
    let name = match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .with_context(|| format!("no sheet named {s:?}; the sheets are {names:?}"))?,
        None => names
            .first()
            .cloned()
            .context("the workbook has no sheet")?,
    };
    let range = book
        .worksheet_range(&name)
        .with_context(|| format!("cannot read sheet {name:?}"))?;
    let Some((first_row, _)) = range.start() else {
        bail!("sheet {name:?} is empty");
    };
    let mut rows = range.rows();
    let headers: Vec<String> = rows
        .next()
        .unwrap_or(&[])
        .iter()
        .map(|c| match cell(c) {
            Cell::Text(s) => s.trim().to_string(),
            Cell::Number(n) => number_text(n),
            Cell::Empty => String::new(),
            other => format!("{other:?}"),
        })
        .collect();
    let mut table = Table {
        headers,
        rows: vec![],
        broken: vec![],
    };
    for (i, r) in rows.enumerate() {
        // Sheet rows as the spreadsheet program numbers them: header is first_row + 1.
        let line = first_row as usize + 2 + i;
        push_row(&mut table, line, r.iter().map(cell).collect());
    }
    Ok(table)
}

fn cell(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            NaiveDate::from_ymd_opt(y.into(), m.into(), d.into())
                .map_or_else(|| Cell::Number(dt.as_f64()), Cell::Date)
        }
        Data::DateTime(dt) => Cell::Number(dt.as_f64()),
        Data::DateTimeIso(s) => NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d")
            .map_or_else(|_| Cell::Text(s.clone()), Cell::Date),
        Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Text(format!("#{e:?}")),
    }
}

/// Whole numbers without `.0` (an NIB typed into a spreadsheet is a number).
pub fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_semicolons_bom_and_quoted_newline_keeps_line_numbers() {
        let data = "\u{feff}No Paspor;Nama\nE1234567;\"ZHANG\nWEI\"\n\n;\nE7654321;LI NA\n";
        let t = read_csv(data.as_bytes(), None).unwrap();
        assert_eq!(t.headers, vec!["No Paspor", "Nama"]);
        let lines: Vec<usize> = t.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 6]);
        assert_eq!(t.rows[0].cells[1], Cell::Text("ZHANG\nWEI".into()));
    }

    #[test]
    fn ndjson_flattens_nested_objects_and_reports_bad_lines() {
        let data = "{\"worker\":{\"passport_no\":\"E1\"},\"kbli\":[\"05100\"]}\n\nnot json\n";
        let t = lines_to_table(read_ndjson(data.as_bytes()));
        assert_eq!(t.headers, vec!["worker.passport_no", "kbli"]);
        assert_eq!(t.rows[0].line, 1);
        assert_eq!(t.broken.len(), 1);
        assert_eq!(t.broken[0].0, 3);
    }
}
