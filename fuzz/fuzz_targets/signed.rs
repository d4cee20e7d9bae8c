//! Any text as a signed note, a checkpoint, a verifier key or a proof file: the parsers never
//! panic, and what parses re-encodes to itself (one text per value).
#![no_main]
use libfuzzer_sys::fuzz_target;
use tokenpixel_core::tlog::{Checkpoint, Note, ProofFile, VerifierKey};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(note) = Note::parse(text) {
        let _ = note.verify(&[]);
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
