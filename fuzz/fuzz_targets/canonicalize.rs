//! Any text: canonicalize never panics; what it returns is canonical and idempotent.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(c) = tokenpixel_core::canonicalize(text) {
            assert!(tokenpixel_core::is_canonical(&c), "{c}");
            assert_eq!(tokenpixel_core::canonicalize(&c).unwrap(), c);
        }
    }
});
