//! The mapping file: which record type a sheet holds, which column is the
//! natural key, and which column (or constant) gives each body field
//! (`docs/sync-mapping.md`). Compiled against the file's header once, then
//! applied to every row.

use std::path::Path;

use anyhow::{anyhow, bail, Context};
use serde_json::Value;

use super::body::{resolve, Bound, Compiled};
use super::convert::Rules;
use super::schema::{self, Field, Kind, RecordSchema};

/// Where a field's value comes from.
#[derive(Debug, Clone)]
pub(super) enum Source {
    /// A column of the file.
    Column(String),
    /// The same value for every row.
    Constant(Value),
}

/// One `"field.path": ...` entry.
#[derive(Debug, Clone)]
pub(super) struct Spec {
    /// Column or constant.
    pub source: Source,
    /// Value when the cell is empty.
    pub default: Option<Value>,
    /// How to read the cells.
    pub rules: Rules,
}

/// A parsed mapping file.
#[derive(Debug)]
pub struct Mapping {
    /// The record type.
    pub schema: &'static RecordSchema,
    /// Sheet to read from a workbook.
    pub sheet: Option<String>,
    key: Option<Spec>,
    fields: Vec<(String, Spec)>,
}

const TOP_KEYS: &[&str] = &[
    "type",
    "key",
    "sheet",
    "date_format",
    "fields",
    "description",
];
const SPEC_KEYS: &[&str] = &["column", "value", "default", "format", "split", "map"];

impl Mapping {
    /// Reads a mapping file.
    pub fn load(path: &Path) -> anyhow::Result<Mapping> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the mapping {}", path.display()))?;
        let v: Value = serde_json::from_str(&text)
            .with_context(|| format!("the mapping {} is not valid JSON", path.display()))?;
        Mapping::from_json(&v).with_context(|| format!("in the mapping {}", path.display()))
    }

    /// Parses a mapping from its JSON.
    pub fn from_json(v: &Value) -> anyhow::Result<Mapping> {
        let obj = v.as_object().context("a mapping is a JSON object")?;
        if let Some(k) = obj.keys().find(|k| !TOP_KEYS.contains(&k.as_str())) {
            bail!("unknown key {k:?}; a mapping has {}", TOP_KEYS.join(", "));
        }
        let type_name = obj
            .get("type")
            .and_then(Value::as_str)
            .context("give the record type as \"type\"")?;
        let schema = schema::record_schema(type_name).with_context(|| {
            format!(
                "unknown type {type_name:?}; one of {}",
                schema::type_names()
            )
        })?;
        let date_format = match obj.get("date_format") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => bail!("date_format is a text such as \"dd/mm/yyyy\""),
        };
        let key = obj
            .get("key")
            .map(|k| spec(k, date_format.as_deref()).context("in \"key\""))
            .transpose()?;
        let fields = obj
            .get("fields")
            .and_then(Value::as_object)
            .context("give \"fields\": an object of \"field.path\": \"Column header\"")?
            .iter()
            .map(|(path, s)| {
                spec(s, date_format.as_deref())
                    .map(|s| (path.clone(), s))
                    .with_context(|| format!("in field {path:?}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let sheet = obj.get("sheet").and_then(Value::as_str).map(str::to_string);
        Ok(Mapping {
            schema,
            sheet,
            key,
            fields,
        })
    }

    /// The mapping of a file whose columns are named as the fields
    /// (`worker.passport_no`, and `permit_no` for the key), as Sinergi's own
    /// exports are; also returns the columns that name no field.
    pub fn identity(schema: &'static RecordSchema, headers: &[String]) -> (Mapping, Vec<String>) {
        let column = |h: &String| Spec {
            source: Source::Column(h.clone()),
            default: None,
            rules: Rules::default(),
        };
        let mut m = Mapping {
            schema,
            sheet: None,
            key: None,
            fields: vec![],
        };
        let mut ignored = vec![];
        for h in headers.iter().filter(|h| !h.is_empty()) {
            if Some(h.as_str()) == schema.key {
                m.key = Some(column(h));
            } else if resolve(schema.fields, h).is_ok() {
                m.fields.push((h.clone(), column(h)));
            } else {
                ignored.push(h.clone());
            }
        }
        (m, ignored)
    }

    /// Binds the mapping to a header: every field path must exist for the
    /// type, every column must be in the header, every required field mapped.
    pub fn compile(&self, headers: &[String]) -> anyhow::Result<Compiled> {
        let mut problems = vec![];
        if self.key.is_some()
            && self.schema.key.is_none()
            && self.fields.iter().any(|(p, _)| p == "source_ref")
        {
            problems.push("give source_ref either as \"key\" or in \"fields\", not both".into());
        }
        let mut missing_columns = vec![];
        let mut bind = |path: &str, spec: &Spec| -> Option<Bound> {
            // The natural key ("") is not a body field: it goes to the operation's key.
            let resolved = match path {
                "" => Ok((vec![], Kind::Str)),
                p => resolve(self.schema.fields, p),
            };
            let (segs, kind) = match resolved {
                Ok(r) => r,
                Err(e) => {
                    problems.push(e);
                    return None;
                }
            };
            let column = match &spec.source {
                Source::Column(name) => match find_column(headers, name) {
                    Some(i) => Some(i),
                    None => {
                        missing_columns.push(name.clone());
                        None
                    }
                },
                Source::Constant(_) => None,
            };
            Some(Bound {
                path: path.to_string(),
                segs,
                kind,
                column,
                spec: spec.clone(),
            })
        };
        let mut fields: Vec<Bound> = self.fields.iter().filter_map(|(p, s)| bind(p, s)).collect();
        let key = match (&self.key, self.schema.key) {
            (Some(spec), Some(_)) => bind("", spec),
            // Types keyed by source_ref take the key column as source_ref.
            (Some(spec), None) => {
                fields.extend(bind("source_ref", spec));
                None
            }
            (None, Some(name)) => {
                problems.push(format!(
                    "give the column of the {name} as \"key\" (a {} is keyed by it)",
                    self.schema.name
                ));
                None
            }
            (None, None) => None,
        };
        let mapped: Vec<&str> = fields.iter().map(|b| b.path.as_str()).collect();
        missing_required(self.schema.fields, "", &mapped, &mut problems);
        if !missing_columns.is_empty() {
            problems.push(format!(
                "the file has no column {}; its columns are {}",
                quoted(&missing_columns),
                quoted(headers)
            ));
        }
        if !problems.is_empty() {
            bail!("{}", problems.join("\n"));
        }
        Ok(Compiled {
            schema: self.schema,
            key,
            fields,
            headers: headers.to_vec(),
        })
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A column is found by exact name, else ignoring case and extra spaces.
fn find_column(headers: &[String], name: &str) -> Option<usize> {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    headers
        .iter()
        .position(|h| h == name)
        .or_else(|| headers.iter().position(|h| norm(h) == norm(name)))
}

fn spec(v: &Value, date_format: Option<&str>) -> anyhow::Result<Spec> {
    let mut out = Spec {
        source: Source::Constant(Value::Null),
        default: None,
        rules: Rules {
            date_format: date_format.map(str::to_string),
            ..Rules::default()
        },
    };
    let obj = match v {
        Value::String(column) => {
            out.source = Source::Column(column.clone());
            return Ok(out);
        }
        Value::Object(obj) => obj,
        _ => bail!("give a column header, or an object with \"column\" or \"value\""),
    };
    if let Some(k) = obj.keys().find(|k| !SPEC_KEYS.contains(&k.as_str())) {
        bail!("unknown key {k:?}; use {}", SPEC_KEYS.join(", "));
    }
    out.source = match (obj.get("column"), obj.get("value")) {
        (Some(Value::String(c)), None) => Source::Column(c.clone()),
        (None, Some(v)) => Source::Constant(v.clone()),
        _ => bail!("give exactly one of \"column\" (a header) and \"value\" (a constant)"),
    };
    out.default = obj.get("default").cloned();
    let text = |k: &str| -> anyhow::Result<Option<String>> {
        match obj.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(anyhow!("\"{k}\" is a text")),
        }
    };
    if let Some(f) = text("format")? {
        out.rules.date_format = Some(f);
    }
    out.rules.split = text("split")?;
    if let Some(m) = obj.get("map") {
        let m = m
            .as_object()
            .context("\"map\" is an object of \"from\": \"to\"")?;
        for (from, to) in m {
            let to = to.as_str().context("\"map\" values are texts")?;
            out.rules.map.push((from.clone(), to.to_string()));
        }
    }
    Ok(out)
}

/// Names required fields no mapping entry covers (inside objects that are mapped at all).
fn missing_required(fields: &[Field], prefix: &str, mapped: &[&str], out: &mut Vec<String>) {
    for f in fields {
        let p = if prefix.is_empty() {
            f.name.to_string()
        } else {
            format!("{prefix}.{}", f.name)
        };
        let exact = mapped.contains(&p.as_str());
        let under: Vec<&str> = mapped
            .iter()
            .copied()
            .filter(|m| m.starts_with(&format!("{p}.")) || m.starts_with(&format!("{p}[")))
            .collect();
        if !exact && under.is_empty() {
            if f.required {
                out.push(format!(
                    "{p} is required: map it to a column (\"{p}\": \"Header\") or a constant ({{\"value\": ...}})"
                ));
            }
            continue;
        }
        match f.kind {
            Kind::Obj(inner) if !exact => missing_required(inner, &p, mapped, out),
            Kind::ObjList(inner) if !exact => {
                let mut indices: Vec<&str> = under
                    .iter()
                    .filter_map(|m| m[p.len()..].strip_prefix('['))
                    .filter_map(|m| m.split(']').next())
                    .collect();
                indices.dedup();
                for i in indices {
                    missing_required(inner, &format!("{p}[{i}]"), mapped, out);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
