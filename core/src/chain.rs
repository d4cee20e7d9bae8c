//! The checkpointing ritual (emit the next pixel), the chain linking rules, and the in-memory
//! ledger. The core has no clock and no random numbers: time and ids are inputs.

use crate::error::{Error, Result};
use crate::hash::{BatchHasher, Digest, Hashing, GENESIS};
use crate::json::{Map, Value};
use crate::pixel::{check_line, validate_id, Draft, Header, Pixel};
use crate::verify::{verify, VerifyReport};

/// What changes at one step. Fields left `None` carry forward from the previous pixel
/// (at genesis: `state` `{}`, `context` `null`, `autonomyIndex` 0, `intentHash` `null`,
/// `stateVector` `{}`), except `eventDelta`, which counts events since the previous pixel
/// and defaults to 0.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Emit {
    pub corridor: String,
    /// Unix milliseconds (UTC). Must not be earlier than the previous pixel's.
    pub timestamp_ms: u64,
    pub state: Option<Value>,
    /// `Some(Value::Null)` clears the context.
    pub context: Option<Value>,
    pub autonomy_index: Option<f64>,
    /// `None` carries the previous value forward; `Some(None)` clears it (null).
    pub intent_hash: Option<Option<String>>,
    pub event_delta: Option<u64>,
    pub state_vector: Option<Value>,
}

impl Emit {
    pub fn new(corridor: impl Into<String>, timestamp_ms: u64) -> Emit {
        Emit {
            corridor: corridor.into(),
            timestamp_ms,
            ..Emit::default()
        }
    }
}

/// The linking rules between consecutive pixels (see `docs/SPEC.md`, "Verification").
#[derive(Debug, Clone)]
pub(crate) struct Linker {
    anchor: Option<Digest>,
    agent: Option<String>,
    prev: Option<(u64, Digest, u64)>, // seq, hash, timestamp
}

impl Linker {
    pub fn new(anchor: Option<Digest>) -> Linker {
        Linker {
            anchor,
            agent: None,
            prev: None,
        }
    }

    /// The hash the next pixel must carry as `prevHash`.
    pub fn head(&self) -> Digest {
        match self.prev {
            Some((_, h, _)) => h,
            None => self.anchor.unwrap_or(GENESIS),
        }
    }

    /// Checks that `h` may follow the pixels accepted so far.
    pub fn check(&self, h: &Header<'_>) -> Result<()> {
        let Some((seq, hash, time)) = self.prev else {
            if h.seq == 0 && h.prev_hash != GENESIS {
                return Err(Error::BrokenLink {
                    expected: GENESIS.to_string(),
                    found: h.prev_hash.to_string(),
                });
            }
            if h.seq > 0 && h.prev_hash == GENESIS {
                return Err(Error::SequenceGap {
                    expected: 0,
                    found: h.seq,
                });
            }
            return match self.anchor {
                Some(anchor) if h.prev_hash != anchor => Err(Error::AnchorMismatch {
                    anchor: anchor.to_string(),
                    found: h.prev_hash.to_string(),
                }),
                None if h.seq > 0 => Err(Error::NotGenesis { seq: h.seq }),
                _ => Ok(()),
            };
        };
        if h.prev_hash != hash {
            return Err(Error::BrokenLink {
                expected: hash.to_string(),
                found: h.prev_hash.to_string(),
            });
        }
        if h.seq != seq + 1 {
            return Err(Error::SequenceGap {
                expected: seq + 1,
                found: h.seq,
            });
        }
        let agent = self.agent.as_deref().unwrap_or_default();
        if h.agent_id != agent {
            return Err(Error::AgentChanged {
                expected: agent.to_owned(),
                found: h.agent_id.to_owned(),
            });
        }
        if h.timestamp_ms < time {
            return Err(Error::TimeReversed {
                previous: time,
                found: h.timestamp_ms,
            });
        }
        Ok(())
    }

    /// Records `h` as the newest accepted pixel.
    pub fn advance(&mut self, h: &Header<'_>) {
        if self.agent.is_none() {
            self.agent = Some(h.agent_id.to_owned());
        }
        self.prev = Some((h.seq, h.hash, h.timestamp_ms));
    }

    /// Full check of one stored line (schema, hashes, link); advances on success.
    pub fn accept_line(&mut self, line: &str) -> Result<()> {
        let checked = check_line(line)?;
        checked.check_hashes(line)?;
        self.check(&checked.header)?;
        self.advance(&checked.header);
        Ok(())
    }
}

/// An emitter for one agent's chain. It keeps only the newest pixel (the head), so memory
/// does not grow with the chain; persisting pixels is the host's job.
#[derive(Debug, Clone)]
pub struct Chain {
    agent_id: String,
    session_id: String,
    anchor: Digest,
    head: Option<Pixel>,
}

impl Chain {
    /// Starts a new chain at genesis. Ids: 1..=128 of `A-Z a-z 0-9 _ . -`.
    pub fn new(agent_id: &str, session_id: &str) -> Result<Chain> {
        validate_id(agent_id, "agentId")?;
        validate_id(session_id, "sessionId")?;
        Ok(Chain {
            agent_id: agent_id.to_owned(),
            session_id: session_id.to_owned(),
            anchor: GENESIS,
            head: None,
        })
    }

    /// Continues an existing chain after verifying it. `anchor` is required when `pixels`
    /// starts after genesis (a pruned chain). `session_id` names the new session; `None` keeps
    /// the head's.
    pub fn resume(
        pixels: &[Pixel],
        anchor: Option<Digest>,
        session_id: Option<&str>,
    ) -> Result<Chain> {
        let report: VerifyReport = verify(pixels, anchor);
        if let Some(f) = report.error {
            return Err(f.error);
        }
        let head = pixels
            .last()
            .ok_or_else(|| Error::argument("cannot resume from an empty chain; start a new one"))?;
        let session = session_id.unwrap_or(head.session_id());
        validate_id(session, "sessionId")?;
        Ok(Chain {
            agent_id: head.agent_id().to_owned(),
            session_id: session.to_owned(),
            anchor: anchor.unwrap_or(GENESIS),
            head: Some(head.clone()),
        })
    }

    pub fn agent_id(&self) -> &str {
        &self.agent_id
    }

    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The newest pixel, if any was emitted or resumed.
    pub fn head(&self) -> Option<&Pixel> {
        self.head.as_ref()
    }

    /// The hash the next pixel links to.
    pub fn head_hash(&self) -> Digest {
        self.head.as_ref().map_or(self.anchor, Pixel::hash)
    }

    /// The seq the next pixel gets.
    pub fn next_seq(&self) -> u64 {
        self.head.as_ref().map_or(0, |p| p.seq() + 1)
    }

    /// The timestamp to use for "now" so that time never goes backwards in the chain:
    /// the later of `now_ms` and the head's timestamp. Bindings call this with their clock.
    pub fn timestamp_for(&self, now_ms: u64) -> u64 {
        self.head
            .as_ref()
            .map_or(now_ms, |p| now_ms.max(p.timestamp_ms()))
    }

    /// The ritual: builds, hashes and links the next pixel, and makes it the head.
    pub fn emit(&mut self, e: Emit) -> Result<&Pixel> {
        self.emit_with(e, &mut Hashing::Local)
    }

    /// [`Chain::emit`] with both SHA-256 digests computed by the host's `hasher` (one
    /// preimage per call); a wrong answer's length makes this library hash instead.
    pub fn emit_hashed_by(&mut self, e: Emit, hasher: &mut BatchHasher<'_>) -> Result<&Pixel> {
        self.emit_with(e, &mut Hashing::Host(hasher))
    }

    fn emit_with(&mut self, e: Emit, hashing: &mut Hashing<'_, '_>) -> Result<&Pixel> {
        let prev = self.head.as_ref();
        if let Some(p) = prev {
            if e.timestamp_ms < p.timestamp_ms() {
                return Err(Error::TimeReversed {
                    previous: p.timestamp_ms(),
                    found: e.timestamp_ms,
                });
            }
        }
        let carry_map = |m: Option<&Map>| Value::Object(m.cloned().unwrap_or_default());
        let draft = Draft {
            seq: self.next_seq(),
            agent_id: self.agent_id.clone(),
            session_id: self.session_id.clone(),
            corridor: e.corridor,
            timestamp_ms: e.timestamp_ms,
            autonomy_index: e
                .autonomy_index
                .unwrap_or_else(|| prev.map_or(0.0, Pixel::autonomy_index)),
            intent_hash: match e.intent_hash {
                Some(given) => given,
                None => prev.and_then(|p| p.intent_hash().map(str::to_owned)),
            },
            event_delta: e.event_delta.unwrap_or(0),
            state_vector: e
                .state_vector
                .unwrap_or_else(|| carry_map(prev.map(Pixel::state_vector))),
            state: e.state.unwrap_or_else(|| carry_map(prev.map(Pixel::state))),
            context: e.context.unwrap_or_else(|| {
                prev.and_then(Pixel::context)
                    .map_or(Value::Null, |m| Value::Object(m.clone()))
            }),
            prev_hash: self.head_hash(),
        };
        let pixel = draft.seal_with(hashing)?;
        Ok(self.head.insert(pixel))
    }
}

/// An in-memory, verified chain: every appended pixel is checked (schema, hashes, link).
#[derive(Debug, Clone)]
pub struct Ledger {
    pixels: Vec<Pixel>,
    linker: Linker,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger::new()
    }
}

impl Ledger {
    /// An empty ledger that expects a genesis pixel first.
    pub fn new() -> Ledger {
        Ledger::with_anchor(None)
    }

    /// An empty ledger for a pruned chain whose first pixel links to `anchor`.
    pub fn with_anchor(anchor: Option<Digest>) -> Ledger {
        Ledger {
            pixels: Vec::new(),
            linker: Linker::new(anchor),
        }
    }

    /// Appends a pixel after checking that it is intact and links to the latest one.
    pub fn append(&mut self, pixel: Pixel) -> Result<()> {
        self.linker.accept_line(pixel.to_json())?;
        self.pixels.push(pixel);
        Ok(())
    }

    pub fn latest(&self) -> Option<&Pixel> {
        self.pixels.last()
    }

    pub fn len(&self) -> usize {
        self.pixels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pixels.is_empty()
    }

    /// The hash the next pixel must link to.
    pub fn head(&self) -> Digest {
        self.linker.head()
    }

    pub fn pixels(&self) -> &[Pixel] {
        &self.pixels
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Pixel> {
        self.pixels.iter()
    }
}
