//! Interop vectors for signed heads and Merkle proofs (tests/vectors/tlog.json, sources named
//! in the file): transparency-dev/merkle tree hashes and proofs, C2SP and Go signed notes.

use std::path::Path;

use tokenpixel_core::tlog::{
    self, b64_decode, leaf_hash, verify_consistency, verify_inclusion, Frontier, Hash, Note,
    Signer25519, Tree, VerifierKey,
};
use tokenpixel_core::{parse, Value};

fn vectors() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/tlog.json");
    parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hash(v: &Value) -> Option<Hash> {
    let bytes = b64_decode(v.as_str()?, "vector").ok()?;
    bytes.try_into().ok()
}

/// A root as the vectors give it: 32 bytes, or (in cases that only compare roots) any text,
/// stood for by its SHA-256, equal exactly when the texts are.
fn root(v: &Value) -> Option<Hash> {
    hash(v).or_else(|| Some(leaf_hash(v.as_str()?.as_bytes())))
}

fn proof(v: Option<&Value>) -> Option<Vec<Hash>> {
    match v {
        None | Some(Value::Null) => Some(vec![]),
        Some(v) => v.as_array()?.iter().map(hash).collect(),
    }
}

fn num(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_str).unwrap().parse().unwrap()
}

#[test]
fn tree_hashes_match_transparency_dev() {
    let v = vectors();
    let m = v.get("merkle").unwrap();
    let leaves: Vec<Hash> = m
        .get("leafInputsHex")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|l| leaf_hash(&hex(l.as_str().unwrap())))
        .collect();
    let roots = m.get("rootHashesHex").unwrap().as_array().unwrap();
    let mut frontier = Frontier::new();
    for (size, root) in roots.iter().enumerate() {
        let want = hex(root.as_str().unwrap());
        assert_eq!(frontier.root().to_vec(), want, "size {size}");
        assert_eq!(
            Tree::new(leaves.clone())
                .root(size as u64)
                .unwrap()
                .to_vec(),
            want
        );
        if size < leaves.len() {
            frontier.push(leaves[size]);
        }
    }
}

#[test]
fn inclusion_proofs_match_transparency_dev() {
    let v = vectors();
    let cases = v.get("inclusion").unwrap().as_array().unwrap();
    assert!(cases.len() > 90);
    for c in cases {
        let want_err = matches!(c.get("wantErr"), Some(Value::Bool(true)));
        let ok = (|| {
            let leaf = hash(c.get("leafHash")?)?;
            let root = hash(c.get("root")?)?;
            let p = proof(c.get("proof"))?;
            verify_inclusion(&leaf, num(c, "leafIdx"), num(c, "treeSize"), &p, &root).ok()
        })()
        .is_some();
        assert_eq!(
            ok,
            !want_err,
            "{}",
            c.get("file").unwrap().as_str().unwrap()
        );
    }
}

#[test]
fn consistency_proofs_match_transparency_dev() {
    let v = vectors();
    let cases = v.get("consistency").unwrap().as_array().unwrap();
    assert!(cases.len() > 90);
    for c in cases {
        let want_err = matches!(c.get("wantErr"), Some(Value::Bool(true)));
        let ok = (|| {
            let r1 = root(c.get("root1")?)?;
            let r2 = root(c.get("root2")?)?;
            let p = proof(c.get("proof"))?;
            verify_consistency(num(c, "size1"), num(c, "size2"), &r1, &r2, &p).ok()
        })()
        .is_some();
        assert_eq!(
            ok,
            !want_err,
            "{}",
            c.get("file").unwrap().as_str().unwrap()
        );
    }
}

#[test]
fn notes_from_c2sp_and_go_verify() {
    let v = vectors();
    for c in v.get("notes").unwrap().as_array().unwrap() {
        let desc = c.get("desc").unwrap().as_str().unwrap();
        let keys: Vec<VerifierKey> = c
            .get("keys")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|k| VerifierKey::parse(k.as_str().unwrap()).unwrap())
            .collect();
        let note = Note::parse(c.get("note").unwrap().as_str().unwrap()).unwrap();
        match c.get("error") {
            Some(code) => assert_eq!(
                note.verify(&keys).unwrap_err().code(),
                code.as_str().unwrap(),
                "{desc}"
            ),
            None => {
                let want: Vec<&str> = c
                    .get("signedBy")
                    .unwrap()
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap())
                    .collect();
                assert_eq!(note.verify(&keys).unwrap(), want, "{desc}");
            }
        }
    }
    for c in v.get("signing").unwrap().as_array().unwrap() {
        let signer =
            Signer25519::from_text(c.get("privateKey").unwrap().as_str().unwrap()).unwrap();
        assert_eq!(
            signer.verifier(),
            c.get("verifierKey").unwrap().as_str().unwrap()
        );
        let signed = signer
            .sign(c.get("text").unwrap().as_str().unwrap())
            .unwrap();
        assert_eq!(signed, c.get("signed").unwrap().as_str().unwrap());
    }
    let _ = tlog::empty_root();
}
