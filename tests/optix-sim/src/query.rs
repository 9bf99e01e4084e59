//! Just enough GraphQL to read the documents access-sync's client sends: one operation whose
//! top-level selections are `alias: field(arg: value, …) { … }` (aliases and arguments
//! optional). Argument values: integers, strings, booleans, enums, lists and objects. The
//! selection sets below the root are not read: the simulator answers whole records (a real
//! server would trim them to the selection; a client reading only what it selected cannot
//! tell the difference).

use serde_json::{Map, Value};

/// One root field of the operation.
#[derive(Debug, Clone, PartialEq)]
pub struct RootField {
    /// The alias, or the field's name when there is none.
    pub key: String,
    /// The field's name.
    pub name: String,
    /// Its arguments (enums as strings).
    pub args: Map<String, Value>,
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_whitespace() || self.s[self.i] == b',')
        {
            self.i += 1;
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at {}", c as char, self.i))
        }
    }
    fn name(&mut self) -> Result<String, String> {
        self.ws();
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
        {
            self.i += 1;
        }
        if start == self.i {
            return Err(format!("expected a name at {}", self.i));
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }
    fn value(&mut self) -> Result<Value, String> {
        match self.peek().ok_or("unexpected end")? {
            b'"' => {
                self.i += 1;
                let start = self.i;
                while self.i < self.s.len() && self.s[self.i] != b'"' {
                    if self.s[self.i] == b'\\' {
                        self.i += 1;
                    }
                    self.i += 1;
                }
                let raw = format!("\"{}\"", String::from_utf8_lossy(&self.s[start..self.i]));
                self.i += 1;
                serde_json::from_str(&raw).map_err(|e| e.to_string())
            }
            b'[' => {
                self.i += 1;
                let mut v = Vec::new();
                while self.peek() != Some(b']') {
                    v.push(self.value()?);
                }
                self.i += 1;
                Ok(Value::Array(v))
            }
            b'{' => {
                self.i += 1;
                let mut m = Map::new();
                while self.peek() != Some(b'}') {
                    let k = self.name()?;
                    self.eat(b':')?;
                    m.insert(k, self.value()?);
                }
                self.i += 1;
                Ok(Value::Object(m))
            }
            c if c == b'-' || c.is_ascii_digit() => {
                let start = self.i;
                self.i += 1;
                while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                    self.i += 1;
                }
                let t = String::from_utf8_lossy(&self.s[start..self.i]);
                t.parse::<i64>().map(Value::from).map_err(|e| e.to_string())
            }
            _ => {
                let n = self.name()?;
                Ok(match n.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    _ => Value::String(n),
                })
            }
        }
    }
    fn skip_selection(&mut self) -> Result<(), String> {
        self.eat(b'{')?;
        let mut depth = 1;
        while depth > 0 {
            let c = *self.s.get(self.i).ok_or("unbalanced braces")?;
            if c == b'{' {
                depth += 1;
            } else if c == b'}' {
                depth -= 1;
            }
            self.i += 1;
        }
        Ok(())
    }
}

/// The root fields of a document (`query { … }`, `query Name { … }` or `{ … }`).
///
/// # Errors
/// What could not be read, GraphQL-style.
pub fn root_fields(doc: &str) -> Result<Vec<RootField>, String> {
    let open = doc.find('{').ok_or("no selection set")?;
    let mut p = P {
        s: doc.as_bytes(),
        i: open + 1,
    };
    let mut out = Vec::new();
    while p.peek().ok_or("unbalanced braces")? != b'}' {
        let first = p.name()?;
        let (key, name) = if p.peek() == Some(b':') {
            p.i += 1;
            (first, p.name()?)
        } else {
            (first.clone(), first)
        };
        let mut args = Map::new();
        if p.peek() == Some(b'(') {
            p.i += 1;
            while p.peek() != Some(b')') {
                let k = p.name()?;
                p.eat(b':')?;
                args.insert(k, p.value()?);
            }
            p.i += 1;
        }
        if p.peek() == Some(b'{') {
            p.skip_selection()?;
        }
        out.push(RootField { key, name, args });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_aliases_and_arguments() {
        let f = root_fields(
            r#"query { a: users(limit: 100, page: 2, include_deleted: true) { total data { user_id teams { team_id } } }
               b: accountPlans(status: [ACTIVE, UPCOMING]) { total } me { authType } booking(booking_id: "8") { booking_id } }"#,
        )
        .unwrap();
        assert_eq!(f.len(), 4);
        assert_eq!((f[0].key.as_str(), f[0].name.as_str()), ("a", "users"));
        assert_eq!(f[0].args["page"], 2);
        assert_eq!(
            f[1].args["status"],
            serde_json::json!(["ACTIVE", "UPCOMING"])
        );
        assert_eq!(f[2].name, "me");
        assert_eq!(f[3].args["booking_id"], "8");
        assert!(root_fields("query { a: users(limit: ").is_err());
    }
}
