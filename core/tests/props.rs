//! Property tests: canonical round trips, tamper detection, and garbage that never panics.

mod support;

use proptest::prelude::*;
use support::*;
use tokenpixel_core::{canonicalize, parse, to_canonical, verify_jsonl, Map, Pixel, Value};

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_filter_map("finite", Value::number),
        (-(1i64 << 53)..=(1i64 << 53)).prop_map(|i| Value::integer(i.into()).unwrap()),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6).prop_map(|m| {
                Value::Object(Map::from_entries(m.into_iter().collect()).unwrap())
            }),
        ]
    })
}

/// Writes a value as valid but non-canonical JSON: reversed keys, whitespace, every
/// non-ASCII character as \u escapes, numbers in exponent form.
fn loose(v: &Value, out: &mut String) {
    match v {
        Value::Number(n) => out.push_str(&format!("{:e}", n.get())),
        Value::String(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '/' => out.push_str("\\/"),
                    c if (c as u32) < 0x20 || !c.is_ascii() => {
                        let mut buf = [0u16; 2];
                        for unit in c.encode_utf16(&mut buf) {
                            out.push_str(&format!("\\u{unit:04X}"));
                        }
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        Value::Array(items) => {
            out.push_str("[ ");
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(" ,\n");
                }
                loose(x, out);
            }
            out.push_str(" ]");
        }
        Value::Object(m) => {
            out.push_str("{\t");
            let members: Vec<_> = m.iter().collect();
            for (i, (k, x)) in members.iter().rev().enumerate() {
                if i > 0 {
                    out.push_str(",\r\n ");
                }
                loose(&Value::String((*k).to_owned()), out);
                out.push_str(" : ");
                loose(x, out);
            }
            out.push('}');
        }
        other => out.push_str(&to_canonical(other)),
    }
}

fn sample_lines() -> Vec<String> {
    emit_lines("agent-7", "session-1", &sample_steps())
}

fn line_of(data: &[u8], pos: usize) -> u64 {
    data[..pos].iter().filter(|&&b| b == b'\n').count() as u64
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn canonicalize_is_idempotent_and_preserves_the_value(v in arb_value()) {
        let mut text = String::new();
        loose(&v, &mut text);
        let canonical = canonicalize(&text).unwrap();
        prop_assert_eq!(&canonical, &to_canonical(&v));
        prop_assert_eq!(&canonicalize(&canonical).unwrap(), &canonical);
        prop_assert_eq!(parse(&canonical).unwrap(), v);
        prop_assert!(tokenpixel_core::is_canonical(&canonical));
    }

    #[test]
    fn any_field_change_is_caught_at_its_index(
        k in 0usize..10,
        field in 0usize..12,
        n in 1u64..1_000_000,
        s in "[a-z]{1,12}",
    ) {
        let mut ls = sample_lines();
        let original = ls[k].clone();
        let (key, value) = match field {
            0 => ("agentId", format!("\"{s}-x\"")),
            1 => ("autonomyIndex", format!("{}", (n % 997) as f64 / 1000.0 + 0.0001)),
            2 => ("corridor", format!("\"DISTRICT_{n}.CHAMBER_X.NODE_Y\"")),
            3 => ("eventDelta", format!("{}", n + 1000)),
            4 => ("intentHash", format!("\"{s}\"")),
            5 => ("seq", format!("{}", n + 100)),
            6 => ("sessionId", format!("\"{s}-x\"")),
            7 => ("state", format!("{{\"{s}\":{n}}}")),
            8 => ("stateVector", format!("{{\"psi\":{n}}}")),
            9 => ("timestampMs", format!("{}", T0 + 10_000_000 + n)),
            10 => ("context", format!("{{\"notes\":\"{s}\"}}")),
            _ => ("prevHash", format!("\"sha256:{:064x}\"", n)),
        };
        ls[k] = edit_line(&original, key, &value, false);
        prop_assume!(ls[k] != original);
        let r = verify_jsonl(jsonl(&ls).as_bytes(), None);
        let f = r.error.expect("tampering must be caught");
        prop_assert_eq!((f.code(), f.index), ("HASH_MISMATCH", k as u64));
    }

    #[test]
    fn any_byte_change_fails_at_the_right_pixel(pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let data = jsonl(&sample_lines()).into_bytes();
        let p = pos.index(data.len());
        prop_assume!(data[p] != byte);
        let mut bad = data.clone();
        bad[p] = byte;
        let r = verify_jsonl(&bad, None);
        prop_assert!(!r.ok);
        prop_assert_eq!(r.error.unwrap().index, line_of(&data, p));
    }

    #[test]
    fn garbage_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        let r = verify_jsonl(&data, None);
        prop_assert_eq!(r.ok, data.is_empty());
        if let Ok(text) = std::str::from_utf8(&data) {
            let _ = canonicalize(text);
            let _ = Pixel::from_json(text);
        }
    }

    #[test]
    fn json_like_garbage_never_panics(text in r#"[\[\]{}",:0-9eE.+\-tfrueanl\\u ]{0,64}"#) {
        match canonicalize(&text) {
            Ok(c) => prop_assert_eq!(canonicalize(&c).unwrap(), c),
            Err(e) => prop_assert!(["MALFORMED_JSON", "NOT_I_JSON", "LIMIT_EXCEEDED"].contains(&e.code())),
        }
        let _ = Pixel::from_json(&text);
        let _ = verify_jsonl(text.as_bytes(), None);
    }

    #[test]
    fn mutated_pixels_never_panic(k in 0usize..10, pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let ls = sample_lines();
        let mut bytes = ls[k].clone().into_bytes();
        let p = pos.index(bytes.len());
        bytes[p] = byte;
        if let Ok(text) = String::from_utf8(bytes) {
            let _ = Pixel::from_json(&text);
            let _ = canonicalize(&text);
        }
    }
}
