//! The shape of each record type's request body, as `POST /api/v1/batch`
//! takes it, so rows are checked locally before anything is sent: unknown
//! fields, missing required fields, and values of the wrong type (dates that
//! are not `YYYY-MM-DD`, counts that are not whole numbers).

use chrono::NaiveDate;
use serde_json::Value;

/// The JSON type of a field.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Text.
    Str,
    /// `YYYY-MM-DD`.
    Date,
    /// A whole number >= 0.
    Int,
    /// A number.
    Float,
    /// A list of texts.
    StrList,
    /// A nested object.
    Obj(&'static [Field]),
    /// A list of objects.
    ObjList(&'static [Field]),
}

/// One field of a body.
#[derive(Debug)]
pub struct Field {
    /// JSON name.
    pub name: &'static str,
    /// JSON type.
    pub kind: Kind,
    /// Must be present (inside its parent object, if that is present).
    pub required: bool,
}

const fn req(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: true,
    }
}

const fn opt(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
    }
}

use Kind::*;

const PERSON: &[Field] = &[
    req("passport_no", Str),
    req("nationality", Str),
    req("full_name", Str),
    opt("sex", Str),
    opt("birth_date", Date),
    opt("passport_expires_on", Date),
    opt("previous_passport_no", Str),
];

const COMPANION: &[Field] = &[req("nik", Str), req("name", Str)];

const POSITION: &[Field] = &[
    req("code", Str),
    req("title", Str),
    req("level", Str),
    req("headcount", Int),
];

const EMPLOYER: &[Field] = &[
    opt("npwp", Str),
    req("name", Str),
    req("capital", Str),
    req("kbli", StrList),
    opt("address", Str),
    req("region_code", Str),
    opt("source_ref", Str),
];

const RPTKA_APPROVAL: &[Field] = &[
    req("employer_nib", Str),
    req("type", Str),
    req("issued_on", Date),
    req("valid_from", Date),
    req("valid_until", Date),
    req("location_scope", StrList),
    req("positions", ObjList(POSITION)),
    req("status", Str),
    opt("source_ref", Str),
];

const RESIDENCE_PERMIT: &[Field] = &[
    req("worker", Obj(PERSON)),
    req("kind", Str),
    opt("visa_index", Str),
    opt("sponsor_nib", Str),
    req("issued_on", Date),
    req("valid_from", Date),
    req("valid_until", Date),
    opt("issuing_office", Str),
    opt("address_region_code", Str),
    req("status", Str),
    opt("source_ref", Str),
];

const WORK_SITE: &[Field] = &[
    req("source_ref", Str),
    req("employer_nib", Str),
    req("name", Str),
    req("kind", Str),
    req("region_code", Str),
    opt("lat", Float),
    opt("lon", Float),
];

const ASSIGNMENT: &[Field] = &[
    req("source_ref", Str),
    req("worker", Obj(PERSON)),
    opt("approval_no", Str),
    opt("position_code", Str),
    req("employer_nib", Str),
    req("start_on", Date),
    req("end_on", Date),
    req("status", Str),
    opt("companion", Obj(COMPANION)),
    opt("legacy_notifikasi_no", Str),
    opt("work_site_id", Str),
];

const PRESENCE_REPORT: &[Field] = &[
    req("source_ref", Str),
    req("observed_on", Date),
    req("source", Str),
    req("region_code", Str),
    opt("work_site_ref", Str),
    opt("employer_nib", Str),
    opt("worker", Obj(PERSON)),
    opt("headcount", Int),
    opt("activity", Str),
    opt("notes", Str),
];

/// A record type the batch endpoint writes.
#[derive(Debug)]
pub struct RecordSchema {
    /// Type code as the batch takes it.
    pub name: &'static str,
    /// Name of the natural key in exports (`permit_no`); `None` for types keyed by `source_ref`.
    pub key: Option<&'static str>,
    /// Body fields.
    pub fields: &'static [Field],
}

/// Every writable record type.
pub const TYPES: &[RecordSchema] = &[
    RecordSchema {
        name: "employer",
        key: Some("nib"),
        fields: EMPLOYER,
    },
    RecordSchema {
        name: "rptka_approval",
        key: Some("approval_no"),
        fields: RPTKA_APPROVAL,
    },
    RecordSchema {
        name: "residence_permit",
        key: Some("permit_no"),
        fields: RESIDENCE_PERMIT,
    },
    RecordSchema {
        name: "work_site",
        key: None,
        fields: WORK_SITE,
    },
    RecordSchema {
        name: "assignment",
        key: None,
        fields: ASSIGNMENT,
    },
    RecordSchema {
        name: "presence_report",
        key: None,
        fields: PRESENCE_REPORT,
    },
];

/// Finds a type by code (`residence_permit`) or collection name (`residence-permits`).
pub fn record_schema(name: &str) -> Option<&'static RecordSchema> {
    let n = name.trim().replace('-', "_");
    let singular = n.strip_suffix('s').unwrap_or(&n);
    TYPES.iter().find(|t| t.name == n || t.name == singular)
}

/// The names of every writable type, for messages.
pub fn type_names() -> String {
    TYPES.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
}

/// A field problem found before sending.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// Body path (`worker.birth_date`, `positions[0].headcount`).
    pub field: String,
    /// Stable code, like the server's (`required`, `invalid_date`, `unknown_field`).
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Checks a body against `fields`, collecting every problem.
pub fn check(fields: &[Field], body: &Value, prefix: &str, out: &mut Vec<Issue>) {
    let Some(map) = body.as_object() else {
        out.push(Issue {
            field: prefix.to_string(),
            code: "invalid_type",
            message: "expected a JSON object".into(),
        });
        return;
    };
    for key in map.keys() {
        if !fields.iter().any(|f| f.name == key) {
            out.push(Issue {
                field: join(prefix, key),
                code: "unknown_field",
                message: format!("unknown field {key}"),
            });
        }
    }
    for f in fields {
        let path = join(prefix, f.name);
        match map.get(f.name) {
            None | Some(Value::Null) if f.required => out.push(Issue {
                field: path,
                code: "required",
                message: format!("{} is required", f.name),
            }),
            None | Some(Value::Null) => {}
            Some(v) => check_value(f.kind, v, &path, out),
        }
    }
}

fn check_value(kind: Kind, v: &Value, path: &str, out: &mut Vec<Issue>) {
    let bad = |expected: &str| Issue {
        field: path.to_string(),
        code: "invalid_type",
        message: format!("expected {expected}"),
    };
    match kind {
        Str if !v.is_string() => out.push(bad("text")),
        Date => match v.as_str() {
            Some(s) if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() => {}
            _ => out.push(Issue {
                field: path.to_string(),
                code: "invalid_date",
                message: "expected a date YYYY-MM-DD".into(),
            }),
        },
        Int if !v.is_u64() => out.push(bad("a whole number")),
        Float if !v.is_number() => out.push(bad("a number")),
        StrList => match v.as_array() {
            Some(items) if items.iter().all(Value::is_string) => {}
            _ => out.push(bad("a list of texts")),
        },
        Obj(fields) => check(fields, v, path, out),
        ObjList(fields) => match v.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    check(fields, item, &format!("{path}[{i}]"), out);
                }
            }
            None => out.push(bad("a list of objects")),
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_unknown_missing_and_mistyped_fields() {
        let t = record_schema("residence-permits").unwrap();
        let body = json!({"worker": {"passport_no": "E1234567", "nationality": "CHN",
            "birth_date": "12/04/1985"}, "kind": "ITAS", "colour": "red",
            "issued_on": "2026-01-05", "valid_from": "2026-01-05", "valid_until": "2027-01-04",
            "status": "active"});
        let mut out = vec![];
        check(t.fields, &body, "", &mut out);
        let got: Vec<(&str, &str)> = out.iter().map(|i| (i.field.as_str(), i.code)).collect();
        assert_eq!(
            got,
            vec![
                ("colour", "unknown_field"),
                ("worker.full_name", "required"),
                ("worker.birth_date", "invalid_date"),
            ]
        );
    }
}

/// The sync client's field lists are a copy of the server's input types:
/// this keeps them in step with the OpenAPI document the server generates.
#[cfg(test)]
mod matches_the_server {
    use serde_json::Value;

    use super::*;

    /// The document's schema for a `$ref`, or the schema itself.
    fn resolve<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.rsplit('/').next().unwrap_or_default();
                &doc["components"]["schemas"][name]
            }
            None => s,
        }
    }

    /// The non-null alternative of an optional property.
    fn non_null<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
        if let Some(alts) = s.get("oneOf").and_then(Value::as_array) {
            if let Some(a) = alts.iter().find(|a| a["type"] != "null") {
                return resolve(doc, a);
            }
        }
        resolve(doc, s)
    }

    fn type_of(s: &Value) -> String {
        match &s["type"] {
            Value::String(t) => t.clone(),
            Value::Array(ts) => ts
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or_default()
                .to_string(),
            _ => String::new(),
        }
    }

    fn compare(doc: &Value, schema: &Value, fields: &[Field], at: &str, out: &mut Vec<String>) {
        let props = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mine: Vec<&str> = fields.iter().map(|f| f.name).collect();
        for name in props.keys() {
            if !mine.contains(&name.as_str()) {
                out.push(format!(
                    "{at}{name}: the server takes it, the client does not know it"
                ));
            }
        }
        for f in fields {
            let Some(p) = props.get(f.name) else {
                out.push(format!("{at}{}: the server does not take it", f.name));
                continue;
            };
            if f.required != required.contains(&f.name) {
                out.push(format!("{at}{}: required differs", f.name));
            }
            let p = non_null(doc, p);
            let t = type_of(p);
            let ok = match f.kind {
                // A uuid is text to a spreadsheet; a date is not.
                Kind::Str => t == "string" && p["format"].as_str().is_none_or(|f| f == "uuid"),
                Kind::Date => t == "string" && p["format"] == "date",
                Kind::Int => t == "integer",
                Kind::Float => t == "number",
                Kind::StrList => t == "array" && type_of(non_null(doc, &p["items"])) == "string",
                Kind::Obj(inner) => {
                    compare(doc, p, inner, &format!("{at}{}.", f.name), out);
                    t == "object" || p.get("properties").is_some()
                }
                Kind::ObjList(inner) => {
                    let item = non_null(doc, &p["items"]);
                    compare(doc, item, inner, &format!("{at}{}[].", f.name), out);
                    t == "array"
                }
            };
            if !ok {
                out.push(format!(
                    "{at}{}: the client expects {:?}, the server documents {p}",
                    f.name, f.kind
                ));
            }
        }
    }

    #[test]
    fn every_record_type_has_the_server_fields() {
        let doc = sinergi_api::openapi();
        let mut problems = Vec::new();
        for t in TYPES {
            let input: String = t
                .name
                .split('_')
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect::<String>()
                + "Input";
            let schema = &doc["components"]["schemas"][&input];
            assert!(
                schema.is_object(),
                "no schema {input} in the OpenAPI document"
            );
            compare(
                &doc,
                schema,
                t.fields,
                &format!("{}: ", t.name),
                &mut problems,
            );
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
