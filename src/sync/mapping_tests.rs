//! Tests of the mapping file and the example mappings in docs/examples.

use super::*;
use crate::sync::read::{Cell, Row};
use serde_json::json;

fn example(name: &str) -> Mapping {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/examples")
        .join(name);
    Mapping::load(&path).unwrap()
}

fn row(line: usize, cells: &[&str]) -> Row {
    Row {
        line,
        cells: cells.iter().map(|c| Cell::Text(c.to_string())).collect(),
    }
}

fn headers(h: &[&str]) -> Vec<String> {
    h.iter().map(|s| s.to_string()).collect()
}

#[test]
fn rptka_example_builds_positions_and_lists() {
    let m = example("rptka-approvals-disnaker.json");
    let h = headers(&[
        "No Pengesahan RPTKA",
        "NIB",
        "Jenis",
        "Tanggal Pengesahan",
        "Berlaku Mulai",
        "Berlaku Sampai",
        "Lokasi Kerja",
        "Kode Jabatan 1",
        "Jabatan 1",
        "Level 1",
        "Jumlah TKA 1",
        "Kode Jabatan 2",
        "Jabatan 2",
        "Level 2",
        "Jumlah TKA 2",
    ]);
    let c = m.compile(&h).unwrap();
    let op = c
        .op(&row(
            2,
            &[
                "KEP.1/2026",
                "9120001234567",
                "Baru",
                "2 Januari 2026",
                "2 Januari 2026",
                "30 Juni 2027",
                "64.02; 64.03",
                "P01",
                "Mining Engineer",
                "Profesional",
                "3",
                "",
                "",
                "",
                "",
            ],
        ))
        .unwrap();
    assert_eq!(op.key.as_deref(), Some("KEP.1/2026"));
    assert_eq!(
        op.body,
        json!({"employer_nib": "9120001234567", "type": "new", "issued_on": "2026-01-02",
            "valid_from": "2026-01-02", "valid_until": "2027-06-30",
            "location_scope": ["64.02", "64.03"],
            "positions": [{"code": "P01", "title": "Mining Engineer", "level": "professional", "headcount": 3}],
            "status": "active"})
    );
    let bad = c
        .op(&row(
            3,
            &[
                "KEP.2/2026",
                "9120001234567",
                "Baru",
                "2 Januari 2026",
                "2 Jan 2026",
                "30 Juni 2027",
                "64.02",
                "P01",
                "Driver",
                "Profesional",
                "tiga",
                "",
                "",
                "",
                "",
            ],
        ))
        .unwrap_err();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].line, 3);
    assert_eq!(bad[0].field, "positions[0].headcount");
    assert_eq!(bad[0].column.as_deref(), Some("Jumlah TKA 1"));
    assert_eq!(bad[0].code, "invalid_number");
}

#[test]
fn employer_example_splits_kbli_and_keys_by_nib() {
    let m = example("employers-oss.json");
    let h = headers(&[
        "NIB",
        "NPWP",
        "Nama Perusahaan",
        "Status Modal",
        "KBLI",
        "Alamat",
        "Kode Wilayah",
        "ID OSS",
    ]);
    let op = m
        .compile(&h)
        .unwrap()
        .op(&row(
            2,
            &[
                "9120001234567",
                "",
                "PT Batu Bara",
                "Penanaman Modal Asing",
                "05100;09900",
                "",
                "64.02.06",
                "OSS-1",
            ],
        ))
        .unwrap();
    assert_eq!(op.key.as_deref(), Some("9120001234567"));
    assert_eq!(op.body["kbli"], json!(["05100", "09900"]));
    assert_eq!(op.body["capital"], "PMA");
    assert!(op.body.get("npwp").is_none());
}

#[test]
fn mistakes_in_a_mapping_are_named_before_any_row_is_read() {
    let m = Mapping::from_json(&json!({"type": "residence_permit", "key": "No ITAS",
        "fields": {"worker.passport": "No Paspor", "kind": "Jenis"}}))
    .unwrap();
    let err = m
        .compile(&headers(&["No ITAS", "No Paspor"]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no field \"passport\" here; known: passport_no"),
        "{err}"
    );
    assert!(err.contains("status is required"), "{err}");
    assert!(err.contains("the file has no column \"Jenis\""), "{err}");
    let unknown = Mapping::from_json(&json!({"type": "visa", "fields": {}})).unwrap_err();
    assert!(unknown.to_string().contains("unknown type"));
    let no_key = Mapping::from_json(&json!({"type": "employer", "fields": {"name": "Nama"}}))
        .unwrap()
        .compile(&headers(&["Nama"]))
        .unwrap_err();
    assert!(no_key
        .to_string()
        .contains("give the column of the nib as \"key\""));
}
