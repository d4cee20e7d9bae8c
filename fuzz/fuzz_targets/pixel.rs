//! Any text: reading a pixel never panics; a pixel read back from its own line is the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tokenpixel_core::Pixel;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(p) = Pixel::from_json(text) {
            let again = Pixel::from_json(p.to_json()).unwrap();
            assert_eq!(again, p);
        }
    }
});
