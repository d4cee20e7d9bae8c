//! SHA-256 digests written as `sha256:<64 lowercase hex>`, and the domain tags of schema v1.

use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// Domain tag prefixed to the canonical bytes of a pixel (without `hash`) to form `hash`.
pub const PIXEL_DOMAIN: &[u8] = b"tokenpixel/v1/pixel\0";

/// Domain tag prefixed to the canonical bytes of the state surface to form `stateHash`.
pub const STATE_DOMAIN: &[u8] = b"tokenpixel/v1/state\0";

/// The `prevHash` of a genesis pixel (seq 0): `sha256:` followed by 64 zeros.
pub const GENESIS: Digest = Digest([0; 32]);

/// The text form of [`GENESIS`].
pub const GENESIS_HASH: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// Parses `sha256:<64 lowercase hex>`; anything else (uppercase, other lengths) is refused.
    pub fn parse(text: &str) -> Option<Digest> {
        let hex = text.strip_prefix("sha256:")?;
        if hex.len() != 64 {
            return None;
        }
        // 0xFF marks a byte that is not a lowercase hex digit.
        const NIBBLE: [u8; 256] = {
            let mut t = [0xFFu8; 256];
            let mut i = 0;
            while i < 10 {
                t[b'0' as usize + i] = i as u8;
                i += 1;
            }
            let mut i = 0;
            while i < 6 {
                t[b'a' as usize + i] = 10 + i as u8;
                i += 1;
            }
            t
        };
        let mut out = [0u8; 32];
        let mut bad = 0u8;
        for (o, pair) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
            let (hi, lo) = (NIBBLE[pair[0] as usize], NIBBLE[pair[1] as usize]);
            bad |= (hi | lo) & 0xF0;
            *o = (hi << 4) | lo;
        }
        (bad == 0).then_some(Digest(out))
    }

    /// Parses a caller-supplied hash argument, with an `INVALID_ARGUMENT` error naming `what`.
    pub fn parse_arg(text: &str, what: &str) -> Result<Digest> {
        Digest::parse(text).ok_or_else(|| {
            Error::argument(format!(
                "{what} must be \"sha256:\" followed by 64 lowercase hex digits, got {text:?}"
            ))
        })
    }

    /// SHA-256 of `domain` followed by each part in order.
    pub fn of_parts(domain: &[u8], parts: &[&[u8]]) -> Digest {
        let mut h = Sha256::new();
        h.update(domain);
        for p in parts {
            h.update(p);
        }
        Digest(h.finalize().into())
    }

    /// The text form, `sha256:<64 lowercase hex>`, as ASCII bytes.
    fn text_bytes(&self) -> [u8; 71] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = [0u8; 71];
        s[..7].copy_from_slice(b"sha256:");
        for (i, b) in self.0.iter().enumerate() {
            s[7 + 2 * i] = HEX[(b >> 4) as usize];
            s[8 + 2 * i] = HEX[(b & 0xF) as usize];
        }
        s
    }

    /// Appends `sha256:<64 hex>` to `out` (no formatting machinery: this is on the emit path).
    pub fn write_to(&self, out: &mut String) {
        // Only ASCII was written.
        out.push_str(std::str::from_utf8(&self.text_bytes()).unwrap_or_default());
    }

    /// The first `n` hex digits, for display (`n` ≤ 64).
    pub fn short(&self, n: usize) -> String {
        self.to_string()[7..7 + n.min(64)].to_owned()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&self.text_bytes()).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Hashes a batch for a host whose SHA-256 is faster than this library's (WebAssembly has no
/// SHA instructions; `node:crypto` does): given preimages laid end to end and the end offset of
/// each, returns their SHA-256 digests, 32 bytes each, in order.
pub type BatchHasher<'h> = dyn FnMut(&[u8], &[u32]) -> Vec<u8> + 'h;

/// Where digests are computed: here, or by the host in batches.
pub(crate) enum Hashing<'a, 'h> {
    Local,
    Host(&'a mut BatchHasher<'h>),
}

impl Hashing<'_, '_> {
    /// SHA-256 of `domain` followed by `parts`.
    pub fn digest(&mut self, domain: &[u8], parts: &[&[u8]]) -> Digest {
        let Hashing::Host(hasher) = self else {
            return Digest::of_parts(domain, parts);
        };
        let mut preimage =
            Vec::with_capacity(domain.len() + parts.iter().map(|p| p.len()).sum::<usize>());
        let end = push_preimage(&mut preimage, domain, parts);
        host_digests(hasher, &preimage, &[end])[0]
    }
}

/// Appends `domain` and `parts` (one preimage) to a batch; returns the batch's new end offset.
pub(crate) fn push_preimage(batch: &mut Vec<u8>, domain: &[u8], parts: &[&[u8]]) -> u32 {
    batch.extend_from_slice(domain);
    parts.iter().for_each(|p| batch.extend_from_slice(p));
    batch.len() as u32
}

/// The host's digests for a batch, or this library's when the host answered with the wrong
/// length (a host is trusted with speed, never with the result's shape).
pub(crate) fn host_digests(
    hasher: &mut BatchHasher<'_>,
    preimages: &[u8],
    ends: &[u32],
) -> Vec<Digest> {
    if ends.is_empty() {
        return Vec::new();
    }
    let out = hasher(preimages, ends);
    if out.len() == 32 * ends.len() {
        return out
            .chunks_exact(32)
            .map(|c| Digest(c.try_into().unwrap_or([0; 32])))
            .collect();
    }
    let mut start = 0;
    ends.iter()
        .map(|&end| {
            let d = Digest::of_parts(&[], &[&preimages[start..end as usize]]);
            start = end as usize;
            d
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_bad_forms() {
        let d = Digest::of_parts(b"", &[b"abc"]);
        assert_eq!(
            d.to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Digest::parse(&d.to_string()), Some(d));
        assert_eq!(GENESIS.to_string(), GENESIS_HASH);
        assert!(Digest::parse(&d.to_string().to_uppercase()).is_none());
        assert!(Digest::parse("sha256:abc").is_none());
        assert!(Digest::parse(
            "md5:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        )
        .is_none());
    }
}
