//! The documentation is tested: every error code is specified, and the SPEC's worked example
//! and the README's pixel are real, verifying pixels.

use std::path::Path;

use tokenpixel_core::{verify_jsonl, IJsonReason, Pixel, ALL_CODES};

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)).unwrap()
}

/// The contents of the first fenced block with the given info string.
fn first_block(doc: &str, info: &str) -> String {
    let start = doc.find(&format!("```{info}\n")).expect("block") + info.len() + 4;
    let end = start + doc[start..].find("```").unwrap();
    doc[start..end].trim_end().to_owned()
}

#[test]
fn spec_lists_every_code() {
    let spec = read("docs/SPEC.md");
    for code in ALL_CODES {
        assert!(
            spec.contains(&format!("| `{code}` |")),
            "{code} is not in the SPEC's code table"
        );
    }
    for r in [
        IJsonReason::InvalidUtf8,
        IJsonReason::DuplicateKey,
        IJsonReason::NonFiniteNumber,
        IJsonReason::NumberOutOfRange,
        IJsonReason::LossyInteger,
        IJsonReason::LoneSurrogate,
    ] {
        assert!(spec.contains(&format!("`{}`", r.code())), "{}", r.code());
    }
}

#[test]
fn spec_and_readme_examples_are_real_pixels() {
    let chains = read("tests/vectors/chains.json");
    for doc in ["docs/SPEC.md", "README.md"] {
        let line = first_block(&read(doc), "json");
        assert!(
            chains.contains(&line.replace('"', "\\\"")),
            "{doc}: example not in the vectors"
        );
        let report = verify_jsonl(line.as_bytes(), None);
        assert!(report.ok, "{doc}: {:?}", report.error);
        let p = Pixel::from_json(&line).unwrap();
        assert_eq!(p.to_json(), line);
    }
    let spec = read("docs/SPEC.md");
    assert!(spec.contains("fab8f2151f7be01d35d7083a5ea4af973d5be6ef5caf6ddaa2d3585da7d089ea"));
    assert!(spec.contains("e640ee1d00c80555f23470c223baef24a8751b132fb72f38ae6f2f71975e15b8"));
}
