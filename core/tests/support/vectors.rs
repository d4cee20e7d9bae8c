//! Builds the golden vectors in `tests/vectors/`, deterministically. The generator
//! (`cargo run -p tokenpixel-core --example gen_vectors`) writes them; the test
//! `vectors::checked_in_vectors_are_up_to_date` fails when the files are stale.

use std::path::{Path, PathBuf};

use super::*;
use tokenpixel_core::{canonicalize, verify_jsonl, Digest, Emit, Pixel, Value, GENESIS_HASH};

pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn obj(members: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in members {
        m.insert(k, v);
    }
    Value::Object(m)
}

fn s(text: &str) -> Value {
    Value::String(text.to_owned())
}

fn n(x: u64) -> Value {
    Value::integer(x.into()).unwrap()
}

fn error_value(code: &str, reason: Option<&str>) -> Value {
    let mut members = vec![("code", s(code))];
    if let Some(r) = reason {
        members.push(("reason", s(r)));
    }
    obj(members)
}

/// Every generated file: (file name, contents).
pub fn generate() -> Vec<(String, String)> {
    vec![
        ("canonical.json".to_owned(), pretty(&canonical_cases())),
        ("chains.json".to_owned(), pretty(&chain_cases())),
        ("tamper.json".to_owned(), pretty(&tamper_cases())),
        ("diff.json".to_owned(), pretty(&diff_cases())),
        ("summary.json".to_owned(), pretty(&summary_cases())),
    ]
}

fn canonical_cases() -> Value {
    let mut inputs: Vec<(String, String)> = Vec::new();
    let jcs = vectors_dir().join("jcs/input");
    let mut names: Vec<_> = std::fs::read_dir(&jcs)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for name in names {
        let text = std::fs::read_to_string(jcs.join(&name)).unwrap();
        inputs.push((format!("jcs/{name}"), text));
    }
    let hand: &[(&str, &str)] = &[
        ("integer 1.0", "1.0"),
        ("negative zero", "-0"),
        ("exponent threshold 1e21", "1e21"),
        ("below exponent threshold 1e20", "1e20"),
        ("small 1e-6 stays plain", "0.000001"),
        ("small 1e-7 uses exponent", "0.0000001"),
        ("exact double beyond 2^53", "87515321284314368"),
        ("shortest form of that double", "87515321284314370"),
        ("shortest form 123456789012345680000", "123456789012345680000"),
        ("2^53 exactly", "9007199254740992"),
        ("2^53 + 1 is lossy", "9007199254740993"),
        ("-(2^53 + 1) is lossy", "-9007199254740993"),
        ("fraction near 2^53 rounds", "9007199254740993.0"),
        ("smallest subnormal", "5e-324"),
        ("largest double", "1.7976931348623157e308"),
        ("overflow", "1e400"),
        ("underflow to zero", "1e-400"),
        ("zero with big exponent", "0e-400"),
        ("NaN", "[NaN]"),
        ("Infinity", "{\"a\":Infinity}"),
        ("-Infinity", "-Infinity"),
        ("control characters", "\"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f\\u007f\""),
        ("escaped solidus and quotes", "\"\\/\\\"\\\\\""),
        ("surrogate pair", "\"\\ud83d\\ude02\""),
        ("lone high surrogate", "\"\\ud800\""),
        ("lone low surrogate", "[\"\\udc00\"]"),
        ("high surrogate then letter", "\"\\ud800\\u0041\""),
        ("utf-16 key order", "{\"\\ufb33\":1,\"\\ud83d\\ude02\":2,\"\\u20ac\":3,\"\\u0080\":4,\"a\":5,\"A\":6,\"\":7}"),
        ("nested key order", "{\"b\":[{\"z\":1,\"y\":{\"d\":0,\"c\":0}}],\"a\":null}"),
        ("duplicate key", "{\"a\":1,\"a\":2}"),
        ("nested duplicate key", "{\"a\":{\"x\":1,\"y\":2,\"x\":3}}"),
        ("duplicate key after escape", "{\"a\":1,\"\\u0061\":2}"),
        ("whitespace everywhere", " \t\r\n{ \"b\" : [ 1 , 2 ] ,\n\"a\" : true } \n"),
        ("empty text", ""),
        ("unterminated object", "{\"a\":1"),
        ("trailing comma", "[1,]"),
        ("leading zero", "01"),
        ("trailing garbage", "[1] x"),
        ("two documents", "{} {}"),
        ("single quotes", "'a'"),
        ("raw tab in string", "\"a\tb\""),
        ("byte order mark", "\u{feff}{}"),
        ("bad escape", "\"\\x\""),
        ("plus sign", "+1"),
        ("depth 128 is allowed", ""),
        ("depth 129 is refused", ""),
    ];
    for (name, text) in hand {
        let text = match *name {
            "depth 128 is allowed" => format!("{}{}", "[".repeat(128), "]".repeat(128)),
            "depth 129 is refused" => format!("{}{}", "[".repeat(129), "]".repeat(129)),
            _ => (*text).to_owned(),
        };
        inputs.push(((*name).to_owned(), text));
    }
    let cases = inputs
        .into_iter()
        .map(|(name, input)| {
            let mut members = vec![("name", s(&name)), ("input", s(&input))];
            match canonicalize(&input) {
                Ok(out) => members.push(("output", s(&out))),
                Err(e) => members.push(("error", error_value(e.code(), e.reason()))),
            }
            obj(members)
        })
        .collect();
    obj(vec![
        (
            "description",
            s("canonicalize(input) must return output byte for byte, or fail with error.code (and error.reason for NOT_I_JSON)"),
        ),
        ("cases", Value::Array(cases)),
    ])
}

/// An emit step as bindings receive it: corridor, timestampMs and the optional surface.
fn step_value(e: &Emit) -> Value {
    let mut members = vec![
        ("corridor", s(&e.corridor)),
        ("timestampMs", n(e.timestamp_ms)),
    ];
    if let Some(v) = &e.state {
        members.push(("state", v.clone()));
    }
    if let Some(v) = &e.context {
        members.push(("context", v.clone()));
    }
    if let Some(v) = e.autonomy_index {
        members.push(("autonomyIndex", Value::number(v).unwrap()));
    }
    if let Some(v) = &e.intent_hash {
        members.push(("intentHash", v.as_deref().map_or(Value::Null, s)));
    }
    if let Some(v) = e.event_delta {
        members.push(("eventDelta", n(v)));
    }
    if let Some(v) = &e.state_vector {
        members.push(("stateVector", v.clone()));
    }
    obj(members)
}

fn expect(data: &str, anchor: Option<Digest>) -> Value {
    let r = verify_jsonl(data.as_bytes(), anchor);
    let mut members = vec![
        ("ok", Value::Bool(r.ok)),
        ("count", n(r.count)),
        ("head", s(&r.head.to_string())),
    ];
    if let Some(f) = &r.error {
        let mut e = vec![
            ("code", s(f.code())),
            ("index", n(f.index)),
            ("line", n(f.line.unwrap_or(0))),
        ];
        if let Some(reason) = f.error.reason() {
            e.push(("reason", s(reason)));
        }
        members.push(("error", obj(e)));
    }
    obj(members)
}

fn chain_case(name: &str, agent: &str, session: &str, steps: &[Emit]) -> Value {
    let lines = emit_lines(agent, session, steps);
    let data = jsonl(&lines);
    obj(vec![
        ("name", s(name)),
        ("agentId", s(agent)),
        ("sessionId", s(session)),
        (
            "steps",
            Value::Array(steps.iter().map(step_value).collect()),
        ),
        ("jsonl", s(&data)),
        ("anchor", Value::Null),
        ("expect", expect(&data, None)),
    ])
}

/// Pixels whose context and state hold members named `hash` (and `prevHash`) with digest
/// values: only the top-level `hash` member is left out of the hash input (SPEC 4.1).
pub fn nested_hash_steps() -> Vec<Emit> {
    let digest = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let mut first = Emit::new("DISTRICT_1.CHAMBER_0.NODE_PRE", T0);
    first.context = Some(json(&format!(
        r#"{{"variables":{{"hash":"{digest}","intentHash":"x"}},"notes":"hash inside"}}"#
    )));
    first.state = Some(json(&format!(
        r#"{{"artifact":{{"hash":"{digest}","prevHash":"{digest}"}},"eventDelta":1}}"#
    )));
    let mut second = Emit::new("DISTRICT_1.CHAMBER_0.NODE_POST", T0 + 1);
    second.context = Some(json(&format!(
        r#"{{"agentTier":9007199254740991,"phasesCompleted":[0,1],"variables":{{"eventDelta":1,"hash":"{digest}"}}}}"#
    )));
    vec![first, second]
}

fn chain_cases() -> Value {
    let steps = sample_steps();
    let lines = emit_lines("agent-7", "session-1", &steps);
    let anchor = Pixel::from_json(&lines[3]).unwrap().hash();
    let tail = jsonl(&lines[4..]);
    let mut minimal = vec![Emit::new("DISTRICT_1.CHAMBER_0.NODE_PRE", T0)];
    minimal.push(Emit::new("DISTRICT_1.CHAMBER_0.NODE_POST", T0));
    let mut floats = Emit::new("DISTRICT_7.CHAMBER_NUMBERS.NODE_EDGE", T0);
    floats.state = Some(json(
        r#"{"big":87515321284314368,"tiny":5e-324,"third":0.3333333333333333,"neg":-0,"exp":1e21,"arr":[1e-7,123456789012345680000,-1.5]}"#,
    ));
    floats.state_vector = Some(json(r#"{"psi":0.1,"omega":1e-7,"_kappa":-2.5}"#));
    floats.autonomy_index = Some(1.0 / 3.0);
    vec![
        chain_case("five-districts", "agent-7", "session-1", &steps),
        chain_case("minimal", "a", "s", &minimal),
        chain_case("numbers", "agent.numbers_1", "S-2", &[floats]),
        chain_case("nested-hash-members", "agent-nested", "s", &nested_hash_steps()),
        obj(vec![
            ("name", s("pruned-tail")),
            ("jsonl", s(&tail)),
            ("anchor", s(&anchor.to_string())),
            ("expect", expect(&tail, Some(anchor))),
        ]),
        obj(vec![
            ("name", s("empty")),
            ("jsonl", s("")),
            ("anchor", Value::Null),
            ("expect", expect("", None)),
        ]),
    ]
    .into_iter()
    .collect::<Vec<_>>()
    .pipe(|cases| {
        obj(vec![
            (
                "description",
                s("Replaying steps on Chain(agentId, sessionId) must emit exactly jsonl; verify_jsonl(jsonl, anchor) must give expect"),
            ),
            ("genesis", s(GENESIS_HASH)),
            ("chains", Value::Array(cases)),
        ])
    })
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl<T> Pipe for T {}

fn tamper_cases() -> Value {
    let ls = emit_lines("agent-7", "session-1", &sample_steps());
    let anchor = Pixel::from_json(&ls[3]).unwrap().hash();
    let mut cases: Vec<(String, String, Option<Digest>)> = Vec::new();
    let mut add = |name: &str, lines: Vec<String>, anchor: Option<Digest>| {
        cases.push((name.to_owned(), jsonl(&lines), anchor));
    };
    let with = |i: usize, line: String| {
        let mut v = ls.clone();
        v[i] = line;
        v
    };
    for (key, value) in [
        ("state", r#"{"documents":[]}"#),
        ("stateVector", r#"{"psi":0}"#),
        ("autonomyIndex", "0.99"),
        ("corridor", r#""DISTRICT_9.CHAMBER_0.NODE_PRE""#),
        ("timestampMs", "1763900000001"),
        ("context", "null"),
        (
            "hash",
            r#""sha256:1111111111111111111111111111111111111111111111111111111111111111""#,
        ),
    ] {
        add(
            &format!("{key} edited"),
            with(6, edit_line(&ls[6], key, value, false)),
            None,
        );
    }
    let mut removed = ls.clone();
    removed.remove(3);
    add("pixel removed", removed, None);
    let mut reordered = ls.clone();
    reordered.swap(5, 6);
    add("pixels reordered", reordered, None);
    let mut inserted = ls.clone();
    inserted.insert(5, edit_line(&ls[4], "state", r#"{"evil":true}"#, true));
    add("forged pixel inserted", inserted, None);
    let mut duplicated = ls.clone();
    duplicated.insert(3, ls[2].clone());
    add("pixel duplicated", duplicated, None);
    add(
        "edited and resealed",
        with(6, edit_line(&ls[6], "state", r#"{"x":1}"#, true)),
        None,
    );
    add(
        "sequence gap",
        with(9, edit_line(&ls[9], "seq", "11", true)),
        None,
    );
    add(
        "agent changed",
        with(9, edit_line(&ls[9], "agentId", r#""intruder""#, true)),
        None,
    );
    add(
        "time went backwards",
        with(9, edit_line(&ls[9], "timestampMs", "1", true)),
        None,
    );
    add(
        "unknown schema version",
        with(3, edit_line(&ls[3], "schema", "2", true)),
        None,
    );
    add(
        "invalid corridor",
        with(3, edit_line(&ls[3], "corridor", r#""DISTRICT_1""#, true)),
        None,
    );
    add(
        "schema violation",
        with(3, edit_line(&ls[3], "autonomyIndex", "2", true)),
        None,
    );
    add("genesis removed", ls[1..].to_vec(), None);
    add("pruned tail without anchor", ls[4..].to_vec(), None);
    let wrong = Pixel::from_json(&ls[2]).unwrap().hash();
    add("pruned tail, wrong anchor", ls[4..].to_vec(), Some(wrong));
    let mut genesis_seq = json(&ls[0]);
    if let Value::Object(m) = &mut genesis_seq {
        m.insert("seq", n(5));
    }
    reseal(&mut genesis_seq);
    add(
        "genesis link with seq 5",
        vec![to_canonical(&genesis_seq)],
        None,
    );
    add("blank line", with(4, String::new()), None);
    add("not canonical", with(4, ls[4].replacen(',', ", ", 1)), None);
    add(
        "duplicate key",
        with(4, ls[4].replacen('{', "{\"agentId\":\"x\",", 1)),
        None,
    );
    add("not an object", with(0, "[1,2]".to_owned()), None);
    // SPEC 4.1: a nested member named hash is content like any other.
    let nested = emit_lines("agent-nested", "s", &nested_hash_steps());
    add(
        "nested hash member edited",
        vec![
            nested[0].replacen("00112233", "99112233", 1),
            nested[1].clone(),
        ],
        None,
    );
    // SPEC 2 and 6: what `schema` values are (each resealed, so only the value decides).
    for (label, value) in [
        ("0", "0"),
        ("2^64", "18446744073709551616"),
        ("-1", "-1"),
        ("1.5", "1.5"),
        ("1e+21", "1e+21"),
        ("string", r#""1""#),
        ("null", "null"),
        ("true", "true"),
    ] {
        add(
            &format!("schema {label}"),
            with(3, edit_line(&ls[3], "schema", value, true)),
            None,
        );
    }
    // Forms the canonical writer never produces: classified in step 2 by their value.
    for (label, from, to) in [
        ("schema 1.0", "\"schema\":1,", "\"schema\":1.0,"),
        ("schema -0", "\"schema\":1,", "\"schema\":-0,"),
        ("seq 1e0", "\"seq\":1,", "\"seq\":1e0,"),
    ] {
        add(label, with(1, ls[1].replacen(from, to, 1)), None);
    }
    // SPEC 2.2: integers inside the context share the pixel's range.
    for (label, value) in [
        ("agentTier 2^53", "9007199254740992"),
        ("agentTier 1.5", "1.5"),
        ("agentTier -1", "-1"),
    ] {
        let mut v = json(&ls[0]);
        if let Value::Object(m) = &mut v {
            if let Some(Value::Object(ctx)) = m.get("context").cloned().as_ref() {
                let mut ctx = ctx.clone();
                ctx.insert("agentTier", json(value));
                m.insert("context", Value::Object(ctx));
            }
        }
        reseal(&mut v);
        add(&format!("context {label}"), vec![to_canonical(&v)], None);
    }
    // SPEC 6: the first error in stream order; a duplicate key is found when its object closes.
    for (label, line) in [
        ("duplicate key, then truncated", r#"{"a":1,"a":2,"b":["#),
        ("NaN, then truncated", r#"{"a":NaN,"b":"#),
        ("truncated before a NaN", r#"{"a":[1,2"#),
        (
            "lone surrogate, then a syntax error",
            r#"{"a":"\ud800","b":}"#,
        ),
        (
            "nested duplicate key, then truncated",
            r#"{"x":{"a":1,"a":2},"y":"#,
        ),
        ("not canonical, schema 2", r#"{ "schema":2}"#),
        ("not canonical, schema missing", r#"{ "seq":0}"#),
        (
            "trailing characters after a duplicate key",
            r#"{"a":1,"a":2}x"#,
        ),
    ] {
        add(label, with(2, line.to_owned()), None);
    }
    // SPEC 6, step 4: the order of the schema checks.
    let mut both = json(&ls[2]);
    if let Value::Object(m) = &mut both {
        m.insert("autonomyIndex", json("2"));
        m.insert("corridor", json(r#""DISTRICT_1""#));
    }
    reseal(&mut both);
    add(
        "bad autonomyIndex and bad corridor",
        with(2, to_canonical(&both)),
        None,
    );
    let mut keys = json(&ls[2]);
    if let Value::Object(m) = &mut keys {
        m.remove("agentId");
        m.insert("zzz", json("1"));
    }
    add(
        "missing key and unknown key",
        with(2, to_canonical(&keys)),
        None,
    );
    let _ = anchor;
    let mut out: Vec<Value> = cases
        .into_iter()
        .map(|(name, data, anchor)| {
            obj(vec![
                ("name", s(&name)),
                ("jsonl", s(&data)),
                ("anchor", anchor.map_or(Value::Null, |a| s(&a.to_string()))),
                ("expect", expect(&data, anchor)),
            ])
        })
        .collect();
    // Byte-level damage that a JSON string cannot carry: given as hex.
    let full = jsonl(&ls);
    let truncated = &full[..full.len() - ls[9].len() / 2 - 1];
    out.push(obj(vec![
        ("name", s("truncated last line")),
        ("jsonl", s(truncated)),
        ("anchor", Value::Null),
        ("expect", expect(truncated, None)),
    ]));
    let mut bytes = full.clone().into_bytes();
    let at = bytes.iter().position(|&b| b == b'\n').unwrap() + 10;
    bytes[at] = 0xFF;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let r = verify_jsonl(&bytes, None);
    let f = r.error.unwrap();
    out.push(obj(vec![
        ("name", s("invalid UTF-8")),
        ("jsonlHex", s(&hex)),
        ("anchor", Value::Null),
        (
            "expect",
            obj(vec![
                ("ok", Value::Bool(false)),
                ("count", n(r.count)),
                ("head", s(&r.head.to_string())),
                (
                    "error",
                    obj(vec![
                        ("code", s(f.code())),
                        ("index", n(f.index)),
                        ("line", n(f.line.unwrap_or(0))),
                        ("reason", s(f.error.reason().unwrap_or(""))),
                    ]),
                ),
            ]),
        ),
    ]));
    obj(vec![
        (
            "description",
            s("verify_jsonl(jsonl or bytes of jsonlHex, anchor) must give expect: the same code, index and line in every language"),
        ),
        ("cases", Value::Array(out)),
    ])
}

fn diff_cases() -> Value {
    let ls = emit_lines("agent-7", "session-1", &sample_steps());
    let px: Vec<Pixel> = ls.iter().map(|l| Pixel::from_json(l).unwrap()).collect();
    let mut cases = Vec::new();
    for (name, i, j) in [
        ("pre to post", 0, 1),
        ("across districts", 1, 3),
        ("dependency degraded", 5, 7),
        ("same pixel", 4, 4),
        ("first to last", 0, 9),
    ] {
        let d = tokenpixel_core::diff(&px[i], &px[j]);
        cases.push(obj(vec![
            ("name", s(name)),
            ("a", s(&ls[i])),
            ("b", s(&ls[j])),
            ("expect", d.value().clone()),
            ("text", s(&d.render())),
        ]));
    }
    let d = tokenpixel_core::diff_range(&px).unwrap();
    cases.push(obj(vec![
        ("name", s("range over the whole run")),
        ("range", Value::Array(ls.iter().map(|l| s(l)).collect())),
        ("expect", d.value().clone()),
        ("text", s(&d.render())),
    ]));
    obj(vec![
        (
            "description",
            s("diff(a, b) (or diff_range(range)) must give expect as JSON and text when rendered"),
        ),
        ("cases", Value::Array(cases)),
    ])
}

fn summary_cases() -> Value {
    use tokenpixel_core::{summarize, Level, SummaryOptions};
    let ls = emit_lines("agent-7", "session-1", &sample_steps());
    let mut cases = Vec::new();
    #[allow(clippy::type_complexity)]
    let options: Vec<(
        &str,
        usize,
        Option<Level>,
        Option<&str>,
        Option<Vec<&str>>,
        Option<usize>,
    )> = vec![
        ("default", 7, None, None, None, None),
        ("minimal", 7, Some(Level::Minimal), None, None, None),
        ("standard", 7, Some(Level::Standard), None, None, None),
        ("full", 9, Some(Level::Full), None, None, None),
        (
            "terraform",
            7,
            Some(Level::Compact),
            Some("terraform"),
            None,
            None,
        ),
        (
            "ledger",
            7,
            Some(Level::Compact),
            Some("ledger query"),
            None,
            None,
        ),
        (
            "promotion with keys",
            7,
            Some(Level::Compact),
            Some("promotion"),
            Some(vec!["target_env"]),
            None,
        ),
        ("hard cap 60", 9, Some(Level::Full), None, None, Some(60)),
        ("hard cap 20", 9, Some(Level::Full), None, None, Some(20)),
        ("genesis", 0, Some(Level::Standard), None, None, None),
    ];
    for (name, i, level, task, keys, max) in options {
        let p = Pixel::from_json(&ls[i]).unwrap();
        let opts = SummaryOptions {
            level,
            for_task: task.map(str::to_owned),
            relevant_keys: keys
                .clone()
                .map(|k| k.into_iter().map(str::to_owned).collect()),
            max_tokens: max,
        };
        let mut o = vec![("level", level.map_or(Value::Null, |l| s(l.name())))];
        o.push(("forTask", task.map_or(Value::Null, s)));
        o.push((
            "relevantKeys",
            keys.map_or(Value::Null, |k| {
                Value::Array(k.into_iter().map(s).collect())
            }),
        ));
        o.push(("maxTokens", max.map_or(Value::Null, |m| n(m as u64))));
        cases.push(obj(vec![
            ("name", s(name)),
            ("pixel", s(&ls[i])),
            ("options", obj(o)),
            ("expect", summarize(&p, &opts).to_value()),
        ]));
    }
    obj(vec![
        ("description", s("summarize(pixel, options) must give expect byte for byte (text, tokens, sourceHash, level, focus, omitted)")),
        ("cases", Value::Array(cases)),
    ])
}
