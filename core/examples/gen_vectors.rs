//! Writes the golden vectors to `tests/vectors/*.json`:
//! `cargo run -p tokenpixel-core --example gen_vectors`.

#[path = "../tests/support/mod.rs"]
mod support;

fn main() {
    let dir = support::vectors::vectors_dir();
    for (name, contents) in support::vectors::generate() {
        let path = dir.join(&name);
        std::fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        println!("wrote {}", path.display());
    }
}
