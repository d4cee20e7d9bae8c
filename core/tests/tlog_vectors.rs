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

/// The cosigned checkpoints in tlog.json ("tokenpixel: ..." notes): a log's checkpoint with a
/// C2SP tlog-cosignature/v1 line by a witness, from fixed seeds and a fixed time. Ed25519 is
/// deterministic, so the vectors are reproduced byte for byte here.
fn cosigned_vector() -> (String, String, String) {
    let log = Signer25519::from_seed("example.com/tokenpixel-log", &[7u8; 32]).unwrap();
    let witness = Signer25519::from_seed("witness.example.com/w1", &[9u8; 32]).unwrap();
    let text = tlog::Checkpoint {
        origin: "example.com/tokenpixel-log/agent-7".into(),
        size: 3,
        root: leaf_hash(b"tokenpixel cosignature vector"),
        extensions: vec![],
    }
    .to_text();
    let note = log.sign(&text).unwrap() + &witness.cosign_line(&text, 1_764_000_000).unwrap();
    (note, log.verifier(), witness.cosigner_verifier())
}

#[test]
fn cosignature_vectors_are_reproduced_and_verify() {
    let (note, log_key, witness_key) = cosigned_vector();
    let v = vectors();
    let cases: Vec<&Value> = v
        .get("notes")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c.get("desc")
                .and_then(Value::as_str)
                .is_some_and(|d| d.starts_with("tokenpixel: cosigned"))
        })
        .collect();
    assert_eq!(cases.len(), 4, "the four cosignature cases");
    let both = cases[0];
    assert_eq!(both.get("note").unwrap().as_str().unwrap(), note);
    let keys: Vec<&str> = both
        .get("keys")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(keys, [log_key.as_str(), witness_key.as_str()]);
    // The time is signed: a cosignature line whose time is changed does not verify.
    let parsed = Note::parse(&note).unwrap();
    let w = VerifierKey::parse(&witness_key).unwrap();
    assert_eq!(w.kind, tlog::COSIGNATURE_V1);
    assert_eq!(
        w.cosignature_time(&parsed.signatures[1].signature),
        Some(1_764_000_000)
    );
    // A note key (0x01) of the same Ed25519 key is another key ID: it ignores the cosignature.
    let as_note_key = Signer25519::from_seed("witness.example.com/w1", &[9u8; 32])
        .unwrap()
        .verifier();
    let k = VerifierKey::parse(&as_note_key).unwrap();
    assert_eq!(parsed.verify(&[k]).unwrap_err().code(), "UNKNOWN_KEY");
}

/// Verifier keys and a cosignature from transparency-dev/formats note/note_cosigv1_test.go
/// (TestCoSigV1NewVerifier, TestCosignatureTimestamp).
#[test]
fn cosignature_keys_and_times_from_transparency_dev() {
    let k =
        VerifierKey::parse("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")
            .unwrap();
    assert_eq!((k.kind, k.id), (tlog::COSIGNATURE_V1, 0xda77ade7));
    let note_key =
        VerifierKey::parse("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6").unwrap();
    assert_eq!(note_key.kind, tlog::ED25519);
    for bad in [
        "bananas.sigstore.dev+12344556",
        "rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!",
        "rekor.sigstore.dev+12345678+AwEB",
        "remora.n621.de+00000000+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
    ] {
        assert_eq!(
            VerifierKey::parse(bad).unwrap_err().code(),
            "UNKNOWN_KEY",
            "{bad}"
        );
    }
    let raw = b64_decode(
        "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==",
        "vector",
    )
    .unwrap();
    assert_eq!(&raw[..4], &[0x64, 0x68, 0x46, 0xb9]);
    assert_eq!(
        tlog::cosignature_parts(&raw[4..]).map(|(t, _)| t),
        Some(1_727_964_367)
    );
    // An Ed25519 note signature (64 bytes) has no cosignature form.
    let plain = b64_decode(
        "eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY=",
        "vector",
    )
    .unwrap();
    assert_eq!(tlog::cosignature_parts(&plain[4..]), None);
}

#[test]
#[ignore = "prints the cosignature vectors for tests/vectors/tlog.json"]
fn print_cosignature_vectors() {
    let (note, log_key, witness_key) = cosigned_vector();
    println!("NOTE={note:?}\nLOG={log_key}\nWITNESS={witness_key}");
}
