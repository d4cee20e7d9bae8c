//! A strict I-JSON reader and the JSON value model.
//!
//! The reader accepts exactly RFC 8259 JSON that is also I-JSON (RFC 7493) with the stricter
//! number rule of `docs/SPEC.md`: duplicate keys, lone surrogates, non-finite or out-of-range
//! numbers and integers that would silently change value are rejected, each with its own
//! reason. Nesting depth and document size are bounded, so hostile input gets an error and
//! never a stack overflow.

use std::cmp::Ordering;

use crate::error::{Error, IJsonReason, Position, Result};

/// Maximum nesting depth of arrays and objects; the outermost container is depth 1.
pub const MAX_DEPTH: usize = 128;

/// Maximum size in bytes of one JSON document (and of one pixel line).
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// 2^53: integer literals with a larger magnitude must be exact doubles.
pub const MAX_SAFE_MAGNITUDE: f64 = 9_007_199_254_740_992.0;

/// A finite IEEE 754 double. The invariant (never NaN or infinite) is kept by construction.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Number(f64);

impl Number {
    /// `None` for NaN and infinities, which JSON cannot carry.
    pub fn new(value: f64) -> Option<Number> {
        value.is_finite().then_some(Number(value))
    }

    pub fn get(self) -> f64 {
        self.0
    }

    /// The value as an integer, if it is one within ±2^53.
    pub fn as_safe_integer(self) -> Option<i64> {
        let v = self.0;
        (v.fract() == 0.0 && v.abs() <= MAX_SAFE_MAGNITUDE).then_some(v as i64)
    }
}

/// A JSON value. Objects keep their members sorted in RFC 8785 order (UTF-16 code units).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Value>),
    Object(Map),
}

impl Value {
    /// A number value; `None` for NaN and infinities.
    pub fn number(value: f64) -> Option<Value> {
        Number::new(value).map(Value::Number)
    }

    /// An integer value. Magnitudes beyond 2^53 are refused with `NOT_I_JSON`/`LOSSY_INTEGER`,
    /// since JavaScript and many JSON readers cannot hold them exactly.
    pub fn integer(value: i128) -> Result<Value> {
        host::integer(value, || "$".to_owned())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(n.get()),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The JSON type name used in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// Member `key` of an object; `None` for non-objects.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|m| m.get(key))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Value {
        Value::Object(m)
    }
}

/// Builders for bindings that convert host-language values: the same rules and error codes
/// in every language, with the offending value's JSON path (`$.state.items[2]`) in the message.
pub mod host {
    use super::{Value, MAX_DEPTH, MAX_SAFE_MAGNITUDE};
    use crate::error::{Error, IJsonReason, Result};

    /// A float from the host: NaN and infinities are refused. `path` is only called to
    /// name the value in an error.
    pub fn float(v: f64, path: impl FnOnce() -> String) -> Result<Value> {
        Value::number(v).ok_or_else(|| Error::NotIJson {
            reason: IJsonReason::NonFiniteNumber,
            detail: format!("{v} at {} is not a finite number", path()),
            at: None,
        })
    }

    /// An integer from the host. Beyond ±2^53 the rule of section 3.2 for integer literals
    /// applies: the integer must be a double's exact value, or that double's shortest form as
    /// JCS writes it (`123456789012345680000`); any other is `LOSSY_INTEGER`.
    pub fn integer(v: i128, path: impl FnOnce() -> String) -> Result<Value> {
        let f = v as f64;
        if v.unsigned_abs() > 1 << 53 && !big_integer_ok(f, || v.to_string()) {
            return Err(lossy(&v.to_string(), &path()));
        }
        Ok(Value::Number(super::Number(f)))
    }

    /// Whether an integer beyond ±2^53, given as its decimal `digits`, is `f` exactly or
    /// `f`'s JCS form (`f` is the nearest double to it).
    pub fn big_integer_ok(f: f64, digits: impl FnOnce() -> String) -> bool {
        if !f.is_finite() {
            return false;
        }
        let digits = digits();
        let exact = f.abs() < 1.7e38 && (f as i128).to_string() == digits;
        exact || crate::canonical::to_canonical(&Value::Number(super::Number(f))) == digits
    }

    /// The error for an integer too large to hold exactly (given as text, any size).
    pub fn lossy(text: &str, path: &str) -> Error {
        Error::NotIJson {
            reason: IJsonReason::LossyInteger,
            detail: format!(
                "integer {text} at {path} is beyond ±2^53 ({MAX_SAFE_MAGNITUDE}) and no double holds it exactly: it would lose precision"
            ),
            at: None,
        }
    }

    /// The error for a value with no JSON equivalent.
    pub fn unsupported(type_name: &str, path: &str) -> Error {
        Error::UnsupportedType {
            path: path.to_owned(),
            type_name: type_name.to_owned(),
        }
    }

    /// The error for a host structure nested deeper than [`MAX_DEPTH`] (or cyclic).
    pub fn too_deep(path: &str) -> Error {
        Error::LimitExceeded {
            detail: format!("nesting deeper than {MAX_DEPTH} levels at {path} (or a cycle)"),
        }
    }

    /// The error for an object key that is not a string.
    pub fn bad_key(type_name: &str, path: &str) -> Error {
        Error::UnsupportedType {
            path: path.to_owned(),
            type_name: format!("{type_name} (as an object key; JSON keys are strings)"),
        }
    }

    /// The path of member `key` under `parent`: `$.a`, or `$["a b"]` for other keys.
    pub fn member(parent: &str, key: &str) -> String {
        let plain = key
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if plain {
            format!("{parent}.{key}")
        } else {
            format!(
                "{parent}[{}]",
                crate::canonical::to_canonical(&Value::String(key.to_owned()))
            )
        }
    }

    /// The path of item `index` under `parent`: `$.a[3]`.
    pub fn item(parent: &str, index: usize) -> String {
        format!("{parent}[{index}]")
    }

    /// One step of a JSON path, kept cheap while walking a host value; rendered only when an
    /// error needs it.
    pub enum Step {
        Key(String),
        Index(usize),
    }

    /// Renders steps as a JSON path from `$`.
    pub fn render(path: &[Step]) -> String {
        let mut out = "$".to_owned();
        for s in path {
            out = match s {
                Step::Key(k) => member(&out, k),
                Step::Index(i) => item(&out, *i),
            };
        }
        out
    }
}

/// Compares two strings by their UTF-16 code units, the key order of RFC 8785.
///
/// UTF-8 byte order equals code point order, which differs from UTF-16 order only between
/// U+E000..U+FFFF (lead bytes 0xEE, 0xEF) and supplementary characters (lead bytes 0xF0..),
/// whose surrogates sort before U+E000. So one byte comparison plus that swap suffices.
pub fn cmp_utf16(a: &str, b: &str) -> Ordering {
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    match ab.iter().zip(bb).position(|(x, y)| x != y) {
        None => ab.len().cmp(&bb.len()),
        Some(i) => {
            let (x, y) = (ab[i], bb[i]);
            let supplementary = |c: u8| c >= 0xF0;
            let high_bmp = |c: u8| c == 0xEE || c == 0xEF;
            if supplementary(x) && high_bmp(y) {
                Ordering::Less
            } else if high_bmp(x) && supplementary(y) {
                Ordering::Greater
            } else {
                x.cmp(&y)
            }
        }
    }
}

/// A JSON object: members kept sorted by [`cmp_utf16`], keys unique.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map {
    entries: Vec<(String, Value)>,
}

impl Map {
    pub fn new() -> Map {
        Map::default()
    }

    /// Builds a map from members in any order. On a duplicate key, returns that key.
    pub fn from_entries(mut entries: Vec<(String, Value)>) -> Result<Map, String> {
        entries.sort_by(|a, b| cmp_utf16(&a.0, &b.0));
        if let Some(w) = entries.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(w[0].0.clone());
        }
        Ok(Map { entries })
    }

    fn find(&self, key: &str) -> std::result::Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| cmp_utf16(k, key))
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    /// Inserts or replaces; returns the replaced value.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) -> Option<Value> {
        let key = key.into();
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.find(key).ok().map(|i| self.entries.remove(i).1)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Members in canonical order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a str, &'a Value);
    type IntoIter = Box<dyn ExactSizeIterator<Item = (&'a str, &'a Value)> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// Parses one I-JSON document from text.
pub fn parse(text: &str) -> Result<Value> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(too_large(text.len()));
    }
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
    };
    let v = p.value(0)?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(p.malformed("unexpected characters after the JSON value"));
    }
    Ok(v)
}

/// Parses one I-JSON document from bytes, which must be UTF-8.
pub fn parse_bytes(bytes: &[u8]) -> Result<Value> {
    parse(utf8(bytes)?)
}

/// Checks that `bytes` are UTF-8, with an `INVALID_UTF8` error naming the first bad byte.
pub fn utf8(bytes: &[u8]) -> Result<&str> {
    std::str::from_utf8(bytes).map_err(|e| Error::NotIJson {
        reason: IJsonReason::InvalidUtf8,
        detail: format!("invalid UTF-8 byte at offset {}", e.valid_up_to()),
        at: Some(Position::locate(bytes, e.valid_up_to())),
    })
}

pub(crate) fn too_large(len: usize) -> Error {
    Error::LimitExceeded {
        detail: format!("document of {len} bytes exceeds the limit of {MAX_DOCUMENT_BYTES} bytes"),
    }
}

pub(crate) fn too_deep() -> Error {
    Error::LimitExceeded {
        detail: format!("nesting deeper than {MAX_DEPTH} levels"),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn malformed(&self, detail: &str) -> Error {
        Error::MalformedJson {
            detail: detail.to_owned(),
            at: Position::locate(self.s, self.pos),
        }
    }

    fn not_ijson(&self, reason: IJsonReason, detail: String, at: usize) -> Error {
        Error::NotIJson {
            reason,
            detail,
            at: Some(Position::locate(self.s, at)),
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.pos) {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value> {
        self.skip_ws();
        match self.s.get(self.pos) {
            None => Err(self.malformed("unexpected end of input, expected a value")),
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'N') if self.s[self.pos..].starts_with(b"NaN") => Err(self.non_finite("NaN")),
            Some(b'I') if self.s[self.pos..].starts_with(b"Infinity") => {
                Err(self.non_finite("Infinity"))
            }
            Some(b'-') if self.s[self.pos..].starts_with(b"-Infinity") => {
                Err(self.non_finite("-Infinity"))
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.malformed("unexpected character, expected a value")),
        }
    }

    fn non_finite(&self, token: &str) -> Error {
        self.not_ijson(
            IJsonReason::NonFiniteNumber,
            format!("{token} is not a JSON number; I-JSON numbers are finite"),
            self.pos,
        )
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value> {
        if self.s[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.malformed("invalid literal"))
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        self.pos += 1; // '{'
        let mut members: Vec<(String, Value)> = Vec::new();
        let mut key_offsets: Vec<usize> = Vec::new();
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Value::Object(Map::new()));
        }
        loop {
            self.skip_ws();
            if self.s.get(self.pos) != Some(&b'"') {
                return Err(self.malformed("expected a string key"));
            }
            key_offsets.push(self.pos);
            let key = self.string()?;
            self.skip_ws();
            if self.s.get(self.pos) != Some(&b':') {
                return Err(self.malformed("expected ':' after the key"));
            }
            self.pos += 1;
            let v = self.value(depth)?;
            members.push((key, v));
            self.skip_ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.malformed("expected ',' or '}' in object")),
            }
        }
        let keys: Vec<String> = if members.len() > 1 {
            members.iter().map(|(k, _)| k.clone()).collect()
        } else {
            Vec::new()
        };
        Map::from_entries(members)
            .map(Value::Object)
            .map_err(|dup| {
                // Report the second occurrence of the duplicated key.
                let at = keys
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| **k == dup)
                    .nth(1)
                    .map_or(self.pos, |(i, _)| key_offsets[i]);
                self.not_ijson(
                    IJsonReason::DuplicateKey,
                    format!("duplicate key {dup:?}"),
                    at,
                )
            })
    }

    fn array(&mut self, depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.malformed("expected ',' or ']' in array")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32> {
        let digits = self
            .s
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.malformed("truncated \\u escape"))?;
        let mut v = 0u32;
        for &d in digits {
            let n = (d as char)
                .to_digit(16)
                .ok_or_else(|| self.malformed("invalid hex digit in \\u escape"))?;
            v = v * 16 + n;
        }
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.pos;
            self.pos = crate::canonical::skip_plain(self.s, self.pos);
            // The input is valid UTF-8 and we only stop at ASCII bytes, so this slice is too.
            out.push_str(std::str::from_utf8(&self.s[start..self.pos]).unwrap_or_default());
            match self.s.get(self.pos) {
                None => return Err(self.malformed("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let esc_at = self.pos;
                    self.pos += 1;
                    let c = match self.s.get(self.pos) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let hi = self.hex4()?;
                            self.pos -= 1; // compensate the += 1 below
                            let cp = if (0xD800..0xDC00).contains(&hi) {
                                let lo = if self.s[self.pos + 1..].starts_with(b"\\u") {
                                    self.pos += 3;
                                    let lo = self.hex4()?;
                                    self.pos -= 1;
                                    lo
                                } else {
                                    0
                                };
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.not_ijson(
                                        IJsonReason::LoneSurrogate,
                                        format!("lone high surrogate \\u{hi:04X}"),
                                        esc_at,
                                    ));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err(self.not_ijson(
                                    IJsonReason::LoneSurrogate,
                                    format!("lone low surrogate \\u{hi:04X}"),
                                    esc_at,
                                ));
                            } else {
                                hi
                            };
                            char::from_u32(cp).unwrap_or('\u{FFFD}')
                        }
                        _ => return Err(self.malformed("invalid escape sequence")),
                    };
                    self.pos += 1;
                    out.push(c);
                }
                Some(_) => {
                    return Err(self.malformed("control character in string must be escaped"))
                }
            }
        }
    }

    fn number(&mut self) -> Result<Value> {
        let start = self.pos;
        let s = self.s;
        let digits = |p: &mut usize| {
            let from = *p;
            while s.get(*p).is_some_and(u8::is_ascii_digit) {
                *p += 1;
            }
            *p - from
        };
        let mut p = self.pos;
        if s[p] == b'-' {
            p += 1;
        }
        let int_start = p;
        let n_int = digits(&mut p);
        if n_int == 0 {
            self.pos = p;
            return Err(self.malformed("expected digits in number"));
        }
        if n_int > 1 && s[int_start] == b'0' {
            self.pos = int_start;
            return Err(self.malformed("leading zeros are not allowed in numbers"));
        }
        let mut integer = true;
        if s.get(p) == Some(&b'.') {
            integer = false;
            p += 1;
            if digits(&mut p) == 0 {
                self.pos = p;
                return Err(self.malformed("expected digits after the decimal point"));
            }
        }
        if let Some(b'e' | b'E') = s.get(p) {
            integer = false;
            p += 1;
            if let Some(b'+' | b'-') = s.get(p) {
                p += 1;
            }
            if digits(&mut p) == 0 {
                self.pos = p;
                return Err(self.malformed("expected digits in the exponent"));
            }
        }
        self.pos = p;
        let literal = std::str::from_utf8(&s[start..p]).unwrap_or("0");
        let value = number_value(literal, integer, n_int)
            .map_err(|(reason, detail)| self.not_ijson(reason, detail, start))?;
        Ok(Value::Number(value))
    }
}

/// Converts a grammatically valid JSON number literal to a double under the I-JSON rules.
/// `int_digits` is the count of digits before any fraction or exponent.
pub(crate) fn number_value(
    literal: &str,
    integer: bool,
    int_digits: usize,
) -> std::result::Result<Number, (IJsonReason, String)> {
    let v: f64 = literal.parse().unwrap_or(f64::NAN);
    if !v.is_finite() {
        return Err((
            IJsonReason::NumberOutOfRange,
            format!("number {literal} is outside the IEEE 754 double range"),
        ));
    }
    if v == 0.0
        && literal
            .bytes()
            .take_while(|b| !matches!(b, b'e' | b'E'))
            .any(|b| (b'1'..=b'9').contains(&b))
    {
        return Err((
            IJsonReason::NumberOutOfRange,
            format!("number {literal} is too small for a double and would become 0"),
        ));
    }
    // Integer literals of 16+ digits may exceed 2^53: accept them only if they are exactly
    // the double's value, or the double's shortest round-trip form (what JCS writes).
    if integer && int_digits >= 16 {
        let digits = literal.trim_start_matches('-');
        let exact = format!("{:.0}", v.abs());
        let mut buf = ryu_js::Buffer::new();
        let shortest = buf.format_finite(v.abs());
        if digits != exact && digits != shortest {
            return Err((
                IJsonReason::LossyInteger,
                format!("integer {literal} cannot be held exactly by a double (it would become {exact})"),
            ));
        }
    }
    Ok(Number(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(text: &str) -> Option<&'static str> {
        parse(text).err().and_then(|e| e.reason())
    }

    #[test]
    fn utf16_order_puts_surrogates_before_high_bmp() {
        // U+1F602 (surrogates D83D..) sorts before U+FB33 in UTF-16 but after it in UTF-8.
        assert_eq!(cmp_utf16("\u{1F602}", "\u{FB33}"), Ordering::Less);
        assert_eq!(cmp_utf16("\u{FB33}", "\u{1F602}"), Ordering::Greater);
        assert_eq!(cmp_utf16("a", "ab"), Ordering::Less);
        assert_eq!(cmp_utf16("\u{e9}", "\u{ea}"), Ordering::Less);
        assert_eq!(cmp_utf16("", ""), Ordering::Equal);
    }

    #[test]
    fn rejects_ijson_violations_with_reasons() {
        assert_eq!(reason(r#"{"a":1,"a":2}"#), Some("DUPLICATE_KEY"));
        assert_eq!(reason("[NaN]"), Some("NON_FINITE_NUMBER"));
        assert_eq!(reason("-Infinity"), Some("NON_FINITE_NUMBER"));
        assert_eq!(reason("1e400"), Some("NUMBER_OUT_OF_RANGE"));
        assert_eq!(reason("-1e400"), Some("NUMBER_OUT_OF_RANGE"));
        assert_eq!(reason("1e-400"), Some("NUMBER_OUT_OF_RANGE"));
        assert_eq!(reason(r#""\ud800""#), Some("LONE_SURROGATE"));
        assert_eq!(reason(r#""\udc00x""#), Some("LONE_SURROGATE"));
        assert_eq!(reason(r#""\ud800\u0041""#), Some("LONE_SURROGATE"));
        assert_eq!(reason("9007199254740993"), Some("LOSSY_INTEGER"));
        assert_eq!(reason("-9007199254740993"), Some("LOSSY_INTEGER"));
        assert_eq!(
            parse_bytes(b"\"\xff\"").unwrap_err().reason(),
            Some("INVALID_UTF8")
        );
    }

    #[test]
    fn accepts_exact_and_shortest_forms_of_big_doubles() {
        for ok in [
            "87515321284314368",
            "87515321284314370",
            "123456789012345680000",
            "9007199254740992",
            "-9007199254740992",
            "1000000000000000000000",
            "0e-400",
            "0.0",
            "-0",
        ] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn syntax_errors_are_malformed() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\"}",
            "01",
            "1.",
            ".5",
            "tru",
            "\"a",
            "[1] x",
            "\u{feff}1",
            "{\"a\":1,}",
            "\"\t\"",
            "\"\\x\"",
            "1e",
            "-",
            "+1",
        ] {
            assert_eq!(parse(bad).unwrap_err().code(), "MALFORMED_JSON", "{bad:?}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(200_000);
        assert_eq!(parse(&deep).unwrap_err().code(), "LIMIT_EXCEEDED");
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let over = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(parse(&over).unwrap_err().code(), "LIMIT_EXCEEDED");
    }

    #[test]
    fn error_positions_are_reported() {
        match parse("{\n  \"a\": 1,\n  \"a\": 2\n}").unwrap_err() {
            Error::NotIJson { at: Some(at), .. } => assert_eq!((at.line, at.column), (3, 3)),
            e => panic!("unexpected {e:?}"),
        }
    }

    #[test]
    fn integer_constructor_refuses_lossy_values() {
        assert!(Value::integer(1 << 53).is_ok());
        assert!(Value::integer(-(1 << 53)).is_ok());
        assert!(Value::integer((1 << 53) + 1).is_err());
    }
}
