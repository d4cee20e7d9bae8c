//! Signed heads and Merkle proofs: signatures per second, the cost of keeping the tree while
//! emitting (one leaf per pixel), and proof sizes and times at 1M pixels.
//!
//! `cargo bench -p tokenpixel-core --bench tlog` (TOKENPIXEL_BENCH_N sets the tree size).

use std::hint::black_box;
use std::time::Instant;

use tokenpixel_core::tlog::{
    open_checkpoint, pixel_leaf, verify_consistency, verify_inclusion, Checkpoint, Frontier,
    Signer25519, Tree, VerifierKey,
};
use tokenpixel_core::{parse, Chain, Emit};

fn per_second(n: usize, f: impl FnMut(usize)) -> f64 {
    let mut f = f;
    let t = Instant::now();
    for i in 0..n {
        f(i);
    }
    n as f64 / t.elapsed().as_secs_f64()
}

fn main() {
    let n: u64 = std::env::var("TOKENPIXEL_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);

    let signer = Signer25519::from_seed("example.com/bench", &[7; 32]).unwrap();
    let key = VerifierKey::parse(&signer.verifier()).unwrap();
    let text = Checkpoint {
        origin: "example.com/bench/agent".into(),
        size: n,
        root: [1; 32],
        extensions: vec![],
    }
    .to_text();
    let note = signer.sign(&text).unwrap();
    let signs = per_second(2000, |_| {
        black_box(signer.sign(&text).unwrap());
    });
    let verifies = per_second(2000, |_| {
        black_box(open_checkpoint(&note, std::slice::from_ref(&key)).unwrap());
    });
    println!("sign a checkpoint: {signs:.0}/s; open and verify one: {verifies:.0}/s");

    // Emit with and without keeping the tree (agent-shaped state: short keys and numbers).
    let state = parse(r#"{"phase":3,"task":"route","ok":true,"scores":[0.5,0.25,0.125],"tokens":1843,"latencyMs":412}"#).unwrap();
    let emits = 100_000;
    let emit_only = {
        let mut chain = Chain::new("bench", "s").unwrap();
        let t = Instant::now();
        for i in 0..emits {
            let mut e = Emit::new("DISTRICT_4.CHAMBER_EXEC.NODE_POST", 1_763_900_000_000 + i);
            e.state = Some(state.clone());
            black_box(chain.emit(e).unwrap());
        }
        t.elapsed().as_secs_f64()
    };
    let with_tree = {
        let mut chain = Chain::new("bench", "s").unwrap();
        let mut frontier = Frontier::new();
        let t = Instant::now();
        for i in 0..emits {
            let mut e = Emit::new("DISTRICT_4.CHAMBER_EXEC.NODE_POST", 1_763_900_000_000 + i);
            e.state = Some(state.clone());
            let p = chain.emit(e).unwrap();
            frontier.push(pixel_leaf(&p.hash()));
        }
        black_box(frontier.root());
        t.elapsed().as_secs_f64()
    };
    println!(
        "emit: {:.2} us/pixel; with the Merkle frontier: {:.2} us/pixel ({:+.1}%)",
        emit_only / emits as f64 * 1e6,
        with_tree / emits as f64 * 1e6,
        (with_tree / emit_only - 1.0) * 100.0
    );

    // Proofs at n leaves.
    let leaves: Vec<_> = (0..n)
        .map(|i| tokenpixel_core::tlog::leaf_hash(&i.to_be_bytes()))
        .collect();
    let tree = Tree::new(leaves.clone());
    let t = Instant::now();
    let root = tree.root(n).unwrap();
    let root_secs = t.elapsed().as_secs_f64();
    let index = n / 3;
    let t = Instant::now();
    let proof = tree.inclusion_proof(index, n).unwrap();
    let build = t.elapsed().as_secs_f64();
    let checks = per_second(10_000, |_| {
        verify_inclusion(&leaves[index as usize], index, n, &proof, &root).unwrap();
    });
    let old = n / 2 + 17;
    let c = tree.consistency_proof(old, n).unwrap();
    let old_root = tree.root(old).unwrap();
    verify_consistency(old, n, &old_root, &root, &c).unwrap();
    println!(
        "{n} leaves: root in {:.0} ms; inclusion proof {} hashes ({} bytes), built in {:.0} ms, verified {:.0}/s; consistency proof {} hashes",
        root_secs * 1e3,
        proof.len(),
        proof.len() * 32,
        build * 1e3,
        checks,
        c.len()
    );
}
