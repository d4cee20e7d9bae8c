//! The RFC 8785 conformance vectors (cyberphone/json-canonicalization testdata), byte for byte.

use std::fs;
use std::path::Path;

#[test]
fn jcs_reference_vectors_pass_byte_for_byte() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/jcs");
    let mut names: Vec<String> = fs::read_dir(dir.join("input"))
        .expect("tests/vectors/jcs/input")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names.len(),
        6,
        "expected the six reference vectors, got {names:?}"
    );
    for name in names {
        let input = fs::read_to_string(dir.join("input").join(&name)).unwrap();
        let expected = fs::read(dir.join("output").join(&name)).unwrap();
        let hex =
            fs::read_to_string(dir.join("outhex").join(name.replace(".json", ".txt"))).unwrap();
        let from_hex: Vec<u8> = hex
            .split_whitespace()
            .map(|h| u8::from_str_radix(h, 16).unwrap())
            .collect();
        assert_eq!(expected, from_hex, "{name}: output and outhex disagree");
        let got = tokenpixel_core::canonicalize(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got.as_bytes(), &expected[..], "{name}");
        assert!(tokenpixel_core::is_canonical(&got), "{name}");
        assert_eq!(
            tokenpixel_core::canonicalize(&got).unwrap(),
            got,
            "{name}: idempotent"
        );
    }
}
