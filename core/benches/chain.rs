//! Emit and verify on the shared workload shapes (`../shared/bench/workload.py`: `agent`,
//! `text`, `numeric`), against raw SHA-256 over the same bytes: the physical floor of any
//! verifier that hashes every byte.
//!
//! `cargo bench -p tokenpixel-core --bench chain` (TOKENPIXEL_BENCH_N pixels per shape,
//! default 20000; PYTHON names the interpreter that runs the workload script).
//!
//! A pixel's two hashes cover the line (less its `hash` member) and the state surface, so
//! every byte of a state-heavy line is hashed about twice: one thread can reach at most about
//! 50% of one pass of raw SHA-256 on `text`. `--jobs` verification hashes lines on every core.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use sha2::{Digest as _, Sha256};
use tokenpixel_core::{parse, verify_jsonl_jobs, Chain, Emit, Value};

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(r);
    }
    (best, out.unwrap())
}

fn workload(shape: &str, n: usize) -> Vec<Emit> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench/workload.py");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .arg(&script)
        .args(["--shape", shape, &n.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .map(|line| {
            let row = parse(line).unwrap();
            let get = |k: &str| row.get(k).cloned().unwrap_or(Value::Null);
            let mut e = Emit::new(
                get("corridor").as_str().unwrap(),
                get("timestampMs").as_f64().unwrap() as u64,
            );
            e.state = Some(get("state"));
            e.context = Some(get("context"));
            e.state_vector = Some(get("stateVector"));
            e.autonomy_index = get("autonomyIndex").as_f64();
            e.intent_hash = Some(get("intentHash").as_str().map(str::to_owned));
            e.event_delta = get("eventDelta").as_f64().map(|d| d as u64);
            e
        })
        .collect()
}

fn main() {
    let n: usize = std::env::var("TOKENPIXEL_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    println!("Rust core, {n} pixels per shape, {cores} cores; MB/s of JSONL; higher is better");
    println!(
        "{:<8} {:>6} {:>8} {:>9} {:>9} {:>9} {:>10} {:>10}",
        "shape", "bytes", "emit us", "verify", "verify-j", "sha256", "verify/sha", "verify-j/sha"
    );
    for shape in ["agent", "text", "numeric"] {
        let steps = workload(shape, n);
        let (emit_s, data) = best_of(3, || {
            let mut chain = Chain::new("bench", "s").unwrap();
            let mut data = Vec::with_capacity(n * 2200);
            for e in &steps {
                let p = chain.emit(e.clone()).unwrap();
                data.extend_from_slice(p.to_json().as_bytes());
                data.push(b'\n');
            }
            data
        });
        let mb = data.len() as f64 / 1e6;
        let (one_s, report) = best_of(5, || verify_jsonl_jobs(black_box(&data), None, 1));
        assert!(report.ok && report.count == n as u64, "{:?}", report.error);
        let (all_s, report) = best_of(5, || verify_jsonl_jobs(black_box(&data), None, 0));
        assert!(report.ok && report.count == n as u64, "{:?}", report.error);
        let (sha_s, _) = best_of(5, || Sha256::digest(black_box(&data)));
        println!(
            "{:<8} {:>6} {:>8.2} {:>9.0} {:>9.0} {:>9.0} {:>9.1}% {:>11.1}%",
            shape,
            data.len() / n,
            emit_s * 1e6 / n as f64,
            mb / one_s,
            mb / all_s,
            mb / sha_s,
            100.0 * sha_s / one_s,
            100.0 * sha_s / all_s,
        );
    }
    println!(
        "verify-j: --jobs 0 (one thread per core); sha256: raw SHA-256 over the same bytes, one pass"
    );
    println!("goals: verify/sha >= 30% on agent, >= 50% on text");
}
