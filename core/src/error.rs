//! The one error type of the core. Every variant has a stable code (`Error::code`) that is
//! part of the public format and listed in `docs/SPEC.md`.

use std::fmt;

/// Why a syntactically valid JSON text is not I-JSON (RFC 7493) as tokenpixel requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IJsonReason {
    /// An object names the same key twice.
    DuplicateKey,
    /// `NaN`, `Infinity` or `-Infinity` (not JSON at all, but common output of JSON writers).
    NonFiniteNumber,
    /// A number beyond the IEEE 754 double range, or a non-zero number that rounds to zero.
    NumberOutOfRange,
    /// An integer literal beyond ±2^53 that is neither a double's exact value nor its shortest form.
    LossyInteger,
    /// A `\uD800`..`\uDFFF` escape that is not part of a surrogate pair.
    LoneSurrogate,
    /// The bytes are not UTF-8.
    InvalidUtf8,
}

impl IJsonReason {
    /// The stable reason code, e.g. `"DUPLICATE_KEY"`.
    pub fn code(self) -> &'static str {
        match self {
            IJsonReason::DuplicateKey => "DUPLICATE_KEY",
            IJsonReason::NonFiniteNumber => "NON_FINITE_NUMBER",
            IJsonReason::NumberOutOfRange => "NUMBER_OUT_OF_RANGE",
            IJsonReason::LossyInteger => "LOSSY_INTEGER",
            IJsonReason::LoneSurrogate => "LONE_SURROGATE",
            IJsonReason::InvalidUtf8 => "INVALID_UTF8",
        }
    }
}

/// Where in a JSON text something went wrong: byte offset plus 1-based line and column
/// (the column counts characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub offset: usize,
    pub line: usize,
    pub column: usize,
}

impl Position {
    /// Computes line and column of `offset` in `text` (only on the error path).
    pub(crate) fn locate(text: &[u8], offset: usize) -> Position {
        let offset = offset.min(text.len());
        let before = &text[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        // Count characters, not bytes: skip UTF-8 continuation bytes.
        let column = before[line_start..]
            .iter()
            .filter(|&&b| (b & 0xC0) != 0x80)
            .count()
            + 1;
        Position {
            offset,
            line,
            column,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Every failure the core reports. Match on [`Error::code`] for a stable identifier.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not JSON (RFC 8259): bad syntax, truncation or trailing characters.
    #[error("malformed JSON at {at}: {detail}")]
    MalformedJson { detail: String, at: Position },

    /// Valid JSON, or a host value, that breaks an I-JSON rule (see [`IJsonReason`]).
    /// `at` is the position in a JSON text; values from a host language name their JSON
    /// path in `detail` instead.
    #[error("not I-JSON{}: {detail} ({})", at.map(|p| format!(" at {p}")).unwrap_or_default(), reason.code())]
    NotIJson {
        reason: IJsonReason,
        detail: String,
        at: Option<Position>,
    },

    /// A host-language value with no JSON equivalent (a datetime, bytes, a set, a function...).
    #[error("unsupported type at {path}: {type_name} is not a JSON value (use objects/dicts, arrays/lists, strings, numbers, booleans or null)")]
    UnsupportedType { path: String, type_name: String },

    /// A documented size or nesting limit was exceeded.
    #[error("limit exceeded: {detail}")]
    LimitExceeded { detail: String },

    /// A stored pixel line is valid I-JSON but not its own RFC 8785 canonical form.
    #[error("not canonical at byte {offset}: {detail}")]
    NotCanonical { detail: String, offset: usize },

    /// The pixel does not follow schema v1; `path` is a JSON path such as `$.context.tasks[2].id`.
    #[error("schema violation at {path}: {detail}")]
    SchemaViolation { path: String, detail: String },

    /// The pixel declares a schema version this library does not know.
    #[error("unknown schema version {found}: this library reads schema 1")]
    UnknownSchemaVersion { found: String },

    /// A corridor that is not `DISTRICT_<n>.CHAMBER_<X>.NODE_<Y>`.
    #[error("invalid corridor {corridor:?}: {detail}")]
    InvalidCorridor { corridor: String, detail: String },

    /// The stored `hash` is not the hash of the pixel's content: the content changed.
    #[error("hash mismatch: stored {stored}, computed {computed} (the pixel's content changed)")]
    HashMismatch { stored: String, computed: String },

    /// The stored `stateHash` is not the hash of the pixel's state surface.
    #[error("stateHash mismatch: stored {stored}, computed {computed}")]
    StateHashMismatch { stored: String, computed: String },

    /// `prevHash` is not the previous pixel's `hash`: a pixel was removed, inserted or reordered.
    #[error("broken link: prevHash is {found}, expected {expected} (a pixel was removed, inserted or reordered)")]
    BrokenLink { expected: String, found: String },

    /// `seq` does not follow the previous pixel's `seq` by one.
    #[error("sequence gap: seq is {found}, expected {expected}")]
    SequenceGap { expected: u64, found: u64 },

    /// `agentId` differs from the chain's first pixel.
    #[error("agent changed mid-chain: {found:?}, expected {expected:?}")]
    AgentChanged { expected: String, found: String },

    /// `timestampMs` is earlier than the previous pixel's.
    #[error("time went backwards: timestampMs {found} is before the previous {previous}")]
    TimeReversed { previous: u64, found: u64 },

    /// The first pixel has `seq` > 0 and no trusted anchor was supplied.
    #[error("the chain does not start at genesis (first seq is {seq}); verify it against a trusted anchor hash")]
    NotGenesis { seq: u64 },

    /// The first pixel's `prevHash` is not the trusted anchor supplied by the caller.
    #[error("anchor mismatch: first prevHash is {found}, trusted anchor is {anchor}")]
    AnchorMismatch { anchor: String, found: String },

    /// An argument to a core function is out of its domain (bad anchor, bad option).
    #[error("invalid argument: {detail}")]
    InvalidArgument { detail: String },

    /// A store operation failed (`docs/SPEC.md` section 12); `kind` gives the code.
    #[error("{detail}")]
    Store {
        kind: StoreErrorKind,
        detail: String,
    },

    /// A signed note, checkpoint or proof failed (`docs/SPEC.md` section 14).
    #[error("{detail}")]
    Signed {
        kind: SignedErrorKind,
        detail: String,
    },
}

/// The signature family's codes (`docs/SPEC.md` sections 7 and 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignedErrorKind {
    /// A note, checkpoint or proof file is not in its format (including non-canonical base64
    /// and oversize lines).
    MalformedNote,
    /// No signature by a key the caller trusts (or the key text is not a verifier key).
    UnknownKey,
    /// A signature by a trusted key does not verify.
    BadSignature,
    /// The checkpoint's origin is not the chain's.
    OriginMismatch,
    /// The chain is shorter than a signed checkpoint's size: pixels were cut from the end.
    Truncated,
    /// The chain's first N pixels do not give the signed root.
    RootMismatch,
    /// An inclusion or consistency proof does not verify.
    ProofInvalid,
}

impl SignedErrorKind {
    /// Every signature code with its kind, in the order of [`ALL_CODES`].
    pub const ALL: [(SignedErrorKind, &'static str); 7] = [
        (SignedErrorKind::MalformedNote, "MALFORMED_NOTE"),
        (SignedErrorKind::UnknownKey, "UNKNOWN_KEY"),
        (SignedErrorKind::BadSignature, "BAD_SIGNATURE"),
        (SignedErrorKind::OriginMismatch, "ORIGIN_MISMATCH"),
        (SignedErrorKind::Truncated, "TRUNCATED"),
        (SignedErrorKind::RootMismatch, "ROOT_MISMATCH"),
        (SignedErrorKind::ProofInvalid, "PROOF_INVALID"),
    ];

    /// The stable code, e.g. `"TRUNCATED"`.
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, c)| *c)
            .unwrap_or("MALFORMED_NOTE")
    }

    /// The kind for a signature code, if `code` is one.
    pub fn from_code(code: &str) -> Option<SignedErrorKind> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(k, _)| *k)
    }
}

/// The store family's codes (`docs/SPEC.md` sections 7 and 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreErrorKind {
    /// An append does not extend the stored head: another writer appended first.
    ChainConflict,
    /// The writer lock was not free within the timeout.
    StoreLocked,
    /// The file system or database failed; the store is unchanged.
    StoreIo,
    /// A store file is not in the store format.
    StoreCorrupt,
    /// A store file is a symlink or not a regular file.
    UnsafePath,
    /// No chain for that agent, or no pixel for that key.
    NotFound,
    /// A hash prefix matches several pixels.
    AmbiguousKey,
    /// A background writer's queue is full and the caller asked to be told, not to wait.
    QueueFull,
}

impl StoreErrorKind {
    /// Every store code with its kind, in the order of [`ALL_CODES`].
    pub const ALL: [(StoreErrorKind, &'static str); 8] = [
        (StoreErrorKind::ChainConflict, "CHAIN_CONFLICT"),
        (StoreErrorKind::StoreLocked, "STORE_LOCKED"),
        (StoreErrorKind::StoreIo, "STORE_IO"),
        (StoreErrorKind::StoreCorrupt, "STORE_CORRUPT"),
        (StoreErrorKind::UnsafePath, "UNSAFE_PATH"),
        (StoreErrorKind::NotFound, "NOT_FOUND"),
        (StoreErrorKind::AmbiguousKey, "AMBIGUOUS_KEY"),
        (StoreErrorKind::QueueFull, "QUEUE_FULL"),
    ];

    /// The stable code, e.g. `"CHAIN_CONFLICT"`.
    pub fn code(self) -> &'static str {
        match self {
            StoreErrorKind::ChainConflict => "CHAIN_CONFLICT",
            StoreErrorKind::StoreLocked => "STORE_LOCKED",
            StoreErrorKind::StoreIo => "STORE_IO",
            StoreErrorKind::StoreCorrupt => "STORE_CORRUPT",
            StoreErrorKind::UnsafePath => "UNSAFE_PATH",
            StoreErrorKind::NotFound => "NOT_FOUND",
            StoreErrorKind::AmbiguousKey => "AMBIGUOUS_KEY",
            StoreErrorKind::QueueFull => "QUEUE_FULL",
        }
    }

    /// The kind for a store code, if `code` is one.
    pub fn from_code(code: &str) -> Option<StoreErrorKind> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(k, _)| *k)
    }
}

/// The family of an error code; bindings map each family to one exception class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// The input is not acceptable JSON.
    Json,
    /// A pixel breaks schema v1.
    Schema,
    /// A chain does not verify.
    Chain,
    /// A bad argument to an API call.
    Argument,
    /// A store operation failed.
    Store,
    /// A signed note, checkpoint or proof failed.
    Signature,
}

impl Family {
    /// The family's name: `"json"`, `"schema"`, `"chain"`, `"argument"` or `"store"`.
    pub fn name(self) -> &'static str {
        match self {
            Family::Json => "json",
            Family::Schema => "schema",
            Family::Chain => "chain",
            Family::Argument => "argument",
            Family::Store => "store",
            Family::Signature => "signature",
        }
    }

    /// The family of a stable code, or `None` for a string that is no code.
    pub fn of_code(code: &str) -> Option<Family> {
        CODE_FAMILIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, f)| *f)
    }
}

/// Every stable code with its family, in the order `docs/SPEC.md` lists them.
pub const CODE_FAMILIES: [(&str, Family); 32] = [
    ("MALFORMED_JSON", Family::Json),
    ("NOT_I_JSON", Family::Json),
    ("LIMIT_EXCEEDED", Family::Json),
    ("UNSUPPORTED_TYPE", Family::Json),
    ("NOT_CANONICAL", Family::Json),
    ("SCHEMA_VIOLATION", Family::Schema),
    ("UNKNOWN_SCHEMA_VERSION", Family::Schema),
    ("INVALID_CORRIDOR", Family::Schema),
    ("HASH_MISMATCH", Family::Chain),
    ("STATE_HASH_MISMATCH", Family::Chain),
    ("BROKEN_LINK", Family::Chain),
    ("SEQUENCE_GAP", Family::Chain),
    ("AGENT_CHANGED", Family::Chain),
    ("TIME_REVERSED", Family::Chain),
    ("NOT_GENESIS", Family::Chain),
    ("ANCHOR_MISMATCH", Family::Chain),
    ("INVALID_ARGUMENT", Family::Argument),
    ("CHAIN_CONFLICT", Family::Store),
    ("STORE_LOCKED", Family::Store),
    ("STORE_IO", Family::Store),
    ("STORE_CORRUPT", Family::Store),
    ("UNSAFE_PATH", Family::Store),
    ("NOT_FOUND", Family::Store),
    ("AMBIGUOUS_KEY", Family::Store),
    ("QUEUE_FULL", Family::Store),
    ("MALFORMED_NOTE", Family::Signature),
    ("UNKNOWN_KEY", Family::Signature),
    ("BAD_SIGNATURE", Family::Signature),
    ("ORIGIN_MISMATCH", Family::Signature),
    ("TRUNCATED", Family::Signature),
    ("ROOT_MISMATCH", Family::Signature),
    ("PROOF_INVALID", Family::Signature),
];

impl Error {
    /// The stable code of this error, e.g. `"BROKEN_LINK"`. Codes never change meaning.
    pub fn code(&self) -> &'static str {
        match self {
            Error::MalformedJson { .. } => "MALFORMED_JSON",
            Error::NotIJson { .. } => "NOT_I_JSON",
            Error::LimitExceeded { .. } => "LIMIT_EXCEEDED",
            Error::UnsupportedType { .. } => "UNSUPPORTED_TYPE",
            Error::NotCanonical { .. } => "NOT_CANONICAL",
            Error::SchemaViolation { .. } => "SCHEMA_VIOLATION",
            Error::UnknownSchemaVersion { .. } => "UNKNOWN_SCHEMA_VERSION",
            Error::InvalidCorridor { .. } => "INVALID_CORRIDOR",
            Error::HashMismatch { .. } => "HASH_MISMATCH",
            Error::StateHashMismatch { .. } => "STATE_HASH_MISMATCH",
            Error::BrokenLink { .. } => "BROKEN_LINK",
            Error::SequenceGap { .. } => "SEQUENCE_GAP",
            Error::AgentChanged { .. } => "AGENT_CHANGED",
            Error::TimeReversed { .. } => "TIME_REVERSED",
            Error::NotGenesis { .. } => "NOT_GENESIS",
            Error::AnchorMismatch { .. } => "ANCHOR_MISMATCH",
            Error::InvalidArgument { .. } => "INVALID_ARGUMENT",
            Error::Store { kind, .. } => kind.code(),
            Error::Signed { kind, .. } => kind.code(),
        }
    }

    /// The family of the code, used by bindings to pick an exception class.
    pub fn family(&self) -> Family {
        match self {
            Error::MalformedJson { .. }
            | Error::NotIJson { .. }
            | Error::LimitExceeded { .. }
            | Error::UnsupportedType { .. }
            | Error::NotCanonical { .. } => Family::Json,
            Error::SchemaViolation { .. }
            | Error::UnknownSchemaVersion { .. }
            | Error::InvalidCorridor { .. } => Family::Schema,
            Error::HashMismatch { .. }
            | Error::StateHashMismatch { .. }
            | Error::BrokenLink { .. }
            | Error::SequenceGap { .. }
            | Error::AgentChanged { .. }
            | Error::TimeReversed { .. }
            | Error::NotGenesis { .. }
            | Error::AnchorMismatch { .. } => Family::Chain,
            Error::InvalidArgument { .. } => Family::Argument,
            Error::Store { .. } => Family::Store,
            Error::Signed { .. } => Family::Signature,
        }
    }

    /// Where in the JSON text the problem is, for syntax and I-JSON errors.
    pub fn position(&self) -> Option<Position> {
        match self {
            Error::MalformedJson { at, .. } => Some(*at),
            Error::NotIJson { at, .. } => *at,
            _ => None,
        }
    }

    /// The JSON path inside the pixel that the error is about (`$.context.tasks[2].id`,
    /// `$.prevHash`), where there is one.
    pub fn path(&self) -> Option<&str> {
        match self {
            Error::SchemaViolation { path, .. } | Error::UnsupportedType { path, .. } => Some(path),
            Error::UnknownSchemaVersion { .. } => Some("$.schema"),
            Error::InvalidCorridor { .. } => Some("$.corridor"),
            Error::HashMismatch { .. } => Some("$.hash"),
            Error::StateHashMismatch { .. } => Some("$.stateHash"),
            Error::BrokenLink { .. } | Error::AnchorMismatch { .. } => Some("$.prevHash"),
            Error::SequenceGap { .. } | Error::NotGenesis { .. } => Some("$.seq"),
            Error::AgentChanged { .. } => Some("$.agentId"),
            Error::TimeReversed { .. } => Some("$.timestampMs"),
            Error::MalformedJson { .. }
            | Error::NotIJson { .. }
            | Error::LimitExceeded { .. }
            | Error::NotCanonical { .. }
            | Error::InvalidArgument { .. }
            | Error::Store { .. }
            | Error::Signed { .. } => None,
        }
    }

    /// A store-family error (`docs/SPEC.md` section 12).
    pub fn store(kind: StoreErrorKind, detail: impl Into<String>) -> Error {
        Error::Store {
            kind,
            detail: detail.into(),
        }
    }

    /// For `NOT_I_JSON`, the finer reason code (e.g. `"DUPLICATE_KEY"`).
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Error::NotIJson { reason, .. } => Some(reason.code()),
            _ => None,
        }
    }

    pub(crate) fn schema(path: impl Into<String>, detail: impl Into<String>) -> Error {
        Error::SchemaViolation {
            path: path.into(),
            detail: detail.into(),
        }
    }

    pub(crate) fn argument(detail: impl Into<String>) -> Error {
        Error::InvalidArgument {
            detail: detail.into(),
        }
    }
}

/// Every stable code, in the order `docs/SPEC.md` lists them.
pub const ALL_CODES: [&str; 32] = {
    let mut out = [""; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = CODE_FAMILIES[i].0;
        i += 1;
    }
    out
};

pub type Result<T, E = Error> = std::result::Result<T, E>;
