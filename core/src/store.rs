//! The store-format rules every host store shares (`docs/SPEC.md` section 12). Hosts (Python,
//! Node, and stores added later) do the IO; what is decided about the bytes is decided here,
//! once: which agent ids may name a chain, what a key means, whether a pixel may be appended
//! after the stored head, whether a torn tail is a whole pixel, and the anchor record.

use crate::chain::Linker;
use crate::error::{Error, Result, StoreErrorKind};
use crate::hash::Digest;
use crate::json::{self, Value, MAX_DOCUMENT_BYTES};
use crate::pixel::{check_line, validate_id, Header, Pixel, MAX_SAFE_INTEGER};
use crate::tlog::{b64, b64_decode, Hash};

/// The longest stored line a store reads: one document (section 3.2).
pub const MAX_LINE_BYTES: usize = MAX_DOCUMENT_BYTES;

/// Checks an agent id before it names anything in a store (the emit rule of section 2), so an
/// id can never name a path outside the store. `INVALID_ARGUMENT` otherwise.
pub fn validate_agent_id(agent_id: &str) -> Result<()> {
    validate_id(agent_id, "agentId").map_err(|_| {
        let shown: String = agent_id.chars().take(140).collect();
        Error::argument(format!(
            "agent id {shown:?} is not valid: 1 to 128 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit"
        ))
    })
}

/// The PostgreSQL store's schema migrations (section 12.10), in order: migration `i` (from 1)
/// brings a database from version `i - 1` to `i`. Both bindings run exactly these texts.
pub const PG_MIGRATIONS: &[&str] = &[
    include_str!("pg_schema.sql"),
    include_str!("pg_schema_2.sql"),
];

/// The advisory lock key `setup()` holds while it migrates (section 12.10).
pub const PG_SETUP_LOCK: i64 = 7346041;

/// What `get(key)` looks for (section 12.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// The pixel with this `seq`.
    Seq(u64),
    /// The pixel whose hash's hex digits start with these (4..=64 lowercase hex digits).
    Prefix(String),
}

impl Key {
    /// Whether a pixel with this `seq` and `hash` is the one the key names.
    pub fn matches(&self, seq: u64, hash: &Digest) -> bool {
        match self {
            Key::Seq(s) => *s == seq,
            Key::Prefix(p) => hash.to_string()[7..].starts_with(p.as_str()),
        }
    }
}

/// The longest all-digit key read as a seq (2^53 - 1 has 16 digits).
const MAX_SEQ_DIGITS: usize = 16;
/// The shortest hash prefix accepted.
const MIN_PREFIX: usize = 4;

/// Reads a key as a user typed it (section 12.6): ASCII digits are a seq; `sha256:` plus hex,
/// or hex with a letter, is a hash prefix; anything else is `INVALID_ARGUMENT`.
pub fn parse_key(text: &str) -> Result<Key> {
    let bad = |why: &str| {
        let shown: String = text.chars().take(80).collect();
        Error::argument(format!(
            "{shown:?} is not a pixel key: {why} (give a seq such as 12, or a hash prefix such as sha256:3fa9 or 3fa9c1)"
        ))
    };
    if let Some(hex) = text.strip_prefix("sha256:") {
        return prefix(hex).ok_or_else(|| bad("after sha256: come 4 to 64 hex digits"));
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        if text.len() > MAX_SEQ_DIGITS {
            return Err(bad("a seq has at most 16 digits"));
        }
        return match text.parse::<u64>() {
            Ok(n) if n <= MAX_SAFE_INTEGER => Ok(Key::Seq(n)),
            _ => Err(bad("a seq is at most 2^53 - 1")),
        };
    }
    prefix(text).ok_or_else(|| bad("a hash prefix is 4 to 64 hex digits"))
}

/// The `NOT_FOUND` error of `get(agent, key)` (section 12.6), the same text in every store and
/// language. `key` is the key as given (shown as JSON text); an all-digit text of 4 or more
/// digits is read as a seq, so the message says how to ask for a hash prefix of digits (a
/// short id is 12 hex digits: about 1 in 285 has no letter).
pub fn pixel_not_found(agent: &str, key: &str, given_as_text: bool) -> Error {
    let shown = if given_as_text {
        let mut s = String::new();
        crate::canonical::write_string(&mut s, key);
        s
    } else {
        key.to_owned()
    };
    let hint = if given_as_text && key.len() >= 4 && key.bytes().all(|b| b.is_ascii_digit()) {
        format!(" (digits are a seq: for a hash prefix of digits write \"sha256:{key}\")")
    } else {
        String::new()
    };
    Error::store(
        StoreErrorKind::NotFound,
        format!("agent {agent} has no pixel {shown}{hint}"),
    )
}

/// A seq given as a number by the host (Python int, JS number).
pub fn seq_key(seq: i128) -> Result<Key> {
    match u64::try_from(seq) {
        Ok(n) if n <= MAX_SAFE_INTEGER => Ok(Key::Seq(n)),
        _ => Err(Error::argument(format!(
            "a seq is an integer from 0 to 2^53 - 1, got {seq}"
        ))),
    }
}

fn prefix(hex: &str) -> Option<Key> {
    let ok = (MIN_PREFIX..=64).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| Key::Prefix(hex.to_ascii_lowercase()))
}

/// What an append is about to store: the header of the checked line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appendable {
    pub agent_id: String,
    pub seq: u64,
    pub hash: Digest,
    pub prev_hash: Digest,
    pub timestamp_ms: u64,
}

/// Checks, before an append, that `line` is a valid canonical pixel that extends the stored
/// chain (section 12.4). `head` is the stored last line (`None` for an empty chain), `anchor`
/// the recorded anchor of a pruned chain (with its `firstSeq`, when known: [`check_append_at`]).
///
/// Errors: the line's own code (`MALFORMED_JSON`, `NOT_CANONICAL`, `SCHEMA_VIOLATION`,
/// `HASH_MISMATCH`, ...); the head's code when the stored head fails its own checks (a store
/// does not extend a tampered head); `CHAIN_CONFLICT` when the line does not link to the head;
/// `AGENT_CHANGED` and `TIME_REVERSED` as in verification.
pub fn check_append(head: Option<&str>, anchor: Option<Digest>, line: &str) -> Result<Appendable> {
    check_append_at(head, anchor, None, line)
}

/// [`check_append`] for a chain whose anchor record also gives `first_seq`: a chain pruned to
/// nothing then accepts only the pixel at that seq.
pub fn check_append_at(
    head: Option<&str>,
    anchor: Option<Digest>,
    first_seq: Option<u64>,
    line: &str,
) -> Result<Appendable> {
    let new = checked_header(line)?;
    let head = head.map(checked_header).transpose()?;
    link(head, anchor, first_seq, &new)
}

/// [`check_append_at`] for pixels in memory, the fast path of a writer that keeps its head:
/// `head` is the stored head as this writer appended or read and checked it before (its hashes
/// are not checked again); `new`'s hashes are checked unless this library sealed it
/// ([`Pixel::is_sealed`]). Same errors as [`check_append`].
pub fn check_append_pixel(
    head: Option<&Pixel>,
    anchor: Option<Digest>,
    first_seq: Option<u64>,
    new: &Pixel,
) -> Result<Appendable> {
    let head = head.map(header_of);
    if new.is_sealed() {
        return link(head, anchor, first_seq, &header_of(new));
    }
    link(head, anchor, first_seq, &checked_header(new.to_json())?)
}

fn header_of(p: &Pixel) -> Header<'_> {
    Header {
        seq: p.seq(),
        agent_id: p.agent_id(),
        timestamp_ms: p.timestamp_ms(),
        prev_hash: p.prev_hash(),
        hash: p.hash(),
    }
}

/// Whether `new` may follow the stored `head` (or start the chain at `anchor`/`first_seq`).
fn link(
    head: Option<Header<'_>>,
    anchor: Option<Digest>,
    first_seq: Option<u64>,
    new: &Header<'_>,
) -> Result<Appendable> {
    if let (None, Some(_), Some(first)) = (&head, anchor, first_seq) {
        if new.seq != first {
            return Err(Error::store(
                StoreErrorKind::ChainConflict,
                format!(
                    "chain conflict: pixel seq {} cannot start a chain pruned to begin at seq {first}",
                    new.seq
                ),
            ));
        }
    }
    let mut linker = Linker::new(anchor);
    if let Some(stored) = head {
        linker.advance(&stored);
    }
    linker
        .check(new)
        .map_err(|e| conflict(e, new, linker.head()))?;
    Ok(Appendable {
        agent_id: new.agent_id.to_owned(),
        seq: new.seq,
        hash: new.hash,
        prev_hash: new.prev_hash,
        timestamp_ms: new.timestamp_ms,
    })
}

/// Whether a torn tail (the bytes after the last newline) is a whole pixel that only lost its
/// newline, so recovery completes it instead of moving it aside (section 12.5).
pub fn classify_tail(previous: Option<&str>, tail: &[u8], anchor: Option<Digest>) -> bool {
    if tail.len() > MAX_LINE_BYTES {
        return false;
    }
    match std::str::from_utf8(tail) {
        Ok(text) => check_append_at(previous, anchor, None, text).is_ok(),
        Err(_) => false,
    }
}

fn checked_header(line: &str) -> Result<Header<'_>> {
    if line.len() > MAX_LINE_BYTES {
        return Err(json::too_large(line.len()));
    }
    let checked = check_line(line)?;
    checked.check_hashes(line)?;
    Ok(checked.header)
}

/// Link failures of an append are conflicts: the store moved on, or the pixel is foreign.
fn conflict(e: Error, new: &Header<'_>, expected: Digest) -> Error {
    match e {
        Error::BrokenLink { .. }
        | Error::SequenceGap { .. }
        | Error::NotGenesis { .. }
        | Error::AnchorMismatch { .. } => Error::store(
            StoreErrorKind::ChainConflict,
            format!(
                "chain conflict: pixel seq {} links to {}, but the stored chain ends at {expected}: \
                 another writer appended first (re-read the head and re-seal), or the pixel belongs to another chain",
                new.seq, new.prev_hash
            ),
        ),
        other => other,
    }
}

/// The anchor file's line (without its newline): canonical JSON of
/// `{"anchor", "firstSeq", "prunedAtMs"}` (section 12.2).
pub fn anchor_record(anchor: Digest, first_seq: u64, pruned_at_ms: u64) -> String {
    anchor_record_with(anchor, first_seq, pruned_at_ms, None)
}

/// The anchor record with the compact range of the pruned prefix (`frontier`: the roots of
/// its perfect subtrees, largest first, one per bit set in `first_seq`), so that signed
/// checkpoints and proofs still work on the pruned chain (sections 12.7, 14.6).
pub fn anchor_record_with(
    anchor: Digest,
    first_seq: u64,
    pruned_at_ms: u64,
    frontier: Option<&[Hash]>,
) -> String {
    let frontier = match frontier {
        None => String::new(),
        Some(nodes) => {
            let nodes: Vec<String> = nodes.iter().map(|h| format!("\"{}\"", b64(h))).collect();
            format!(",\"frontier\":[{}]", nodes.join(","))
        }
    };
    format!(
        "{{\"anchor\":\"{anchor}\",\"firstSeq\":{first_seq}{frontier},\"prunedAtMs\":{pruned_at_ms}}}"
    )
}

/// What an anchor record holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorRecord {
    pub anchor: Digest,
    pub first_seq: u64,
    /// The pruned prefix's compact range; None in records written before it was kept.
    pub frontier: Option<Vec<Hash>>,
}

/// Reads an anchor file: `(anchor, firstSeq)`. Whitespace and member order are free (earlier
/// versions wrote `{"anchor": ...}` with spaces); anything else is `STORE_CORRUPT`.
pub fn parse_anchor_record(data: &[u8]) -> Result<(Digest, u64)> {
    parse_anchor(data).map(|r| (r.anchor, r.first_seq))
}

/// A frontier as its base64 node texts (from a store column), checked: canonical base64 of 32
/// bytes each, one per bit set in `first_seq`; else `STORE_CORRUPT`.
pub fn parse_frontier(first_seq: u64, nodes: &[&str]) -> Result<Vec<Hash>> {
    let corrupt = |why: String| {
        Error::store(
            StoreErrorKind::StoreCorrupt,
            format!("the pruned prefix's frontier is not valid: {why}"),
        )
    };
    if nodes.len() != first_seq.count_ones() as usize {
        return Err(corrupt(format!(
            "{} nodes for {first_seq} pruned pixels, not {}",
            nodes.len(),
            first_seq.count_ones()
        )));
    }
    nodes
        .iter()
        .map(|n| {
            b64_decode(n, "frontier node")
                .ok()
                .and_then(|b| Hash::try_from(b.as_slice()).ok())
                .ok_or_else(|| corrupt(format!("{n:?} is not the base64 of 32 bytes")))
        })
        .collect()
}

/// The frontier as a store column keeps it (SQLite, PostgreSQL: section 12.8, 12.10): the JSON
/// array of its base64 nodes, checked against `first_seq` (one node per bit), no spaces.
pub fn frontier_text(first_seq: u64, nodes: &[&str]) -> Result<String> {
    let hashes = parse_frontier(first_seq, nodes)?;
    let items: Vec<String> = hashes.iter().map(|h| format!("\"{}\"", b64(h))).collect();
    Ok(format!("[{}]", items.join(",")))
}

/// A frontier column read back: its base64 nodes, checked (`STORE_CORRUPT` otherwise).
pub fn parse_frontier_text(first_seq: u64, text: &str) -> Result<Vec<Hash>> {
    let corrupt = |why: &str| {
        Error::store(
            StoreErrorKind::StoreCorrupt,
            format!("the anchor's frontier column is not valid: {why}"),
        )
    };
    let Ok(Value::Array(items)) = json::parse(text) else {
        return Err(corrupt("not a JSON array"));
    };
    let texts: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
    parse_frontier(
        first_seq,
        &texts.ok_or_else(|| corrupt("not an array of strings"))?,
    )
}

/// Reads an anchor record with its frontier, when it has one.
pub fn parse_anchor(data: &[u8]) -> Result<AnchorRecord> {
    let corrupt = |why: String| {
        Error::store(
            StoreErrorKind::StoreCorrupt,
            format!("the anchor file is not an anchor record: {why}"),
        )
    };
    if data.len() > 4096 {
        return Err(corrupt(format!("{} bytes, at most 4096", data.len())));
    }
    let value = json::parse_bytes(data).map_err(|e| corrupt(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(corrupt("not a JSON object".into()));
    };
    if let Some(k) = map
        .keys()
        .find(|k| !matches!(*k, "anchor" | "firstSeq" | "frontier" | "prunedAtMs"))
    {
        return Err(corrupt(format!("unknown member {k:?}")));
    }
    let anchor = map
        .get("anchor")
        .and_then(Value::as_str)
        .and_then(Digest::parse)
        .ok_or_else(|| corrupt("\"anchor\" must be sha256:<64 lowercase hex>".into()))?;
    let uint = |key: &str, required: bool| -> Result<Option<u64>> {
        match map.get(key) {
            None if !required => Ok(None),
            Some(Value::Number(n)) => match n.as_safe_integer() {
                Some(i) if i >= 0 => Ok(Some(i as u64)),
                _ => Err(corrupt(format!(
                    "{key:?} must be an integer from 0 to 2^53 - 1"
                ))),
            },
            _ => Err(corrupt(format!(
                "{key:?} must be an integer from 0 to 2^53 - 1"
            ))),
        }
    };
    let first_seq = uint("firstSeq", true)?.unwrap_or_default();
    uint("prunedAtMs", false)?;
    let frontier = match map.get("frontier") {
        None => None,
        Some(Value::Array(items)) => {
            let texts: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
            let texts = texts.ok_or_else(|| corrupt("\"frontier\" holds base64 strings".into()))?;
            Some(parse_frontier(first_seq, &texts)?)
        }
        Some(_) => return Err(corrupt("\"frontier\" must be an array".into())),
    };
    Ok(AnchorRecord {
        anchor,
        first_seq,
        frontier,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{Chain, Emit};

    fn chain(n: usize) -> Vec<String> {
        let mut c = Chain::new("a", "s").unwrap();
        (0..n)
            .map(|i| {
                c.emit(Emit::new("DISTRICT_1.CHAMBER_0.NODE_PRE", 1000 + i as u64))
                    .unwrap()
                    .to_json()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn keys() {
        assert_eq!(parse_key("123").unwrap(), Key::Seq(123));
        assert_eq!(parse_key("0").unwrap(), Key::Seq(0));
        assert_eq!(parse_key("ABCD").unwrap(), Key::Prefix("abcd".into()));
        assert_eq!(
            parse_key("sha256:1234").unwrap(),
            Key::Prefix("1234".into())
        );
        for bad in [
            "",
            "²",
            "12a",
            "abc",
            "sha256:",
            "sha256:xyz1",
            " 12",
            "-1",
            "99999999999999999",
        ] {
            let e = parse_key(bad).unwrap_err();
            assert_eq!(e.code(), "INVALID_ARGUMENT", "{bad:?}");
        }
        assert_eq!(
            parse_key("9007199254740991").unwrap(),
            Key::Seq(MAX_SAFE_INTEGER)
        );
        assert!(parse_key("9007199254740992").is_err());
        assert!(seq_key(-1).is_err());
    }

    #[test]
    fn agent_ids() {
        validate_agent_id("agent-7.b_c").unwrap();
        for bad in [
            "",
            "a/../b",
            "../x",
            "a\tb",
            "a\nb",
            ".hidden",
            "x".repeat(129).as_str(),
        ] {
            assert_eq!(
                validate_agent_id(bad).unwrap_err().code(),
                "INVALID_ARGUMENT"
            );
        }
    }

    #[test]
    fn appends() {
        let lines = chain(3);
        let a = check_append(None, None, &lines[0]).unwrap();
        assert_eq!(a.seq, 0);
        check_append(Some(&lines[0]), None, &lines[1]).unwrap();
        let e = check_append(Some(&lines[1]), None, &lines[1]).unwrap_err();
        assert_eq!(e.code(), "CHAIN_CONFLICT");
        let e = check_append(None, None, &lines[1]).unwrap_err();
        assert_eq!(e.code(), "CHAIN_CONFLICT");
        // A chain pruned down to its anchor accepts the pixel after the anchor, only that.
        let anchor = check_append(None, None, &lines[0]).unwrap().hash;
        check_append(None, Some(anchor), &lines[1]).unwrap();
        let e = check_append(None, Some(anchor), &lines[2]).unwrap_err();
        assert_eq!(e.code(), "CHAIN_CONFLICT");
        check_append_at(None, Some(anchor), Some(1), &lines[1]).unwrap();
        let e = check_append_at(None, Some(anchor), Some(2), &lines[1]).unwrap_err();
        assert_eq!(e.code(), "CHAIN_CONFLICT");
        let tampered = lines[1].replace("\"seq\":1", "\"seq\":7");
        let e = check_append(Some(&tampered), None, &lines[2]).unwrap_err();
        assert_eq!(e.code(), "HASH_MISMATCH");
        assert_eq!(
            check_append(None, None, "{").unwrap_err().code(),
            "MALFORMED_JSON"
        );
    }

    #[test]
    fn pg_schema_names_the_genesis_hash() {
        let quoted = format!("'{}'", crate::hash::GENESIS_HASH);
        assert!(PG_MIGRATIONS[0].contains(&quoted));
    }

    #[test]
    fn appends_in_memory() {
        let mut c = Chain::new("a", "s").unwrap();
        let mut emit = |t| {
            c.emit(Emit::new("DISTRICT_1.CHAMBER_0.NODE_PRE", t))
                .unwrap()
                .clone()
        };
        let (p0, p1, p2) = (emit(1000), emit(1001), emit(1002));
        assert!(p0.is_sealed());
        let read = |p: &Pixel| Pixel::from_json(p.to_json()).unwrap();
        assert!(!read(&p1).is_sealed());
        assert_eq!(
            read(&p1),
            p1,
            "equality is by canonical line, sealed or read"
        );
        // Same answers as the line form, sealed or read back.
        for new in [p1.clone(), read(&p1)] {
            let a = check_append_pixel(Some(&p0), None, None, &new).unwrap();
            assert_eq!(
                a,
                check_append(Some(p0.to_json()), None, p1.to_json()).unwrap()
            );
            let e = check_append_pixel(Some(&p1), None, None, &new).unwrap_err();
            assert_eq!(e.code(), "CHAIN_CONFLICT");
        }
        let e = check_append_pixel(None, Some(p0.hash()), Some(2), &p1).unwrap_err();
        assert_eq!(e.code(), "CHAIN_CONFLICT");
        check_append_pixel(None, Some(p0.hash()), Some(1), &p1).unwrap();
        // A pixel read from a tampered line is re-hashed: HASH_MISMATCH, never appended.
        let forged = Pixel::from_json(&p2.to_json().replace("1002", "1003")).unwrap();
        let e = check_append_pixel(Some(&p1), None, None, &forged).unwrap_err();
        assert_eq!(e.code(), "HASH_MISMATCH");
    }

    #[test]
    fn tails() {
        let lines = chain(2);
        assert!(classify_tail(Some(&lines[0]), lines[1].as_bytes(), None));
        assert!(!classify_tail(
            Some(&lines[0]),
            &lines[1].as_bytes()[..40],
            None
        ));
        assert!(!classify_tail(None, lines[1].as_bytes(), None));
        assert!(!classify_tail(None, b"\xff\xfe", None));
    }

    #[test]
    fn anchor_records_with_a_frontier() {
        let d = Digest([7; 32]);
        let mut f = crate::tlog::Frontier::new();
        for i in 0u8..6 {
            f.push(crate::tlog::leaf_hash(&[i]));
        }
        let text = anchor_record_with(d, 6, 1000, Some(f.nodes()));
        let r = parse_anchor(text.as_bytes()).unwrap();
        assert_eq!((r.anchor, r.first_seq), (d, 6));
        assert_eq!(r.frontier.as_deref(), Some(f.nodes()));
        assert_eq!(crate::canonicalize(&text).unwrap(), text, "canonical JSON");
        assert_eq!(
            parse_anchor(anchor_record(d, 6, 1).as_bytes())
                .unwrap()
                .frontier,
            None
        );
        let wrong_count = anchor_record_with(d, 7, 1000, Some(f.nodes()));
        let not_b64 = format!("{{\"anchor\":\"{d}\",\"firstSeq\":1,\"frontier\":[\"x\"]}}");
        let not_array = format!("{{\"anchor\":\"{d}\",\"firstSeq\":1,\"frontier\":\"x\"}}");
        for bad in [wrong_count, not_b64, not_array] {
            assert_eq!(
                parse_anchor(bad.as_bytes()).unwrap_err().code(),
                "STORE_CORRUPT",
                "{bad}"
            );
        }
    }

    #[test]
    fn frontier_columns() {
        let mut f = crate::tlog::Frontier::new();
        for i in 0u8..3 {
            f.push(crate::tlog::leaf_hash(&[i]));
        }
        let nodes: Vec<String> = f.nodes().iter().map(|h| b64(h)).collect();
        let refs: Vec<&str> = nodes.iter().map(String::as_str).collect();
        let text = frontier_text(3, &refs).unwrap();
        assert_eq!(text, format!("[\"{}\",\"{}\"]", nodes[0], nodes[1]));
        assert_eq!(parse_frontier_text(3, &text).unwrap(), f.nodes());
        assert_eq!(frontier_text(4, &refs).unwrap_err().code(), "STORE_CORRUPT");
        for bad in ["", "{}", "[1]", "[\"x\"]", &text[1..]] {
            assert_eq!(
                parse_frontier_text(3, bad).unwrap_err().code(),
                "STORE_CORRUPT",
                "{bad}"
            );
        }
    }

    #[test]
    fn anchor_records() {
        let d = Digest([7; 32]);
        let text = anchor_record(d, 5, 1000);
        assert_eq!(parse_anchor_record(text.as_bytes()).unwrap(), (d, 5));
        let spaced = format!("{{\"anchor\": \"{d}\", \"firstSeq\": 5, \"prunedAtMs\": 1}}\n");
        assert_eq!(parse_anchor_record(spaced.as_bytes()).unwrap(), (d, 5));
        for bad in [
            &b"not json"[..],
            b"[]",
            b"{\"anchor\":\"x\",\"firstSeq\":1}",
            b"{}",
        ] {
            assert_eq!(
                parse_anchor_record(bad).unwrap_err().code(),
                "STORE_CORRUPT"
            );
        }
    }
}
