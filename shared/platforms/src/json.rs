//! Reading JSON payloads field by field, so that every error names the field (a dotted path
//! such as `data.object.start.dateTime`) and no input can panic.

use crate::Rejection;
use crate::when::{self, DateIs};
use access_sync_rules::{Email, Instant};
use serde_json::{Map, Value};

/// Parses a JSON body. The error names `body` and serde's reason.
pub(crate) fn parse_body(body: &[u8]) -> Result<Value, Rejection> {
    serde_json::from_slice(body).map_err(|e| Rejection::malformed("body", format!("not JSON: {e}")))
}

/// A JSON object and where it sits in the payload.
#[derive(Clone)]
pub(crate) struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

/// A field path below `parent`.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The id a JSON value carries: a non-empty string, an integer, or an object with `_id` or
/// `id` (platforms embed referenced records in some versions).
fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Value::Object(o) => o.get("_id").or_else(|| o.get("id")).and_then(id_of),
        _ => None,
    }
}

impl<'a> Obj<'a> {
    /// `v` as an object at `path`.
    pub(crate) fn new(v: &'a Value, path: impl Into<String>) -> Result<Obj<'a>, Rejection> {
        let path = path.into();
        match v {
            Value::Object(map) => Ok(Obj { map, path }),
            other => Err(Rejection::malformed(
                if path.is_empty() {
                    "body".to_string()
                } else {
                    path
                },
                format!("want an object, found {}", kind_of(other)),
            )),
        }
    }

    /// The path of `key` in this object.
    pub(crate) fn path(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// Whether the key is present at all (even as null).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The value, treating null as absent.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn missing(&self, key: &str) -> Rejection {
        Rejection::malformed(self.path(key), "missing")
    }

    fn wrong(&self, key: &str, want: &str, v: &Value) -> Rejection {
        Rejection::malformed(self.path(key), format!("want {want}, found {}", kind_of(v)))
    }

    /// A nested object, required.
    pub(crate) fn obj(&self, key: &str) -> Result<Obj<'a>, Rejection> {
        match self.get(key) {
            None => Err(self.missing(key)),
            Some(v) => Obj::new(v, self.path(key)),
        }
    }

    /// A nested object, optional.
    pub(crate) fn obj_opt(&self, key: &str) -> Result<Option<Obj<'a>>, Rejection> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => Obj::new(v, self.path(key)).map(Some),
        }
    }

    /// An optional string (null or absent: `None`; another type: an error).
    pub(crate) fn str_opt(&self, key: &str) -> Result<Option<&'a str>, Rejection> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(self.wrong(key, "a string", v)),
        }
    }

    /// A required, non-blank string.
    pub(crate) fn str(&self, key: &str) -> Result<&'a str, Rejection> {
        match self.str_opt(key)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(Rejection::malformed(self.path(key), "empty")),
            None => Err(self.missing(key)),
        }
    }

    /// An optional id: string, integer, or an embedded record with `_id`/`id`.
    pub(crate) fn id_opt(&self, key: &str) -> Result<Option<String>, Rejection> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => id_of(v)
                .map(Some)
                .ok_or_else(|| self.wrong(key, "an id (non-empty string or integer)", v)),
        }
    }

    /// A required id.
    pub(crate) fn id(&self, key: &str) -> Result<String, Rejection> {
        self.id_opt(key)?.ok_or_else(|| self.missing(key))
    }

    /// An optional boolean.
    pub(crate) fn bool_opt(&self, key: &str) -> Result<Option<bool>, Rejection> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong(key, "a boolean", v)),
        }
    }

    /// An optional integer (a JSON integer or a string of digits).
    pub(crate) fn int_opt(&self, key: &str) -> Result<Option<i64>, Rejection> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| Rejection::malformed(self.path(key), "want an integer")),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| Rejection::malformed(self.path(key), "want an integer")),
            Some(v) => Err(self.wrong(key, "an integer", v)),
        }
    }

    /// An optional instant (see [`crate::when`]).
    pub(crate) fn instant_opt(
        &self,
        key: &str,
        date_is: DateIs,
    ) -> Result<Option<Instant>, Rejection> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => when::parse(s, date_is).map(Some).ok_or_else(|| {
                Rejection::malformed(
                    self.path(key),
                    format!("bad instant {s:?} (want RFC 3339, e.g. 2026-12-07T10:00:00Z)"),
                )
            }),
            Some(Value::Number(n)) => n
                .as_i64()
                .and_then(when::from_unix)
                .map(Some)
                .ok_or_else(|| Rejection::malformed(self.path(key), "bad unix timestamp")),
            Some(v) => Err(self.wrong(key, "an instant", v)),
        }
    }

    /// A required instant.
    pub(crate) fn instant(&self, key: &str, date_is: DateIs) -> Result<Instant, Rejection> {
        self.instant_opt(key, date_is)?
            .ok_or_else(|| self.missing(key))
    }

    /// An optional array (null or absent: empty).
    pub(crate) fn array(&self, key: &str) -> Result<&'a [Value], Rejection> {
        match self.get(key) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a.as_slice()),
            Some(v) => Err(self.wrong(key, "an array", v)),
        }
    }

    /// An optional e-mail address (blank: `None`).
    pub(crate) fn email_opt(&self, key: &str) -> Result<Option<Email>, Rejection> {
        Ok(self.str_opt(key)?.and_then(Email::parse))
    }
}

/// How to name a value in a note: its id, else what kind of value it is.
pub(crate) fn id_or_kind(v: &Value) -> String {
    id_of(v).unwrap_or_else(|| kind_of(v).to_string())
}

/// The ids in an array of ids (or embedded records), each checked; `path` names the array.
pub(crate) fn ids_in(values: &[Value], path: &str) -> Result<Vec<String>, Rejection> {
    let mut out: Vec<String> = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let id = id_of(v).ok_or_else(|| {
            Rejection::malformed(
                format!("{path}[{i}]"),
                format!("want an id, found {}", kind_of(v)),
            )
        })?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}
