//! Any text as a signed note, a checkpoint, a verifier key, a proof file or an anchor record
//! (with its pruned prefix's frontier): the parsers never panic, what parses re-encodes to
//! itself (one text per value), and notes are verified with a note key and a cosigner key.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tokenpixel_core::store::{anchor_record_with, parse_anchor};
use tokenpixel_core::tlog::{Checkpoint, Frontier, Note, ProofFile, Signer25519, Tree, VerifierKey};

fn keys() -> &'static [VerifierKey] {
    static KEYS: OnceLock<Vec<VerifierKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let s = Signer25519::from_seed("example.com/fuzz", &[3; 32]).unwrap();
        vec![
            VerifierKey::parse(&s.verifier()).unwrap(),
            VerifierKey::parse(&s.cosigner_verifier()).unwrap(),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = parse_anchor(data) {
        if let Some(nodes) = &r.frontier {
            let again = anchor_record_with(r.anchor, r.first_seq, 0, Some(nodes));
            assert_eq!(parse_anchor(again.as_bytes()).unwrap(), r);
            let prefix = Frontier::from_parts(r.first_seq, nodes.clone()).unwrap();
            let tree = Tree::pruned(prefix, vec![]);
            assert!(tree.root(r.first_seq).is_ok());
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(note) = Note::parse(text) {
        let _ = note.verify(&[]);
        let _ = note.verify(keys());
        if let Ok(c) = Checkpoint::parse(&note.text) {
            assert_eq!(c.to_text(), note.text);
        }
    }
    if let Ok(c) = Checkpoint::parse(text) {
        assert_eq!(c.to_text(), text);
    }
    let _ = VerifierKey::parse(text);
    if let Ok(p) = ProofFile::parse(text) {
        assert_eq!(ProofFile::parse(&p.to_text()).unwrap(), p);
    }
});
