//! Reads an agency's export into rows: CSV (comma, semicolon or tab separated),
//! NDJSON (one JSON object a line) or a spreadsheet (XLSX, XLSM, XLS, ODS).
//! Every row keeps where it came from (file line or sheet row) for messages.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

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

/// What a file yields, in file order.
#[derive(Debug)]
pub enum Item {
    /// A data row (rows whose cells are all empty are skipped).
    Row(Row),
    /// A line or row that could not be read at all: (line, message).
    Broken(usize, String),
}

/// The rows of a file under its header, read as they are needed: memory
/// stays bounded whatever the file's size (a spreadsheet's shared strings
/// excepted).
pub struct Source {
    /// Column headers (NDJSON: the property paths seen, `worker.passport_no`).
    pub headers: Vec<String>,
    items: Box<dyn Iterator<Item = anyhow::Result<Item>>>,
}

impl Iterator for Source {
    type Item = anyhow::Result<Item>;

    fn next(&mut self) -> Option<Self::Item> {
        self.items.next()
    }
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

/// Opens a file by its extension.
pub fn open(path: &Path, sheet: Option<&str>) -> anyhow::Result<Source> {
    match extension(path).as_str() {
        "csv" | "txt" => open_csv(reader(path)?, None),
        "tsv" => open_csv(reader(path)?, Some(b'\t')),
        "ndjson" | "jsonl" => open_ndjson(path),
        "xlsx" | "xlsm" | "xls" | "ods" => open_sheet(path, sheet),
        other => bail!(
            "cannot tell the format of {} (extension {other:?}); use .csv, .tsv, .ndjson, .jsonl, .xlsx, .xls or .ods",
            path.display()
        ),
    }
}

fn reader(path: &Path) -> anyhow::Result<BufReader<File>> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(BufReader::with_capacity(1 << 16, file))
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

/// Where lines end, counted as a person does: `\n`, `\r\n` and a lone `\r`
/// each end one line (the CSV reader's own count misses lone `\r`, the line
/// end of some spreadsheet exports, and places a record after blank lines at
/// the first of them). Each end is the byte range of its terminator. Ends
/// behind the record being read are dropped, so the bookkeeping stays small.
#[derive(Default)]
struct LineEnds {
    dropped: usize,
    ends: Vec<(u64, u64)>,
}

impl LineEnds {
    /// The 1-based line of the first byte at or after `offset` that is not a
    /// line end (offsets asked for never go back).
    fn line_at(&mut self, offset: u64) -> usize {
        let mut at = offset;
        loop {
            let i = self.ends.partition_point(|(start, _)| *start <= at);
            match i.checked_sub(1).map(|j| self.ends[j]) {
                Some((_, end)) if end > at => at = end,
                _ => break,
            }
        }
        let before = self.ends.partition_point(|(start, _)| *start < at);
        let line = self.dropped + before + 1;
        if self.ends.len() > 4096 && before > 0 {
            self.ends.drain(..before);
            self.dropped += before;
        }
        line
    }
}

/// Records line ends in the bytes it passes on.
struct LineCounter<R> {
    inner: R,
    ends: Arc<Mutex<LineEnds>>,
    offset: u64,
    last_cr: bool,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut ends = self.ends.lock().unwrap_or_else(|p| p.into_inner());
        for (i, b) in buf[..n].iter().enumerate() {
            let at = self.offset + i as u64;
            match b {
                b'\n' if self.last_cr => {
                    if let Some(last) = ends.ends.last_mut() {
                        last.1 = at + 1;
                    }
                }
                b'\n' | b'\r' => ends.ends.push((at, at + 1)),
                _ => {}
            }
            self.last_cr = *b == b'\r';
        }
        self.offset += n as u64;
        Ok(n)
    }
}

fn open_csv<R: BufRead + 'static>(mut input: R, delimiter: Option<u8>) -> anyhow::Result<Source> {
    let bom = input.fill_buf()?.starts_with(b"\xef\xbb\xbf");
    let skipped = if bom { 3 } else { 0 };
    input.consume(skipped);
    let delimiter = delimiter.unwrap_or_else(|| sniff_delimiter(input.fill_buf().unwrap_or(&[])));
    let ends = Arc::new(Mutex::new(LineEnds::default()));
    let counter = LineCounter {
        inner: input,
        ends: ends.clone(),
        offset: 0,
        last_cr: false,
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(counter);
    let headers: Vec<String> = reader
        .headers()
        .context("cannot read the CSV header line (save the file as CSV UTF-8)")?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let width = headers.len();
    // The CSV reader counts bytes from after the byte order mark.
    let line_of = move |byte: u64| ends.lock().unwrap_or_else(|p| p.into_inner()).line_at(byte);
    let mut record = csv::StringRecord::new();
    let items = std::iter::from_fn(move || loop {
        let at = reader.position().byte();
        match reader.read_record(&mut record) {
            Ok(false) => return None,
            Ok(true) => {
                let start = record.position().map_or(at, |p| p.byte());
                let line = line_of(start);
                // Extra cells are fine when empty (a separator at the end of each line).
                if record.iter().skip(width).any(|c| !c.trim().is_empty()) {
                    return Some(Ok(Item::Broken(
                        line,
                        format!(
                            "has {} cells but the header has {width} (a stray separator or quote?)",
                            record.len()
                        ),
                    )));
                }
                let cells = record.iter().take(width).map(|s| Cell::Text(s.to_string()));
                if let Some(row) = row(line, cells.collect(), width) {
                    return Some(Ok(Item::Row(row)));
                }
            }
            Err(e) => {
                let line = line_of(e.position().map_or(at, |p| p.byte()));
                return Some(match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => Ok(Item::Broken(
                        line,
                        "is not UTF-8 text (save the file as CSV UTF-8)".into(),
                    )),
                    _ => Err(anyhow::anyhow!(
                        "cannot read the CSV file at line {line}: {e}"
                    )),
                });
            }
        }
    });
    Ok(Source {
        headers,
        items: Box::new(items),
    })
}

/// A row unless every cell is empty; short rows are padded.
fn row(line: usize, mut cells: Vec<Cell>, width: usize) -> Option<Row> {
    if cells.iter().all(Cell::is_empty) {
        return None;
    }
    cells.resize(width, Cell::Empty);
    Some(Row { line, cells })
}

/// The lines of an NDJSON file: (line number, object or why not).
fn ndjson_lines(
    path: &Path,
) -> anyhow::Result<impl Iterator<Item = anyhow::Result<(usize, Result<Value, String>)>>> {
    let mut input = reader(path)?;
    let mut buf = Vec::new();
    let mut line = 0usize;
    Ok(std::iter::from_fn(move || loop {
        buf.clear();
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => return Some(Err(anyhow::Error::new(e).context("cannot read the file"))),
        }
        line += 1;
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let parsed = match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(_) => Err("is not a JSON object".to_string()),
            Err(e) => Err(format!("is not valid JSON: {e}")),
        };
        return Some(Ok((line, parsed)));
    }))
}

/// NDJSON objects flattened into rows whose headers are property paths
/// (`worker.passport_no`); arrays stay whole (`kbli`, `positions`). A first
/// pass collects the paths, a second yields the rows.
fn open_ndjson(path: &Path) -> anyhow::Result<Source> {
    let mut headers: Vec<String> = vec![];
    let mut index: HashMap<String, usize> = HashMap::new();
    for item in ndjson_lines(path)? {
        if let (_, Ok(v)) = item? {
            let mut flat = vec![];
            flatten("", &v, &mut flat);
            for (k, _) in flat {
                if !index.contains_key(&k) {
                    index.insert(k.clone(), headers.len());
                    headers.push(k);
                }
            }
        }
    }
    let width = headers.len();
    let items = ndjson_lines(path)?.filter_map(move |item| {
        let (line, parsed) = match item {
            Ok(x) => x,
            Err(e) => return Some(Err(e)),
        };
        match parsed {
            Err(e) => Some(Ok(Item::Broken(line, e))),
            Ok(v) => {
                let mut flat = vec![];
                flatten("", &v, &mut flat);
                let mut cells = vec![Cell::Empty; width];
                for (k, cell) in flat {
                    // A path the first pass did not see means the file changed meanwhile.
                    match index.get(&k) {
                        Some(i) => cells[*i] = cell,
                        None => {
                            return Some(Err(anyhow::anyhow!(
                                "the file changed while it was read (line {line})"
                            )))
                        }
                    }
                }
                row(line, cells, width).map(|r| Ok(Item::Row(r)))
            }
        }
    });
    Ok(Source {
        headers,
        items: Box::new(items),
    })
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

/// What the spreadsheet thread sends: the header first, then rows.
enum Sheet {
    Headers(Vec<String>),
    Item(anyhow::Result<Item>),
}

/// A sheet's rows, read on a thread of its own that owns the workbook and
/// hands rows over through a short queue. XLSX and XLSM sheets are read cell
/// by cell (memory stays bounded); XLS and ODS sheets are read whole.
fn open_sheet(path: &Path, sheet: Option<&str>) -> anyhow::Result<Source> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Sheet>(256);
    let path = path.to_path_buf();
    let sheet = sheet.map(str::to_string);
    std::thread::spawn(move || {
        if let Err(e) = read_sheet(&path, sheet.as_deref(), &tx) {
            let _ = tx.send(Sheet::Item(Err(e)));
        }
    });
    let headers = match rx.recv() {
        Ok(Sheet::Headers(h)) => h,
        Ok(Sheet::Item(Err(e))) => return Err(e),
        _ => bail!("cannot read the spreadsheet"),
    };
    let items = std::iter::from_fn(move || match rx.recv() {
        Ok(Sheet::Item(i)) => Some(i),
        _ => None,
    });
    Ok(Source {
        headers,
        items: Box::new(items),
    })
}

fn header_text(c: &Data) -> String {
    match cell(c) {
        Cell::Text(s) => s.trim().to_string(),
        Cell::Number(n) => number_text(n),
        Cell::Empty => String::new(),
        other => format!("{other:?}"),
    }
}

fn sheet_name(names: &[String], sheet: Option<&str>) -> anyhow::Result<String> {
    match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .with_context(|| format!("no sheet named {s:?}; the sheets are {names:?}")),
        None => names.first().cloned().context("the workbook has no sheet"),
    }
}

/// Reads the sheet into `tx`; returns early when the receiver is gone.
fn read_sheet(
    path: &Path,
    sheet: Option<&str>,
    tx: &std::sync::mpsc::SyncSender<Sheet>,
) -> anyhow::Result<()> {
    let ext = extension(path);
    if ext == "xlsx" || ext == "xlsm" {
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook(path).context("cannot open the spreadsheet")?;
        let name = sheet_name(&book.sheet_names(), sheet)?;
        let mut cells = book
            .worksheet_cells_reader(&name)
            .with_context(|| format!("cannot read sheet {name:?}"))?;
        // Cells arrive row by row; a row is complete when the next one starts.
        let mut headers: Option<Vec<String>> = None;
        let mut current: Option<(u32, Vec<Cell>)> = None;
        let mut raw_headers: Vec<Data> = vec![];
        let mut header_row = None;
        let finish = |r: u32, row_cells: Vec<Cell>, headers: &Option<Vec<String>>| -> bool {
            let width = headers.as_ref().map_or(0, Vec::len);
            match row(r as usize + 1, row_cells, width) {
                Some(row) => tx.send(Sheet::Item(Ok(Item::Row(row)))).is_ok(),
                None => true,
            }
        };
        while let Some(c) = cells
            .next_cell()
            .with_context(|| format!("cannot read sheet {name:?}"))?
        {
            let (r, col) = c.get_position();
            let value: Data = c.get_value().clone().into();
            if header_row.is_none() {
                header_row = Some(r);
            }
            if Some(r) == header_row {
                if raw_headers.len() <= col as usize {
                    raw_headers.resize(col as usize + 1, Data::Empty);
                }
                raw_headers[col as usize] = value;
                continue;
            }
            if headers.is_none() {
                let h: Vec<String> = raw_headers.iter().map(header_text).collect();
                if tx.send(Sheet::Headers(h.clone())).is_err() {
                    return Ok(());
                }
                headers = Some(h);
            }
            if current.as_ref().is_some_and(|(cr, _)| *cr != r) {
                let (cr, row_cells) = current.take().expect("checked");
                if !finish(cr, row_cells, &headers) {
                    return Ok(());
                }
            }
            let (_, row_cells) = current.get_or_insert_with(|| (r, vec![]));
            let width = headers.as_ref().map_or(0, Vec::len);
            if (col as usize) < width {
                if row_cells.len() <= col as usize {
                    row_cells.resize(col as usize + 1, Cell::Empty);
                }
                row_cells[col as usize] = cell(&value);
            }
        }
        if headers.is_none() {
            if header_row.is_none() {
                bail!("sheet {name:?} is empty");
            }
            let h: Vec<String> = raw_headers.iter().map(header_text).collect();
            let _ = tx.send(Sheet::Headers(h.clone()));
            headers = Some(h);
        }
        if let Some((cr, row_cells)) = current.take() {
            finish(cr, row_cells, &headers);
        }
        return Ok(());
    }
    let mut book = calamine::open_workbook_auto(path).context("cannot open the spreadsheet")?;
    let name = sheet_name(&book.sheet_names(), sheet)?;
    let range = book
        .worksheet_range(&name)
        .with_context(|| format!("cannot read sheet {name:?}"))?;
    let Some((first_row, _)) = range.start() else {
        bail!("sheet {name:?} is empty");
    };
    let mut rows = range.rows();
    let headers: Vec<String> = rows.next().unwrap_or(&[]).iter().map(header_text).collect();
    let width = headers.len();
    if tx.send(Sheet::Headers(headers)).is_err() {
        return Ok(());
    }
    for (i, r) in rows.enumerate() {
        // Sheet rows as the spreadsheet program numbers them: header is first_row + 1.
        let line = first_row as usize + 2 + i;
        if let Some(row) = row(line, r.iter().map(cell).collect(), width) {
            if tx.send(Sheet::Item(Ok(Item::Row(row)))).is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
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

    fn csv(data: &str) -> (Vec<String>, Vec<Row>, Vec<(usize, String)>) {
        let source = open_csv(std::io::Cursor::new(data.as_bytes().to_vec()), None).unwrap();
        let headers = source.headers.clone();
        let (mut rows, mut broken) = (vec![], vec![]);
        for item in source {
            match item.unwrap() {
                Item::Row(r) => rows.push(r),
                Item::Broken(l, why) => broken.push((l, why)),
            }
        }
        (headers, rows, broken)
    }

    #[test]
    fn csv_with_semicolons_bom_and_quoted_newline_keeps_line_numbers() {
        let data = "\u{feff}No Paspor;Nama\nE1234567;\"ZHANG\nWEI\"\n\n;\nE7654321;LI NA\n";
        let (headers, rows, _) = csv(data);
        assert_eq!(headers, vec!["No Paspor", "Nama"]);
        let lines: Vec<usize> = rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 6]);
        assert_eq!(rows[0].cells[1], Cell::Text("ZHANG\nWEI".into()));
    }

    #[test]
    fn crlf_and_cr_line_ends_number_lines_as_an_editor_does() {
        for end in ["\r\n", "\r", "\n"] {
            let data = ["No;Nama", "1;A", "2;B;x", "", "3;C"].join(end) + end;
            let (_, rows, broken) = csv(&data);
            let lines: Vec<usize> = rows.iter().map(|r| r.line).collect();
            assert_eq!(lines, vec![2, 5], "line end {end:?}");
            assert_eq!(broken.len(), 1);
            assert_eq!(broken[0].0, 3, "line end {end:?}");
        }
    }

    #[test]
    fn a_long_file_keeps_its_line_numbers_and_bounded_bookkeeping() {
        let mut data = String::from("No;Nama\r\n");
        for i in 0..20_000 {
            data.push_str(&format!("{i};N{i}\r\n"));
        }
        let (_, rows, _) = csv(&data);
        assert_eq!(rows.len(), 20_000);
        assert_eq!(rows[19_999].line, 20_001);
    }

    #[test]
    fn ndjson_flattens_nested_objects_and_reports_bad_lines() {
        let dir = std::env::temp_dir().join(format!("sinergi-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.ndjson");
        let data = "{\"worker\":{\"passport_no\":\"E1\"},\"kbli\":[\"05100\"]}\n\nnot json\n{\"extra\":1}\n";
        std::fs::write(&path, data).unwrap();
        let source = open(&path, None).unwrap();
        assert_eq!(source.headers, vec!["worker.passport_no", "kbli", "extra"]);
        let items: Vec<Item> = source.map(Result::unwrap).collect();
        assert!(matches!(&items[0], Item::Row(r) if r.line == 1 && r.cells.len() == 3));
        assert!(matches!(&items[1], Item::Broken(3, _)));
        assert!(matches!(&items[2], Item::Row(r) if r.line == 4));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
