//! The store-format rules of the core (`docs/SPEC.md` section 12) for the Node store
//! (`pkg/src/store.mjs`), which does the IO and calls these for every decision.

use serde::Serialize;
use tokenpixel_core::store::{self, Key};
use tokenpixel_core::Pixel;
use wasm_bindgen::prelude::*;

use crate::error::{argument, js_err};
use crate::{anchor_of, report_value};

/// Throws INVALID_ARGUMENT unless `agentId` may name a chain in a store.
#[wasm_bindgen(js_name = validateAgentId)]
pub fn validate_agent_id(agent_id: &JsValue) -> Result<(), JsValue> {
    let id = agent_id
        .as_string()
        .ok_or_else(|| argument("an agent id is a string"))?;
    store::validate_agent_id(&id).map_err(js_err)
}

/// `{kind: "seq", seq}` or `{kind: "prefix", prefix}` for a key as `get` accepts it.
#[wasm_bindgen(js_name = parseKey)]
pub fn parse_key(key: &JsValue) -> Result<JsValue, JsValue> {
    #[derive(Serialize)]
    #[serde(tag = "kind", rename_all = "lowercase")]
    enum Out {
        Seq { seq: f64 },
        Prefix { prefix: String },
    }
    let parsed = if let Some(n) = key.as_f64() {
        if n.fract() != 0.0 || !n.is_finite() {
            return Err(argument(format!(
                "a seq is an integer from 0 to 2^53 - 1, got {n}"
            )));
        }
        store::seq_key(n as i128)
    } else if let Some(s) = key.as_string() {
        store::parse_key(&s)
    } else {
        return Err(argument("a pixel key is a seq (number) or a string"));
    }
    .map_err(js_err)?;
    let out = match parsed {
        Key::Seq(seq) => Out::Seq { seq: seq as f64 },
        Key::Prefix(prefix) => Out::Prefix { prefix },
    };
    report_value(&out)
}

/// Checks that `line` may be appended after the stored `head` line (none for an empty chain)
/// with the recorded `anchor`; returns the pixel's canonical line. Throws the SPEC code:
/// CHAIN_CONFLICT, the head's own code when the stored head fails its checks, or the line's.
#[wasm_bindgen(js_name = checkAppend)]
pub fn check_append(
    head: Option<String>,
    anchor: Option<String>,
    line: &str,
    first_seq: Option<f64>,
) -> Result<String, JsValue> {
    let anchor = anchor_of(anchor)?;
    let first_seq = first_seq.map(|f| f as u64);
    store::check_append_at(head.as_deref(), anchor, first_seq, line).map_err(js_err)?;
    Ok(Pixel::from_json(line).map_err(js_err)?.to_json().to_owned())
}

/// Whether a torn tail is a whole pixel extending `previous` that only lost its newline.
#[wasm_bindgen(js_name = classifyTail)]
pub fn classify_tail(
    previous: Option<String>,
    tail: &[u8],
    anchor: Option<String>,
) -> Result<bool, JsValue> {
    let anchor = anchor_of(anchor)?;
    Ok(store::classify_tail(previous.as_deref(), tail, anchor))
}

/// The anchor file's line (no newline), with the pruned prefix's frontier (base64 nodes) when
/// given.
#[wasm_bindgen(js_name = anchorRecord)]
pub fn anchor_record(
    anchor: &str,
    first_seq: f64,
    pruned_at_ms: f64,
    frontier: Option<Vec<String>>,
) -> Result<String, JsValue> {
    let anchor = anchor_of(Some(anchor.to_owned()))?.ok_or_else(|| argument("anchor"))?;
    let uint = |v: f64, name: &str| {
        if v >= 0.0 && v.fract() == 0.0 && v <= tokenpixel_core::MAX_SAFE_INTEGER as f64 {
            Ok(v as u64)
        } else {
            Err(argument(format!(
                "{name} must be an integer from 0 to 2^53 - 1"
            )))
        }
    };
    let first_seq = uint(first_seq, "firstSeq")?;
    let nodes = match &frontier {
        None => None,
        Some(texts) => {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            Some(store::parse_frontier(first_seq, &refs).map_err(js_err)?)
        }
    };
    Ok(store::anchor_record_with(
        anchor,
        first_seq,
        uint(pruned_at_ms, "prunedAtMs")?,
        nodes.as_deref(),
    ))
}

/// Throws the NOT_FOUND error of `get(agent, key)` (SPEC 12.6): `key` as given (text or seq).
#[wasm_bindgen(js_name = pixelNotFound)]
pub fn pixel_not_found(agent: &str, key: JsValue) -> Result<(), JsValue> {
    let (text, given_as_text) = match key.as_string() {
        Some(s) => (s, true),
        None => (
            key.as_f64()
                .map(|n| format!("{n}"))
                .unwrap_or_else(|| "?".into()),
            false,
        ),
    };
    Err(js_err(store::pixel_not_found(agent, &text, given_as_text)))
}

/// The frontier column text (PostgreSQL): the checked JSON array of base64 nodes.
#[wasm_bindgen(js_name = frontierText)]
pub fn frontier_text(first_seq: f64, nodes: Vec<String>) -> Result<String, JsValue> {
    let refs: Vec<&str> = nodes.iter().map(String::as_str).collect();
    store::frontier_text(first_seq as u64, &refs).map_err(js_err)
}

/// A frontier column read back: its base64 nodes; throws STORE_CORRUPT otherwise.
#[wasm_bindgen(js_name = parseFrontierText)]
pub fn parse_frontier_text(first_seq: f64, text: &str) -> Result<Vec<String>, JsValue> {
    let nodes = store::parse_frontier_text(first_seq as u64, text).map_err(js_err)?;
    Ok(nodes
        .iter()
        .map(|h| tokenpixel_core::tlog::b64(h))
        .collect())
}

/// `{anchor, firstSeq, frontier}` from an anchor file's bytes (`frontier`: base64 nodes, or
/// null in records written before it was kept); throws STORE_CORRUPT otherwise.
#[wasm_bindgen(js_name = parseAnchorRecord)]
pub fn parse_anchor_record(data: &[u8]) -> Result<JsValue, JsValue> {
    #[derive(Serialize)]
    struct Out {
        anchor: String,
        #[serde(rename = "firstSeq")]
        first_seq: f64,
        frontier: Option<Vec<String>>,
    }
    let r = store::parse_anchor(data).map_err(js_err)?;
    report_value(&Out {
        anchor: r.anchor.to_string(),
        first_seq: r.first_seq as f64,
        frontier: r.frontier.map(|nodes| {
            nodes
                .iter()
                .map(|h| tokenpixel_core::tlog::b64(h))
                .collect()
        }),
    })
}
