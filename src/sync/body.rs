//! A mapping bound to one file's header, applied row by row: cells become
//! values at field paths (`worker.passport_no`, `positions[0].code`), the body
//! is checked against the type's shape, and problems name the column.

use serde_json::{Map, Value};

use super::convert::convert;
use super::mapping::{Source, Spec};
use super::read::Row;
use super::schema::{self, Field, Kind, RecordSchema};
use super::{Failure, Op};

/// One step of a field path: `worker`, `positions[0]`.
#[derive(Debug, Clone)]
pub(super) enum Seg {
    Key(String),
    Index(usize),
}

/// Follows `path` through the type's fields to the kind of value it names.
pub(super) fn resolve(fields: &'static [Field], path: &str) -> Result<(Vec<Seg>, Kind), String> {
    let unknown = |why: &str| format!("field {path:?}: {why}");
    let mut segs = vec![];
    let mut current = fields;
    let parts: Vec<&str> = path.split('.').collect();
    let mut kind = None;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => {
                let idx = rest
                    .strip_suffix(']')
                    .and_then(|x| x.parse::<usize>().ok())
                    .ok_or_else(|| unknown("write an index as name[0]"))?;
                (n, Some(idx))
            }
            None => (*part, None),
        };
        let f = current.iter().find(|f| f.name == name).ok_or_else(|| {
            let known: Vec<&str> = current.iter().map(|f| f.name).collect();
            unknown(&format!(
                "no field {name:?} here; known: {}",
                known.join(", ")
            ))
        })?;
        segs.push(Seg::Key(name.to_string()));
        let k = match (f.kind, index) {
            (k, None) => k,
            (Kind::StrList, Some(n)) => {
                segs.push(Seg::Index(n));
                Kind::Str
            }
            (Kind::ObjList(inner), Some(n)) => {
                segs.push(Seg::Index(n));
                Kind::Obj(inner)
            }
            _ => return Err(unknown(&format!("{name} is not a list"))),
        };
        match k {
            Kind::Obj(inner) if !last => current = inner,
            _ if !last => return Err(unknown(&format!("{name} has no fields"))),
            _ => kind = Some(k),
        }
    }
    kind.map(|k| (segs, k)).ok_or_else(|| unknown("empty path"))
}

/// A field bound to a column of the file.
#[derive(Debug)]
pub(super) struct Bound {
    /// Body path (`source_ref` also when given as the key).
    pub path: String,
    /// The path, resolved.
    pub segs: Vec<Seg>,
    /// What the field takes.
    pub kind: Kind,
    /// Index of the column in the header (constants have none).
    pub column: Option<usize>,
    /// Where the value comes from and how to read it.
    pub spec: Spec,
}

/// A mapping bound to one file's header.
#[derive(Debug)]
pub struct Compiled {
    pub(super) schema: &'static RecordSchema,
    pub(super) key: Option<Bound>,
    pub(super) fields: Vec<Bound>,
    pub(super) headers: Vec<String>,
}

impl Compiled {
    /// The record type's code.
    pub fn type_name(&self) -> &'static str {
        self.schema.name
    }

    /// The header of the column that gives `field` (a body path, or `key`).
    pub fn column_of(&self, field: &str) -> Option<String> {
        let is_key = field == "key" || Some(field) == self.schema.key;
        let bound = if is_key {
            self.key.as_ref()
        } else {
            self.fields.iter().find(|b| b.path == field)
        };
        bound
            .and_then(|b| b.column)
            .map(|i| self.headers[i].clone())
    }

    /// Builds the operation for one row, or says what is wrong with it.
    pub fn op(&self, row: &Row) -> Result<Op, Vec<Failure>> {
        let mut failures = vec![];
        let mut body = Value::Object(Map::new());
        let mut fail = |b: &Bound, field: &str, (code, message): (&str, String)| {
            failures.push(Failure {
                line: row.line,
                field: field.to_string(),
                column: b.column.map(|i| self.headers[i].clone()),
                code: code.to_string(),
                message,
            });
        };
        let mut key = None;
        if let Some(k) = &self.key {
            let name = self.schema.key.unwrap_or("key");
            match self.value(k, row, super::schema::Kind::Str) {
                Ok(Some(Value::String(s))) => key = Some(s),
                Ok(_) => fail(k, name, ("required", format!("the {name} is empty"))),
                Err(e) => fail(k, name, e),
            }
        }
        let mut bad_fields = vec![];
        for b in &self.fields {
            match self.value(b, row, b.kind) {
                Ok(Some(v)) => set(&mut body, &b.segs, v),
                Ok(None) => {}
                Err(e) => {
                    bad_fields.push(b.path.clone());
                    fail(b, &b.path, e);
                }
            }
        }
        compact(&mut body);
        let mut issues = vec![];
        schema::check(self.schema.fields, &body, "", &mut issues);
        for i in issues {
            if bad_fields.contains(&i.field) {
                continue;
            }
            failures.push(Failure {
                line: row.line,
                column: self.column_of(&i.field),
                field: i.field,
                code: i.code.to_string(),
                message: i.message,
            });
        }
        if !failures.is_empty() {
            return Err(failures);
        }
        Ok(Op {
            line: row.line,
            type_: self.schema.name,
            key,
            body,
            if_match: None,
        })
    }

    fn value(
        &self,
        b: &Bound,
        row: &Row,
        kind: Kind,
    ) -> Result<Option<Value>, (&'static str, String)> {
        let v = match (&b.spec.source, b.column) {
            (Source::Constant(v), _) => Some(v.clone()),
            (Source::Column(_), Some(i)) => convert(&row.cells[i], kind, &b.spec.rules)?,
            (Source::Column(_), None) => None,
        };
        Ok(v.or_else(|| b.spec.default.clone()))
    }
}

/// Sets `v` at `segs` inside `root`, creating objects and lists on the way.
fn set(root: &mut Value, segs: &[Seg], v: Value) {
    let Some((last, init)) = segs.split_last() else {
        return;
    };
    let mut cur = root;
    for (i, seg) in init.iter().enumerate() {
        let next_is_index = matches!(segs[i + 1], Seg::Index(_));
        let empty = || {
            if next_is_index {
                Value::Array(vec![])
            } else {
                Value::Object(Map::new())
            }
        };
        cur = match seg {
            Seg::Key(k) => match cur {
                Value::Object(m) => m.entry(k.clone()).or_insert_with(empty),
                _ => return,
            },
            Seg::Index(n) => match cur {
                Value::Array(a) => {
                    if a.len() <= *n {
                        a.resize(n + 1, Value::Null);
                    }
                    if a[*n].is_null() {
                        a[*n] = empty();
                    }
                    &mut a[*n]
                }
                _ => return,
            },
        };
    }
    match (last, cur) {
        (Seg::Key(k), Value::Object(m)) => {
            m.insert(k.clone(), v);
        }
        (Seg::Index(n), Value::Array(a)) => {
            if a.len() <= *n {
                a.resize(n + 1, Value::Null);
            }
            a[*n] = v;
        }
        _ => {}
    }
}

/// Drops the gaps left in lists by empty cells (`kbli[1]` empty, `kbli[2]` set).
fn compact(v: &mut Value) {
    match v {
        Value::Array(a) => {
            a.retain(|x| !x.is_null());
            a.iter_mut().for_each(compact);
        }
        Value::Object(m) => m.values_mut().for_each(compact),
        _ => {}
    }
}
