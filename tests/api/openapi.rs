//! The committed OpenAPI document is the one the code generates; regenerate
//! it on purpose with `UPDATE_OPENAPI=1 cargo test --test api openapi`.

use std::path::PathBuf;

use serde_json::Value;

/// The keys of an OpenAPI path item that are operations.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json")
}

#[test]
fn committed_document_matches_the_code() {
    let generated = sinergi_api::openapi_json();
    let path = committed_path();
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &generated).expect("write openapi/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json differs from the generated document; if the API change is \
         intended, run UPDATE_OPENAPI=1 cargo test --test api openapi and commit the file"
    );
}

#[test]
fn api_operations_declare_bearer_security() {
    let doc: Value = serde_json::from_str(&sinergi_api::openapi_json()).unwrap();
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http", "{scheme}");
    assert_eq!(scheme["scheme"], "bearer", "{scheme}");
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/") || path == "/api/v1/oauth/token" {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let security = op["security"].as_array().cloned().unwrap_or_default();
            assert!(
                security.iter().any(|s| s.get("bearer").is_some()),
                "{method} {path} does not declare bearer security"
            );
            checked += 1;
        }
    }
    assert!(checked > 0);
}

/// Every `$ref` of the document names a schema it defines (generators and
/// Swagger UI fail on a dangling one).
#[test]
fn every_reference_resolves() {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("$ref", Value::String(r)) => out.push(r.clone()),
                        _ => walk(x, out),
                    }
                }
            }
            Value::Array(xs) => xs.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let doc = sinergi_api::openapi();
    let mut refs = Vec::new();
    walk(&doc, &mut refs);
    assert!(!refs.is_empty());
    let dangling: Vec<&String> = refs
        .iter()
        .filter(|r| {
            r.strip_prefix('#')
                .and_then(|pointer| doc.pointer(pointer))
                .is_none()
        })
        .collect();
    assert!(dangling.is_empty(), "dangling references: {dangling:?}");
}

/// Before: X-Purpose was pasted by hand, declared on three writes that never
/// check it and missing on three reads that require it. Now every read of a
/// personal record type (by the type table) and of findings declares it
/// required, and no write declares it.
#[test]
fn purpose_is_declared_exactly_on_personal_reads() {
    let doc = sinergi_api::openapi();
    let mut personal_reads = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let collection = path
            .strip_prefix("/api/v1/")
            .and_then(|p| p.split('/').next())
            .unwrap_or_default();
        let personal = collection == "findings"
            || sinergi_domain::RecordType::from_name(collection).is_some_and(|t| t.is_personal());
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let purpose = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == "X-Purpose" && p["in"] == "header");
            if method == "get" && personal {
                let p = purpose.unwrap_or_else(|| panic!("GET {path} does not declare X-Purpose"));
                assert_eq!(p["required"], true, "GET {path}");
                personal_reads += 1;
            } else if method != "get" && !path.starts_with("/api/v1/subscriptions") {
                assert!(purpose.is_none(), "{method} {path} declares X-Purpose");
            }
        }
    }
    // workers (list, item, access log), four record collections and items, findings.
    assert_eq!(personal_reads, 11);
}

/// Before: 22 operations had no description and 13 no example anywhere, so
/// generated clients and Swagger UI showed bare signatures. Every operation
/// now has a description and at least one example (of a parameter, its body
/// or its success answer), and declares the client errors it can get.
#[test]
fn every_operation_is_described_with_an_example() {
    fn has_example(doc: &Value, v: &Value, depth: usize) -> bool {
        match v {
            Value::Object(m) => {
                if m.contains_key("example") || m.contains_key("examples") {
                    return true;
                }
                if let Some(Value::String(r)) = m.get("$ref") {
                    return depth < 6
                        && r.strip_prefix('#')
                            .and_then(|p| doc.pointer(p))
                            .is_some_and(|t| has_example(doc, t, depth + 1));
                }
                m.values().any(|x| has_example(doc, x, depth))
            }
            Value::Array(xs) => xs.iter().any(|x| has_example(doc, x, depth)),
            _ => false,
        }
    }
    let doc = sinergi_api::openapi();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            operations += 1;
            let described = op["description"].as_str().is_some_and(|d| d.len() > 20);
            assert!(described, "{method} {path} has no description");
            let success: Value = op["responses"]
                .as_object()
                .expect("responses")
                .iter()
                .filter(|(status, _)| status.starts_with('2'))
                .map(|(s, r)| (s.clone(), r.clone()))
                .collect::<serde_json::Map<_, _>>()
                .into();
            let example = [&op["parameters"], &op["requestBody"], &success]
                .iter()
                .any(|v| has_example(&doc, v, 0));
            assert!(example, "{method} {path} has no example");
            let public = op["security"].as_array().is_some_and(|s| s.is_empty());
            if !public {
                for status in ["401", "403", "429", "503"] {
                    assert!(
                        op["responses"].get(status).is_some(),
                        "{method} {path} does not declare {status}"
                    );
                }
            }
        }
    }
    assert!(operations >= 48, "{operations}");
}
