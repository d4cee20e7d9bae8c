//! tokenpixel-core: tamper-evident checkpoints ("token pixels") for AI agents and CI/CD
//! pipelines.
//!
//! A pixel is a small JSON record of an agent's state at a named place in a pipeline (a
//! corridor such as `DISTRICT_2.CHAMBER_LORA.NODE_POST`). Each pixel is stored as one RFC 8785
//! canonical JSON line, hashed with SHA-256 under a domain tag, and linked to the previous
//! pixel's hash, so any later change, removal, insertion or reordering is detected.
//!
//! This crate does no IO: it has no clock, no random numbers and no files. Time and ids are
//! inputs; storage lives in the host language. The format is specified in `docs/SPEC.md`.
//!
//! ```
//! use tokenpixel_core::{verify_jsonl, Chain, Emit};
//!
//! let mut chain = Chain::new("agent-7", "session-1").unwrap();
//! let mut jsonl = String::new();
//! for (i, corridor) in ["DISTRICT_1.CHAMBER_0.NODE_PRE", "DISTRICT_1.CHAMBER_0.NODE_POST"]
//!     .iter()
//!     .enumerate()
//! {
//!     let pixel = chain.emit(Emit::new(*corridor, 1_763_900_000_000 + i as u64)).unwrap();
//!     jsonl.push_str(pixel.to_json());
//!     jsonl.push('\n');
//! }
//! let report = verify_jsonl(jsonl.as_bytes(), None);
//! assert!(report.ok);
//! assert_eq!(report.count, 2);
//! ```

mod canonical;
mod chain;
mod context;
mod corridor;
mod diff;
mod error;
mod hash;
mod json;
mod pixel;
pub mod store;
mod summary;
pub mod tlog;
mod tokens;
mod verify;

pub use canonical::{canonicalize, is_canonical, to_canonical, write_canonical};
pub use chain::{Chain, Emit, Ledger};
pub use context::{validate_context, CONTEXT_KEYS};
pub use corridor::{segment_name, Corridor, District, DISTRICTS, MAX_CORRIDOR_LEN};
pub use diff::{diff, diff_range, Diff};
pub use error::{
    Error, Family, IJsonReason, Position, Result, SignedErrorKind, StoreErrorKind, ALL_CODES,
    CODE_FAMILIES,
};
pub use hash::{BatchHasher, Digest, GENESIS, GENESIS_HASH, PIXEL_DOMAIN, STATE_DOMAIN};
/// Conversion helpers for the bindings (value building with JSON paths). Not public API:
/// it may change in any release.
#[doc(hidden)]
pub use json::host;
pub use json::{
    cmp_utf16, parse, parse_bytes, Map, Number, Value, MAX_DEPTH, MAX_DOCUMENT_BYTES,
    MAX_SAFE_MAGNITUDE,
};
pub use pixel::{
    validate_id, Pixel, KEYS, MAX_ID_LEN, MAX_INTENT_LEN, MAX_SAFE_INTEGER, MAX_STATE_NAME_LEN,
    MAX_STATE_VECTOR, MAX_TIMESTAMP_MS, SCHEMA_VERSION,
};
pub use summary::{summarize, Level, Summary, SummaryOptions};
pub use tokens::estimate_tokens;
pub use verify::{verify, verify_jsonl, verify_jsonl_jobs, Failure, JsonlVerifier, VerifyReport};

/// The README's Rust examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
