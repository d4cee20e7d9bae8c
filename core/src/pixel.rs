//! The token pixel, schema v1: field rules, the canonical line, and the two hashes.
//!
//! A stored pixel is one canonical JSON line (RFC 8785) holding exactly the fifteen keys of
//! [`KEYS`]. `hash` covers the line without the `hash` member; `stateHash` covers the state
//! surface (`autonomyIndex`, `context`, `intentHash`, `state`, `stateVector`) only.

use std::sync::Arc;

use crate::canonical::{self, scan_recording, Brackets, Member};
use crate::context::{describe, validate_context, validate_context_indexed};
use crate::corridor::Corridor;
use crate::error::{Error, Result};
use crate::hash::{Digest, Hashing, PIXEL_DOMAIN, STATE_DOMAIN};
use crate::json::{self, Map, Value, MAX_DOCUMENT_BYTES};

/// The schema version this library writes and reads.
pub const SCHEMA_VERSION: u64 = 1;

/// Largest integer a pixel field may hold: 2^53 - 1, exact in every language.
pub const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// Latest representable timestamp: 9999-12-31T23:59:59.999Z in Unix milliseconds.
pub const MAX_TIMESTAMP_MS: u64 = 253_402_300_799_999;

/// Maximum length of `agentId` and `sessionId`.
pub const MAX_ID_LEN: usize = 128;

/// Maximum length of `intentHash`.
pub const MAX_INTENT_LEN: usize = 256;

/// Maximum number of entries in `stateVector`.
pub const MAX_STATE_VECTOR: usize = 64;

/// Maximum length of a `stateVector` name.
pub const MAX_STATE_NAME_LEN: usize = 64;

/// The keys of a v1 pixel, in canonical (RFC 8785) order. All are required.
pub const KEYS: [&str; 15] = [
    "agentId",
    "autonomyIndex",
    "context",
    "corridor",
    "eventDelta",
    "hash",
    "intentHash",
    "prevHash",
    "schema",
    "seq",
    "sessionId",
    "state",
    "stateHash",
    "stateVector",
    "timestampMs",
];

const I_AGENT: usize = 0;
const I_AUTONOMY: usize = 1;
const I_CONTEXT: usize = 2;
const I_CORRIDOR: usize = 3;
const I_EVENT_DELTA: usize = 4;
const I_HASH: usize = 5;
const I_INTENT: usize = 6;
const I_PREV: usize = 7;
const I_SEQ: usize = 9;
const I_SESSION: usize = 10;
const I_STATE: usize = 11;
const I_STATE_HASH: usize = 12;
const I_STATE_VECTOR: usize = 13;
const I_TIMESTAMP: usize = 14;

/// What chain verification needs from a pixel, borrowed from its line.
#[derive(Debug, Clone)]
pub(crate) struct Header<'a> {
    pub seq: u64,
    pub agent_id: &'a str,
    pub timestamp_ms: u64,
    pub prev_hash: Digest,
    pub hash: Digest,
}

/// A line that passed the syntax, canonical-form and schema checks (not yet the hashes).
pub(crate) struct Checked<'a> {
    pub members: Vec<Member<'a>>,
    pub header: Header<'a>,
    pub state_hash: Digest,
}

impl Checked<'_> {
    fn raw(&self, i: usize) -> &str {
        self.members[i].value
    }

    /// The bytes `hash` covers after the domain tag: the line without the `hash` member.
    /// `hash` is never the last member, so it goes together with the comma after it.
    pub fn pixel_preimage<'l>(&self, line: &'l str) -> [&'l [u8]; 2] {
        let h = &self.members[I_HASH];
        [&line.as_bytes()[..h.start], &line.as_bytes()[h.end + 1..]]
    }

    /// The bytes `stateHash` covers after the domain tag: the canonical state surface object,
    /// made of the five members' canonical texts.
    pub fn state_preimage(&self) -> [&[u8]; 11] {
        state_parts(
            self.raw(I_AUTONOMY),
            self.raw(I_CONTEXT),
            self.raw(I_INTENT),
            self.raw(I_STATE),
            self.raw(I_STATE_VECTOR),
        )
    }

    /// Compares computed digests with the stored `hash`, then `stateHash`.
    pub fn compare(&self, pixel: Digest, state: Digest) -> Result<()> {
        if pixel != self.header.hash {
            return Err(Error::HashMismatch {
                stored: self.header.hash.to_string(),
                computed: pixel.to_string(),
            });
        }
        if state != self.state_hash {
            return Err(Error::StateHashMismatch {
                stored: self.state_hash.to_string(),
                computed: state.to_string(),
            });
        }
        Ok(())
    }

    /// Recomputes `hash` and `stateHash` and compares them with the stored values.
    pub fn check_hashes(&self, line: &str) -> Result<()> {
        self.compare(
            Digest::of_parts(PIXEL_DOMAIN, &self.pixel_preimage(line)),
            Digest::of_parts(STATE_DOMAIN, &self.state_preimage()),
        )
    }
}

/// The canonical state surface object, in pieces: the five members' canonical texts between
/// their keys.
fn state_parts<'a>(
    autonomy: &'a str,
    context: &'a str,
    intent: &'a str,
    state: &'a str,
    vector: &'a str,
) -> [&'a [u8]; 11] {
    [
        b"{\"autonomyIndex\":",
        autonomy.as_bytes(),
        b",\"context\":",
        context.as_bytes(),
        b",\"intentHash\":",
        intent.as_bytes(),
        b",\"state\":",
        state.as_bytes(),
        b",\"stateVector\":",
        vector.as_bytes(),
        b"}",
    ]
}

fn field_path(key: &str) -> String {
    format!("$.{key}")
}

/// Decodes a canonical JSON string member; `None` if the raw text is not a string.
fn raw_string(raw: &str) -> Option<std::borrow::Cow<'_, str>> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(std::borrow::Cow::Borrowed(inner));
    }
    match json::parse(raw) {
        Ok(Value::String(s)) => Some(std::borrow::Cow::Owned(s)),
        _ => None,
    }
}

/// A canonical non-negative integer member no larger than `max`.
fn raw_uint(raw: &str, key: &str, max: u64) -> Result<u64> {
    let n = (raw.len() <= 16 && raw.bytes().all(|b| b.is_ascii_digit()))
        .then(|| raw.parse::<u64>().ok())
        .flatten();
    match n {
        Some(n) if n <= max => Ok(n),
        _ => Err(Error::schema(
            field_path(key),
            format!("must be an integer from 0 to {max}, got {}", short(raw)),
        )),
    }
}

fn raw_digest(raw: &str, key: &str) -> Result<Digest> {
    raw_string(raw)
        .and_then(|s| Digest::parse(&s))
        .ok_or_else(|| {
            Error::schema(
                field_path(key),
                format!(
                    "must be \"sha256:\" followed by 64 lowercase hex digits, got {}",
                    short(raw)
                ),
            )
        })
}

fn short(raw: &str) -> String {
    if raw.len() <= 80 {
        raw.to_owned()
    } else {
        let mut end = 77;
        while !raw.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &raw[..end])
    }
}

/// An id (`agentId`, `sessionId`): 1..=128 of `A-Z a-z 0-9 _ . -`, starting with a letter or digit.
pub fn validate_id(id: &str, key: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::schema(
            field_path(key),
            format!(
                "must be 1 to {MAX_ID_LEN} characters of A-Z a-z 0-9 _ . - starting with a letter or digit, got {id:?}"
            ),
        ))
    }
}

fn check_state_vector(v: &Value) -> Result<()> {
    const P: &str = "$.stateVector";
    let map = v.as_object().ok_or_else(|| {
        Error::schema(
            P,
            format!("must be an object of numbers, got {}", describe(v)),
        )
    })?;
    if map.len() > MAX_STATE_VECTOR {
        return Err(Error::schema(
            P,
            format!(
                "has {} entries, at most {MAX_STATE_VECTOR} are allowed",
                map.len()
            ),
        ));
    }
    for (name, x) in map.iter() {
        if !state_name_ok(name) {
            return Err(Error::schema(
                format!("{P}.{name}"),
                format!("names are 1 to {MAX_STATE_NAME_LEN} of A-Z a-z 0-9 _, not starting with a digit"),
            ));
        }
        if x.as_f64().is_none() {
            return Err(Error::schema(
                format!("{P}.{name}"),
                format!("must be a number, got {}", describe(x)),
            ));
        }
    }
    Ok(())
}

/// Fast acceptance of a canonical `stateVector` text: `{"name":number,...}` with valid names.
/// Anything it does not accept goes through [`check_state_vector`] for the precise error.
fn state_vector_is_plain(raw: &str) -> bool {
    let Some(inner) = raw.strip_prefix('{').and_then(|r| r.strip_suffix('}')) else {
        return false;
    };
    if inner.is_empty() {
        return true;
    }
    let mut count = 0;
    for member in inner.split(',') {
        count += 1;
        let Some((key, value)) = member.split_once(':') else {
            return false;
        };
        let Some(name) = key.strip_prefix('"').and_then(|k| k.strip_suffix('"')) else {
            return false;
        };
        if !state_name_ok(name) || !value.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            return false;
        }
    }
    count <= MAX_STATE_VECTOR
}

fn state_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_STATE_NAME_LEN
        && (name.as_bytes()[0].is_ascii_alphabetic() || name.as_bytes()[0] == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn check_autonomy(a: f64, shown: impl FnOnce() -> String) -> Result<()> {
    if (0.0..=1.0).contains(&a) {
        Ok(())
    } else {
        Err(Error::schema(
            "$.autonomyIndex",
            format!("must be a number from 0 to 1, got {}", short(&shown())),
        ))
    }
}

fn check_intent(s: &str) -> Result<()> {
    if s.is_empty() || s.chars().count() > MAX_INTENT_LEN || s.chars().any(char::is_control) {
        return Err(Error::schema(
            "$.intentHash",
            format!("must be 1 to {MAX_INTENT_LEN} characters without control characters"),
        ));
    }
    Ok(())
}

fn check_uint(n: u64, key: &str, max: u64) -> Result<()> {
    if n <= max {
        Ok(())
    } else {
        Err(Error::schema(
            field_path(key),
            format!("must be an integer from 0 to {max}, got {n}"),
        ))
    }
}

/// Checks syntax, canonical form and schema of one stored pixel line.
pub(crate) fn check_line(line: &str) -> Result<Checked<'_>> {
    if line.len() > MAX_DOCUMENT_BYTES {
        return Err(json::too_large(line.len()));
    }
    let (members, brackets) = match scan_recording(line, "context") {
        Ok(m) => m,
        Err(offset) => return Err(classify_non_canonical(line, offset)),
    };
    check_members(members, &brackets)
}

/// A line failed the canonical scan: find out why, with the full parser.
fn classify_non_canonical(line: &str, offset: usize) -> Error {
    let value = match json::parse(line) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let Some(map) = value.as_object() else {
        return Error::schema(
            "$",
            format!("a pixel must be a JSON object, got {}", describe(&value)),
        );
    };
    if let Some(e) = map
        .get("schema")
        .and_then(|v| version_error(&canonical::to_canonical(v)))
    {
        return e;
    }
    Error::NotCanonical {
        offset,
        detail: "the line is valid I-JSON but not its RFC 8785 canonical form (key order, whitespace, number or string form)".to_owned(),
    }
}

/// `UNKNOWN_SCHEMA_VERSION` for an integer other than 1, `SCHEMA_VIOLATION` for a non-integer.
fn version_error(raw: &str) -> Option<Error> {
    if raw == "1" {
        return None;
    }
    if raw.bytes().all(|b| b.is_ascii_digit()) && !raw.is_empty() {
        return Some(Error::UnknownSchemaVersion { found: short(raw) });
    }
    Some(Error::schema(
        "$.schema",
        format!("must be the integer 1, got {}", short(raw)),
    ))
}

/// Exactly the fifteen keys: the first unknown key (canonical order), else the first missing.
fn check_keys(members: &[Member<'_>]) -> Result<()> {
    if members.len() == KEYS.len() && members.iter().zip(KEYS).all(|(m, k)| m.key == k) {
        return Ok(());
    }
    if let Some(m) = members.iter().find(|m| !KEYS.contains(&m.key)) {
        return Err(Error::schema(
            field_path(m.key),
            "unknown key: a v1 pixel holds exactly the keys listed in docs/SPEC.md",
        ));
    }
    let missing = KEYS
        .iter()
        .find(|k| !members.iter().any(|m| m.key == **k))
        .unwrap_or(&"?");
    Err(Error::schema(field_path(missing), "missing required key"))
}

/// `agentId`, `sessionId` and `corridor`, in that order (SPEC 6, step 4).
fn check_names(agent: &str, session: &str, corridor: &str) -> Result<()> {
    validate_id(&raw_text(agent, "agentId")?, "agentId")?;
    validate_id(&raw_text(session, "sessionId")?, "sessionId")?;
    Corridor::validate(&raw_text(corridor, "corridor")?)?;
    Ok(())
}

/// A canonical string member's text, or SCHEMA_VIOLATION naming `key`.
fn raw_text<'a>(raw: &'a str, key: &str) -> Result<std::borrow::Cow<'a, str>> {
    raw_string(raw).ok_or_else(|| {
        Error::schema(
            field_path(key),
            format!("must be a string, got {}", short(raw)),
        )
    })
}

fn check_members<'a>(members: Vec<Member<'a>>, brackets: &[Brackets]) -> Result<Checked<'a>> {
    match members.iter().find(|m| m.key == "schema") {
        None => return Err(Error::schema("$.schema", "missing required key")),
        Some(m) => {
            if let Some(e) = version_error(m.value) {
                return Err(e);
            }
        }
    }
    check_keys(&members)?;
    let raw = |i: usize| members[i].value;
    check_names(raw(I_AGENT), raw(I_SESSION), raw(I_CORRIDOR))?;
    let agent_id = &raw(I_AGENT)[1..raw(I_AGENT).len() - 1]; // ids never hold escapes

    let autonomy = raw(I_AUTONOMY);
    let a: f64 = if autonomy.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        autonomy.parse().unwrap_or(f64::NAN)
    } else {
        f64::NAN
    };
    check_autonomy(a, || autonomy.to_owned())?;

    let intent = raw(I_INTENT);
    if intent != "null" {
        let s = raw_string(intent).ok_or_else(|| {
            Error::schema(
                "$.intentHash",
                format!("must be a string or null, got {}", short(intent)),
            )
        })?;
        check_intent(&s)?;
    }

    raw_uint(raw(I_EVENT_DELTA), "eventDelta", MAX_SAFE_INTEGER)?;
    let seq = raw_uint(raw(I_SEQ), "seq", MAX_SAFE_INTEGER)?;
    let timestamp_ms = raw_uint(raw(I_TIMESTAMP), "timestampMs", MAX_TIMESTAMP_MS)?;

    if !raw(I_STATE).starts_with('{') {
        return Err(Error::schema(
            "$.state",
            format!("must be an object, got {}", short(raw(I_STATE))),
        ));
    }
    if !state_vector_is_plain(raw(I_STATE_VECTOR)) {
        check_state_vector(&json::parse(raw(I_STATE_VECTOR))?)?;
    }
    if raw(I_CONTEXT) != "null" {
        let m = &members[I_CONTEXT];
        validate_context_indexed(m.value, brackets, m.end - m.value.len())?;
    }

    let hash = raw_digest(raw(I_HASH), "hash")?;
    let prev_hash = raw_digest(raw(I_PREV), "prevHash")?;
    let state_hash = raw_digest(raw(I_STATE_HASH), "stateHash")?;

    Ok(Checked {
        header: Header {
            seq,
            agent_id,
            timestamp_ms,
            prev_hash,
            hash,
        },
        state_hash,
        members,
    })
}

/// A token pixel: one checkpoint of an agent's state at a corridor, linked into a hash chain.
///
/// A `Pixel` always passed the schema checks; its hashes are checked by verification, so a
/// tampered pixel can still be loaded and then reported with its index.
/// Cloning a `Pixel` is cheap: the immutable contents are shared.
#[derive(Debug, Clone)]
pub struct Pixel(Arc<PixelData>);

/// Two pixels are equal when their canonical lines are (the line determines every field).
impl PartialEq for Pixel {
    fn eq(&self, other: &Pixel) -> bool {
        self.0.line == other.0.line
    }
}

#[derive(Debug)]
struct PixelData {
    line: String,
    /// Sealed by this library's ritual (`Chain::emit`): its hashes are right by construction.
    sealed: bool,
    seq: u64,
    agent_id: String,
    session_id: String,
    corridor: Corridor,
    timestamp_ms: u64,
    autonomy_index: f64,
    intent_hash: Option<String>,
    event_delta: u64,
    state_vector: Map,
    state: Map,
    context: Value,
    state_hash: Digest,
    prev_hash: Digest,
    hash: Digest,
}

impl Pixel {
    /// Reads a pixel from any I-JSON text (it need not be canonical; pretty-printed is fine).
    /// Schema rules apply; hashes are not checked here (see [`crate::verify`]).
    pub fn from_json(text: &str) -> Result<Pixel> {
        if text.len() > MAX_DOCUMENT_BYTES {
            return Err(json::too_large(text.len()));
        }
        Pixel::from_value(json::parse(text)?)
    }

    /// Reads a pixel from a JSON value.
    pub fn from_value(value: Value) -> Result<Pixel> {
        let line = canonical::to_canonical(&value);
        let checked = check_line(&line)?;
        let header = &checked.header;
        let (seq, timestamp_ms, prev_hash, hash, state_hash) = (
            header.seq,
            header.timestamp_ms,
            header.prev_hash,
            header.hash,
            checked.state_hash,
        );
        drop(checked);
        let Value::Object(mut map) = value else {
            return Err(Error::schema("$", "a pixel must be a JSON object"));
        };
        let mut take = |k: &str| map.remove(k).unwrap_or(Value::Null);
        let string = |v: Value| match v {
            Value::String(s) => s,
            _ => String::new(),
        };
        let object = |v: Value| match v {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let agent_id = string(take("agentId"));
        let session_id = string(take("sessionId"));
        let corridor = Corridor::parse(&string(take("corridor")))?;
        let autonomy_index = take("autonomyIndex").as_f64().unwrap_or(0.0);
        let intent_hash = match take("intentHash") {
            Value::String(s) => Some(s),
            _ => None,
        };
        let event_delta = take("eventDelta").as_f64().unwrap_or(0.0) as u64;
        let state_vector = object(take("stateVector"));
        let state = object(take("state"));
        let context = take("context");
        Ok(Pixel(Arc::new(PixelData {
            line,
            sealed: false,
            seq,
            agent_id,
            session_id,
            corridor,
            timestamp_ms,
            autonomy_index,
            intent_hash,
            event_delta,
            state_vector,
            state,
            context,
            state_hash,
            prev_hash,
            hash,
        })))
    }

    /// The pixel as a JSON value (an object with the fifteen v1 keys).
    pub fn to_value(&self) -> Value {
        json::parse(&self.0.line).unwrap_or(Value::Null)
    }

    /// Whether this library sealed the pixel (its hashes were computed, not read): stores
    /// skip re-hashing such a pixel before an append.
    pub fn is_sealed(&self) -> bool {
        self.0.sealed
    }

    /// The canonical JSON line (RFC 8785, no trailing newline): the stored form.
    pub fn to_json(&self) -> &str {
        &self.0.line
    }

    pub fn schema(&self) -> u64 {
        SCHEMA_VERSION
    }
    pub fn seq(&self) -> u64 {
        self.0.seq
    }
    pub fn agent_id(&self) -> &str {
        &self.0.agent_id
    }
    pub fn session_id(&self) -> &str {
        &self.0.session_id
    }
    pub fn corridor(&self) -> &Corridor {
        &self.0.corridor
    }
    /// Milliseconds since the Unix epoch (UTC).
    pub fn timestamp_ms(&self) -> u64 {
        self.0.timestamp_ms
    }
    pub fn autonomy_index(&self) -> f64 {
        self.0.autonomy_index
    }
    pub fn intent_hash(&self) -> Option<&str> {
        self.0.intent_hash.as_deref()
    }
    pub fn event_delta(&self) -> u64 {
        self.0.event_delta
    }
    pub fn state_vector(&self) -> &Map {
        &self.0.state_vector
    }
    pub fn state(&self) -> &Map {
        &self.0.state
    }
    /// The working context, or `None` when the pixel's `context` is `null`.
    pub fn context(&self) -> Option<&Map> {
        self.0.context.as_object()
    }
    pub fn state_hash(&self) -> Digest {
        self.0.state_hash
    }
    pub fn prev_hash(&self) -> Digest {
        self.0.prev_hash
    }
    /// The pixel's own hash, which is also its id.
    pub fn hash(&self) -> Digest {
        self.0.hash
    }
}

/// The fields of a pixel about to be sealed (hashed). Emission builds one; [`Draft::seal`]
/// writes the canonical line, computes both hashes and runs the same checks as verification,
/// so an emitted pixel always verifies.
pub(crate) struct Draft {
    pub seq: u64,
    pub agent_id: String,
    pub session_id: String,
    pub corridor: String,
    pub timestamp_ms: u64,
    pub autonomy_index: f64,
    pub intent_hash: Option<String>,
    pub event_delta: u64,
    pub state_vector: Value,
    pub state: Value,
    pub context: Value,
    pub prev_hash: Digest,
}

impl Draft {
    pub(crate) fn seal_with(self, hashing: &mut Hashing<'_, '_>) -> Result<Pixel> {
        let (corridor, autonomy) = self.check()?;
        let (line, state_hash, hash) = self.write(autonomy, hashing);
        debug_assert!(
            check_line(&line).is_ok(),
            "emitted an invalid pixel: {line}"
        );
        Ok(self.into_pixel(corridor, autonomy, line, state_hash, hash))
    }

    /// The field rules of section 2 on the typed values.
    fn check(&self) -> Result<(Corridor, json::Number)> {
        // The same field rules verification applies (on typed values here, on the stored
        // text there), so an emitted pixel always verifies.
        validate_id(&self.agent_id, "agentId")?;
        validate_id(&self.session_id, "sessionId")?;
        let corridor = Corridor::parse(&self.corridor)?;
        check_uint(self.seq, "seq", MAX_SAFE_INTEGER)?;
        check_uint(self.event_delta, "eventDelta", MAX_SAFE_INTEGER)?;
        check_uint(self.timestamp_ms, "timestampMs", MAX_TIMESTAMP_MS)?;
        check_autonomy(self.autonomy_index, || self.autonomy_index.to_string())?;
        if let Some(intent) = &self.intent_hash {
            check_intent(intent)?;
        }
        if self.state.as_object().is_none() {
            return Err(Error::schema(
                "$.state",
                format!("must be an object, got {}", describe(&self.state)),
            ));
        }
        check_state_vector(&self.state_vector)?;
        validate_context(&self.context)?;
        let autonomy = json::Number::new(self.autonomy_index).ok_or_else(|| {
            Error::schema("$.autonomyIndex", "must be a finite number from 0 to 1")
        })?;
        Ok((corridor, autonomy))
    }

    /// The canonical line, written once, with its state hash and hash.
    fn write(
        &self,
        autonomy: json::Number,
        hashing: &mut Hashing<'_, '_>,
    ) -> (String, Digest, Digest) {
        // One buffer, members in canonical key order. The state surface members are written
        // in place and hashed from their slices; `hash` is spliced in last.
        let mut line = String::with_capacity(512);
        let member = |line: &mut String, key: &str| -> usize {
            line.push(if line.is_empty() { '{' } else { ',' });
            line.push('"');
            line.push_str(key);
            line.push_str("\":");
            line.len()
        };
        let write_digest = |line: &mut String, d: &Digest| {
            line.push('"');
            d.write_to(line);
            line.push('"');
        };
        member(&mut line, "agentId");
        canonical::write_string(&mut line, &self.agent_id);
        let a0 = member(&mut line, "autonomyIndex");
        canonical::write_canonical(&mut line, &Value::Number(autonomy));
        let a1 = line.len();
        let c0 = member(&mut line, "context");
        canonical::write_canonical(&mut line, &self.context);
        let c1 = line.len();
        member(&mut line, "corridor");
        canonical::write_string(&mut line, &self.corridor);
        member(&mut line, "eventDelta");
        canonical::write_number(&mut line, self.event_delta as f64);
        let hash_at = line.len() + 1; // after the comma that precedes `intentHash`
        let i0 = member(&mut line, "intentHash");
        match &self.intent_hash {
            Some(s) => canonical::write_string(&mut line, s),
            None => line.push_str("null"),
        }
        let i1 = line.len();
        member(&mut line, "prevHash");
        write_digest(&mut line, &self.prev_hash);
        member(&mut line, "schema");
        canonical::write_number(&mut line, SCHEMA_VERSION as f64);
        member(&mut line, "seq");
        canonical::write_number(&mut line, self.seq as f64);
        member(&mut line, "sessionId");
        canonical::write_string(&mut line, &self.session_id);
        let s0 = member(&mut line, "state");
        canonical::write_canonical(&mut line, &self.state);
        let s1 = line.len();
        let raw_vector = canonical::to_canonical(&self.state_vector);
        let state_hash = hashing.digest(
            STATE_DOMAIN,
            &state_parts(
                &line[a0..a1],
                &line[c0..c1],
                &line[i0..i1],
                &line[s0..s1],
                &raw_vector,
            ),
        );
        member(&mut line, "stateHash");
        write_digest(&mut line, &state_hash);
        member(&mut line, "stateVector");
        line.push_str(&raw_vector);
        member(&mut line, "timestampMs");
        canonical::write_number(&mut line, self.timestamp_ms as f64);
        line.push('}');
        let hash = hashing.digest(PIXEL_DOMAIN, &[line.as_bytes()]);
        let mut hash_member = String::with_capacity(82);
        hash_member.push_str("\"hash\":");
        write_digest(&mut hash_member, &hash);
        hash_member.push(',');
        line.insert_str(hash_at, &hash_member);
        (line, state_hash, hash)
    }

    fn into_pixel(
        self,
        corridor: Corridor,
        autonomy: json::Number,
        line: String,
        state_hash: Digest,
        hash: Digest,
    ) -> Pixel {
        let object = |v: Value| match v {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        Pixel(Arc::new(PixelData {
            corridor,
            seq: self.seq,
            agent_id: self.agent_id,
            session_id: self.session_id,
            timestamp_ms: self.timestamp_ms,
            autonomy_index: autonomy.get(),
            intent_hash: self.intent_hash,
            event_delta: self.event_delta,
            state_vector: object(self.state_vector),
            state: object(self.state),
            context: self.context,
            state_hash,
            prev_hash: self.prev_hash,
            hash,
            line,
            sealed: true,
        }))
    }
}
