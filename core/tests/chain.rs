//! Emission, verification and tamper detection over whole chains.

mod support;

use support::*;
use tokenpixel_core::{
    verify, verify_jsonl, Chain, Digest, Emit, JsonlVerifier, Ledger, Pixel, Value, GENESIS,
    GENESIS_HASH,
};

fn lines() -> Vec<String> {
    emit_lines("agent-7", "session-1", &sample_steps())
}

fn failure(data: &str, anchor: Option<Digest>) -> (&'static str, u64, Option<u64>) {
    let r = verify_jsonl(data.as_bytes(), anchor);
    assert!(!r.ok, "expected a failure");
    let f = r.error.unwrap();
    assert_eq!(r.count, f.index);
    (f.code(), f.index, f.line)
}

#[test]
fn emitted_chain_verifies_in_memory_and_as_jsonl() {
    let mut chain = Chain::new("agent-7", "session-1").unwrap();
    let pixels: Vec<Pixel> = sample_steps()
        .into_iter()
        .map(|s| chain.emit(s).unwrap().clone())
        .collect();
    assert_eq!(pixels[0].prev_hash(), GENESIS);
    assert_eq!(pixels[0].prev_hash().to_string(), GENESIS_HASH);
    for w in pixels.windows(2) {
        assert_eq!(w[1].prev_hash(), w[0].hash());
        assert_eq!(w[1].seq(), w[0].seq() + 1);
    }
    let report = verify(&pixels, None);
    assert!(report.ok, "{:?}", report.error);
    assert_eq!(report.count, 10);
    assert_eq!(report.head, pixels[9].hash());

    let text = jsonl(
        &pixels
            .iter()
            .map(|p| p.to_json().to_owned())
            .collect::<Vec<_>>(),
    );
    let r = verify_jsonl(text.as_bytes(), None);
    assert_eq!(r, report);
    // Without the final newline too.
    assert_eq!(verify_jsonl(text.trim_end().as_bytes(), None), report);
    // Round trip through from_json keeps every byte.
    for p in &pixels {
        let again = Pixel::from_json(p.to_json()).unwrap();
        assert_eq!(&again, p);
    }
}

#[test]
fn streaming_gives_the_same_report_for_any_chunking() {
    let text = jsonl(&lines());
    let whole = verify_jsonl(text.as_bytes(), None);
    for size in [1, 2, 7, 64, 1000, 4096] {
        let mut v = JsonlVerifier::new(None);
        for chunk in text.as_bytes().chunks(size) {
            v.feed(chunk);
        }
        assert_eq!(v.finish(), whole, "chunk size {size}");
    }
    // A tampered chain, in chunks.
    let mut ls = lines();
    ls[4] = edit_line(&ls[4], "eventDelta", "99", false);
    let bad = jsonl(&ls);
    let want = verify_jsonl(bad.as_bytes(), None);
    let mut v = JsonlVerifier::new(None);
    for chunk in bad.as_bytes().chunks(3) {
        v.feed(chunk);
    }
    assert_eq!(v.finish(), want);
    assert_eq!(want.error.unwrap().index, 4);
}

#[test]
fn empty_input_is_a_valid_empty_chain() {
    let r = verify_jsonl(b"", None);
    assert!(r.ok);
    assert_eq!((r.count, r.head), (0, GENESIS));
}

#[test]
fn idempotence_same_state_same_state_hash() {
    let a = lines();
    let b = emit_lines("agent-other", "session-9", &sample_steps());
    for (x, y) in a.iter().zip(&b) {
        let (px, py) = (Pixel::from_json(x).unwrap(), Pixel::from_json(y).unwrap());
        assert_eq!(px.state_hash(), py.state_hash());
        assert_ne!(px.hash(), py.hash());
    }
    // Re-emitting with nothing changed keeps the stateHash; time and seq do not enter it.
    let mut chain = Chain::new("agent-7", "s").unwrap();
    let p1 = chain
        .emit(Emit::new("DISTRICT_1.CHAMBER_0.NODE_PRE", T0))
        .unwrap()
        .clone();
    let p2 = chain
        .emit(Emit::new("DISTRICT_1.CHAMBER_0.NODE_POST", T0 + 5))
        .unwrap();
    assert_eq!(p1.state_hash(), p2.state_hash());
    assert_ne!(p1.hash(), p2.hash());
}

#[test]
fn carry_forward_and_defaults() {
    let mut chain = Chain::new("a", "s").unwrap();
    let g = chain
        .emit(Emit::new("DISTRICT_1.CHAMBER_0.NODE_PRE", T0))
        .unwrap();
    assert_eq!(
        (g.autonomy_index(), g.intent_hash(), g.event_delta()),
        (0.0, None, 0)
    );
    assert!(g.state().is_empty() && g.state_vector().is_empty() && g.context().is_none());
    let mut e = Emit::new("DISTRICT_1.CHAMBER_0.NODE_POST", T0 + 1);
    e.state = Some(json(r#"{"k":1}"#));
    e.intent_hash = Some(Some("route:deploy".into()));
    e.event_delta = Some(3);
    chain.emit(e).unwrap();
    let p = chain
        .emit(Emit::new("DISTRICT_2.CHAMBER_A.NODE_PRE", T0 + 2))
        .unwrap();
    assert_eq!(p.state().get("k"), Some(&json("1")));
    assert_eq!(p.intent_hash(), Some("route:deploy"));
    assert_eq!(p.event_delta(), 0);
    let mut e = Emit::new("DISTRICT_2.CHAMBER_A.NODE_POST", T0 + 3);
    e.context = Some(json(r#"{"notes":"hi"}"#));
    let p = chain.emit(e).unwrap();
    assert!(p.context().is_some());
    let mut e = Emit::new("DISTRICT_2.CHAMBER_A.NODE_POST", T0 + 3);
    e.context = Some(Value::Null);
    assert!(chain.emit(e).unwrap().context().is_none());
}

#[test]
fn emit_rejects_bad_input_with_codes() {
    let mut chain = Chain::new("a", "s").unwrap();
    chain
        .emit(Emit::new("DISTRICT_1.CHAMBER_0.NODE_PRE", T0))
        .unwrap();
    let code = |chain: &mut Chain, f: &dyn Fn(&mut Emit)| {
        let mut e = Emit::new("DISTRICT_1.CHAMBER_0.NODE_POST", T0 + 10);
        f(&mut e);
        chain.emit(e).unwrap_err().code()
    };
    assert_eq!(
        code(&mut chain, &|e| e.corridor = "DISTRICT_1.CHAMBER_0".into()),
        "INVALID_CORRIDOR"
    );
    assert_eq!(
        code(&mut chain, &|e| e.timestamp_ms = T0 - 1),
        "TIME_REVERSED"
    );
    assert_eq!(
        code(&mut chain, &|e| e.autonomy_index = Some(1.5)),
        "SCHEMA_VIOLATION"
    );
    assert_eq!(
        code(&mut chain, &|e| e.autonomy_index = Some(f64::NAN)),
        "SCHEMA_VIOLATION"
    );
    assert_eq!(
        code(&mut chain, &|e| e.state = Some(json("[1]"))),
        "SCHEMA_VIOLATION"
    );
    assert_eq!(
        code(&mut chain, &|e| e.state_vector =
            Some(json(r#"{"psi":"x"}"#))),
        "SCHEMA_VIOLATION"
    );
    assert_eq!(
        code(&mut chain, &|e| e.state_vector =
            Some(json(r#"{"1psi":1}"#))),
        "SCHEMA_VIOLATION"
    );
    assert_eq!(
        code(&mut chain, &|e| e.context = Some(json(r#"{"tasks":3}"#))),
        "SCHEMA_VIOLATION"
    );
    assert_eq!(
        code(&mut chain, &|e| e.intent_hash = Some(Some(String::new()))),
        "SCHEMA_VIOLATION"
    );
    assert_eq!(
        code(&mut chain, &|e| e.timestamp_ms = u64::MAX),
        "SCHEMA_VIOLATION"
    );
    assert_eq!(
        code(&mut chain, &|e| e.event_delta = Some(1 << 60)),
        "SCHEMA_VIOLATION"
    );
    // The chain is still usable after errors.
    chain
        .emit(Emit::new("DISTRICT_1.CHAMBER_0.NODE_POST", T0 + 10))
        .unwrap();
    assert_eq!(chain.next_seq(), 2);
    assert_eq!(Chain::new("", "s").unwrap_err().code(), "SCHEMA_VIOLATION");
    assert_eq!(
        Chain::new("a/b", "s").unwrap_err().code(),
        "SCHEMA_VIOLATION"
    );
    assert_eq!(
        Chain::new("a", "s p").unwrap_err().code(),
        "SCHEMA_VIOLATION"
    );
    assert_eq!(chain.timestamp_for(0), T0 + 10);
}

#[test]
fn removal_insertion_reordering_and_duplication_break_the_link() {
    let ls = lines();
    let mut removed = ls.clone();
    removed.remove(3);
    assert_eq!(failure(&jsonl(&removed), None), ("BROKEN_LINK", 3, Some(4)));

    let mut reordered = ls.clone();
    reordered.swap(5, 6);
    assert_eq!(
        failure(&jsonl(&reordered), None),
        ("BROKEN_LINK", 5, Some(6))
    );

    let mut duplicated = ls.clone();
    duplicated.insert(3, ls[2].clone());
    assert_eq!(
        failure(&jsonl(&duplicated), None),
        ("BROKEN_LINK", 3, Some(4))
    );

    // A forged but internally consistent pixel inserted after pixel 4.
    let mut inserted = ls.clone();
    let forged = edit_line(&ls[4], "state", r#"{"evil":true}"#, true);
    inserted.insert(5, forged);
    assert_eq!(
        failure(&jsonl(&inserted), None),
        ("BROKEN_LINK", 5, Some(6))
    );

    let mut first_removed = ls.clone();
    first_removed.remove(0);
    assert_eq!(
        failure(&jsonl(&first_removed), None),
        ("NOT_GENESIS", 0, Some(1))
    );
}

#[test]
fn every_field_edit_is_caught_at_its_pixel() {
    let ls = lines();
    let edits = [
        ("agentId", r#""agent-8""#),
        ("autonomyIndex", "0.99"),
        ("context", "null"),
        ("corridor", r#""DISTRICT_9.CHAMBER_0.NODE_PRE""#),
        ("eventDelta", "7"),
        (
            "hash",
            r#""sha256:1111111111111111111111111111111111111111111111111111111111111111""#,
        ),
        ("intentHash", r#""x""#),
        (
            "prevHash",
            r#""sha256:2222222222222222222222222222222222222222222222222222222222222222""#,
        ),
        ("seq", "42"),
        ("sessionId", r#""session-2""#),
        ("state", r#"{"documents":[]}"#),
        (
            "stateHash",
            r#""sha256:3333333333333333333333333333333333333333333333333333333333333333""#,
        ),
        ("stateVector", r#"{"psi":0}"#),
        ("timestampMs", "1"),
    ];
    for (key, value) in edits {
        let mut ls2 = ls.clone();
        ls2[6] = edit_line(&ls[6], key, value, false);
        assert_eq!(
            failure(&jsonl(&ls2), None),
            ("HASH_MISMATCH", 6, Some(7)),
            "{key}"
        );
    }
}

#[test]
fn resealed_forgeries_get_their_own_codes() {
    let ls = lines();
    let case = |key: &str, value: &str, at: usize| {
        let mut ls2 = ls.clone();
        ls2[at] = edit_line(&ls[at], key, value, true);
        failure(&jsonl(&ls2), None)
    };
    // Content changed and rehashed: the next pixel's link breaks.
    assert_eq!(case("state", r#"{"x":1}"#, 6), ("BROKEN_LINK", 7, Some(8)));
    // The last pixel resealed cannot be told from a real one by content alone: the head moves.
    let mut ls2 = ls.clone();
    ls2[9] = edit_line(&ls[9], "state", r#"{"x":1}"#, true);
    let r = verify_jsonl(jsonl(&ls2).as_bytes(), None);
    assert!(r.ok);
    assert_ne!(r.head, verify_jsonl(jsonl(&ls).as_bytes(), None).head);
    // Header forgeries at the last pixel are caught where they are.
    assert_eq!(case("seq", "11", 9), ("SEQUENCE_GAP", 9, Some(10)));
    assert_eq!(
        case("agentId", r#""intruder""#, 9),
        ("AGENT_CHANGED", 9, Some(10))
    );
    assert_eq!(case("timestampMs", "1", 9), ("TIME_REVERSED", 9, Some(10)));
    assert_eq!(
        case("prevHash", &format!("\"{GENESIS_HASH}\""), 9),
        ("BROKEN_LINK", 9, Some(10))
    );
    assert_eq!(
        case("schema", "2", 3),
        ("UNKNOWN_SCHEMA_VERSION", 3, Some(4))
    );
    assert_eq!(
        case("corridor", r#""DISTRICT_1""#, 3),
        ("INVALID_CORRIDOR", 3, Some(4))
    );
    assert_eq!(
        case("autonomyIndex", "2", 3),
        ("SCHEMA_VIOLATION", 3, Some(4))
    );
    // Only `hash` recomputed, `stateHash` left stale.
    let mut v = json(&ls[2]);
    if let Value::Object(m) = &mut v {
        m.insert("state", json("{}"));
    }
    let stale_state_hash = {
        let mut w = v.clone();
        reseal(&mut w);
        if let (Value::Object(m), Value::Object(orig)) = (&mut w, json(&ls[2])) {
            m.insert("stateHash", orig.get("stateHash").unwrap().clone());
            m.remove("hash");
        }
        let mut w2 = w.clone();
        // Recompute only `hash` over the stale stateHash.
        reseal_hash_only(&mut w2);
        tokenpixel_core::to_canonical(&w2)
    };
    let mut ls2 = ls.clone();
    ls2[2] = stale_state_hash;
    assert_eq!(
        failure(&jsonl(&ls2), None),
        ("STATE_HASH_MISMATCH", 2, Some(3))
    );
}

fn reseal_hash_only(v: &mut Value) {
    use sha2::{Digest as _, Sha256};
    let mut h = Sha256::new();
    h.update(b"tokenpixel/v1/pixel\0");
    h.update(tokenpixel_core::to_canonical(v).as_bytes());
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    if let Value::Object(m) = v {
        m.insert("hash", Value::String(format!("sha256:{hex}")));
    }
}

#[test]
fn json_level_damage_has_json_codes() {
    let ls = lines();
    let with = |i: usize, line: &str| {
        let mut ls2 = ls.clone();
        ls2[i] = line.to_owned();
        jsonl(&ls2)
    };
    let truncated = ls[..9].join("\n") + "\n" + &ls[9][..ls[9].len() / 2];
    assert_eq!(failure(&truncated, None), ("MALFORMED_JSON", 9, Some(10)));
    assert_eq!(failure(&with(4, ""), None), ("MALFORMED_JSON", 4, Some(5)));
    let spaced = ls[4].replacen(",", ", ", 1);
    assert_eq!(
        failure(&with(4, &spaced), None),
        ("NOT_CANONICAL", 4, Some(5))
    );
    let dup = ls[4].replacen("{", "{\"agentId\":\"x\",", 1);
    assert_eq!(failure(&with(4, &dup), None), ("NOT_I_JSON", 4, Some(5)));
    let crlf = ls.join("\r\n");
    assert_eq!(failure(&crlf, None), ("NOT_CANONICAL", 0, Some(1)));
    let mut bytes = jsonl(&ls).into_bytes();
    let at = bytes.iter().position(|&b| b == b'\n').unwrap() + 10;
    bytes[at] = 0xFF;
    let r = verify_jsonl(&bytes, None);
    let f = r.error.unwrap();
    assert_eq!(
        (f.code(), f.error.reason(), f.index),
        ("NOT_I_JSON", Some("INVALID_UTF8"), 1)
    );
    assert_eq!(
        failure(&with(0, "[1,2]"), None),
        ("SCHEMA_VIOLATION", 0, Some(1))
    );
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    assert_eq!(
        failure(&with(2, &deep), None),
        ("LIMIT_EXCEEDED", 2, Some(3))
    );
}

#[test]
fn pruned_chains_need_a_trusted_anchor() {
    let ls = lines();
    let anchor = Pixel::from_json(&ls[3]).unwrap().hash();
    let tail = jsonl(&ls[4..]);
    assert_eq!(failure(&tail, None), ("NOT_GENESIS", 0, Some(1)));
    let r = verify_jsonl(tail.as_bytes(), Some(anchor));
    assert!(r.ok && r.count == 6);
    let wrong = Pixel::from_json(&ls[2]).unwrap().hash();
    assert_eq!(failure(&tail, Some(wrong)), ("ANCHOR_MISMATCH", 0, Some(1)));
    // An empty pruned chain's head is its anchor.
    assert_eq!(verify_jsonl(b"", Some(anchor)).head, anchor);
    // Resuming a pruned chain continues it.
    let pixels: Vec<Pixel> = ls[4..]
        .iter()
        .map(|l| Pixel::from_json(l).unwrap())
        .collect();
    let mut chain = Chain::resume(&pixels, Some(anchor), Some("session-2")).unwrap();
    let p = chain
        .emit(Emit::new(
            "DISTRICT_5.CHAMBER_DEPLOY.NODE_AUDIT",
            T0 + 99_999,
        ))
        .unwrap();
    assert_eq!((p.seq(), p.session_id()), (10, "session-2"));
    let mut all = ls[4..].to_vec();
    all.push(p.to_json().to_owned());
    assert!(verify_jsonl(jsonl(&all).as_bytes(), Some(anchor)).ok);
    assert_eq!(
        Chain::resume(&pixels, None, None).unwrap_err().code(),
        "NOT_GENESIS"
    );
}

#[test]
fn ledger_checks_every_append() {
    let ls = lines();
    let mut ledger = Ledger::new();
    for l in &ls[..5] {
        ledger.append(Pixel::from_json(l).unwrap()).unwrap();
    }
    assert_eq!(ledger.len(), 5);
    assert_eq!(ledger.latest().unwrap().seq(), 4);
    let skip = Pixel::from_json(&ls[6]).unwrap();
    assert_eq!(ledger.append(skip).unwrap_err().code(), "BROKEN_LINK");
    let tampered = Pixel::from_json(&edit_line(&ls[5], "eventDelta", "9", false)).unwrap();
    assert_eq!(ledger.append(tampered).unwrap_err().code(), "HASH_MISMATCH");
    ledger.append(Pixel::from_json(&ls[5]).unwrap()).unwrap();
    assert_eq!(ledger.head(), Pixel::from_json(&ls[5]).unwrap().hash());
    assert_eq!(ledger.iter().count(), 6);
}

#[test]
fn resume_continues_and_rejects_tampered_history() {
    let ls = lines();
    let pixels: Vec<Pixel> = ls.iter().map(|l| Pixel::from_json(l).unwrap()).collect();
    let mut chain = Chain::resume(&pixels, None, None).unwrap();
    assert_eq!(chain.session_id(), "session-1");
    let p = chain
        .emit(Emit::new(
            "DISTRICT_5.CHAMBER_DEPLOY.NODE_AUDIT",
            T0 + 99_999,
        ))
        .unwrap();
    assert_eq!(p.prev_hash(), pixels[9].hash());
    assert_eq!(p.state(), pixels[9].state());
    let mut bad = pixels.clone();
    bad[3] = Pixel::from_json(&edit_line(&ls[3], "eventDelta", "9", false)).unwrap();
    assert_eq!(
        Chain::resume(&bad, None, None).unwrap_err().code(),
        "HASH_MISMATCH"
    );
    assert_eq!(
        Chain::resume(&[], None, None).unwrap_err().code(),
        "INVALID_ARGUMENT"
    );
}
