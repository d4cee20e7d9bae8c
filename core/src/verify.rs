//! Chain verification over pixels in memory and over JSONL bytes (streaming).

use crate::chain::Linker;
use crate::error::Error;
use crate::hash::{host_digests, push_preimage, BatchHasher, Digest, PIXEL_DOMAIN, STATE_DOMAIN};
use crate::json::{self, MAX_DOCUMENT_BYTES};
use crate::pixel::{check_line, Checked, Header, Pixel};

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
    verify_jsonl_jobs(data, anchor, 1)
}

/// [`verify_jsonl`] on `jobs` threads (0: one per core). Lines are checked and hashed in
/// parallel and linked in order, so the report is the same as with one thread: the same
/// count, head, and first failure (code, index, line, message).
pub fn verify_jsonl_jobs(data: &[u8], anchor: Option<Digest>, jobs: usize) -> VerifyReport {
    let mut v = JsonlVerifier::with_jobs(anchor, jobs);
    v.feed(data);
    v.finish()
}

/// More threads than this gain nothing on a few MiB per round.
pub const MAX_JOBS: usize = 64;

/// Below this many bytes a block is checked on the calling thread: spawning costs more.
const PARALLEL_MIN_BYTES: usize = 256 * 1024;

/// Bytes per thread per parallel round; bounds the memory a round holds (one header per line).
const PARALLEL_WINDOW_BYTES: usize = 2 * 1024 * 1024;

/// Preimage bytes per host batch (about half as many bytes of lines).
const HOST_BATCH_BYTES: usize = 1024 * 1024;

/// A streaming JSONL verifier: feed chunks of any size, then `finish`. Memory stays bounded
/// by the longest line (at most [`MAX_DOCUMENT_BYTES`]) and a few MiB per thread, whatever the
/// file size.
#[derive(Debug, Clone)]
pub struct JsonlVerifier {
    linker: Linker,
    partial: Vec<u8>,
    lines: u64,
    failure: Option<Failure>,
    jobs: usize,
    tuning: Tuning,
}

/// Batch sizes; the defaults suit files, tests make them tiny to reach every path.
#[derive(Debug, Clone, Copy)]
struct Tuning {
    parallel_min: usize,
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    window: usize,
    host_batch: usize,
}

const TUNING: Tuning = Tuning {
    parallel_min: PARALLEL_MIN_BYTES,
    window: PARALLEL_WINDOW_BYTES,
    host_batch: HOST_BATCH_BYTES,
};

impl JsonlVerifier {
    pub fn new(anchor: Option<Digest>) -> JsonlVerifier {
        JsonlVerifier::with_jobs(anchor, 1)
    }

    /// A verifier that checks and hashes lines on `jobs` threads (0: one per core; at most
    /// [`MAX_JOBS`]; always one where the platform has no threads, as in WebAssembly).
    pub fn with_jobs(anchor: Option<Digest>, jobs: usize) -> JsonlVerifier {
        JsonlVerifier {
            linker: Linker::new(anchor),
            partial: Vec::new(),
            lines: 0,
            failure: None,
            jobs: threads(jobs),
            tuning: TUNING,
        }
    }

    /// For tests: the smallest block checked in parallel, the bytes per thread per parallel
    /// round, and the preimage bytes per host batch.
    #[doc(hidden)]
    pub fn tuned(mut self, parallel_min: usize, window: usize, host_batch: usize) -> Self {
        self.tuning = Tuning {
            parallel_min,
            window: window.max(1),
            host_batch,
        };
        self
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
    pub fn feed(&mut self, chunk: &[u8]) {
        self.feed_inner(chunk, None);
    }

    /// Feeds the next chunk, with SHA-256 computed by `hasher` in batches (for hosts whose own
    /// SHA-256 is faster than this library's, as in WebAssembly without SHA instructions).
    /// Every other check, and the order of failures, is the same as [`JsonlVerifier::feed`].
    /// A batch the hasher answers with the wrong length is hashed here instead.
    pub fn feed_hashed_by(&mut self, chunk: &[u8], hasher: &mut BatchHasher<'_>) {
        self.feed_inner(chunk, Some(hasher));
    }

    fn feed_inner(&mut self, mut chunk: &[u8], mut hasher: Option<&mut BatchHasher<'_>>) {
        if self.failed() {
            return;
        }
        if !self.partial.is_empty() {
            match memchr::memchr(b'\n', chunk) {
                Some(i) => {
                    self.partial.extend_from_slice(&chunk[..i]);
                    let line = std::mem::take(&mut self.partial);
                    self.block(&line, hasher.as_deref_mut());
                    chunk = &chunk[i + 1..];
                }
                None => {
                    self.buffer(chunk);
                    return;
                }
            }
        }
        if self.failed() {
            return;
        }
        match memchr::memrchr(b'\n', chunk) {
            Some(i) => {
                self.block(&chunk[..i], hasher);
                if !self.failed() {
                    self.buffer(&chunk[i + 1..]);
                }
            }
            None => self.buffer(chunk),
        }
    }

    fn buffer(&mut self, bytes: &[u8]) {
        if self.partial.len() + bytes.len() > MAX_DOCUMENT_BYTES {
            self.partial = Vec::new();
            self.fail(self.lines + 1, line_too_long());
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

    /// Checks whole lines: `block` is one or more lines joined by `\n`, without the last `\n`.
    fn block(&mut self, block: &[u8], hasher: Option<&mut BatchHasher<'_>>) {
        match hasher {
            Some(h) => self.block_hashed_by(block, h),
            None if self.jobs > 1 && block.len() >= self.tuning.parallel_min => {
                self.block_parallel(block)
            }
            None => self.block_sequential(block),
        }
    }

    fn block_sequential(&mut self, block: &[u8]) {
        for line in lines(block) {
            let result = verify_line(line);
            if !self.accept(result) {
                return;
            }
        }
    }

    /// Links the next line's outcome; false once a failure is recorded.
    fn accept(&mut self, checked: Result<Header<'_>, Error>) -> bool {
        let n = self.lines + 1;
        let linked = checked.and_then(|h| {
            self.linker.check(&h)?;
            self.linker.advance(&h);
            Ok(())
        });
        match linked {
            Ok(()) => {
                self.lines = n;
                true
            }
            Err(e) => {
                self.fail(n, e);
                false
            }
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn block_parallel(&mut self, block: &[u8]) {
        let jobs = self.jobs;
        let mut todo = Some(block);
        while let Some(block) = todo {
            let (round, after) = cut_at_line(block, jobs * self.tuning.window);
            todo = after;
            let mut parts = Vec::with_capacity(jobs);
            let mut rest = Some(round);
            for j in (1..=jobs).rev() {
                let Some(r) = rest else { break };
                let (part, after) = cut_at_line(r, r.len().div_ceil(j));
                parts.push(part);
                rest = after;
            }
            let results = std::thread::scope(|s| {
                let handles: Vec<_> = parts[1..]
                    .iter()
                    .map(|&p| s.spawn(move || verify_part(p)))
                    .collect();
                let mut all = vec![verify_part(parts[0])];
                for h in handles {
                    all.push(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
                }
                all
            });
            for result in results.into_iter().flatten() {
                if !self.accept(result) {
                    return;
                }
            }
        }
    }

    #[cfg(target_arch = "wasm32")]
    fn block_parallel(&mut self, block: &[u8]) {
        self.block_sequential(block)
    }

    fn block_hashed_by(&mut self, block: &[u8], hasher: &mut BatchHasher<'_>) {
        let mut pending: Vec<Result<Checked<'_>, Error>> = Vec::new();
        let batch = self.tuning.host_batch;
        let mut preimages: Vec<u8> = Vec::with_capacity(batch.min(block.len() * 2) + 1024);
        let mut ends: Vec<u32> = Vec::new();
        let mut all = lines(block).peekable();
        while all.peek().is_some() {
            pending.clear();
            preimages.clear();
            ends.clear();
            for line in all.by_ref() {
                let checked = check_bytes(line);
                if let Ok(c) = &checked {
                    // check_bytes passed, so the line is UTF-8.
                    let text = std::str::from_utf8(line).unwrap_or_default();
                    let pixel = c.pixel_preimage(text);
                    ends.push(push_preimage(&mut preimages, PIXEL_DOMAIN, &pixel));
                    let state = c.state_preimage();
                    ends.push(push_preimage(&mut preimages, STATE_DOMAIN, &state));
                }
                let stop = checked.is_err();
                pending.push(checked);
                if stop || preimages.len() >= batch {
                    break;
                }
            }
            let digests = host_digests(hasher, &preimages, &ends);
            let mut d = digests.iter();
            for checked in pending.drain(..) {
                let result = checked.and_then(|c| {
                    let (Some(&pixel), Some(&state)) = (d.next(), d.next()) else {
                        return Err(Error::argument("missing digest"));
                    };
                    c.compare(pixel, state)?;
                    Ok(c.header)
                });
                if !self.accept(result) {
                    return;
                }
            }
        }
    }

    /// Ends the input. A last line without a newline is verified like any other.
    pub fn finish(mut self) -> VerifyReport {
        if !self.failed() && !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.block(&line, None);
        }
        VerifyReport {
            ok: self.failure.is_none(),
            count: self.count(),
            head: self.linker.head(),
            error: self.failure,
        }
    }
}

/// The thread count for `jobs` (0: one per core).
fn threads(jobs: usize) -> usize {
    if cfg!(target_arch = "wasm32") {
        return 1;
    }
    match jobs {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n.min(MAX_JOBS),
    }
}

/// The lines of a block (see [`JsonlVerifier::block`]).
fn lines(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(block);
    std::iter::from_fn(move || {
        let r = rest?;
        match memchr::memchr(b'\n', r) {
            Some(i) => {
                rest = Some(&r[i + 1..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// Splits a block at the end of the first line that ends at or past byte `at`: the whole
/// lines up to there, and the block after that line's `\n`, if there is one.
#[cfg(not(target_arch = "wasm32"))]
fn cut_at_line(block: &[u8], at: usize) -> (&[u8], Option<&[u8]>) {
    match block.get(at..).and_then(|tail| memchr::memchr(b'\n', tail)) {
        Some(i) => (&block[..at + i], Some(&block[at + i + 1..])),
        None => (block, None),
    }
}

/// Checks and hashes a part's lines up to the first failure (linking is done in order later).
#[cfg(not(target_arch = "wasm32"))]
fn verify_part(part: &[u8]) -> Vec<Result<Header<'_>, Error>> {
    let mut out = Vec::with_capacity(part.len() / 512 + 1);
    for line in lines(part) {
        let result = verify_line(line);
        let stop = result.is_err();
        out.push(result);
        if stop {
            break;
        }
    }
    out
}

fn line_too_long() -> Error {
    Error::LimitExceeded {
        detail: format!("a line longer than {MAX_DOCUMENT_BYTES} bytes"),
    }
}

/// The checks of one line that need no other line (SPEC 6, steps 1 to 4): size, UTF-8,
/// canonical form and schema. The size limit comes first, whatever the chunking: a long line
/// fed in one chunk gets the same first error as the same line fed in pieces.
fn check_bytes(bytes: &[u8]) -> Result<Checked<'_>, Error> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(line_too_long());
    }
    check_line(json::utf8(bytes)?)
}

/// [`check_bytes`] and both hashes: everything but the link to the previous line.
fn verify_line(bytes: &[u8]) -> Result<Header<'_>, Error> {
    let checked = check_bytes(bytes)?;
    // check_bytes passed, so the line is UTF-8.
    checked.check_hashes(std::str::from_utf8(bytes).unwrap_or_default())?;
    Ok(checked.header)
}
