//! The optional `context` of a pixel: the working context of the second seed (phase, tasks,
//! dependencies, variables, recent outputs, notes, agent tier), with its schema checks.

use crate::error::{Error, Result};
use crate::json::Value;

/// Keys a `context` object may hold; any other key is a schema violation.
pub const CONTEXT_KEYS: &[&str] = &[
    "activeTaskId",
    "agentTier",
    "dependencies",
    "notes",
    "phase",
    "phasesCompleted",
    "recentOutputs",
    "tasks",
    "variables",
];

/// What the context checks read from a JSON value: implemented by the parsed [`Value`] and by
/// [`Raw`], a borrowed view of canonical text that allocates no strings (the fast path of
/// verification; on any failure the [`Value`] path runs again for the exact error).
pub(crate) trait View: Sized {
    fn is_null(&self) -> bool;
    fn is_string(&self) -> bool;
    /// The string's text, compared for equality only (canonical text is unique per value).
    fn string_key(&self) -> Option<&str>;
    fn number(&self) -> Option<f64>;
    fn items(&self) -> Option<&[Self]>;
    fn is_object(&self) -> bool;
    fn member(&self, key: &str) -> Option<&Self>;
    fn members(&self) -> Vec<(&str, &Self)>;
    fn describe(&self) -> String;
}

impl View for Value {
    fn is_null(&self) -> bool {
        Value::is_null(self)
    }
    fn is_string(&self) -> bool {
        self.as_str().is_some()
    }
    fn string_key(&self) -> Option<&str> {
        self.as_str()
    }
    fn number(&self) -> Option<f64> {
        self.as_f64()
    }
    fn items(&self) -> Option<&[Value]> {
        self.as_array()
    }
    fn is_object(&self) -> bool {
        self.as_object().is_some()
    }
    fn member(&self, key: &str) -> Option<&Value> {
        self.as_object()?.get(key)
    }
    fn members(&self) -> Vec<(&str, &Value)> {
        self.as_object()
            .map(|m| m.iter().collect())
            .unwrap_or_default()
    }
    fn describe(&self) -> String {
        describe(self)
    }
}

/// A borrowed view of canonical JSON text: strings and numbers stay slices of the text.
#[derive(Debug)]
pub(crate) enum Raw<'a> {
    Null,
    Bool,
    Number(&'a str),
    String(&'a str),
    Array(Vec<Raw<'a>>),
    Object(Vec<(&'a str, Raw<'a>)>),
}

impl<'a> Raw<'a> {
    /// Reads canonical JSON text (a line that passed the canonical-form check); `None` for
    /// anything else, which sends the caller to the full parser.
    pub(crate) fn read(text: &'a str) -> Option<Raw<'a>> {
        let mut pos = 0;
        let v = Self::value(text.as_bytes(), text, &mut pos, 0)?;
        (pos == text.len()).then_some(v)
    }

    fn value(b: &[u8], text: &'a str, pos: &mut usize, depth: usize) -> Option<Raw<'a>> {
        if depth > crate::json::MAX_DEPTH {
            return None;
        }
        match *b.get(*pos)? {
            b'n' => Self::literal(b, pos, b"null").then_some(Raw::Null),
            b't' => Self::literal(b, pos, b"true").then_some(Raw::Bool),
            b'f' => Self::literal(b, pos, b"false").then_some(Raw::Bool),
            b'"' => Self::string(b, text, pos).map(Raw::String),
            b'[' => {
                *pos += 1;
                let mut items = Vec::new();
                if b.get(*pos) == Some(&b']') {
                    *pos += 1;
                    return Some(Raw::Array(items));
                }
                loop {
                    items.push(Self::value(b, text, pos, depth + 1)?);
                    match *b.get(*pos)? {
                        b',' => *pos += 1,
                        b']' => {
                            *pos += 1;
                            return Some(Raw::Array(items));
                        }
                        _ => return None,
                    }
                }
            }
            b'{' => {
                *pos += 1;
                let mut members = Vec::new();
                if b.get(*pos) == Some(&b'}') {
                    *pos += 1;
                    return Some(Raw::Object(members));
                }
                loop {
                    let key = Self::string(b, text, pos)?;
                    if b.get(*pos) != Some(&b':') {
                        return None;
                    }
                    *pos += 1;
                    members.push((key, Self::value(b, text, pos, depth + 1)?));
                    match *b.get(*pos)? {
                        b',' => *pos += 1,
                        b'}' => {
                            *pos += 1;
                            return Some(Raw::Object(members));
                        }
                        _ => return None,
                    }
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = *pos;
                while b
                    .get(*pos)
                    .is_some_and(|c| matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                {
                    *pos += 1;
                }
                Some(Raw::Number(&text[start..*pos]))
            }
            _ => None,
        }
    }

    fn literal(b: &[u8], pos: &mut usize, word: &[u8]) -> bool {
        let ok = b.get(*pos..*pos + word.len()) == Some(word);
        *pos += word.len();
        ok
    }

    /// The text between the quotes, escapes left as they are.
    fn string(b: &[u8], text: &'a str, pos: &mut usize) -> Option<&'a str> {
        if b.get(*pos) != Some(&b'"') {
            return None;
        }
        let start = *pos + 1;
        let mut i = start;
        loop {
            i = crate::canonical::skip_plain(b, i);
            match *b.get(i)? {
                b'"' => break,
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        *pos = i + 1;
        text.get(start..i)
    }
}

impl View for Raw<'_> {
    fn is_null(&self) -> bool {
        matches!(self, Raw::Null)
    }
    fn is_string(&self) -> bool {
        matches!(self, Raw::String(_))
    }
    fn string_key(&self) -> Option<&str> {
        match self {
            Raw::String(s) => Some(s),
            _ => None,
        }
    }
    fn number(&self) -> Option<f64> {
        match self {
            Raw::Number(n) => n.parse().ok(),
            _ => None,
        }
    }
    fn items(&self) -> Option<&[Self]> {
        match self {
            Raw::Array(a) => Some(a),
            _ => None,
        }
    }
    fn is_object(&self) -> bool {
        matches!(self, Raw::Object(_))
    }
    fn member(&self, key: &str) -> Option<&Self> {
        match self {
            Raw::Object(m) => m.iter().find(|(k, _)| *k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn members(&self) -> Vec<(&str, &Self)> {
        match self {
            Raw::Object(m) => m.iter().map(|(k, v)| (*k, v)).collect(),
            _ => Vec::new(),
        }
    }
    fn describe(&self) -> String {
        String::new() // only the Value path's messages are shown
    }
}

/// The JSON type a field must have.
#[derive(Clone, Copy)]
enum Kind {
    String,
    OptString,
    NonNegInt,
    OptNonNegInt,
    StringArray,
}

/// Whether `v` has the kind (no allocation: the success path of every pixel runs it).
fn has_kind<V: View>(v: &V, kind: Kind) -> bool {
    match kind {
        Kind::String => v.is_string(),
        Kind::OptString => v.is_null() || v.is_string(),
        Kind::NonNegInt => is_non_neg_int(v),
        Kind::OptNonNegInt => v.is_null() || is_non_neg_int(v),
        Kind::StringArray => v.items().is_some_and(|a| a.iter().all(View::is_string)),
    }
}

fn check_kind<V: View>(v: &V, kind: Kind, path: impl FnOnce() -> String) -> Result<()> {
    if has_kind(v, kind) {
        return Ok(());
    }
    let want = match kind {
        Kind::String => "a string",
        Kind::OptString => "a string or null",
        Kind::NonNegInt => "a non-negative integer",
        Kind::OptNonNegInt => "a non-negative integer or null",
        Kind::StringArray => "an array of strings",
    };
    Err(Error::schema(
        path(),
        format!("must be {want}, got {}", v.describe()),
    ))
}

pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Number(n) => format!("number {}", n.get()),
        other => other.type_name().to_owned(),
    }
}

/// A whole number in 0 ..= 2^53 - 1, the same range as the pixel's integer fields.
fn is_non_neg_int<V: View>(v: &V) -> bool {
    v.number()
        .is_some_and(|f| f >= 0.0 && f.fract() == 0.0 && f <= crate::pixel::MAX_SAFE_INTEGER as f64)
}

/// Checks an open object (list items, `phase`): `required` keys must be present, the listed
/// keys must have their kinds, other keys may hold any JSON.
fn check_item<V: View>(
    v: &V,
    path: &dyn Fn() -> String,
    required: &[&str],
    fields: &[(&str, Kind)],
) -> Result<()> {
    if !v.is_object() {
        return Err(Error::schema(
            path(),
            format!("must be an object, got {}", v.describe()),
        ));
    }
    for key in required {
        if v.member(key).is_none() {
            return Err(Error::schema(
                path(),
                format!("missing required key {key:?}"),
            ));
        }
    }
    for (key, kind) in fields {
        if let Some(x) = v.member(key) {
            check_kind(x, *kind, || format!("{}.{key}", path()))?;
        }
    }
    Ok(())
}

/// Checks that items of a list are objects with a unique string `key`.
fn check_list<V: View>(
    v: &V,
    path: &str,
    id_key: &str,
    required: &[&str],
    fields: &[(&str, Kind)],
) -> Result<()> {
    let items = v
        .items()
        .ok_or_else(|| Error::schema(path, format!("must be an array, got {}", v.describe())))?;
    let mut seen: Vec<&str> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_path = || format!("{path}[{i}]");
        check_item(item, &item_path, required, fields)?;
        let id = item.member(id_key).and_then(View::string_key).unwrap_or("");
        if seen.contains(&id) {
            return Err(Error::schema(
                format!("{}.{id_key}", item_path()),
                format!("duplicate {id_key} {id:?}"),
            ));
        }
        seen.push(id);
    }
    Ok(())
}

/// Validates a pixel's `context`: `null`, or an object with only the documented keys.
pub fn validate_context(v: &Value) -> Result<()> {
    check_context(v)
}

/// The context checks of a stored line's canonical `context` text: the borrowed fast path,
/// and on any failure the full parse, so the error is exactly [`validate_context`]'s.
pub(crate) fn validate_context_text(text: &str) -> Result<()> {
    if let Some(raw) = Raw::read(text) {
        if check_context(&raw).is_ok() {
            return Ok(());
        }
    }
    validate_context(&crate::json::parse(text)?)
}

fn check_context<V: View>(v: &V) -> Result<()> {
    const P: &str = "$.context";
    if v.is_null() {
        return Ok(());
    }
    if !v.is_object() {
        return Err(Error::schema(
            P,
            format!("must be an object or null, got {}", v.describe()),
        ));
    }
    let members = v.members();
    for (key, _) in &members {
        if !CONTEXT_KEYS.contains(key) {
            return Err(Error::schema(
                format!("{P}.{key}"),
                format!("unknown context key (allowed: {})", CONTEXT_KEYS.join(", ")),
            ));
        }
    }
    for (key, x) in members {
        let path = || format!("{P}.{key}");
        match key {
            "phase" if !x.is_null() => check_item(
                x,
                &path,
                &["name"],
                &[
                    ("name", Kind::String),
                    ("number", Kind::NonNegInt),
                    ("status", Kind::String),
                    ("startedAt", Kind::OptString),
                    ("notes", Kind::OptString),
                ],
            )?,
            "phasesCompleted" => {
                let ok = x.items().is_some_and(|a| a.iter().all(is_non_neg_int));
                if !ok {
                    return Err(Error::schema(
                        path(),
                        "must be an array of non-negative integers",
                    ));
                }
            }
            "tasks" => check_list(
                x,
                &path(),
                "id",
                &["id", "status"],
                &[
                    ("id", Kind::String),
                    ("subject", Kind::String),
                    ("status", Kind::String),
                    ("owner", Kind::OptString),
                    ("blocks", Kind::StringArray),
                    ("blockedBy", Kind::StringArray),
                ],
            )?,
            "dependencies" => check_list(
                x,
                &path(),
                "name",
                &["name", "status"],
                &[
                    ("name", Kind::String),
                    ("type", Kind::String),
                    ("status", Kind::String),
                    ("endpoint", Kind::OptString),
                    ("lastChecked", Kind::OptString),
                ],
            )?,
            "variables" if !x.is_object() => {
                return Err(Error::schema(
                    path(),
                    format!("must be an object, got {}", x.describe()),
                ));
            }
            "recentOutputs" => {
                let ok = x.items().is_some_and(|a| a.iter().all(View::is_object));
                if !ok {
                    return Err(Error::schema(path(), "must be an array of objects"));
                }
            }
            "activeTaskId" | "notes" => check_kind(x, Kind::OptString, path)?,
            "agentTier" => check_kind(x, Kind::OptNonNegInt, path)?,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    /// The borrowed fast path accepts exactly what the full path accepts.
    #[test]
    fn raw_and_value_paths_agree() {
        let cases = [
            "null",
            "{}",
            "[]",
            "1",
            r#"{"phase":null}"#,
            r#"{"phase":{"name":"p"}}"#,
            r#"{"phase":{"name":1}}"#,
            r#"{"phase":{"number":1}}"#,
            r#"{"phase":{"name":"p","number":-1}}"#,
            r#"{"phase":{"name":"p","number":1.5}}"#,
            r#"{"phase":{"name":"p","number":9007199254740991}}"#,
            r#"{"phase":{"name":"p","number":9007199254740992}}"#,
            r#"{"phase":{"name":"p","startedAt":null,"x":[1,{"y":"\u0000"}]}}"#,
            r#"{"phasesCompleted":[1,2,3]}"#,
            r#"{"phasesCompleted":[1,-2]}"#,
            r#"{"phasesCompleted":"x"}"#,
            r#"{"tasks":[{"id":"a","status":"s"},{"id":"b","status":"s"}]}"#,
            r#"{"tasks":[{"id":"a","status":"s"},{"id":"a","status":"t"}]}"#,
            r#"{"tasks":[{"id":"a\"b","status":"s"},{"id":"a\"b","status":"t"}]}"#,
            r#"{"tasks":[{"id":"a","status":"s","blocks":["x",1]}]}"#,
            r#"{"tasks":[{"id":"a","status":"s","blocks":["x"],"owner":null}]}"#,
            r#"{"tasks":[{"id":"a"}]}"#,
            r#"{"tasks":{}}"#,
            r#"{"dependencies":[{"name":"db","status":"up","endpoint":null}]}"#,
            r#"{"dependencies":[{"name":"db","status":"up","type":3}]}"#,
            r#"{"variables":{"a":[1,2,{"b":null}]}}"#,
            r#"{"variables":[]}"#,
            r#"{"recentOutputs":[{},{"a":1}]}"#,
            r#"{"recentOutputs":[{},1]}"#,
            r#"{"activeTaskId":null,"agentTier":3,"notes":"n"}"#,
            r#"{"agentTier":-1}"#,
            r#"{"agentTier":"3"}"#,
            r#"{"notes":false}"#,
            r#"{"unknown":1}"#,
            r#"{"activeTaskId":"a","z":1}"#,
        ];
        for text in cases {
            let value = parse(text).unwrap();
            let canonical = crate::canonical::to_canonical(&value);
            let raw = Raw::read(&canonical).expect(text);
            assert_eq!(
                check_context(&raw).is_ok(),
                validate_context(&value).is_ok(),
                "{text}"
            );
            assert_eq!(
                validate_context_text(&canonical).map_err(|e| e.to_string()),
                validate_context(&value).map_err(|e| e.to_string()),
                "{text}"
            );
        }
    }

    fn check(text: &str) -> Result<()> {
        validate_context(&parse(text).unwrap())
    }

    #[test]
    fn accepts_the_seed_context() {
        check(
            r#"{"phase":{"name":"Phase 5: Agent Bootstrapping","number":5,"status":"in_progress",
            "startedAt":"2026-01-23T10:00:00+00:00","notes":"Working on checkpoint skill"},
            "phasesCompleted":[1,2,3,4],
            "tasks":[{"id":"1","subject":"Create checkpoint module","status":"completed","owner":null,"blocks":[],"blockedBy":[]}],
            "activeTaskId":"2",
            "dependencies":[{"name":"vault","type":"service","status":"available","endpoint":"https://127.0.0.1:8200","lastChecked":"2026-01-23T12:00:00+00:00"}],
            "variables":{"custom_key":"custom_value"},
            "recentOutputs":[{"type":"evidence","id":"evd-1","action":"terraform","success":true}],
            "notes":"Starting task X","agentTier":1}"#,
        )
        .unwrap();
        check("null").unwrap();
        check("{}").unwrap();
    }

    #[test]
    fn names_the_path_of_a_violation() {
        let cases = [
            (r#"{"bogus":1}"#, "$.context.bogus"),
            (r#"{"tasks":[{"id":"1"}]}"#, "$.context.tasks[0]"),
            (
                r#"{"tasks":[{"id":"1","status":"x"},{"id":"1","status":"y"}]}"#,
                "$.context.tasks[1].id",
            ),
            (
                r#"{"tasks":[{"id":"1","status":"x","blocks":[1]}]}"#,
                "$.context.tasks[0].blocks",
            ),
            (r#"{"agentTier":-1}"#, "$.context.agentTier"),
            (r#"{"phasesCompleted":[1.5]}"#, "$.context.phasesCompleted"),
            (r#"{"variables":[]}"#, "$.context.variables"),
            (r#"{"phase":{"number":1}}"#, "$.context.phase"),
            ("[]", "$.context"),
        ];
        for (text, want) in cases {
            match check(text).unwrap_err() {
                Error::SchemaViolation { path, .. } => assert_eq!(path, want, "{text}"),
                e => panic!("{e:?}"),
            }
        }
    }
}
