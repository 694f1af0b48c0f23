//! What every operation of the OpenAPI document shares, declared once.
//!
//! The handlers declare what is theirs: their parameters, their success
//! answer and the errors only they give. The answers every request can get
//! from the layers around a handler (authentication, the request budget,
//! the body reader, the database) are added here to each operation they can
//! reach, so a client generator sees every status it can receive and no
//! handler has to remember them.

use serde_json::{json, Map, Value};

use sinergi_domain::Scope;

/// The token endpoint, relative to the server.
const TOKEN_URL: &str = "/api/v1/oauth/token";

/// The shared answers: (status, component name, description).
const SHARED: &[(&str, &str, &str)] = &[
    (
        "400",
        "BadRequest",
        "Malformed request: a parameter, header or body that cannot be read (`errors` names each field)",
    ),
    (
        "401",
        "Unauthorized",
        "No bearer token, or one that is expired, badly signed or of a revoked client; get a new token",
    ),
    (
        "403",
        "Forbidden",
        "Your client lacks the scope, the agency kind or the jurisdiction this request needs, or the purpose is not registered for it",
    ),
    ("404", "NotFound", "No such record, or none you may see"),
    (
        "408",
        "RequestTimeout",
        "The request body did not arrive in time; send it again",
    ),
    (
        "413",
        "PayloadTooLarge",
        "The body is larger than 4 MiB or nested deeper than 32 levels; split it",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "Send the body as `application/json`",
    ),
    (
        "422",
        "Unprocessable",
        "The body is well-formed but its content is invalid: `errors` lists every field with a message",
    ),
    (
        "429",
        "TooManyRequests",
        "Your client's request budget is spent; retry after the seconds in `Retry-After`",
    ),
    (
        "503",
        "Unavailable",
        "The database cannot be reached now; nothing was changed; retry after `Retry-After`",
    ),
    (
        "507",
        "StorageFull",
        "The server's storage is full; nothing was changed; retry later",
    ),
];

/// The schema of a text parameter that takes one of `values`.
pub fn one_of(values: &[&str]) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

/// The operation of a change: `upsert` or `delete`; for a worker also
/// `merged` / `unmerged` (a confirmed person link, or its undo).
pub fn change_op() -> utoipa::openapi::Object {
    one_of(&["upsert", "delete", "merged", "unmerged"])
}

/// Completes the generated document: shared answers, security schemes,
/// servers and contact.
pub fn complete(doc: &mut Value) {
    add_components(doc);
    name_page_items(doc);
    doc["servers"] = json!([{
        "url": "/",
        "description": "This Sinergi instance (the document is served by the API it describes)"
    }]);
    doc["info"]["contact"] = json!({ "name": "The operators of this Sinergi instance" });
    doc["security"] = json!([{ "oauth2": [] }, { "bearer": [] }]);
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            if let Some(op) = op.as_object_mut() {
                complete_operation(method, op);
            }
        }
    }
}

/// Page schemas name their item type instead of repeating it, so a client
/// generator makes one type per record, not one per list.
fn name_page_items(doc: &mut Value) {
    let Some(schemas) = doc["components"]["schemas"].as_object_mut() else {
        return;
    };
    let pages: Vec<String> = schemas
        .keys()
        .filter(|k| k.starts_with("Page_"))
        .cloned()
        .collect();
    for page in pages {
        let item = page.trim_start_matches("Page_").to_owned();
        let slot = &mut schemas[&page]["properties"]["items"]["items"];
        if slot.get("$ref").is_some() || slot.is_null() {
            continue;
        }
        let inline = std::mem::replace(
            slot,
            json!({ "$ref": format!("#/components/schemas/{item}") }),
        );
        schemas.entry(item).or_insert(inline);
    }
}

fn add_components(doc: &mut Value) {
    let components = doc["components"]
        .as_object_mut()
        .expect("the generated document has components");
    let responses = components
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("responses is an object");
    for (status, name, description) in SHARED {
        let mut answer = json!({
            "description": description,
            "content": {
                "application/problem+json": {
                    "schema": { "$ref": "#/components/schemas/Problem" }
                }
            }
        });
        if matches!(*status, "429" | "503") {
            answer["headers"] = json!({
                "Retry-After": {
                    "description": "Seconds to wait before retrying",
                    "schema": { "type": "integer", "minimum": 0 }
                }
            });
        }
        responses.insert((*name).to_owned(), answer);
    }
    let scopes: Map<String, Value> = Scope::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), json!(scope_description(*s))))
        .collect();
    let schemes = components
        .entry("securitySchemes")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("securitySchemes is an object");
    schemes.insert(
        "bearer".into(),
        json!({
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": format!("An access token from POST {TOKEN_URL} (client credentials)."),
        }),
    );
    schemes.insert(
        "oauth2".into(),
        json!({
            "type": "oauth2",
            "description": "Client credentials of your agency's client: the token endpoint takes them as HTTP Basic or in the form. Ask for no scope to get every scope your client holds.",
            "flows": {
                "clientCredentials": { "tokenUrl": TOKEN_URL, "scopes": scopes }
            }
        }),
    );
}

fn scope_description(scope: Scope) -> &'static str {
    match scope {
        Scope::RecordsRead => "Read records, findings and statistics",
        Scope::RecordsWrite => "Write the record types your agency owns; act on findings",
        Scope::PiiRead => "See passport numbers and NIKs unmasked",
        Scope::AuditRead => "Read the audit log",
    }
}

/// Each parameter once (a path parameter may be declared by the handler and
/// found again from the route), path parameters required, as OpenAPI wants.
fn merge_parameters(op: &mut Map<String, Value>) -> Vec<Value> {
    let Some(Value::Array(declared)) = op.get_mut("parameters") else {
        return Vec::new();
    };
    let mut merged: Vec<Value> = Vec::new();
    for p in declared.drain(..) {
        match merged
            .iter_mut()
            .find(|m| m["name"] == p["name"] && m["in"] == p["in"])
        {
            Some(first) => {
                if first.get("description").is_none() {
                    if let Some(d) = p.get("description") {
                        first["description"] = d.clone();
                    }
                }
            }
            None => merged.push(p),
        }
    }
    for p in &mut merged {
        if p["in"] == "path" {
            p["required"] = json!(true);
        }
    }
    *declared = merged.clone();
    merged
}

fn complete_operation(method: &str, op: &mut Map<String, Value>) {
    let public = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|reqs| {
            reqs.iter()
                .all(|r| r.as_object().is_some_and(Map::is_empty))
        });
    if public {
        // No credentials: an explicit empty list overrides the document's default.
        op.insert("security".into(), json!([]));
    } else {
        op.insert(
            "security".into(),
            json!([{ "oauth2": [] }, { "bearer": [] }]),
        );
    }
    let params = merge_parameters(op);
    let has_path = params.iter().any(|p| p["in"] == "path");
    let has_input = !params.is_empty();
    let body_types: Vec<String> = op
        .get("requestBody")
        .and_then(|b| b["content"].as_object())
        .map(|c| c.keys().cloned().collect())
        .unwrap_or_default();
    let json_body = body_types.iter().any(|t| t == "application/json");
    let writes = matches!(method, "post" | "put" | "patch" | "delete");

    let mut add = Vec::new();
    if has_input || !body_types.is_empty() || !public {
        add.push("400");
    }
    if !public {
        add.extend(["401", "403", "429", "503"]);
    }
    if has_path && !public {
        add.push("404");
    }
    if json_body {
        add.extend(["408", "413", "415", "422"]);
    }
    if writes && !public {
        add.push("507");
    }
    let responses = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("responses is an object");
    for status in add {
        if responses.contains_key(status) {
            continue;
        }
        let (_, name, _) = SHARED
            .iter()
            .find(|(s, _, _)| *s == status)
            .expect("every added status is shared");
        responses.insert(
            status.to_owned(),
            json!({ "$ref": format!("#/components/responses/{name}") }),
        );
    }
    // Keep the answers in status order, as a reader expects.
    let mut sorted: Vec<(String, Value)> = std::mem::take(responses).into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    responses.extend(sorted);
}

/// The completed document, built once per process and kept in two forms:
/// as compact JSON text, which `/api-docs/openapi.json` sends as it is, and
/// as a value holding only its `components`, which the lookups below read.
/// The whole document as a value is about 1.2 MiB of memory against 160 KiB
/// of text, so it is not kept.
struct Kept {
    text: String,
    components: Value,
}

fn kept() -> &'static Kept {
    static KEPT: std::sync::OnceLock<Kept> = std::sync::OnceLock::new();
    KEPT.get_or_init(|| {
        let mut doc = crate::server::openapi();
        let text = serde_json::to_string(&doc).expect("the generated document serialises");
        // Kept under its own name, so `$ref`s (`#/components/schemas/…`) resolve.
        let components = json!({ "components": doc["components"].take() });
        Kept { text, components }
    })
}

/// The completed document as compact JSON.
pub fn document_text() -> &'static str {
    &kept().text
}

/// Every field the schema `component` requires that `value` lacks, as
/// dotted paths (`worker.full_name`, `positions[1].code`), in document order.
pub fn missing_fields(component: &str, value: &Value) -> Vec<String> {
    let doc = &kept().components;
    let mut out = Vec::new();
    if let Some(schema) = doc["components"]["schemas"].get(component) {
        walk_missing(doc, schema, value, "", &mut out);
    }
    out
}

fn walk_missing(doc: &Value, schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    if let Some(target) = schema["$ref"].as_str() {
        if let Some(resolved) = target.strip_prefix('#').and_then(|p| doc.pointer(p)) {
            walk_missing(doc, resolved, value, path, out);
        }
        return;
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        walk_missing(doc, part, value, path, out);
    }
    if !value.is_null() {
        // `oneOf` [null, X] is how an optional nested object is declared.
        for part in schema["oneOf"].as_array().into_iter().flatten() {
            if part["type"] != "null" {
                walk_missing(doc, part, value, path, out);
            }
        }
    }
    let at = |name: &str| crate::extract::join_path(path, name);
    if let Value::Object(fields) = value {
        for name in schema["required"].as_array().into_iter().flatten() {
            if let Some(name) = name.as_str() {
                if !fields.contains_key(name) {
                    out.push(at(name));
                }
            }
        }
        if let Some(props) = schema["properties"].as_object() {
            for (name, sub) in props {
                if let Some(v) = fields.get(name) {
                    walk_missing(doc, sub, v, &at(name), out);
                }
            }
        }
    }
    if let (Value::Array(items), Some(item)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            walk_missing(doc, item, v, &format!("{path}[{i}]"), out);
        }
    }
}
