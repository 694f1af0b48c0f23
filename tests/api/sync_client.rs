//! `sinergi sync push|pull`, the batch-job client, run as a subprocess against
//! the real server: spreadsheets with Indonesian headers in, records out;
//! re-runs that change nothing; the change feed into NDJSON with a cursor.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use chrono::NaiveDate;
use serde_json::Value;

use crate::harness::{json, run_with, TestApp};
use crate::records::{read_as, token_with};

api_tests!(
    csv_with_indonesian_headers_stores_rows_and_names_the_bad_one,
    dry_run_stores_nothing,
    same_push_twice_leaves_every_version_at_1,
    interrupted_push_resumes_without_duplicates,
    ndjson_named_as_the_fields_pushes_without_a_mapping,
    xlsx_sheet_with_date_and_number_cells_pushes,
    pull_appends_new_changes_and_resumes_from_its_cursor,
    pull_keeps_audit_checkpoints_and_alarms_on_a_rewritten_log,
);

const PERMIT_MAPPING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/docs/examples/residence-permits-imigrasi.json"
);
const EMPLOYER_MAPPING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/docs/examples/employers-oss.json"
);

const HEADER: &str = "No ITAS;No Paspor;Kewarganegaraan;Nama Lengkap;Jenis Kelamin;Tgl Lahir;\
Paspor Berlaku Sampai;Jenis Izin;Indeks Visa;NIB Penjamin;Tgl Terbit;Berlaku Dari;Berlaku Sampai;Kode Wilayah;Status";

/// A row of the immigration spreadsheet.
fn permit_row(permit: &str, passport: &str, name: &str, birth: &str) -> String {
    format!(
        "{permit};{passport};Tiongkok;{name};L;{birth};30/06/2031;ITAS;E23;9120001234567;\
         05/01/2026;05/01/2026;04/01/2027;64.02.06;Aktif"
    )
}

fn permits_csv(rows: &[String]) -> String {
    format!("{HEADER}\n{}\n", rows.join("\n"))
}

fn three_permits() -> String {
    permits_csv(&[
        permit_row("2C11AA0001", "E51234567", "ZHANG WEI", "12/04/1985"),
        permit_row("2C11AA0002", "E51234568", "LI NA", "01/02/1990"),
        permit_row("2C11AA0003", "E51234569", "WANG FANG", "3/7/1979"),
    ])
}

/// An immigration office's batch job: its client, a token to check results, a work folder.
struct Job {
    url: String,
    id: String,
    secret: String,
    token: String,
    dir: PathBuf,
}

impl Drop for Job {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn job(app: &TestApp) -> Job {
    app.agency("IMI-SMD", "immigration", Some("64"));
    let c = sinergi_api::admin::create_client_with_purposes(
        &app.db,
        "IMI-SMD",
        "nightly sync",
        &["records:read".into(), "records:write".into()],
        &["supervision".into()],
    )
    .expect("client");
    let token = token_with(app, "IMI-SMD", &["records:read"]).await;
    let dir = std::env::temp_dir().join(format!("sinergi-sync-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    Job {
        url: app.address.clone(),
        id: c.client_id,
        secret: c.client_secret,
        token,
        dir,
    }
}

impl Job {
    fn file(&self, name: &str, content: &[u8]) -> String {
        let p = self.dir.join(name);
        std::fs::write(&p, content).unwrap();
        p.display().to_string()
    }

    async fn push(&self, file: &str, extra: &[&str]) -> Run {
        let mut args = vec!["sync", "push", file, "--to", &self.url];
        args.extend(["--client-id", &self.id, "--client-secret", &self.secret]);
        args.extend(extra);
        sinergi(&args).await
    }

    async fn pull(&self, extra: &[&str]) -> Run {
        let out = self.dir.join("feed").display().to_string();
        let mut args = vec!["sync", "pull", "--from", &self.url, "--out", &out];
        args.extend(["--client-id", &self.id, "--client-secret", &self.secret]);
        args.extend(extra);
        sinergi(&args).await
    }

    /// The stored permit, or `None` when there is none.
    async fn permit(&self, app: &TestApp, no: &str) -> Option<Value> {
        let resp = read_as(app, &format!("/api/v1/residence-permits/{no}"), &self.token).await;
        if resp.status() == 404 {
            return None;
        }
        Some(json(resp, 200).await)
    }
}

/// What a run of the binary printed and how it ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

async fn sinergi(args: &[&str]) -> Run {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    // The server runs on this test's threads: wait for the child elsewhere.
    let out: Output = actix_web::web::block(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_sinergi"))
            .args(&args)
            .env_remove("SINERGI_CLIENT_ID")
            .env_remove("SINERGI_CLIENT_SECRET")
            .env_remove("SINERGI_URL")
            .output()
    })
    .await
    .unwrap()
    .expect("run sinergi");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn version(record: &Value) -> i64 {
    record["meta"]["version"].as_i64().expect("meta.version")
}

async fn csv_with_indonesian_headers_stores_rows_and_names_the_bad_one(app: TestApp) {
    let job = job(&app).await;
    let csv = permits_csv(&[
        permit_row("2C11AA0001", "E51234567", "ZHANG WEI", "12/04/1985"),
        permit_row("2C11AA0002", "E51#23", "LI NA", "01/02/1990"),
        permit_row("2C11AA0003", "E51234569", "WANG FANG", "3/7/1979"),
    ]);
    let file = job.file("itas.csv", csv.as_bytes());
    let run = job.push(&file, &["--mapping", PERMIT_MAPPING]).await;
    assert_eq!(run.code, Some(4), "{run:?}");
    assert!(
        run.stdout
            .contains("created 2, updated 0, unchanged 0, failed 1"),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("line 3, worker.passport_no (column \"No Paspor\"): invalid_passport_no"),
        "{run:?}"
    );
    let stored = job
        .permit(&app, "2C11AA0001")
        .await
        .expect("first row stored");
    assert_eq!(stored["worker"]["birth_date"], "1985-04-12");
    assert_eq!(stored["worker"]["nationality"], "CHN");
    assert_eq!(stored["worker"]["sex"], "M");
    assert_eq!(stored["valid_until"], "2027-01-04");
    assert_eq!(
        stored["issuing_office"],
        "Kantor Imigrasi Kelas I TPI Samarinda"
    );
    let third = job
        .permit(&app, "2C11AA0003")
        .await
        .expect("third row stored");
    assert_eq!(third["worker"]["birth_date"], "1979-07-03");
    assert!(job.permit(&app, "2C11AA0002").await.is_none());
}

async fn dry_run_stores_nothing(app: TestApp) {
    let job = job(&app).await;
    let file = job.file("itas.csv", three_permits().as_bytes());
    let run = job
        .push(&file, &["--mapping", PERMIT_MAPPING, "--dry-run"])
        .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stdout
            .contains("dry run, nothing stored; would be: created 3"),
        "{run:?}"
    );
    assert!(job.permit(&app, "2C11AA0001").await.is_none());
    // The real run afterwards is not mistaken for a replay of the dry run.
    let real = job.push(&file, &["--mapping", PERMIT_MAPPING]).await;
    assert!(real.stdout.contains("created 3,"), "{real:?}");
}

async fn same_push_twice_leaves_every_version_at_1(app: TestApp) {
    let job = job(&app).await;
    let file = job.file("itas.csv", three_permits().as_bytes());
    let first = job.push(&file, &["--mapping", PERMIT_MAPPING]).await;
    assert_eq!(first.code, Some(0), "{first:?}");
    // Not a terminal (a batch job's log): no progress drawing at all, only
    // the summary on stdout.
    assert_eq!(first.stderr, "", "{first:?}");
    assert!(first.stdout.contains("created 3"), "{first:?}");
    let again = job.push(&file, &["--mapping", PERMIT_MAPPING]).await;
    assert_eq!(again.code, Some(0), "{again:?}");
    assert!(
        again
            .stdout
            .contains("1 of 1 batches had already been sent"),
        "{again:?}"
    );
    // Other options make other keys: the server sees identical records.
    let smaller = job
        .push(&file, &["--mapping", PERMIT_MAPPING, "--batch-size", "2"])
        .await;
    assert!(
        smaller.stdout.contains("created 0, updated 0, unchanged 3"),
        "{smaller:?}"
    );
    for no in ["2C11AA0001", "2C11AA0002", "2C11AA0003"] {
        assert_eq!(version(&job.permit(&app, no).await.unwrap()), 1, "{no}");
    }
}

async fn interrupted_push_resumes_without_duplicates(app: TestApp) {
    let job = job(&app).await;
    let file = job.file("itas.csv", three_permits().as_bytes());
    let opts = ["--mapping", PERMIT_MAPPING, "--batch-size", "1"];
    let mut killed = opts.to_vec();
    killed.extend(["--stop-after-batches", "1"]);
    let cut = job.push(&file, &killed).await;
    assert_eq!(cut.code, Some(75), "{cut:?}");
    // The summary on stdout says what was not sent and where to go on.
    assert!(cut.stdout.contains("created 1, updated 0"), "{cut:?}");
    assert!(
        cut.stdout
            .contains("not sent: 2 lines (batches 2 to 3 of 3)"),
        "{cut:?}"
    );
    assert!(job.permit(&app, "2C11AA0001").await.is_some());
    assert!(job.permit(&app, "2C11AA0002").await.is_none());
    let rerun = job.push(&file, &opts).await;
    assert_eq!(rerun.code, Some(0), "{rerun:?}");
    assert!(
        rerun
            .stdout
            .contains("1 of 3 batches had already been sent"),
        "{rerun:?}"
    );
    assert!(rerun.stdout.contains("created 3, updated 0"), "{rerun:?}");
    let feed = json(
        read_as(&app, "/api/v1/changes?types=residence_permit", &job.token).await,
        200,
    )
    .await;
    let keys: Vec<&str> = feed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["2C11AA0001", "2C11AA0002", "2C11AA0003"]);
}

async fn ndjson_named_as_the_fields_pushes_without_a_mapping(app: TestApp) {
    let job = job(&app).await;
    let line = |no: &str, passport: &str| {
        serde_json::json!({"permit_no": no, "worker": {"passport_no": passport, "nationality": "KOR",
            "full_name": "KIM MIN", "birth_date": "1980-03-01"}, "kind": "ITAS",
            "sponsor_nib": "9120001234567", "issued_on": "2026-02-01", "valid_from": "2026-02-01",
            "valid_until": "2027-01-31", "status": "active"})
        .to_string()
    };
    let text = format!(
        "{}\n{{\"permit_no\": \"2C11KR0002\", broken\n\n{}\n",
        line("2C11KR0001", "M12345678"),
        line("2C11KR0004", "M12345679")
    );
    let file = job.file("permits.ndjson", text.as_bytes());
    let run = job.push(&file, &["--type", "residence-permits"]).await;
    assert_eq!(run.code, Some(4), "{run:?}");
    assert!(run.stdout.contains("created 2,"), "{run:?}");
    assert!(
        run.stdout
            .contains("line 2: unreadable: this line is not valid JSON"),
        "{run:?}"
    );
    let stored = job.permit(&app, "2C11KR0004").await.expect("stored");
    assert_eq!(stored["worker"]["nationality"], "KOR");
}

async fn xlsx_sheet_with_date_and_number_cells_pushes(app: TestApp) {
    let job = job(&app).await;
    let headers: Vec<&str> = HEADER.split(';').collect();
    let date = |y, m, d| XCell::Date(NaiveDate::from_ymd_opt(y, m, d).unwrap());
    let row = |permit: &str, passport: &str, birth: &str| {
        vec![
            XCell::Text(permit.into()),
            XCell::Text(passport.into()),
            XCell::Text("Tiongkok".into()),
            XCell::Text("ZHAO LEI".into()),
            XCell::Text("P".into()),
            XCell::Text(birth.into()),
            date(2031, 6, 30),
            XCell::Text("ITAS".into()),
            XCell::Text("E23".into()),
            XCell::Number(9120001234567.0),
            date(2026, 1, 5),
            date(2026, 1, 5),
            date(2027, 1, 4),
            XCell::Text("64.02.06".into()),
            XCell::Text("Aktif".into()),
        ]
    };
    let mut rows = vec![headers.iter().map(|h| XCell::Text(h.to_string())).collect()];
    rows.push(row("2C11XL0001", "E71234567", "12/04/1985"));
    rows.push(row("2C11XL0002", "E71234568", "31/02/1980"));
    let file = job.file("itas.xlsx", &xlsx(&[("Catatan", vec![]), ("ITAS", rows)]));
    let run = job
        .push(&file, &["--mapping", PERMIT_MAPPING, "--sheet", "ITAS"])
        .await;
    assert_eq!(run.code, Some(4), "{run:?}");
    assert!(run.stdout.contains("created 1,"), "{run:?}");
    assert!(
        run.stdout
            .contains("row 3, worker.birth_date (column \"Tgl Lahir\"): invalid_date"),
        "{run:?}"
    );
    let stored = job.permit(&app, "2C11XL0001").await.expect("stored");
    assert_eq!(stored["valid_until"], "2027-01-04");
    assert_eq!(stored["worker"]["passport_expires_on"], "2031-06-30");
    assert_eq!(stored["sponsor_nib"], "9120001234567");
    assert_eq!(stored["worker"]["sex"], "F");
}

/// The NDJSON lines of every changes file in `dir`.
fn feed_lines(dir: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".ndjson"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect()
}

async fn pull_appends_new_changes_and_resumes_from_its_cursor(app: TestApp) {
    let job = job(&app).await;
    let employers = |second: &str| {
        format!(
            "NIB,NPWP,Nama Perusahaan,Status Modal,KBLI,Alamat,Kode Wilayah,ID OSS\n\
             9120001234567,,PT Batu Bara Mahakam,Penanaman Modal Asing,05100;09900,,64.02.06,OSS-1\n\
             9120001234568,,{second},PMDN,01262,,64.02.06,OSS-2\n"
        )
    };
    let push = |name: &str, text: String| {
        let (job, file) = (&job, job.file(name, text.as_bytes()));
        async move { job.push(&file, &["--mapping", EMPLOYER_MAPPING]).await }
    };
    let first = push("a.csv", employers("PT Sawit Kukar")).await;
    assert_eq!(first.code, Some(0), "{first:?}");
    let feed = job.dir.join("feed");
    let pulled = job.pull(&["--types", "employer"]).await;
    assert_eq!(pulled.code, Some(0), "{pulled:?}");
    assert!(pulled.stdout.contains("pulled 2 changes"), "{pulled:?}");
    let lines = feed_lines(&feed);
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[0]["record"]["kbli"],
        serde_json::json!(["05100", "09900"])
    );
    let cursor_before = std::fs::read_to_string(feed.join("cursor")).unwrap();

    let second = push("b.csv", employers("PT Sawit Kukar Lestari")).await;
    assert!(
        second.stdout.contains("updated 1, unchanged 1"),
        "{second:?}"
    );
    let next = job.pull(&[]).await;
    assert!(next.stdout.contains("pulled 1 changes"), "{next:?}");
    let lines = feed_lines(&feed);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2]["key"], "9120001234568");
    assert_eq!(lines[2]["version"], 2);
    assert_ne!(
        std::fs::read_to_string(feed.join("cursor")).unwrap(),
        cursor_before
    );

    // A crash after the lines were written but before the cursor was saved:
    // the page comes again and is not written twice.
    std::fs::File::create(feed.join("cursor"))
        .unwrap()
        .write_all(cursor_before.as_bytes())
        .unwrap();
    let again = job.pull(&[]).await;
    assert!(again.stdout.contains("pulled 0 changes"), "{again:?}");
    assert!(again.stdout.contains("1 already written"), "{again:?}");
    assert_eq!(feed_lines(&feed).len(), 3);

    // A cursor past the retention horizon: told how to resync, non-zero exit.
    push("c.csv", employers("PT Sawit Kukar Abadi")).await;
    let future = chrono::Utc::now().naive_utc() + chrono::Duration::days(1);
    app.db.read(sinergi_db::sequencer::drain).unwrap();
    app.db
        .write(|c| sinergi_db::changes::prune(c, future))
        .unwrap();
    let gone = job.pull(&[]).await;
    assert_eq!(gone.code, Some(3), "{gone:?}");
    assert!(gone.stderr.contains("/api/v1/export/"), "{gone:?}");
}

mod rate_limited {
    use super::*;

    /// Batches of one row against a budget of one request a second: the
    /// client waits as `Retry-After` says and every row is stored.
    async fn push_waits_out_429(app: TestApp) {
        let job = job(&app).await;
        let file = job.file("itas.csv", three_permits().as_bytes());
        let run = job
            .push(&file, &["--mapping", PERMIT_MAPPING, "--batch-size", "1"])
            .await;
        assert_eq!(run.code, Some(0), "{run:?}");
        assert!(run.stderr.contains("429 rate_limited"), "{run:?}");
        assert!(run.stdout.contains("created 3,"), "{run:?}");
    }

    fn tight(s: &mut sinergi_api::Settings) {
        s.rate_limit_per_minute = 60;
        s.rate_limit_burst = 1;
    }

    #[actix_web::test]
    async fn sqlite() {
        run_with(sinergi_db::Backend::Sqlite, tight, push_waits_out_429).await;
    }

    #[actix_web::test]
    async fn postgres() {
        run_with(sinergi_db::Backend::Postgres, tight, push_waits_out_429).await;
    }
}

/// A cell of a test workbook.
enum XCell {
    Text(String),
    Number(f64),
    /// A number with the built-in date format, as spreadsheet programs store dates.
    Date(NaiveDate),
}

fn column_name(i: usize) -> String {
    let mut n = i + 1;
    let mut s = String::new();
    while n > 0 {
        s.insert(0, (b'A' + ((n - 1) % 26) as u8) as char);
        n = (n - 1) / 26;
    }
    s
}

fn sheet_xml(rows: &[Vec<XCell>]) -> String {
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
    let mut x = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    for (r, row) in rows.iter().enumerate() {
        x.push_str(&format!(r#"<row r="{}">"#, r + 1));
        for (c, cell) in row.iter().enumerate() {
            let at = format!("{}{}", column_name(c), r + 1);
            x.push_str(&match cell {
                XCell::Text(t) => format!(r#"<c r="{at}" t="inlineStr"><is><t>{t}</t></is></c>"#),
                XCell::Number(n) => format!(r#"<c r="{at}"><v>{n}</v></c>"#),
                XCell::Date(d) => {
                    format!(
                        r#"<c r="{at}" s="1"><v>{}</v></c>"#,
                        (*d - epoch).num_days()
                    )
                }
            });
        }
        x.push_str("</row>");
    }
    x.push_str("</sheetData></worksheet>");
    x
}

/// A minimal XLSX workbook (what a spreadsheet program saves, less the decoration).
fn xlsx(sheets: &[(&str, Vec<Vec<XCell>>)]) -> Vec<u8> {
    const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let n = sheets.len();
    let mut files: Vec<(String, String)> = vec![];
    let overrides: String = (1..=n)
        .map(|i| format!(r#"<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#))
        .collect();
    files.push(("[Content_Types].xml".into(), format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>{overrides}</Types>"#)));
    files.push(("_rels/.rels".into(), format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#)));
    let sheet_list: String = sheets
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            format!(
                r#"<sheet name="{name}" sheetId="{}" r:id="rId{}"/>"#,
                i + 1,
                i + 1
            )
        })
        .collect();
    files.push(("xl/workbook.xml".into(), format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>{sheet_list}</sheets></workbook>"#)));
    let rels: String = (1..=n)
        .map(|i| format!(r#"<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>"#))
        .collect();
    files.push(("xl/_rels/workbook.xml.rels".into(), format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}<Relationship Id="rId{}" Type="{REL}/styles" Target="styles.xml"/></Relationships>"#, n + 1)));
    files.push(("xl/styles.xml".into(), format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{MAIN}"><fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>"#)));
    for (i, (_, rows)) in sheets.iter().enumerate() {
        files.push((format!("xl/worksheets/sheet{}.xml", i + 1), sheet_xml(rows)));
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in files {
        zip.start_file(name, opts).unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

async fn pull_keeps_audit_checkpoints_and_alarms_on_a_rewritten_log(app: TestApp) {
    use crate::audit_checkpoints::{as_insider, checkpoint_of, log};
    let job = job(&app).await;
    let feed = job.dir.join("feed");
    log(&app, 10);
    let (first, _) = checkpoint_of(&app, &job.token, 10).await;
    let run = job.pull(&[]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("events verified and kept"), "{run:?}");
    assert!(
        feed.join("audit-key").exists(),
        "the key is pinned on first use"
    );
    let held = std::fs::read_to_string(feed.join("checkpoint")).unwrap();
    assert!(held.starts_with(&format!("{}\n", first.origin)), "{held}");
    let held_size: u64 = held.lines().nth(1).unwrap().parse().unwrap();

    // The log grows: the next pull proves the new checkpoint extends the one held.
    log(&app, 7);
    let (second, _) = checkpoint_of(&app, &job.token, first.size + 7).await;
    let run = job.pull(&[]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let kept = std::fs::read_to_string(feed.join("checkpoint")).unwrap();
    let kept_size: u64 = kept.lines().nth(1).unwrap().parse().unwrap();
    assert!(kept_size >= second.size, "{kept}");
    assert!(kept_size > held_size, "{kept}");
    for size in [held_size, kept_size] {
        assert!(feed.join(format!("checkpoints/{size}.note")).exists());
    }

    // Whoever holds the database and the key resets the log and signs the new history.
    as_insider(
        &app,
        &[
            "DELETE FROM audit_events".into(),
            "DELETE FROM audit_tree".into(),
            "DELETE FROM audit_checkpoints".into(),
            format!(
                "UPDATE audit_head SET seq = 0, last_hash = '{}' WHERE id = 1",
                sinergi_db::audit::GENESIS_HASH
            ),
        ],
    );
    log(&app, 3);
    app.db.read(sinergi_db::sequencer::drain).unwrap();
    let signer = app.settings.audit_signer().unwrap();
    let round =
        sinergi_db::audit::tree::round(&app.db, &signer, None, chrono::Utc::now().naive_utc())
            .unwrap();
    let sinergi_db::audit::tree::Round::Signed { checkpoint, .. } = round else {
        panic!("the new history is signed: {round:?}");
    };
    let run = job.pull(&[]).await;
    assert_eq!(run.code, Some(5), "{run:?}");
    assert!(
        run.stdout
            .contains("AUDIT LOG DOES NOT EXTEND THE CHECKPOINT YOU HOLD"),
        "{run:?}"
    );
    assert!(
        feed.join(format!("checkpoints/conflict-{}.note", checkpoint.size))
            .exists(),
        "{run:?}"
    );
    assert_eq!(
        std::fs::read_to_string(feed.join("checkpoint")).unwrap(),
        kept,
        "the checkpoint held is kept"
    );
}
