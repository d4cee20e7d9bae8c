//! The first error of a JSONL input must not depend on how the bytes are chunked
//! (`docs/SPEC.md` section 6, step 1: the line-size limit before everything else).

use tokenpixel_core::{verify_jsonl, JsonlVerifier, MAX_DOCUMENT_BYTES};

fn chunked(data: &[u8], size: usize) -> (String, Option<String>) {
    let mut v = JsonlVerifier::new(None);
    for piece in data.chunks(size) {
        v.feed(piece);
    }
    let r = v.finish();
    let e = r.error.expect("fails");
    (e.code().to_owned(), e.error.reason().map(str::to_owned))
}

#[test]
fn an_overlong_line_is_limit_exceeded_whatever_the_chunking() {
    for head in [&b"\xff"[..], b"{\"a\":\"\xff\"", b"{\"a\":NaN"] {
        let mut data = head.to_vec();
        data.resize(MAX_DOCUMENT_BYTES + 10, b' ');
        data.push(b'\n');
        let whole = verify_jsonl(&data, None).error.expect("fails");
        assert_eq!(whole.code(), "LIMIT_EXCEEDED");
        assert_eq!(whole.index, 0);
        for size in [1 << 20, 7_000_001, data.len()] {
            assert_eq!(chunked(&data, size), ("LIMIT_EXCEEDED".to_owned(), None));
        }
    }
}

#[test]
fn a_line_at_the_limit_is_read() {
    // Exactly 16 MiB of bytes is allowed: it fails as JSON, not on its size.
    let mut data = b"{\"a\":\"".to_vec();
    data.resize(MAX_DOCUMENT_BYTES - 2, b'x');
    data.extend_from_slice(b"\"}");
    assert_eq!(data.len(), MAX_DOCUMENT_BYTES);
    data.push(b'\n');
    assert_eq!(chunked(&data, 1 << 20).0, "SCHEMA_VIOLATION");
    assert_eq!(
        verify_jsonl(&data, None).error.unwrap().code(),
        "SCHEMA_VIOLATION"
    );
}
