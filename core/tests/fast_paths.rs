//! The parallel verifier (`jobs`) and the host-hashed verifier (`feed_hashed_by`) against the
//! one-thread verifier: generated chains, every single-byte mutation of sampled lines, and
//! the golden tamper vectors must give the same report (ok, count, head, code, index, line,
//! message) whatever the path, the thread count and the batch sizes.

mod support;

use sha2::{Digest as _, Sha256};
use support::vectors::vectors_dir;
use support::*;
use tokenpixel_core::{
    parse, verify_jsonl, verify_jsonl_jobs, Digest, Emit, JsonlVerifier, Value, VerifyReport,
};

/// A chain with the value shapes the scanner distinguishes: long and short strings, escapes,
/// non-ASCII text, integers, 17-digit floats, exponents, nested objects and arrays.
fn varied_lines(n: usize) -> Vec<String> {
    let steps: Vec<Emit> = (0..n)
        .map(|i| {
            let mut e = Emit::new(
                format!("DISTRICT_{}.CHAMBER_LORA.NODE_POST", i % 5 + 1),
                T0 + 250 * i as u64,
            );
            let f = (i as f64 + 0.1) / 3.0;
            e.state = Some(json(&format!(
                r#"{{"step":{i},"note":"line {i}: \"quoted\" \\ tab\t é 日本 🎉","weights":[{f},{},{},-0,1e-7,1e21],"ok":{},"nested":{{"a":[[],{{}},null],"z":"{}"}}}}"#,
                f * 1e-9,
                -f * 1e15,
                i % 3 == 0,
                "x".repeat(i * 7 % 200)
            )));
            if i % 4 == 0 {
                e.context = Some(json(&format!(
                    r#"{{"phase":{{"name":"Phase {i}","number":{i},"status":"in_progress"}},"variables":{{"run":{i},"ratio":{f}}}}}"#
                )));
            }
            e.autonomy_index = Some((i % 10) as f64 / 10.0);
            e.event_delta = Some(i as u64 % 4);
            e
        })
        .collect();
    emit_lines("agent-fast", "s-1", &steps)
}

fn host_sha256(preimages: &[u8], ends: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 * ends.len());
    let mut start = 0;
    for &end in ends {
        out.extend_from_slice(&Sha256::digest(&preimages[start..end as usize]));
        start = end as usize;
    }
    out
}

/// Every path, thread count and batch size over `data`, each compared with the one-thread
/// report.
fn assert_paths_agree(data: &[u8], what: &str) -> VerifyReport {
    assert_paths_agree_at(data, None, what)
}

/// Fewer configurations, for the thousands of mutations: one parallel split per line, one
/// host batch per line, and the one-thread verifier fed in pieces.
fn assert_paths_agree_light(data: &[u8], what: &str) -> VerifyReport {
    let want = verify_jsonl(data, None);
    let mut v = JsonlVerifier::with_jobs(None, 2).tuned(0, 1, 0);
    v.feed(data);
    assert_eq!(v.finish(), want, "{what}: parallel");
    let mut v = JsonlVerifier::new(None).tuned(0, 1, 0);
    v.feed_hashed_by(data, &mut host_sha256);
    assert_eq!(v.finish(), want, "{what}: host");
    let mut v = JsonlVerifier::new(None);
    data.chunks(97).for_each(|c| v.feed(c));
    assert_eq!(v.finish(), want, "{what}: chunks");
    want
}

fn assert_paths_agree_at(data: &[u8], anchor: Option<Digest>, what: &str) -> VerifyReport {
    let want = verify_jsonl(data, anchor);
    for jobs in [2, 3] {
        for (min, window) in [(0, 1), (0, 700), (0, 1 << 20)] {
            let mut v = JsonlVerifier::with_jobs(anchor, jobs).tuned(min, window, 0);
            v.feed(data);
            assert_eq!(v.finish(), want, "{what}: jobs {jobs}, window {window}");
        }
    }
    assert_eq!(verify_jsonl_jobs(data, anchor, 0), want, "{what}: jobs 0");
    for batch in [0, 3000, 1 << 20] {
        let mut v = JsonlVerifier::new(anchor).tuned(0, 1, batch);
        v.feed_hashed_by(data, &mut host_sha256);
        assert_eq!(v.finish(), want, "{what}: host batch {batch}");
    }
    // A host that answers wrongly is not trusted with the result: the batch is hashed here.
    let mut v = JsonlVerifier::new(anchor);
    v.feed_hashed_by(data, &mut |_: &[u8], _: &[u32]| vec![0; 5]);
    assert_eq!(v.finish(), want, "{what}: a host with the wrong length");
    // Chunked: a host-hashed and a parallel verifier fed in pieces.
    for size in [1, 97, 4096] {
        let mut a = JsonlVerifier::with_jobs(anchor, 2).tuned(0, 300, 0);
        let mut b = JsonlVerifier::new(anchor).tuned(0, 1, 2000);
        for chunk in data.chunks(size) {
            a.feed(chunk);
            b.feed_hashed_by(chunk, &mut host_sha256);
        }
        assert_eq!(a.finish(), want, "{what}: parallel, chunks of {size}");
        assert_eq!(b.finish(), want, "{what}: host, chunks of {size}");
    }
    want
}

#[test]
fn valid_chains_agree_on_every_path() {
    for n in [0, 1, 2, 7, 40] {
        let text = jsonl(&varied_lines(n));
        let r = assert_paths_agree(text.as_bytes(), &format!("{n} pixels"));
        assert!(r.ok, "{:?}", r.error);
        assert_eq!(r.count, n as u64);
        // Without the final newline, and with an extra empty line.
        assert_paths_agree(text.trim_end().as_bytes(), "no final newline");
        assert_paths_agree(format!("{text}\n").as_bytes(), "an empty last line");
    }
}

#[test]
fn every_single_byte_mutation_gives_the_same_failure_on_every_path() {
    let lines = varied_lines(12);
    let mut failures = 0;
    // A sample of lines: the first, one with a context, and the last.
    for target in [0, 4, 11] {
        let line = lines[target].as_bytes();
        for pos in 0..line.len() {
            for byte in [b'"', b'0', b'\n', 0xC3, line[pos] ^ 1] {
                let mut mutated: Vec<u8> = Vec::new();
                for (i, l) in lines.iter().enumerate() {
                    if i == target {
                        let mut m = l.as_bytes().to_vec();
                        m[pos] = byte;
                        mutated.extend_from_slice(&m);
                    } else {
                        mutated.extend_from_slice(l.as_bytes());
                    }
                    mutated.push(b'\n');
                }
                let r = assert_paths_agree_light(
                    &mutated,
                    &format!("line {target} byte {pos} = {byte}"),
                );
                failures += usize::from(!r.ok);
            }
        }
    }
    assert!(
        failures > 1000,
        "the mutations should mostly fail, {failures} did"
    );
}

#[test]
fn golden_tamper_vectors_agree_on_every_path() {
    let text = std::fs::read_to_string(vectors_dir().join("tamper.json")).unwrap();
    let cases = parse(&text).unwrap();
    let mut n = 0;
    let mut walk = vec![&cases];
    while let Some(v) = walk.pop() {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(jsonl)) = m.get("jsonl") {
                    let anchor = m
                        .get("anchor")
                        .and_then(Value::as_str)
                        .and_then(Digest::parse);
                    assert_paths_agree_at(jsonl.as_bytes(), anchor, "tamper vector");
                    n += 1;
                }
                walk.extend(m.iter().map(|(_, v)| v));
            }
            Value::Array(a) => walk.extend(a.iter()),
            _ => {}
        }
    }
    assert!(n >= 5, "found only {n} tamper vectors");
}
