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

/// A district of the pipeline convention (the CI/CD seed): number, name and purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct District {
    pub number: u32,
    pub name: &'static str,
    pub purpose: &'static str,
}

/// The five districts of the convention. Any other district number is allowed in a corridor.
pub const DISTRICTS: [District; 5] = [
    District {
        number: 1,
        name: "INGESTION",
        purpose: "ingestion: documents processed (RAG, parsing)",
    },
    District {
        number: 2,
        name: "LORA_BIAS",
        purpose: "LoRA bias: model weights updated",
    },
    District {
        number: 3,
        name: "ROUTING",
        purpose: "routing: intent resolved, chamber chosen",
    },
    District {
        number: 4,
        name: "EXECUTION",
        purpose: "execution: the task ran and produced output",
    },
    District {
        number: 5,
        name: "DEPLOYMENT",
        purpose: "deployment: artifacts published to targets",
    },
];

/// A chamber or node name as a corridor segment: ASCII letters upper-cased, any character
/// other than `A-Z 0-9 _` replaced by `_`, so dynamic parts (`router-7`, `gpt-4o`) fit.
/// A leading `CHAMBER_` / `NODE_` is the caller's and is kept out by [`Corridor::build`].
pub fn segment_name(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'a'..='z' => c.to_ascii_uppercase(),
            'A'..='Z' | '0'..='9' | '_' => c,
            _ => '_',
        })
        .collect()
}

impl Corridor {
    /// Builds `DISTRICT_<district>.CHAMBER_<chamber>.NODE_<node>` from its parts. `chamber`
    /// and `node` may carry their `CHAMBER_` / `NODE_` prefix or not, and are normalized by
    /// [`segment_name`]; the result must still be a valid corridor (`INVALID_CORRIDOR`: an
    /// empty name, or one starting with `_` after normalizing, or over 128 bytes).
    pub fn build(district: u32, chamber: &str, node: &str) -> Result<Corridor> {
        let chamber = segment_name(chamber.strip_prefix("CHAMBER_").unwrap_or(chamber));
        let node = segment_name(node.strip_prefix("NODE_").unwrap_or(node));
        Corridor::parse(&format!(
            "DISTRICT_{district}.CHAMBER_{chamber}.NODE_{node}"
        ))
    }

    /// A stage prefix `DISTRICT_<n>.CHAMBER_<X>` (what a stage appends `.NODE_PRE` and
    /// `.NODE_POST` to), built and checked as [`Corridor::build`] does.
    pub fn build_prefix(district: u32, chamber: &str) -> Result<String> {
        let full = Corridor::build(district, chamber, "PRE")?;
        Ok(full.as_str()[..full.as_str().len() - ".NODE_PRE".len()].to_owned())
    }

    /// A district given as a number or as `DISTRICT_<n>`.
    pub fn district_number(text: &str) -> Result<u32> {
        let digits = text.strip_prefix("DISTRICT_").unwrap_or(text);
        Corridor::validate(&format!("DISTRICT_{digits}.CHAMBER_0.NODE_0")).map_err(|_| {
            Error::argument(format!(
                "{text:?} is not a district: give a number 0..=999999999 or DISTRICT_<n>"
            ))
        })
    }

    /// The same district and chamber at another node (`NODE_PERIODIC`, `NODE_ERROR`).
    pub fn with_node(&self, node: &str) -> Result<Corridor> {
        Corridor::build(self.district, self.chamber(), node)
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

    #[test]
    fn build() {
        let c = Corridor::build(5, "DEPLOY", "EDGE_PRE").unwrap();
        assert_eq!(c.as_str(), "DISTRICT_5.CHAMBER_DEPLOY.NODE_EDGE_PRE");
        let c = Corridor::build(3, "CHAMBER_router-7", "NODE_post").unwrap();
        assert_eq!(c.as_str(), "DISTRICT_3.CHAMBER_ROUTER_7.NODE_POST");
        assert_eq!(
            Corridor::build_prefix(2, "lora").unwrap(),
            "DISTRICT_2.CHAMBER_LORA"
        );
        assert_eq!(Corridor::district_number("DISTRICT_5").unwrap(), 5);
        assert_eq!(Corridor::district_number("12").unwrap(), 12);
        assert!(Corridor::district_number("DISTRICT_05").is_err());
        assert_eq!(
            c.with_node("PERIODIC").unwrap().as_str(),
            "DISTRICT_3.CHAMBER_ROUTER_7.NODE_PERIODIC"
        );
        for (chamber, node) in [
            ("", "PRE"),
            ("-x", "PRE"),
            ("A", ""),
            ("A", &"N".repeat(120)),
        ] {
            let e = Corridor::build(1, chamber, node).unwrap_err();
            assert_eq!(e.code(), "INVALID_CORRIDOR", "{chamber:?} {node:?}");
        }
    }
}
