//! Signed heads and Merkle proofs (`docs/SPEC.md` section 14): an RFC 9162 Merkle tree over a
//! chain's pixels (one leaf per pixel: the 32 bytes of its `hash`), inclusion and consistency
//! proofs, C2SP signed notes with Ed25519, C2SP `tlog-checkpoint` texts and `tlog-proof` files.
//! No IO and no randomness: keys are made from a 32-byte seed the host supplies.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result, SignedErrorKind};
use crate::hash::Digest;

/// A node of the tree: 32 bytes.
pub type Hash = [u8; 32];

/// The longest note (text and signatures) a parser reads.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;
/// The most signature lines a note may carry (C2SP asks for at least 16).
pub const MAX_SIGNATURES: usize = 64;
/// The longest line of a note, a checkpoint or a proof file.
pub const MAX_LINE: usize = 8 * 1024;
/// Signature type byte of Ed25519 in C2SP signed notes.
pub const ED25519: u8 = 0x01;
/// Key type of a C2SP tlog-cosignature/v1 (Ed25519, timestamped) verifier key.
pub const COSIGNATURE_V1: u8 = 0x04;
/// The largest cosignature timestamp C2SP allows: 2^63 - 1.
pub const MAX_COSIGNATURE_TIME: u64 = (1 << 63) - 1;
/// First line of a proof file (C2SP tlog-proof).
pub const PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

fn err(kind: SignedErrorKind, detail: impl Into<String>) -> Error {
    Error::Signed {
        kind,
        detail: detail.into(),
    }
}

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// RFC 9162 leaf hash: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    sha256(&[&[0u8], data])
}

/// RFC 9162 interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[1u8], left, right])
}

/// The leaf of a pixel: the leaf hash of the 32 bytes of its `hash`.
pub fn pixel_leaf(pixel_hash: &Digest) -> Hash {
    leaf_hash(&pixel_hash.0)
}

/// The root of the empty tree: `SHA-256()` of nothing.
pub fn empty_root() -> Hash {
    sha256(&[])
}

/// The largest power of two smaller than `n` (`n >= 2`).
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The compact range `[0, size)`: the roots of its perfect subtrees, largest first. Appending
/// costs O(log n) hashes; the state is O(log n).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// A frontier from its parts: `nodes` must hold one hash per bit set in `size`.
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Result<Frontier> {
        if nodes.len() != size.count_ones() as usize {
            return Err(Error::argument(format!(
                "a frontier of size {size} has {} nodes, not {}",
                size.count_ones(),
                nodes.len()
            )));
        }
        Ok(Frontier { size, nodes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            let left = self.nodes.pop().expect("one node per set bit");
            hash = node_hash(&left, &hash);
            size >>= 1;
        }
        self.nodes.push(hash);
        self.size += 1;
    }

    /// The tree's root (RFC 9162 MTH): the perfect subtrees folded from the right.
    pub fn root(&self) -> Hash {
        let mut nodes = self.nodes.iter().rev();
        let Some(last) = nodes.next() else {
            return empty_root();
        };
        nodes.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

/// A tree's leaf hashes, in order, from which roots and proofs are built. A pruned chain's tree
/// keeps only the compact range (`Frontier`) of its pruned prefix and the leaves after it: every
/// root of a size at least the prefix's, every inclusion proof of a kept leaf and every
/// consistency proof from a size at least the prefix's can still be built from those (the
/// nodes they need inside the prefix are exactly the frontier's); anything else is refused.
pub struct Tree {
    prefix: Frontier,
    /// `[start, end)` of each prefix node, largest first.
    prefix_ranges: Vec<(u64, u64)>,
    leaves: Vec<Hash>,
}

impl Tree {
    pub fn new(leaves: Vec<Hash>) -> Tree {
        Tree::pruned(Frontier::new(), leaves)
    }

    /// The tree of a pruned chain: the prefix's frontier, then the kept leaves.
    pub fn pruned(prefix: Frontier, leaves: Vec<Hash>) -> Tree {
        let mut prefix_ranges = Vec::with_capacity(prefix.nodes.len());
        let mut start = 0u64;
        for bit in (0..64).rev() {
            if prefix.size & (1u64 << bit) != 0 {
                prefix_ranges.push((start, start + (1u64 << bit)));
                start += 1u64 << bit;
            }
        }
        Tree {
            prefix,
            prefix_ranges,
            leaves,
        }
    }

    pub fn size(&self) -> u64 {
        self.prefix.size + self.leaves.len() as u64
    }

    /// The size of the pruned prefix (0 for a whole tree).
    pub fn pruned_size(&self) -> u64 {
        self.prefix.size
    }

    fn pruned_error(&self, lo: u64, hi: u64) -> Error {
        Error::argument(format!(
            "leaves [{lo}, {hi}) were pruned: only their compact range (the first {} leaves) is \
             kept, and this root or proof needs more of them",
            self.prefix.size
        ))
    }

    /// MTH of leaves `[lo, hi)`.
    fn subtree(&self, lo: u64, hi: u64) -> Result<Hash> {
        let k = self.prefix.size;
        if lo >= k {
            return Ok(self.kept(lo - k, hi - k));
        }
        if hi <= k {
            // Inside the prefix: only a run of frontier nodes from `lo` to `hi` is known.
            let Some(first) = self.prefix_ranges.iter().position(|r| r.0 == lo) else {
                return Err(self.pruned_error(lo, hi));
            };
            let Some(last) = self.prefix_ranges[first..].iter().position(|r| r.1 == hi) else {
                return Err(self.pruned_error(lo, hi));
            };
            let nodes = &self.prefix.nodes[first..=first + last];
            let (tail, rest) = nodes.split_last().expect("at least one node");
            return Ok(rest
                .iter()
                .rev()
                .fold(*tail, |acc, left| node_hash(left, &acc)));
        }
        let split_at = lo + split(hi - lo);
        Ok(node_hash(
            &self.subtree(lo, split_at)?,
            &self.subtree(split_at, hi)?,
        ))
    }

    /// MTH of the kept leaves `[lo, hi)` (indexes into `leaves`).
    fn kept(&self, lo: u64, hi: u64) -> Hash {
        match hi - lo {
            0 => empty_root(),
            1 => self.leaves[lo as usize],
            n => {
                let k = split(n);
                node_hash(&self.kept(lo, lo + k), &self.kept(lo + k, hi))
            }
        }
    }

    /// The root of the first `size` leaves.
    pub fn root(&self, size: u64) -> Result<Hash> {
        self.check_size(size)?;
        if size == 0 {
            return Ok(empty_root());
        }
        self.subtree(0, size)
    }

    fn check_size(&self, size: u64) -> Result<()> {
        if size > self.size() {
            return Err(Error::argument(format!(
                "the tree has {} leaves, not {size}",
                self.size()
            )));
        }
        Ok(())
    }

    /// RFC 9162 2.1.3.1: the inclusion proof of leaf `index` in the tree of `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        self.check_size(size)?;
        if index >= size {
            return Err(Error::argument(format!(
                "leaf {index} is not in a tree of {size} leaves"
            )));
        }
        let mut proof = Vec::new();
        self.path(index, 0, size, &mut proof)?;
        Ok(proof)
    }

    fn path(&self, m: u64, lo: u64, hi: u64, out: &mut Vec<Hash>) -> Result<()> {
        let n = hi - lo;
        if n <= 1 {
            return Ok(());
        }
        let k = split(n);
        if m < k {
            self.path(m, lo, lo + k, out)?;
            out.push(self.subtree(lo + k, hi)?);
        } else {
            self.path(m - k, lo + k, hi, out)?;
            out.push(self.subtree(lo, lo + k)?);
        }
        Ok(())
    }

    /// RFC 9162 2.1.4.1: the consistency proof from the tree of `old` leaves to `new` leaves.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        self.check_size(new)?;
        if old > new {
            return Err(Error::argument(format!(
                "a consistency proof goes from a smaller size to a larger one, not {old} to {new}"
            )));
        }
        let mut proof = Vec::new();
        if old > 0 && old < new {
            self.subproof(old, 0, new, true, &mut proof)?;
        }
        Ok(proof)
    }

    fn subproof(&self, m: u64, lo: u64, hi: u64, whole: bool, out: &mut Vec<Hash>) -> Result<()> {
        let n = hi - lo;
        if m == n {
            if !whole {
                out.push(self.subtree(lo, hi)?);
            }
            return Ok(());
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, lo, lo + k, whole, out)?;
            out.push(self.subtree(lo + k, hi)?);
        } else {
            self.subproof(m - k, lo + k, hi, false, out)?;
            out.push(self.subtree(lo, lo + k)?);
        }
        Ok(())
    }
}

/// RFC 9162 2.1.3.2: whether `proof` shows leaf `leaf` at `index` in the tree of `size` leaves
/// with root `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<()> {
    if index >= size {
        return Err(err(
            SignedErrorKind::ProofInvalid,
            format!("leaf {index} is not in a tree of {size} leaves"),
        ));
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return Err(err(
                SignedErrorKind::ProofInvalid,
                "the inclusion proof is too long",
            ));
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(err(
            SignedErrorKind::ProofInvalid,
            "the inclusion proof is too short",
        ));
    }
    if r != *root {
        return Err(err(
            SignedErrorKind::ProofInvalid,
            "the inclusion proof does not lead to the root",
        ));
    }
    Ok(())
}

/// RFC 9162 2.1.4.2: whether `proof` shows that the tree of `new` leaves with `new_root`
/// extends the tree of `old` leaves with `old_root`. Between equal sizes the proof is empty
/// and the roots equal. From size 0 there is no proof (RFC 9162 defines them for 0 < old):
/// `PROOF_INVALID`, as transparency-dev/merkle decides; every tree extends the empty one, so
/// callers need none.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<()> {
    let bad = |why: &str| Err(err(SignedErrorKind::ProofInvalid, why.to_string()));
    if old > new {
        return bad("a consistency proof goes from a smaller tree to a larger one");
    }
    if old == 0 {
        return bad("there is no consistency proof from the empty tree (every tree extends it)");
    }
    if old == new {
        return if !proof.is_empty() {
            bad("a consistency proof between equal sizes is empty")
        } else if old_root == new_root {
            Ok(())
        } else {
            bad("two trees of one size with different roots")
        };
    }
    if proof.is_empty() {
        return bad("the consistency proof is empty");
    }
    let mut path = proof.to_vec();
    if old.is_power_of_two() {
        path.insert(0, *old_root);
    }
    let (mut f_n, mut s_n) = (old - 1, new - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s_n == 0 {
            return bad("the consistency proof is too long");
        }
        if f_n & 1 == 1 || f_n == s_n {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return bad("the consistency proof is too short");
    }
    if fr != *old_root {
        return bad("the consistency proof does not lead to the old root");
    }
    if sr != *new_root {
        return bad("the consistency proof does not lead to the new root");
    }
    Ok(())
}

// -- base64 and names ------------------------------------------------------------------------

/// Standard base64 with padding and zero pad bits only (one text per value).
pub fn b64_decode(text: &str, what: &str) -> Result<Vec<u8>> {
    let bytes = STANDARD.decode(text).map_err(|e| {
        err(
            SignedErrorKind::MalformedNote,
            format!("{what}: not canonical base64 ({e})"),
        )
    })?;
    if STANDARD.encode(&bytes) != text {
        return Err(err(
            SignedErrorKind::MalformedNote,
            format!("{what}: not canonical base64"),
        ));
    }
    Ok(bytes)
}

pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn hash_of(bytes: &[u8], what: &str) -> Result<Hash> {
    bytes.try_into().map_err(|_| {
        err(
            SignedErrorKind::MalformedNote,
            format!("{what}: a hash is 32 bytes, not {}", bytes.len()),
        )
    })
}

/// A key name: non-empty, no Unicode spaces, no `+`, no control characters.
pub fn check_key_name(name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name.len() > 256
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control());
    if bad {
        return Err(Error::argument(format!(
            "{name:?} is not a key name: 1 to 256 characters, no spaces, no '+'"
        )));
    }
    Ok(())
}

/// The key ID of C2SP signed notes: `SHA-256(name || 0x0A || type || public key)[:4]`.
pub fn key_id(name: &str, kind: u8, public: &[u8]) -> u32 {
    let h = sha256(&[name.as_bytes(), b"\n", &[kind], public]);
    u32::from_be_bytes([h[0], h[1], h[2], h[3]])
}

// -- keys ------------------------------------------------------------------------------------

/// An Ed25519 signer (a name and a private key), as in Go's `sumdb/note`.
#[derive(Clone)]
pub struct Signer25519 {
    name: String,
    key: SigningKey,
}

impl Signer25519 {
    /// A signer from a 32-byte seed (the host draws it from its secure random source).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Signer25519> {
        check_key_name(name)?;
        Ok(Signer25519 {
            name: name.to_owned(),
            key: SigningKey::from_bytes(seed),
        })
    }

    /// The private key text: `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>`.
    pub fn to_text(&self) -> String {
        let mut raw = vec![ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!("PRIVATE+KEY+{}+{:08x}+{}", self.name, self.id(), b64(&raw))
    }

    /// Reads a private key text (Go's `note.NewSigner` format).
    pub fn from_text(text: &str) -> Result<Signer25519> {
        let bad = || Error::argument("not a private key: expected PRIVATE+KEY+<name>+<id>+<key>");
        let rest = text
            .trim_end_matches('\n')
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(bad)?;
        let (name, rest) = rest.split_once('+').ok_or_else(bad)?;
        let (id, key) = rest.split_once('+').ok_or_else(bad)?;
        let raw = b64_decode(key, "private key").map_err(|_| bad())?;
        if raw.len() != 33 || raw[0] != ED25519 {
            return Err(bad());
        }
        let seed: [u8; 32] = raw[1..].try_into().map_err(|_| bad())?;
        let signer = Signer25519::from_seed(name, &seed)?;
        if format!("{:08x}", signer.id()) != id {
            return Err(Error::argument(
                "the private key's ID does not match its name and key",
            ));
        }
        Ok(signer)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn id(&self) -> u32 {
        key_id(&self.name, ED25519, self.key.verifying_key().as_bytes())
    }

    /// The verifier key text: `<name>+<hex key ID>+<base64(0x01 || public key)>`.
    pub fn verifier(&self) -> String {
        let mut raw = vec![ED25519];
        raw.extend_from_slice(self.key.verifying_key().as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id(), b64(&raw))
    }

    /// The verifier key of this key used as a C2SP tlog-cosignature/v1 cosigner (type 0x04).
    pub fn cosigner_verifier(&self) -> String {
        let public = self.key.verifying_key();
        let mut raw = vec![COSIGNATURE_V1];
        raw.extend_from_slice(public.as_bytes());
        let id = key_id(&self.name, COSIGNATURE_V1, public.as_bytes());
        format!("{}+{id:08x}+{}", self.name, b64(&raw))
    }

    /// The signature line of a C2SP tlog-cosignature/v1 over a note text at POSIX `time`:
    /// `— <name> base64(key ID || time (8 bytes, big-endian) || Ed25519 signature)`, the
    /// signature over `cosignature/v1\ntime <time>\n<text>`. Append it to a signed note.
    pub fn cosign_line(&self, text: &str, time: u64) -> Result<String> {
        check_text(text)?;
        if time > MAX_COSIGNATURE_TIME {
            return Err(Error::argument(format!(
                "a cosignature time is at most 2^63 - 1, not {time}"
            )));
        }
        let message = cosigned_message(text, time);
        let signature = self.key.sign(message.as_bytes());
        let id = key_id(
            &self.name,
            COSIGNATURE_V1,
            self.key.verifying_key().as_bytes(),
        );
        let mut raw = id.to_be_bytes().to_vec();
        raw.extend_from_slice(&time.to_be_bytes());
        raw.extend_from_slice(&signature.to_bytes());
        Ok(format!("\u{2014} {} {}\n", self.name, b64(&raw)))
    }

    /// Signs a note text (ending in a newline): the note with this key's signature line.
    pub fn sign(&self, text: &str) -> Result<String> {
        check_text(text)?;
        let signature = self.key.sign(text.as_bytes());
        let mut raw = self.id().to_be_bytes().to_vec();
        raw.extend_from_slice(&signature.to_bytes());
        Ok(format!("{text}\n\u{2014} {} {}\n", self.name, b64(&raw)))
    }
}

/// What C2SP tlog-cosignature/v1 signs: two lines, then the whole note text.
fn cosigned_message(text: &str, time: u64) -> String {
    format!("cosignature/v1\ntime {time}\n{text}")
}

/// A verifier key: `<name>+<hex key ID>+<base64(type || public key)>`: an Ed25519 note key
/// (type 0x01) or an Ed25519 tlog-cosignature/v1 key (type 0x04).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    pub name: String,
    pub id: u32,
    /// `ED25519` or `COSIGNATURE_V1`.
    pub kind: u8,
    key: [u8; 32],
}

impl VerifierKey {
    pub fn parse(text: &str) -> Result<VerifierKey> {
        let bad = |why: &str| {
            err(
                SignedErrorKind::UnknownKey,
                format!("verifier key {text:?}: {why}"),
            )
        };
        // The base64 key may itself hold '+': split at the first two only (as Go's note does).
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected <name>+<id>+<key>"));
        };
        check_key_name(name).map_err(|_| bad("bad key name"))?;
        if id.len() != 8
            || !id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(bad("the key ID is 8 lowercase hex digits"));
        }
        let id = u32::from_str_radix(id, 16).map_err(|_| bad("bad key ID"))?;
        let raw =
            b64_decode(key, "verifier key").map_err(|_| bad("the key is not canonical base64"))?;
        if raw.len() != 33 || !matches!(raw[0], ED25519 | COSIGNATURE_V1) {
            return Err(bad(
                "only Ed25519 keys are supported: type 0x01 (note signatures) or 0x04 \
                 (tlog-cosignature/v1), 32 bytes",
            ));
        }
        let kind = raw[0];
        let key: [u8; 32] = raw[1..].try_into().map_err(|_| bad("bad key"))?;
        VerifyingKey::from_bytes(&key).map_err(|_| bad("not an Ed25519 public key"))?;
        if key_id(name, kind, &key) != id {
            return Err(bad("the key ID does not match the name and key"));
        }
        Ok(VerifierKey {
            name: name.to_owned(),
            id,
            kind,
            key,
        })
    }

    /// Whether `signature` (the bytes after the key ID) signs `text` under this key: Ed25519
    /// over the text (0x01), or a timestamped cosignature over the cosigned message (0x04).
    fn verify(&self, text: &str, signature: &[u8]) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.key) else {
            return false;
        };
        if self.kind == COSIGNATURE_V1 {
            let Some((time, sig)) = cosignature_parts(signature) else {
                return false;
            };
            let Ok(sig) = Signature::from_slice(sig) else {
                return false;
            };
            return key
                .verify(cosigned_message(text, time).as_bytes(), &sig)
                .is_ok();
        }
        let Ok(sig) = Signature::from_slice(signature) else {
            return false;
        };
        key.verify(text.as_bytes(), &sig).is_ok()
    }
}

/// A cosignature's timestamp and Ed25519 signature: exactly 8 + 64 bytes, the time at most
/// 2^63 - 1; None otherwise.
pub fn cosignature_parts(signature: &[u8]) -> Option<(u64, &[u8])> {
    if signature.len() != 72 {
        return None;
    }
    let time = u64::from_be_bytes(signature[..8].try_into().ok()?);
    (time <= MAX_COSIGNATURE_TIME).then_some((time, &signature[8..]))
}

impl VerifierKey {
    /// The POSIX time a cosignature by this key states, when this is a cosigner key and the
    /// signature has the cosignature form (not checked against the note: see `Note::verify`).
    pub fn cosignature_time(&self, signature: &[u8]) -> Option<u64> {
        (self.kind == COSIGNATURE_V1)
            .then(|| cosignature_parts(signature).map(|(t, _)| t))
            .flatten()
    }
}

// -- notes -----------------------------------------------------------------------------------

/// A note's text: UTF-8, ends in a newline, no control characters but newlines.
fn check_text(text: &str) -> Result<()> {
    if text.is_empty() || !text.ends_with('\n') {
        return Err(err(
            SignedErrorKind::MalformedNote,
            "a note text ends in a newline",
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(err(
            SignedErrorKind::MalformedNote,
            "a note holds no control characters but newlines",
        ));
    }
    if text.lines().any(|l| l.len() > MAX_LINE) {
        return Err(err(
            SignedErrorKind::MalformedNote,
            format!("a note line is over {MAX_LINE} bytes"),
        ));
    }
    Ok(())
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub id: u32,
    pub signature: Vec<u8>,
}

/// A signed note, split (C2SP signed-note).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Splits a signed note at its last blank line; checks its form, not its signatures.
    pub fn parse(note: &str) -> Result<Note> {
        let malformed = |why: &str| err(SignedErrorKind::MalformedNote, why.to_string());
        if note.len() > MAX_NOTE_BYTES {
            return Err(malformed("the note is over 64 KiB"));
        }
        if !note.ends_with('\n') {
            return Err(malformed("a signed note ends in a newline"));
        }
        let split = note
            .rfind("\n\n")
            .ok_or_else(|| malformed("no blank line before the signatures"))?;
        let text = &note[..split + 1];
        check_text(text)?;
        let mut signatures = Vec::new();
        for line in note[split + 2..].lines() {
            let rest = line
                .strip_prefix("\u{2014} ")
                .ok_or_else(|| malformed("a signature line starts with an em dash and a space"))?;
            let (name, sig) = rest
                .split_once(' ')
                .ok_or_else(|| malformed("a signature line is: — <name> <base64>"))?;
            check_key_name(name).map_err(|_| malformed("bad key name in a signature line"))?;
            let raw = b64_decode(sig, "signature")?;
            if raw.len() < 5 {
                return Err(malformed("a signature holds a key ID and a signature"));
            }
            signatures.push(NoteSignature {
                name: name.to_owned(),
                id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
                signature: raw[4..].to_vec(),
            });
            if signatures.len() > MAX_SIGNATURES {
                return Err(malformed("more than 64 signature lines"));
            }
        }
        if signatures.is_empty() {
            return Err(malformed("a signed note has at least one signature line"));
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Verifies the signatures by `keys` (others are ignored, as C2SP requires). Every known
    /// key's signature must verify, and at least one must be there: else `BAD_SIGNATURE` or
    /// `UNKNOWN_KEY`. Returns the names of the keys that signed.
    pub fn verify(&self, keys: &[VerifierKey]) -> Result<Vec<String>> {
        let mut signed: Vec<String> = Vec::new();
        for s in &self.signatures {
            let Some(key) = keys.iter().find(|k| k.name == s.name && k.id == s.id) else {
                continue;
            };
            if !key.verify(&self.text, &s.signature) {
                return Err(err(
                    SignedErrorKind::BadSignature,
                    format!("the signature by {} does not verify", s.name),
                ));
            }
            if !signed.contains(&s.name) {
                signed.push(s.name.clone());
            }
        }
        if signed.is_empty() {
            let names: Vec<&str> = self.signatures.iter().map(|s| s.name.as_str()).collect();
            return Err(err(
                SignedErrorKind::UnknownKey,
                format!(
                    "no signature by a known key (signed by: {})",
                    names.join(", ")
                ),
            ));
        }
        Ok(signed)
    }
}

// -- checkpoints -----------------------------------------------------------------------------

/// A C2SP tlog-checkpoint body: origin, tree size, root hash, extension lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text (ends in a newline).
    pub fn to_text(&self) -> String {
        let mut text = format!("{}\n{}\n{}\n", self.origin, self.size, b64(&self.root));
        for e in &self.extensions {
            text.push_str(e);
            text.push('\n');
        }
        text
    }

    pub fn parse(text: &str) -> Result<Checkpoint> {
        let malformed =
            |why: &str| err(SignedErrorKind::MalformedNote, format!("checkpoint: {why}"));
        check_text(text)?;
        let lines: Vec<&str> = text[..text.len() - 1].split('\n').collect();
        if lines.len() < 3 || lines.iter().any(|l| l.is_empty()) {
            return Err(malformed(
                "three non-empty lines (origin, size, root) and no empty one",
            ));
        }
        let size_text = lines[1];
        let canonical = size_text == "0"
            || (!size_text.starts_with('0') && size_text.bytes().all(|b| b.is_ascii_digit()));
        if !canonical || size_text.len() > 20 {
            return Err(malformed(
                "the tree size is a decimal with no leading zeroes",
            ));
        }
        let size = size_text
            .parse::<u64>()
            .map_err(|_| malformed("tree size out of range"))?;
        let root = hash_of(&b64_decode(lines[2], "root hash")?, "root hash")?;
        Ok(Checkpoint {
            origin: lines[0].to_owned(),
            size,
            root,
            extensions: lines[3..].iter().map(|s| s.to_string()).collect(),
        })
    }
}

/// The origin line of an agent's chain: `<log name>/<agent id>`; the log name is the user's
/// (for example `example.com/pipelines`), the agent id makes each chain its own log.
pub fn origin_for(log: &str, agent: &str) -> Result<String> {
    let origin = format!("{}/{agent}", log.trim_end_matches('/'));
    check_key_name(&origin)
        .map_err(|_| Error::argument(format!("{origin:?} is not an origin: no spaces, no '+'")))?;
    Ok(origin)
}

/// A signed checkpoint, verified: its body and the names of the keys that signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub signed_by: Vec<String>,
}

/// Parses and verifies a signed checkpoint note against `keys`.
pub fn open_checkpoint(note: &str, keys: &[VerifierKey]) -> Result<SignedCheckpoint> {
    let parsed = Note::parse(note)?;
    let signed_by = parsed.verify(keys)?;
    Ok(SignedCheckpoint {
        checkpoint: Checkpoint::parse(&parsed.text)?,
        signed_by,
    })
}

// -- proof files -----------------------------------------------------------------------------

/// A C2SP tlog-proof: an entry's index, its inclusion proof, the signed checkpoint, and
/// optional extra data (here: the pixel's canonical line, so the proof stands alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofFile {
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub proof: Vec<Hash>,
    pub checkpoint: String,
}

impl ProofFile {
    pub fn to_text(&self) -> String {
        let mut out = format!("{PROOF_HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", b64(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            out.push_str(&b64(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    pub fn parse(text: &str) -> Result<ProofFile> {
        let malformed =
            |why: &str| err(SignedErrorKind::MalformedNote, format!("proof file: {why}"));
        if text.len() > MAX_NOTE_BYTES + (16 << 20) {
            return Err(malformed("too large"));
        }
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or_else(|| malformed("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(PROOF_HEADER) {
            return Err(malformed("the first line is c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next().ok_or_else(|| malformed("no index line"))?;
        let mut extra = None;
        if let Some(e) = line.strip_prefix("extra ") {
            extra = Some(b64_decode(e, "extra")?);
            line = lines.next().ok_or_else(|| malformed("no index line"))?;
        }
        let index_text = line
            .strip_prefix("index ")
            .ok_or_else(|| malformed("expected `index N`"))?;
        let canonical = index_text == "0"
            || (!index_text.starts_with('0')
                && !index_text.is_empty()
                && index_text.bytes().all(|b| b.is_ascii_digit()));
        if !canonical || index_text.len() > 20 {
            return Err(malformed("the index is a decimal with no leading zeroes"));
        }
        let index = index_text
            .parse()
            .map_err(|_| malformed("index out of range"))?;
        let mut proof = Vec::new();
        for l in lines {
            proof.push(hash_of(&b64_decode(l, "proof hash")?, "proof hash")?);
            if proof.len() > 64 {
                return Err(malformed("an inclusion proof has at most 64 hashes"));
            }
        }
        Ok(ProofFile {
            extra,
            index,
            proof,
            checkpoint: checkpoint.to_string(),
        })
    }

    /// Verifies the proof for `leaf` against the checkpoint signed by `keys`; returns the
    /// verified checkpoint.
    pub fn verify(&self, leaf: &Hash, keys: &[VerifierKey]) -> Result<SignedCheckpoint> {
        let signed = open_checkpoint(&self.checkpoint, keys)?;
        let c = &signed.checkpoint;
        verify_inclusion(leaf, self.index, c.size, &self.proof, &c.root)?;
        Ok(signed)
    }
}

/// What a verified proof file shows: pixel `index` (its canonical `line`, when the file
/// carries it) is in the tree of `size` pixels signed for `origin` by `signed_by`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven {
    pub index: u64,
    pub size: u64,
    pub origin: String,
    pub signed_by: Vec<String>,
    pub line: Option<String>,
}

/// Verifies a proof file (14.4) for the pixel it carries in its `extra` line (whose own
/// hashes are checked first) or, when `pixel_hash` is given, for that pixel.
pub fn verify_proof_file(
    text: &str,
    keys: &[VerifierKey],
    pixel_hash: Option<Digest>,
) -> Result<Proven> {
    let file = ProofFile::parse(text)?;
    let line = match &file.extra {
        Some(bytes) => Some(String::from_utf8(bytes.clone()).map_err(|_| {
            err(
                SignedErrorKind::MalformedNote,
                "proof file: the extra data is not UTF-8",
            )
        })?),
        None => None,
    };
    let hash = match (pixel_hash, &line) {
        (Some(h), _) => h,
        (None, Some(l)) => {
            let pixel = crate::Pixel::from_json(l)?;
            let report = crate::verify(std::slice::from_ref(&pixel), Some(pixel.prev_hash()));
            if let Some(f) = report.error {
                return Err(f.error);
            }
            pixel.hash()
        }
        (None, None) => {
            return Err(Error::argument(
                "the proof file carries no pixel: give the pixel's hash",
            ))
        }
    };
    let signed = file.verify(&pixel_leaf(&hash), keys)?;
    Ok(Proven {
        index: file.index,
        size: signed.checkpoint.size,
        origin: signed.checkpoint.origin,
        signed_by: signed.signed_by,
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn a_pruned_tree_builds_what_the_whole_tree_builds_from_its_prefix_size_on() {
        for n in 0..20u64 {
            let all = leaves(n);
            let whole = Tree::new(all.clone());
            for k in 0..=n {
                let mut prefix = Frontier::new();
                for leaf in &all[..k as usize] {
                    prefix.push(*leaf);
                }
                let pruned = Tree::pruned(prefix, all[k as usize..].to_vec());
                assert_eq!((pruned.size(), pruned.pruned_size()), (n, k));
                for size in k..=n {
                    assert_eq!(pruned.root(size).unwrap(), whole.root(size).unwrap());
                    for index in k..size {
                        assert_eq!(
                            pruned.inclusion_proof(index, size).unwrap(),
                            whole.inclusion_proof(index, size).unwrap(),
                            "n {n} k {k} index {index} size {size}"
                        );
                    }
                }
                for old in (k..=n).chain([0]) {
                    for new in old.max(k)..=n {
                        assert_eq!(
                            pruned.consistency_proof(old, new).unwrap(),
                            whole.consistency_proof(old, new).unwrap(),
                            "n {n} k {k} {old} -> {new}"
                        );
                    }
                }
                // Inside the prefix only what its frontier tiles is known.
                for size in 1..k {
                    let tiled = (0..64)
                        .rev()
                        .map(|b| k & !((1u64 << b) - 1))
                        .any(|p| p == size);
                    assert_eq!(pruned.root(size).is_ok(), tiled, "n {n} k {k} size {size}");
                    if let Ok(root) = pruned.root(size) {
                        assert_eq!(root, whole.root(size).unwrap());
                    }
                }
            }
        }
        let mut prefix = Frontier::new();
        for leaf in leaves(6) {
            prefix.push(leaf);
        }
        let pruned = Tree::pruned(prefix, leaves(10)[6..].to_vec());
        assert_eq!(
            pruned.inclusion_proof(2, 10).unwrap_err().code(),
            "INVALID_ARGUMENT"
        );
        assert_eq!(
            pruned.consistency_proof(3, 10).unwrap_err().code(),
            "INVALID_ARGUMENT"
        );
    }

    #[test]
    fn frontier_matches_the_recursive_root() {
        for n in 0..70u64 {
            let all = leaves(n);
            let mut f = Frontier::new();
            for l in &all {
                f.push(*l);
            }
            assert_eq!(f.size(), n);
            assert_eq!(f.root(), Tree::new(all).root(n).unwrap(), "n = {n}");
        }
    }

    #[test]
    fn every_proof_verifies_and_a_wrong_one_does_not() {
        let tree = Tree::new(leaves(33));
        for size in 1..=33 {
            let root = tree.root(size).unwrap();
            for i in 0..size {
                let p = tree.inclusion_proof(i, size).unwrap();
                verify_inclusion(&tree.leaves[i as usize], i, size, &p, &root).unwrap();
                let other = tree.leaves[((i + 1) % 33) as usize];
                if size > 1 {
                    assert!(verify_inclusion(&other, i, size, &p, &root).is_err());
                }
            }
            let empty = tree.consistency_proof(0, size).unwrap();
            assert!(empty.is_empty());
            assert!(verify_consistency(0, size, &empty_root(), &root, &empty).is_err());
            for old in 1..=size {
                let p = tree.consistency_proof(old, size).unwrap();
                let old_root = tree.root(old).unwrap();
                verify_consistency(old, size, &old_root, &root, &p).unwrap();
                if old > 0 && old < size {
                    let wrong = tree.root(old - 1).unwrap();
                    assert!(verify_consistency(old, size, &wrong, &root, &p).is_err());
                }
            }
        }
    }

    #[test]
    fn c2sp_signed_note_example_verifies() {
        // c2sp.org/signed-note, "Example".
        let key = VerifierKey::parse(
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        )
        .unwrap();
        let note = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
        let parsed = Note::parse(note).unwrap();
        assert_eq!(
            parsed.verify(std::slice::from_ref(&key)).unwrap(),
            vec!["example.com/foo"]
        );
        let tampered = note.replace("example message", "example massage");
        assert_eq!(
            Note::parse(&tampered)
                .unwrap()
                .verify(&[key])
                .unwrap_err()
                .code(),
            "BAD_SIGNATURE"
        );
    }

    #[test]
    fn sign_and_verify_round_trip() {
        let signer = Signer25519::from_seed("example.com/log", &[7u8; 32]).unwrap();
        let key = VerifierKey::parse(&signer.verifier()).unwrap();
        let again = Signer25519::from_text(&signer.to_text()).unwrap();
        assert_eq!(again.verifier(), signer.verifier());
        let c = Checkpoint {
            origin: "example.com/log/agent-1".into(),
            size: 3,
            root: [9u8; 32],
            extensions: vec![],
        };
        let note = signer.sign(&c.to_text()).unwrap();
        let opened = open_checkpoint(&note, &[key]).unwrap();
        assert_eq!(opened.checkpoint, c);
        let other = Signer25519::from_seed("example.com/other", &[8u8; 32]).unwrap();
        let other_key = VerifierKey::parse(&other.verifier()).unwrap();
        assert_eq!(
            open_checkpoint(&note, &[other_key]).unwrap_err().code(),
            "UNKNOWN_KEY"
        );
        // A cosignature by another key is accepted and ignored unless its key is given.
        let cosigned = format!(
            "{note}{}",
            other
                .sign(&c.to_text())
                .unwrap()
                .split("\n\n")
                .nth(1)
                .unwrap()
        );
        let key = VerifierKey::parse(&signer.verifier()).unwrap();
        assert_eq!(
            open_checkpoint(&cosigned, &[key]).unwrap().signed_by.len(),
            1
        );
    }

    #[test]
    fn malformed_inputs_have_codes() {
        for bad in [
            "no newline",
            "text\n",
            "text\n\n\u{2014} k AAAA\n",
            "text\n\n- k AAAAAAA=\n",
            "te\u{1}xt\n\n\u{2014} k AAAAAAA=\n",
        ] {
            assert_eq!(
                Note::parse(bad).unwrap_err().code(),
                "MALFORMED_NOTE",
                "{bad:?}"
            );
        }
        // Non-canonical base64: non-zero pad bits, missing padding.
        assert!(b64_decode("AB==", "x").is_err());
        assert!(b64_decode("AA", "x").is_err());
        assert!(b64_decode("AA==", "x").is_ok());
        for bad in [
            "o\n01\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
            "o\n1\n\n",
            "o\n1\nAA==\n",
        ] {
            assert_eq!(
                Checkpoint::parse(bad).unwrap_err().code(),
                "MALFORMED_NOTE",
                "{bad:?}"
            );
        }
    }
}
