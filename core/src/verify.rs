//! Chain verification over pixels in memory and over JSONL bytes (streaming).

use crate::chain::Linker;
use crate::error::Error;
use crate::hash::Digest;
use crate::json::{self, MAX_DOCUMENT_BYTES};
use crate::pixel::Pixel;

/// The first problem verification found.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// 0-based index of the first bad pixel.
    pub index: u64,
    /// 1-based line number in the JSONL input (`None` when verifying pixels in memory).
    pub line: Option<u64>,
    pub error: Error,
}

impl Failure {
    /// The stable error code, e.g. `"BROKEN_LINK"`.
    pub fn code(&self) -> &'static str {
        self.error.code()
    }

    /// A message for people.
    pub fn message(&self) -> String {
        self.error.to_string()
    }
}

/// The outcome of verifying a chain.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyReport {
    pub ok: bool,
    /// How many pixels verified (on failure: how many came before the bad one).
    pub count: u64,
    /// The hash of the last verified pixel: what the next pixel must link to. For an empty
    /// chain, the anchor if one was given, else the genesis constant.
    pub head: Digest,
    pub error: Option<Failure>,
}

impl VerifyReport {
    /// For bindings that convert host values first: when the pixels before `index` verified
    /// but item `index` could not even be read as a pixel, that item is the first failure.
    pub fn with_unreadable(mut self, unreadable: Option<(usize, Error)>) -> VerifyReport {
        if let (true, Some((index, error))) = (self.ok, unreadable) {
            self.ok = false;
            self.error = Some(Failure {
                index: index as u64,
                line: None,
                error,
            });
        }
        self
    }
}

/// Verifies pixels in order. `anchor` is the trusted hash a pruned chain's first pixel links to.
pub fn verify(pixels: &[Pixel], anchor: Option<Digest>) -> VerifyReport {
    let mut linker = Linker::new(anchor);
    for (i, p) in pixels.iter().enumerate() {
        if let Err(error) = linker.accept_line(p.to_json()) {
            return VerifyReport {
                ok: false,
                count: i as u64,
                head: linker.head(),
                error: Some(Failure {
                    index: i as u64,
                    line: None,
                    error,
                }),
            };
        }
    }
    VerifyReport {
        ok: true,
        count: pixels.len() as u64,
        head: linker.head(),
        error: None,
    }
}

/// Verifies a whole JSONL document (one canonical pixel per line, `\n`-terminated; the
/// final newline is optional).
pub fn verify_jsonl(data: &[u8], anchor: Option<Digest>) -> VerifyReport {
    let mut v = JsonlVerifier::new(anchor);
    v.feed(data);
    v.finish()
}

/// A streaming JSONL verifier: feed chunks of any size, then `finish`. Memory stays bounded
/// by the longest line (at most [`MAX_DOCUMENT_BYTES`]), whatever the file size.
#[derive(Debug, Clone)]
pub struct JsonlVerifier {
    linker: Linker,
    partial: Vec<u8>,
    lines: u64,
    failure: Option<Failure>,
}

impl JsonlVerifier {
    pub fn new(anchor: Option<Digest>) -> JsonlVerifier {
        JsonlVerifier {
            linker: Linker::new(anchor),
            partial: Vec::new(),
            lines: 0,
            failure: None,
        }
    }

    /// Whether a failure was found; callers may stop reading then.
    pub fn failed(&self) -> bool {
        self.failure.is_some()
    }

    /// Pixels verified so far.
    pub fn count(&self) -> u64 {
        self.lines - u64::from(self.failure.is_some())
    }

    /// Feeds the next chunk of bytes.
    pub fn feed(&mut self, mut chunk: &[u8]) {
        if self.failed() {
            return;
        }
        if !self.partial.is_empty() {
            match memchr::memchr(b'\n', chunk) {
                Some(i) => {
                    self.partial.extend_from_slice(&chunk[..i]);
                    let line = std::mem::take(&mut self.partial);
                    self.line(&line);
                    chunk = &chunk[i + 1..];
                }
                None => {
                    self.buffer(chunk);
                    return;
                }
            }
        }
        while !self.failed() {
            match memchr::memchr(b'\n', chunk) {
                Some(i) => {
                    self.line(&chunk[..i]);
                    chunk = &chunk[i + 1..];
                }
                None => {
                    self.buffer(chunk);
                    return;
                }
            }
        }
    }

    fn buffer(&mut self, bytes: &[u8]) {
        if self.partial.len() + bytes.len() > MAX_DOCUMENT_BYTES {
            self.partial = Vec::new();
            self.fail(
                self.lines + 1,
                Error::LimitExceeded {
                    detail: format!("a line longer than {MAX_DOCUMENT_BYTES} bytes"),
                },
            );
            return;
        }
        self.partial.extend_from_slice(bytes);
    }

    fn fail(&mut self, line: u64, error: Error) {
        self.lines = line;
        self.failure = Some(Failure {
            index: line - 1,
            line: Some(line),
            error,
        });
    }

    fn line(&mut self, bytes: &[u8]) {
        let n = self.lines + 1;
        // The size limit comes first, whatever the chunking (SPEC 6, step 1): a long line fed
        // in one chunk gets the same first error as the same line fed in pieces.
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return self.fail(
                n,
                Error::LimitExceeded {
                    detail: format!("a line longer than {MAX_DOCUMENT_BYTES} bytes"),
                },
            );
        }
        let result = json::utf8(bytes).and_then(|text| self.linker.accept_line(text));
        match result {
            Ok(()) => self.lines = n,
            Err(e) => self.fail(n, e),
        }
    }

    /// Ends the input. A last line without a newline is verified like any other.
    pub fn finish(mut self) -> VerifyReport {
        if !self.failed() && !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line);
        }
        VerifyReport {
            ok: self.failure.is_none(),
            count: self.count(),
            head: self.linker.head(),
            error: self.failure,
        }
    }
}
