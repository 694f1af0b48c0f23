use chrono::NaiveDate;
use serde_json::json;

use super::*;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn permit() -> serde_json::Value {
    json!({
        "permit_no": "2C21JE0123456",
        "worker": {"passport_no": "E51234567", "nationality": "CHN", "full_name": "ZHANG WEI",
                   "sex": "M", "birth_date": "1985-04-12", "passport_expires_on": "2031-06-30"},
        "kind": "ITAS", "visa_index": "E23", "sponsor_nib": "9120001234567",
        "issued_on": "2026-01-05", "valid_from": "2026-01-05", "valid_until": "2027-01-04",
        "issuing_office": "Kanim Samarinda", "address_region_code": "64.02.06", "status": "active"
    })
}

#[test]
fn a_stored_document_reads_back_and_writes_the_same_text() {
    let r = AnyRecord::from_value(RecordType::ResidencePermit, permit()).unwrap();
    assert_eq!(r.record_type(), RecordType::ResidencePermit);
    let again: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(again, permit());
    assert_eq!(r.key(), Key::Natural("2C21JE0123456"));
    let i = r.index();
    assert_eq!(i.employer_nib.as_deref(), Some("9120001234567"));
    assert_eq!(i.kind.as_deref(), Some("ITAS"));
    assert_eq!(i.valid_until, Some(day("2027-01-04")));
    assert_eq!(r.person().unwrap().passport_no.as_str(), "E51234567");
    assert_eq!(r.regions(), [RegionCode::parse("64.02.06").unwrap()]);
}

#[test]
fn a_document_with_an_invalid_value_does_not_read_back() {
    let mut doc = permit();
    doc["sponsor_nib"] = json!("12");
    assert!(AnyRecord::from_value(RecordType::ResidencePermit, doc).is_err());
    assert!(AnyRecord::from_json(RecordType::Worker, "{}").is_err());
}

#[test]
fn permit_rules_name_each_field() {
    let AnyRecord::ResidencePermit(mut p) =
        AnyRecord::from_value(RecordType::ResidencePermit, permit()).unwrap()
    else {
        panic!("a permit")
    };
    let today = day("2026-12-05");
    assert!(p.violations(today).is_empty());
    p.valid_from = day("2028-01-01");
    p.sponsor_nib = None;
    p.worker.birth_date = Some(day("2030-01-01"));
    p.issued_on = day("1899-12-31");
    let fields: Vec<(String, &str)> = p
        .violations(today)
        .into_iter()
        .map(|v| (v.field, v.code))
        .collect();
    for want in [
        ("valid_until", "invalid_period"),
        ("sponsor_nib", "required"),
        ("worker.birth_date", "invalid_date"),
        ("issued_on", "date_out_of_range"),
    ] {
        assert!(
            fields.iter().any(|(f, c)| f == want.0 && *c == want.1),
            "{want:?} in {fields:?}"
        );
    }
}

#[test]
fn an_assignment_refers_to_its_approval_and_is_located_by_it() {
    let a: Assignment = serde_json::from_value(json!({
        "source_ref": "A-1",
        "worker": {"passport_no": "E51234567", "nationality": "CHN", "full_name": "ZHANG WEI",
                   "sex": null, "birth_date": null, "passport_expires_on": null},
        "approval_no": "KEP-1", "position_code": "P01", "employer_nib": "9120001234567",
        "start_on": "2026-01-01", "end_on": "2026-12-31", "status": "active",
        "companion": null, "legacy_notifikasi_no": null
    }))
    .unwrap();
    let refs = a.references();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].target(), (RecordType::RptkaApproval, "KEP-1"));
    let e = refs[0].resolve(None).unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.code),
        ("approval_no", "unknown_approval")
    );
    let approval: RptkaApproval = serde_json::from_value(json!({
        "approval_no": "KEP-1", "employer_nib": "9120001234567", "type": "new",
        "issued_on": "2026-01-01", "valid_from": "2026-01-01", "valid_until": "2026-12-31",
        "location_scope": ["64.03.01"],
        "positions": [{"code": "P01", "title": "Engineer", "level": "professional",
                       "headcount": 2, "closed_position": false}],
        "status": "active"
    }))
    .unwrap();
    let regions = refs[0]
        .resolve(Some(&AnyRecord::RptkaApproval(approval.clone())))
        .unwrap();
    assert_eq!(regions, [RegionCode::parse("64.03.01").unwrap()]);
    let mut other = approval;
    other.employer_nib = Nib::parse("9120000000009").unwrap();
    let e = refs[0]
        .resolve(Some(&AnyRecord::RptkaApproval(other)))
        .unwrap_err();
    assert_eq!(e.code, "employer_mismatch");
}

#[test]
fn dates_outside_the_sane_range_are_refused() {
    assert!(date_in_range("d", day("1900-01-01")).is_none());
    assert!(date_in_range("d", day("2100-12-31")).is_none());
    assert_eq!(
        date_in_range("d", day("1899-12-31")).unwrap().code,
        "date_out_of_range"
    );
    assert!(date_in_range("d", NaiveDate::MIN).is_some());
    assert!(date_in_range("d", day("2101-01-01")).is_some());
}

#[test]
fn every_stored_type_has_a_row_in_the_type_table() {
    for t in AnyRecord::TYPES {
        assert!(!t.writers().is_empty(), "{t}");
        assert_eq!(RecordType::from_name(t.collection()), Some(*t));
    }
}
