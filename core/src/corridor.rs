//! Corridors: the named place in a pipeline where a pixel was taken,
//! `DISTRICT_<n>.CHAMBER_<X>.NODE_<Y>`.

use std::fmt;

use crate::error::{Error, Result};

/// Maximum length of a corridor in bytes.
pub const MAX_CORRIDOR_LEN: usize = 128;

/// A validated corridor such as `DISTRICT_2.CHAMBER_LORA.NODE_POST`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Corridor {
    text: String,
    district: u32,
}

impl Corridor {
    /// Parses and validates a corridor.
    ///
    /// - `DISTRICT_<n>`: `n` is a decimal integer 0..=999999999 without leading zeros;
    /// - `CHAMBER_<X>` and `NODE_<Y>`: `X` and `Y` are one or more of `A-Z`, `0-9`, `_`,
    ///   starting with a letter or digit;
    /// - three segments separated by `.`, at most 128 bytes in all.
    pub fn parse(text: &str) -> Result<Corridor> {
        Ok(Corridor {
            district: Corridor::validate(text)?,
            text: text.to_owned(),
        })
    }

    /// Validates a corridor without allocating; returns the district number.
    pub fn validate(text: &str) -> Result<u32> {
        let bad = |detail: &str| Error::InvalidCorridor {
            corridor: text.chars().take(MAX_CORRIDOR_LEN + 8).collect(),
            detail: detail.to_owned(),
        };
        if text.len() > MAX_CORRIDOR_LEN {
            return Err(bad("longer than 128 bytes"));
        }
        let mut split = text.split('.');
        let parts = [split.next(), split.next(), split.next(), split.next()];
        let [Some(p0), Some(p1), Some(p2), None] = parts else {
            return Err(bad(
                "expected three dot-separated segments DISTRICT_<n>.CHAMBER_<X>.NODE_<Y>",
            ));
        };
        let parts = [p0, p1, p2];
        let n = parts[0]
            .strip_prefix("DISTRICT_")
            .ok_or_else(|| bad("the first segment must start with DISTRICT_"))?;
        let valid_number = !n.is_empty()
            && n.len() <= 9
            && n.bytes().all(|b| b.is_ascii_digit())
            && (n == "0" || !n.starts_with('0'));
        if !valid_number {
            return Err(bad(
                "DISTRICT_ must be followed by a decimal number without leading zeros",
            ));
        }
        for (segment, prefix) in [(parts[1], "CHAMBER_"), (parts[2], "NODE_")] {
            let name = segment
                .strip_prefix(prefix)
                .ok_or_else(|| bad(&format!("segment {segment:?} must start with {prefix}")))?;
            let ok = name
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                return Err(bad(&format!(
                    "{prefix} must be followed by A-Z, 0-9 or _, starting with a letter or digit"
                )));
            }
        }
        n.parse().map_err(|_| bad("bad district number"))
    }

    /// The whole corridor text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The district number `n`.
    pub fn district(&self) -> u32 {
        self.district
    }

    /// The chamber name without its `CHAMBER_` prefix, e.g. `LORA`.
    pub fn chamber(&self) -> &str {
        self.segment(1).trim_start_matches("CHAMBER_")
    }

    /// The node name without its `NODE_` prefix, e.g. `POST`.
    pub fn node(&self) -> &str {
        self.segment(2).trim_start_matches("NODE_")
    }

    fn segment(&self, i: usize) -> &str {
        self.text.split('.').nth(i).unwrap_or("")
    }
}

impl fmt::Display for Corridor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_seed_corridors() {
        let c = Corridor::parse("DISTRICT_2.CHAMBER_LORA.NODE_POST").unwrap();
        assert_eq!((c.district(), c.chamber(), c.node()), (2, "LORA", "POST"));
        for ok in [
            "DISTRICT_1.CHAMBER_0.NODE_PRE",
            "DISTRICT_1.CHAMBER_0.NODE_GH_ACTIONS",
            "DISTRICT_5.CHAMBER_DEPLOY.NODE_EDGE_EU_POST",
            "DISTRICT_0.CHAMBER_X.NODE_1",
        ] {
            assert!(Corridor::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_malformed_corridors() {
        for bad in [
            "",
            "DISTRICT_2.CHAMBER_LORA",
            "DISTRICT_2.CHAMBER_LORA.NODE_POST.EXTRA",
            "DISTRICT_.CHAMBER_LORA.NODE_POST",
            "DISTRICT_02.CHAMBER_LORA.NODE_POST",
            "DISTRICT_x.CHAMBER_LORA.NODE_POST",
            "district_2.CHAMBER_LORA.NODE_POST",
            "DISTRICT_2.LORA.NODE_POST",
            "DISTRICT_2.CHAMBER_lora.NODE_POST",
            "DISTRICT_2.CHAMBER_.NODE_POST",
            "DISTRICT_2.CHAMBER__X.NODE_POST",
            "DISTRICT_2.CHAMBER_LORA.POST",
            "DISTRICT_2.CHAMBER_LORA.NODE_PO ST",
            "DISTRICT_1234567890.CHAMBER_A.NODE_B",
        ] {
            let e = Corridor::parse(bad).unwrap_err();
            assert_eq!(e.code(), "INVALID_CORRIDOR", "{bad}");
        }
        let long = format!("DISTRICT_1.CHAMBER_A.NODE_{}", "B".repeat(120));
        assert!(Corridor::parse(&long).is_err());
    }
}
