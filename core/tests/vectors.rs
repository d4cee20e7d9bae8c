//! The checked-in golden vectors must be exactly what the generator writes today, and every
//! vector must hold when read back the way the Python and JS tests read it.

mod support;

use support::vectors::{generate, vectors_dir};
use tokenpixel_core::{canonicalize, parse, verify_jsonl, Chain, Digest, Emit, Value};

#[test]
fn checked_in_vectors_are_up_to_date() {
    for (name, want) in generate() {
        let path = vectors_dir().join(&name);
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "tests/vectors/{name} is stale: run `cargo run -p tokenpixel-core --example gen_vectors`"
        );
    }
}

fn load(name: &str) -> Value {
    parse(&std::fs::read_to_string(vectors_dir().join(name)).unwrap()).unwrap()
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("missing {k}"))
}

fn check_expect(data: &[u8], anchor: &Value, expect: &Value, name: &str) {
    let anchor = anchor.as_str().map(|a| Digest::parse(a).unwrap());
    let r = verify_jsonl(data, anchor);
    assert_eq!(Value::Bool(r.ok), *expect.get("ok").unwrap(), "{name}");
    assert_eq!(
        r.count as f64,
        expect.get("count").unwrap().as_f64().unwrap(),
        "{name}"
    );
    assert_eq!(r.head.to_string(), str_of(expect, "head"), "{name}");
    match (r.error, expect.get("error")) {
        (None, None) => {}
        (Some(f), Some(e)) => {
            assert_eq!(f.code(), str_of(e, "code"), "{name}");
            assert_eq!(
                f.index as f64,
                e.get("index").unwrap().as_f64().unwrap(),
                "{name}"
            );
            assert_eq!(
                f.line.unwrap() as f64,
                e.get("line").unwrap().as_f64().unwrap(),
                "{name}"
            );
            assert_eq!(
                f.error.reason(),
                e.get("reason").and_then(Value::as_str),
                "{name}"
            );
        }
        (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn canonical_vectors_hold() {
    let v = load("canonical.json");
    let cases = v.get("cases").unwrap().as_array().unwrap();
    assert!(cases.len() > 40);
    for c in cases {
        let name = str_of(c, "name");
        match (
            canonicalize(str_of(c, "input")),
            c.get("output"),
            c.get("error"),
        ) {
            (Ok(out), Some(want), None) => assert_eq!(Some(out.as_str()), want.as_str(), "{name}"),
            (Err(e), None, Some(want)) => {
                assert_eq!(e.code(), str_of(want, "code"), "{name}");
                assert_eq!(
                    e.reason(),
                    want.get("reason").and_then(Value::as_str),
                    "{name}"
                );
            }
            (got, _, _) => panic!("{name}: unexpected {got:?}"),
        }
    }
}

#[test]
fn chain_vectors_replay_and_verify() {
    let v = load("chains.json");
    for c in v.get("chains").unwrap().as_array().unwrap() {
        let name = str_of(c, "name");
        let data = str_of(c, "jsonl");
        check_expect(
            data.as_bytes(),
            c.get("anchor").unwrap(),
            c.get("expect").unwrap(),
            name,
        );
        let Some(steps) = c.get("steps").and_then(Value::as_array) else {
            continue;
        };
        let mut chain = Chain::new(str_of(c, "agentId"), str_of(c, "sessionId")).unwrap();
        let mut out = String::new();
        for s in steps {
            let mut e = Emit::new(
                str_of(s, "corridor"),
                s.get("timestampMs").unwrap().as_f64().unwrap() as u64,
            );
            e.state = s.get("state").cloned();
            e.context = s.get("context").cloned();
            e.autonomy_index = s.get("autonomyIndex").and_then(Value::as_f64);
            e.intent_hash = s.get("intentHash").map(|v| v.as_str().map(str::to_owned));
            e.event_delta = s
                .get("eventDelta")
                .and_then(Value::as_f64)
                .map(|x| x as u64);
            e.state_vector = s.get("stateVector").cloned();
            out.push_str(chain.emit(e).unwrap().to_json());
            out.push('\n');
        }
        assert_eq!(out, data, "{name}");
    }
}

#[test]
fn tamper_vectors_fail_with_code_and_index() {
    let v = load("tamper.json");
    let cases = v.get("cases").unwrap().as_array().unwrap();
    let mut codes = std::collections::BTreeSet::new();
    for c in cases {
        let name = str_of(c, "name");
        let data: Vec<u8> = match c.get("jsonlHex") {
            Some(h) => {
                let h = h.as_str().unwrap();
                (0..h.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                    .collect()
            }
            None => str_of(c, "jsonl").as_bytes().to_vec(),
        };
        let expect = c.get("expect").unwrap();
        assert_eq!(expect.get("ok"), Some(&Value::Bool(false)), "{name}");
        codes.insert(str_of(expect.get("error").unwrap(), "code").to_owned());
        check_expect(&data, c.get("anchor").unwrap(), expect, name);
    }
    for code in [
        "MALFORMED_JSON",
        "NOT_I_JSON",
        "NOT_CANONICAL",
        "SCHEMA_VIOLATION",
        "UNKNOWN_SCHEMA_VERSION",
        "INVALID_CORRIDOR",
        "HASH_MISMATCH",
        "BROKEN_LINK",
        "SEQUENCE_GAP",
        "AGENT_CHANGED",
        "TIME_REVERSED",
        "NOT_GENESIS",
        "ANCHOR_MISMATCH",
    ] {
        assert!(codes.contains(code), "no tamper vector for {code}");
    }
}

#[test]
fn diff_and_summary_vectors_hold() {
    use tokenpixel_core::{diff, diff_range, summarize, Level, Pixel, SummaryOptions};
    for c in load("diff.json").get("cases").unwrap().as_array().unwrap() {
        let d = match c.get("range") {
            Some(r) => diff_range(
                &r.as_array()
                    .unwrap()
                    .iter()
                    .map(|l| Pixel::from_json(l.as_str().unwrap()).unwrap())
                    .collect::<Vec<_>>(),
            )
            .unwrap(),
            None => diff(
                &Pixel::from_json(str_of(c, "a")).unwrap(),
                &Pixel::from_json(str_of(c, "b")).unwrap(),
            ),
        };
        assert_eq!(d.value(), c.get("expect").unwrap(), "{}", str_of(c, "name"));
        assert_eq!(d.render(), str_of(c, "text"));
    }
    for c in load("summary.json")
        .get("cases")
        .unwrap()
        .as_array()
        .unwrap()
    {
        let o = c.get("options").unwrap();
        let opts = SummaryOptions {
            level: o
                .get("level")
                .and_then(Value::as_str)
                .map(|l| Level::parse(l).unwrap()),
            for_task: o.get("forTask").and_then(Value::as_str).map(str::to_owned),
            relevant_keys: o
                .get("relevantKeys")
                .and_then(Value::as_array)
                .map(|k| k.iter().map(|x| x.as_str().unwrap().to_owned()).collect()),
            max_tokens: o
                .get("maxTokens")
                .and_then(Value::as_f64)
                .map(|m| m as usize),
        };
        let s = summarize(&Pixel::from_json(str_of(c, "pixel")).unwrap(), &opts);
        assert_eq!(
            &s.to_value(),
            c.get("expect").unwrap(),
            "{}",
            str_of(c, "name")
        );
    }
}
