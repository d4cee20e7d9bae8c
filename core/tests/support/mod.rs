//! Helpers shared by the integration tests, the vector generator and the benchmark.
#![allow(dead_code)]

use sha2::{Digest as _, Sha256};
use tokenpixel_core::{parse, to_canonical, Chain, Emit, Map, Value};

/// A fixed moment (2025-11-23T12:13:20Z) so that generated chains are deterministic.
pub const T0: u64 = 1_763_900_000_000;

pub fn json(text: &str) -> Value {
    parse(text).unwrap_or_else(|e| panic!("bad test JSON {text}: {e}"))
}

fn sha256_tagged(tag: &[u8], body: &str) -> String {
    let mut h = Sha256::new();
    h.update(tag);
    h.update(body.as_bytes());
    let d = h.finalize();
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Recomputes `stateHash` and `hash` of a pixel value from the SPEC's definitions, written
/// independently of the core (a forger's tool: it makes edited pixels internally consistent).
pub fn reseal(pixel: &mut Value) {
    let Value::Object(map) = pixel else {
        panic!("not an object")
    };
    let mut surface = Map::new();
    for k in [
        "autonomyIndex",
        "context",
        "intentHash",
        "state",
        "stateVector",
    ] {
        surface.insert(k, map.get(k).cloned().unwrap_or(Value::Null));
    }
    let state_hash = sha256_tagged(
        b"tokenpixel/v1/state\0",
        &to_canonical(&Value::Object(surface)),
    );
    map.insert("stateHash", Value::String(state_hash));
    map.remove("hash");
    let hash = sha256_tagged(b"tokenpixel/v1/pixel\0", &to_canonical(pixel));
    let Value::Object(map) = pixel else {
        unreachable!()
    };
    map.insert("hash", Value::String(hash));
}

/// Sets `key` of a pixel line to `value` (JSON text) and returns the canonical line,
/// resealed or not.
pub fn edit_line(line: &str, key: &str, value: &str, resealed: bool) -> String {
    let mut v = json(line);
    if let Value::Object(m) = &mut v {
        m.insert(key, json(value));
    }
    if resealed {
        reseal(&mut v);
    }
    to_canonical(&v)
}

/// The five districts of the first seed, each with a pre and a post pixel.
pub const DISTRICTS: [(&str, &str); 5] = [
    ("DISTRICT_1", "CHAMBER_0"),
    ("DISTRICT_2", "CHAMBER_LORA"),
    ("DISTRICT_3", "CHAMBER_ROUTER"),
    ("DISTRICT_4", "CHAMBER_EXEC"),
    ("DISTRICT_5", "CHAMBER_DEPLOY"),
];

/// A deterministic sample pipeline run: ten pixels through the five districts.
pub fn sample_steps() -> Vec<Emit> {
    let mut steps = Vec::new();
    let mut t = T0;
    for (d, (district, chamber)) in DISTRICTS.iter().enumerate() {
        let d = d as u64 + 1;
        let mut pre = Emit::new(format!("{district}.{chamber}.NODE_PRE"), t);
        if d == 1 {
            pre.state = Some(json(r#"{"documents":[],"deployments":[]}"#));
            pre.state_vector = Some(json(r#"{"psi":1,"omega":0}"#));
            pre.autonomy_index = Some(0.5);
            pre.context = Some(json(
                r#"{"phase":{"name":"Phase 1: Ingestion","number":1,"status":"in_progress"},
                "phasesCompleted":[],"tasks":[{"id":"1","subject":"Ingest docs","status":"in_progress"}],
                "activeTaskId":"1","dependencies":[{"name":"vault","type":"service","status":"available","endpoint":"https://127.0.0.1:8200"}],
                "variables":{"target_env":"staging"},"recentOutputs":[],"notes":null,"agentTier":1}"#,
            ));
        }
        steps.push(pre);
        t += 250 * d;
        let mut post = Emit::new(format!("{district}.{chamber}.NODE_POST"), t);
        post.event_delta = Some(d);
        post.state = Some(json(&format!(
            r#"{{"documents":["doc-1","doc-2"],"deployments":{deps},"district":{d},"note":"p\u00e9ch\u00e9 \u20ac \ud83d\ude02"}}"#,
            deps = if d == 5 { r#"["deploy-42"]"# } else { "[]" },
        )));
        post.state_vector = Some(json(&format!(
            r#"{{"psi":{psi},"omega":{d}}}"#,
            psi = 1.0 - 0.0625 * d as f64
        )));
        post.autonomy_index = Some(0.5 + 0.1 * d as f64);
        if d == 3 {
            post.intent_hash = Some(Some(
                "sha256:1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988".into(),
            ));
        }
        post.context = Some(json(&format!(
            r#"{{"phase":{{"name":"Phase {d}","number":{d},"status":"in_progress"}},
            "phasesCompleted":{done},"tasks":[{{"id":"{d}","subject":"District {d}","status":"completed"}}],
            "activeTaskId":null,"dependencies":[{{"name":"vault","type":"service","status":"{vs}"}}],
            "variables":{{"target_env":"staging","district":{d}}},"recentOutputs":[{{"type":"evidence","id":"evd-{d}","success":true}}],
            "notes":"district {d} done","agentTier":1}}"#,
            done = format_args!(
                "[{}]",
                (1..d).map(|x| x.to_string()).collect::<Vec<_>>().join(",")
            ),
            vs = if d == 4 { "degraded" } else { "available" },
        )));
        steps.push(post);
        t += 1000;
    }
    steps
}

/// Emits `steps` on a new chain and returns the canonical lines.
pub fn emit_lines(agent: &str, session: &str, steps: &[Emit]) -> Vec<String> {
    let mut chain = Chain::new(agent, session).unwrap();
    steps
        .iter()
        .map(|s| chain.emit(s.clone()).unwrap().to_json().to_owned())
        .collect()
}

pub fn jsonl(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// Writes a value as indented JSON (keys in canonical order, leaves in canonical form).
pub fn pretty(v: &Value) -> String {
    let mut out = String::new();
    write_pretty(&mut out, v, 0);
    out.push('\n');
    out
}

fn write_pretty(out: &mut String, v: &Value, indent: usize) {
    let pad = |n: usize| "  ".repeat(n);
    match v {
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, x) in items.iter().enumerate() {
                out.push_str(&pad(indent + 1));
                write_pretty(out, x, indent + 1);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(indent));
            out.push(']');
        }
        Value::Object(m) if !m.is_empty() => {
            out.push_str("{\n");
            for (i, (k, x)) in m.iter().enumerate() {
                out.push_str(&pad(indent + 1));
                out.push_str(&to_canonical(&Value::String(k.to_owned())));
                out.push_str(": ");
                write_pretty(out, x, indent + 1);
                out.push_str(if i + 1 < m.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(indent));
            out.push('}');
        }
        leaf => out.push_str(&to_canonical(leaf)),
    }
}
pub mod vectors;
