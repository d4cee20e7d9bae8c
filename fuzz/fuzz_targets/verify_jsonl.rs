//! Any bytes: verification never panics, and streaming in two chunks gives the same report.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tokenpixel_core::{verify_jsonl, JsonlVerifier};

fuzz_target!(|data: &[u8]| {
    let whole = verify_jsonl(data, None);
    let cut = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
    let mut v = JsonlVerifier::new(None);
    v.feed(&data[..cut]);
    v.feed(&data[cut..]);
    assert_eq!(v.finish(), whole);
});
