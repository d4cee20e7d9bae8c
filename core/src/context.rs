//! The optional `context` of a pixel: the working context of the second seed (phase, tasks,
//! dependencies, variables, recent outputs, notes, agent tier), with its schema checks.

use crate::canonical::Brackets;
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

/// What the context checks read from a JSON value, by copyable handle: implemented by the
/// parsed [`Value`] and by [`Lazy`], canonical text read in place without building a tree or
/// allocating (the fast path of verification; on any failure the [`Value`] path runs again
/// for the exact error).
pub(crate) trait View<'a>: Copy {
    fn is_null(self) -> bool;
    fn is_string(self) -> bool;
    /// The string's text, compared for equality only (canonical text is unique per value).
    fn string_key(self) -> Option<&'a str>;
    fn number(self) -> Option<f64>;
    fn is_object(self) -> bool;
    /// Calls `f` on each item in order, stopping at the first error; `None` for a non-array.
    fn try_items<E>(self, f: impl FnMut(usize, Self) -> Result<(), E>) -> Option<Result<(), E>>;
    /// Calls `f` on each member in key order, stopping at the first error; `Ok` for a
    /// non-object.
    fn try_members<E>(self, f: impl FnMut(&'a str, Self) -> Result<(), E>) -> Result<(), E>;
    fn describe(self) -> String;

    /// Whether every item satisfies `f`; `false` for a non-array.
    fn all_items(self, mut f: impl FnMut(Self) -> bool) -> bool {
        self.try_items(|_, x| if f(x) { Ok(()) } else { Err(()) }) == Some(Ok(()))
    }
}

impl<'a> View<'a> for &'a Value {
    fn is_null(self) -> bool {
        Value::is_null(self)
    }
    fn is_string(self) -> bool {
        self.as_str().is_some()
    }
    fn string_key(self) -> Option<&'a str> {
        self.as_str()
    }
    fn number(self) -> Option<f64> {
        self.as_f64()
    }
    fn is_object(self) -> bool {
        self.as_object().is_some()
    }
    fn try_items<E>(
        self,
        mut f: impl FnMut(usize, Self) -> Result<(), E>,
    ) -> Option<Result<(), E>> {
        let items = self.as_array()?;
        Some(items.iter().enumerate().try_for_each(|(i, x)| f(i, x)))
    }
    fn try_members<E>(self, mut f: impl FnMut(&'a str, Self) -> Result<(), E>) -> Result<(), E> {
        match self.as_object() {
            Some(m) => m.iter().try_for_each(|(k, v)| f(k, v)),
            None => Ok(()),
        }
    }
    fn describe(self) -> String {
        describe(self)
    }
}

/// One value's canonical text, read in place (strings and numbers stay slices; containers
/// are walked when asked, never built). Only for text that passed the canonical-form check;
/// anything else reads as not valid, which sends the caller to the full parser.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lazy<'a> {
    /// The whole text the value is part of.
    all: &'a str,
    /// Every container's brackets in the order they open, as offsets in a text in which `all`
    /// starts at `base` (the canonical scan of a line records them; see [`brackets`]).
    brackets: &'a [Brackets],
    base: usize,
    start: usize,
    end: usize,
}

impl<'a> Lazy<'a> {
    fn text(self) -> &'a [u8] {
        &self.all.as_bytes()[self.start..self.end]
    }

    fn first(self) -> u8 {
        self.text().first().copied().unwrap_or(0)
    }

    /// The end (exclusive) of the value starting at `pos`: strings and containers are
    /// skipped whole (containers by their matching close), scalars run to the next delimiter.
    fn value_end(self, pos: usize) -> Option<usize> {
        let b = self.all.as_bytes();
        match *b.get(pos)? {
            b'"' => string_end(b, pos),
            b'{' | b'[' => {
                let at = u32::try_from(pos + self.base).ok()?;
                let i = self.brackets.binary_search_by_key(&at, |b| b.0).ok()?;
                let close = (self.brackets[i].1 as usize).checked_sub(self.base)?;
                Some(close + 1).filter(|&e| e > pos + 1)
            }
            _ => {
                let mut i = pos;
                while b.get(i).is_some_and(|c| !matches!(c, b',' | b']' | b'}')) {
                    i += 1;
                }
                (i > pos).then_some(i)
            }
        }
    }

    /// Walks the entries of a container opened by `open`: each entry's key (objects) and
    /// value; `Err(None)` when the text is not what canonical form allows.
    fn entries<E>(
        self,
        open: u8,
        keyed: bool,
        mut f: impl FnMut(&'a str, Lazy<'a>) -> Result<(), E>,
    ) -> Result<(), Option<E>> {
        let b = self.all.as_bytes();
        if self.first() != open {
            return Err(None);
        }
        let close = if open == b'{' { b'}' } else { b']' };
        let mut pos = self.start + 1;
        if b.get(pos) == Some(&close) && pos + 1 == self.end {
            return Ok(());
        }
        loop {
            let mut key = "";
            if keyed {
                let end = string_end(b, pos).ok_or(None)?;
                key = self.all.get(pos + 1..end - 1).ok_or(None)?;
                if b.get(end) != Some(&b':') {
                    return Err(None);
                }
                pos = end + 1;
            }
            let end = self.value_end(pos).filter(|&e| e < self.end).ok_or(None)?;
            f(
                key,
                Lazy {
                    start: pos,
                    end,
                    ..self
                },
            )
            .map_err(Some)?;
            match b.get(end) {
                Some(b',') => pos = end + 1,
                Some(&c) if c == close && end + 1 == self.end => return Ok(()),
                _ => return Err(None),
            }
        }
    }
}

/// The end (exclusive) of the string starting at `pos` (its opening quote).
fn string_end(b: &[u8], pos: usize) -> Option<usize> {
    if b.get(pos) != Some(&b'"') {
        return None;
    }
    let mut i = pos + 1;
    loop {
        i = crate::canonical::skip_plain(b, i);
        match *b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

impl<'a> View<'a> for Lazy<'a> {
    fn is_null(self) -> bool {
        self.text() == b"null"
    }
    fn is_string(self) -> bool {
        self.first() == b'"'
    }
    fn string_key(self) -> Option<&'a str> {
        if !self.is_string() {
            return None;
        }
        self.all.get(self.start + 1..self.end.checked_sub(1)?)
    }
    fn number(self) -> Option<f64> {
        match self.first() {
            b'-' | b'0'..=b'9' => self.all.get(self.start..self.end)?.parse().ok(),
            _ => None,
        }
    }
    fn is_object(self) -> bool {
        self.first() == b'{'
    }
    fn try_items<E>(
        self,
        mut f: impl FnMut(usize, Self) -> Result<(), E>,
    ) -> Option<Result<(), E>> {
        if self.first() != b'[' {
            return None;
        }
        let mut i = 0;
        match self.entries(b'[', false, |_, x| {
            let r = f(i, x);
            i += 1;
            r
        }) {
            Ok(()) => Some(Ok(())),
            Err(Some(e)) => Some(Err(e)),
            // Not canonical text: report "not an array", so the full parser decides.
            Err(None) => None,
        }
    }
    fn try_members<E>(self, f: impl FnMut(&'a str, Self) -> Result<(), E>) -> Result<(), E> {
        match self.entries(b'{', true, f) {
            Ok(()) | Err(None) => Ok(()),
            Err(Some(e)) => Err(e),
        }
    }
    fn describe(self) -> String {
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
fn has_kind<'a, V: View<'a>>(v: V, kind: Kind) -> bool {
    match kind {
        Kind::String => v.is_string(),
        Kind::OptString => v.is_null() || v.is_string(),
        Kind::NonNegInt => is_non_neg_int(v),
        Kind::OptNonNegInt => v.is_null() || is_non_neg_int(v),
        Kind::StringArray => v.all_items(View::is_string),
    }
}

fn check_kind<'a, V: View<'a>>(v: V, kind: Kind, path: impl FnOnce() -> String) -> Result<()> {
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
fn is_non_neg_int<'a, V: View<'a>>(v: V) -> bool {
    v.number()
        .is_some_and(|f| f >= 0.0 && f.fract() == 0.0 && f <= crate::pixel::MAX_SAFE_INTEGER as f64)
}

/// Checks an open object (list items, `phase`) in one pass over its members: `required` keys
/// must be present (the first missing one, in `required` order, is reported), the listed keys
/// must have their kinds (the first bad one in `fields` order), other keys may hold any JSON.
/// Returns the string value of `id_key`, if any.
fn check_item<'a, V: View<'a>>(
    v: V,
    path: &dyn Fn() -> String,
    required: &[&str],
    fields: &[(&str, Kind)],
    id_key: &str,
) -> Result<Option<&'a str>> {
    if !v.is_object() {
        return Err(Error::schema(
            path(),
            format!("must be an object, got {}", v.describe()),
        ));
    }
    let mut present = 0u32; // bit i: required[i] was seen
    let mut bad: Option<(usize, V)> = None; // the first bad field, by its index in `fields`
    let mut id = None;
    let _ = v.try_members(|key, x| -> std::result::Result<(), ()> {
        if let Some(i) = required.iter().position(|r| same(r, key)) {
            present |= 1 << i;
        }
        if let Some(i) = fields.iter().position(|(f, _)| same(f, key)) {
            if !has_kind(x, fields[i].1) && bad.is_none_or(|(j, _)| i < j) {
                bad = Some((i, x));
            }
        }
        if same(key, id_key) {
            id = x.string_key();
        }
        Ok(())
    });
    if let Some(key) = (0..required.len()).find(|i| present & (1 << i) == 0) {
        return Err(Error::schema(
            path(),
            format!("missing required key {:?}", required[key]),
        ));
    }
    if let Some((i, x)) = bad {
        let (key, kind) = fields[i];
        check_kind(x, kind, || format!("{}.{key}", path()))?;
    }
    Ok(id)
}

/// String equality that skips the byte comparison for most unequal keys (this runs for every
/// member of every list item of every pixel verified).
#[inline]
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
}

/// Checks that items of a list are objects with a unique string `key`.
fn check_list<'a, V: View<'a>>(
    v: V,
    path: &str,
    id_key: &str,
    required: &[&str],
    fields: &[(&str, Kind)],
) -> Result<()> {
    let mut seen: Vec<&str> = Vec::new();
    v.try_items(|i, item| {
        let item_path = || format!("{path}[{i}]");
        let id = check_item(item, &item_path, required, fields, id_key)?.unwrap_or("");
        if seen.contains(&id) {
            return Err(Error::schema(
                format!("{}.{id_key}", item_path()),
                format!("duplicate {id_key} {id:?}"),
            ));
        }
        seen.push(id);
        Ok(())
    })
    .unwrap_or_else(|| {
        Err(Error::schema(
            path,
            format!("must be an array, got {}", v.describe()),
        ))
    })
}

/// Validates a pixel's `context`: `null`, or an object with only the documented keys.
pub fn validate_context(v: &Value) -> Result<()> {
    check_context(v)
}

/// The context checks of a stored line's canonical `context` text, given the brackets the
/// canonical scan recorded (offsets in the line, in which `text` starts at `base`): the
/// borrowed fast path, and on any failure the full parse, so the error is exactly
/// [`validate_context`]'s.
pub(crate) fn validate_context_indexed(
    text: &str,
    brackets: &[Brackets],
    base: usize,
) -> Result<()> {
    let lazy = Lazy {
        all: text,
        brackets,
        base,
        start: 0,
        end: text.len(),
    };
    if check_context(lazy).is_ok() {
        return Ok(());
    }
    validate_context(&crate::json::parse(text)?)
}

fn check_context<'a, V: View<'a>>(v: V) -> Result<()> {
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
    v.try_members(|key, _| {
        if CONTEXT_KEYS.contains(&key) {
            return Ok(());
        }
        Err(Error::schema(
            format!("{P}.{key}"),
            format!("unknown context key (allowed: {})", CONTEXT_KEYS.join(", ")),
        ))
    })?;
    v.try_members(|key, x| {
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
                "",
            )
            .map(|_| ())?,
            "phasesCompleted" => {
                let ok = x.all_items(is_non_neg_int);
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
                let ok = x.all_items(View::is_object);
                if !ok {
                    return Err(Error::schema(path(), "must be an array of objects"));
                }
            }
            "activeTaskId" | "notes" => check_kind(x, Kind::OptString, path)?,
            "agentTier" => check_kind(x, Kind::OptNonNegInt, path)?,
            _ => {}
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    /// The brackets of every container of JSON text, in the order they open, found in one pass;
    /// `None` when they do not balance: the test oracle for what the canonical scan records.
    fn brackets(b: &[u8]) -> Option<Vec<Brackets>> {
        let mut out: Vec<Brackets> = Vec::with_capacity(32);
        let mut open: Vec<usize> = Vec::with_capacity(16);
        let mut i = 0;
        while let Some(&c) = b.get(i) {
            match c {
                b'"' => {
                    i = string_end(b, i)?;
                    continue;
                }
                b'{' | b'[' => {
                    open.push(out.len());
                    out.push((u32::try_from(i).ok()?, 0));
                }
                b'}' | b']' => out[open.pop()?].1 = u32::try_from(i).ok()?,
                _ => {}
            }
            i += 1;
        }
        open.is_empty().then_some(out)
    }

    /// [`validate_context_indexed`] for a context text on its own.
    fn validate_context_text(text: &str) -> Result<()> {
        match brackets(text.as_bytes()) {
            Some(b) => validate_context_indexed(text, &b, 0),
            None => validate_context(&crate::json::parse(text)?),
        }
    }

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
            // Brackets, quotes and escapes inside strings; nested extras in items; empties.
            r#"{"tasks":[{"id":"[{\"}]","status":"]}","x":{"y":[[],[{}],"}"]}}]}"#,
            r#"{"tasks":[{"blocks":[],"blockedBy":["a","b"],"id":"t","status":"s"}]}"#,
            r#"{"tasks":[{"blocks":[[]],"id":"t","status":"s"}]}"#,
            r#"{"tasks":[{"blockedBy":[null],"id":"t","status":"s"}]}"#,
            r#"{"tasks":[{"id":"t","owner":1,"status":"s","subject":2}]}"#,
            r#"{"tasks":[{"id":"t","status":"s"},{"id":"u","status":"s"},{"id":"t","status":"s"}]}"#,
            r#"{"tasks":[],"dependencies":[],"recentOutputs":[],"phasesCompleted":[]}"#,
            r#"{"tasks":[1]}"#,
            r#"{"tasks":[{"id":1,"status":"s"},{"id":1,"status":"s"}]}"#,
            r#"{"dependencies":[{"name":"a\\b","status":"up"},{"name":"a\\b","status":"up"}]}"#,
            r#"{"dependencies":[{"name":"a","status":"up","lastChecked":{"at":"]"}}]}"#,
            r#"{"phase":{"name":"{[\"","notes":null,"number":0,"startedAt":"x","status":"s"}}"#,
            r#"{"phase":{"name":"p","notes":1,"number":-1}}"#,
            r#"{"phase":{"name":"p","number":1e300}}"#,
            r#"{"phase":[]}"#,
            r#"{"phasesCompleted":[0,9007199254740991,{}]}"#,
            r#"{"recentOutputs":[{"a":[{"b":"]"}]},{}]}"#,
            r#"{"recentOutputs":{}}"#,
            r#"{"variables":{"\u0000":"}","z":[{"y":null}]}}"#,
            r#"{"agentTier":null,"activeTaskId":1}"#,
            r#"{"notes":"\"]}"}"#,
            r#"{"agentTier":1.5}"#,
            r#"{"phase":{"name":"p"},"bogus":[]}"#,
        ];
        for text in cases {
            let value = parse(text).unwrap();
            let canonical = crate::canonical::to_canonical(&value);
            let b = brackets(canonical.as_bytes()).expect(text);
            let lazy = Lazy {
                all: &canonical,
                brackets: &b,
                base: 0,
                start: 0,
                end: canonical.len(),
            };
            assert_eq!(
                check_context(lazy).is_ok(),
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

    /// The brackets the canonical scan records for a line's context are the context's own.
    #[test]
    fn recorded_brackets_are_the_contexts() {
        let context = r#"{"phase":{"name":"[{","number":1},"tasks":[{"blocks":[],"id":"}","status":"s"}],"variables":{"a":[[{}]]}}"#;
        let line = format!(r#"{{"a":[1,{{"b":[]}}],"context":{context},"z":{{"y":[]}}}}"#);
        let (members, recorded) = crate::canonical::scan_recording(&line, "context").unwrap();
        let base = line.find(context).unwrap();
        assert_eq!(members[1].value, context);
        let own: Vec<Brackets> = brackets(context.as_bytes())
            .unwrap()
            .into_iter()
            .map(|(o, c)| (o + base as u32, c + base as u32))
            .collect();
        assert_eq!(recorded, own);
        assert!(validate_context_indexed(context, &recorded, base).is_ok());
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
