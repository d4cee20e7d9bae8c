//! Signed heads and Merkle proofs (`docs/SPEC.md` section 14) for JavaScript: the core does
//! every hash, signature and parse. Pixel hashes cross as `sha256:<hex>`, tree hashes as
//! base64 (as the C2SP texts write them), sizes and indexes as numbers.

use tokenpixel_core::tlog::{
    self, Checkpoint, Frontier, Hash, Note, ProofFile, Signer25519, Tree, VerifierKey,
};
use tokenpixel_core::Digest;
use wasm_bindgen::prelude::*;

use serde::Serialize;

use crate::error::{argument, js_err};
use crate::report_value;

fn digest(text: &str) -> Result<Digest, JsValue> {
    Digest::parse_arg(text, "pixel hash").map_err(js_err)
}

fn node(text: &str) -> Result<Hash, JsValue> {
    let bytes = tlog::b64_decode(text, "tree hash").map_err(js_err)?;
    bytes
        .try_into()
        .map_err(|_| argument("a tree hash is 32 bytes (44 base64 characters)"))
}

fn nodes(texts: &[String]) -> Result<Vec<Hash>, JsValue> {
    texts.iter().map(|t| node(t)).collect()
}

fn leaves(hashes: &[String]) -> Result<Vec<Hash>, JsValue> {
    hashes
        .iter()
        .map(|h| Ok(tlog::pixel_leaf(&digest(h)?)))
        .collect()
}

fn keys(texts: &[String]) -> Result<Vec<VerifierKey>, JsValue> {
    texts
        .iter()
        .map(|k| VerifierKey::parse(k).map_err(js_err))
        .collect()
}

fn count(n: f64, what: &str) -> Result<u64, JsValue> {
    if n.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(&n) {
        Ok(n as u64)
    } else {
        Err(argument(format!(
            "{what} must be an integer from 0 to 2^53 - 1"
        )))
    }
}

fn b64s(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| tlog::b64(h)).collect()
}

/// An Ed25519 note signer (C2SP signed-note; Go's `sumdb/note` key texts).
#[wasm_bindgen]
pub struct NoteSigner(Signer25519);

#[wasm_bindgen]
impl NoteSigner {
    /// A signer named `name` from a 32-byte secret seed (from `crypto.getRandomValues`).
    #[wasm_bindgen(constructor)]
    pub fn new(name: &str, seed: &[u8]) -> Result<NoteSigner, JsValue> {
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| argument("the seed is 32 bytes"))?;
        Ok(NoteSigner(
            Signer25519::from_seed(name, &seed).map_err(js_err)?,
        ))
    }

    /// Reads a private key text `PRIVATE+KEY+<name>+<id>+<key>`.
    #[wasm_bindgen(js_name = fromText)]
    pub fn from_text(text: &str) -> Result<NoteSigner, JsValue> {
        Ok(NoteSigner(Signer25519::from_text(text).map_err(js_err)?))
    }

    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.0.name().to_owned()
    }

    #[wasm_bindgen(getter)]
    pub fn verifier(&self) -> String {
        self.0.verifier()
    }

    #[wasm_bindgen(js_name = toText)]
    pub fn to_text(&self) -> String {
        self.0.to_text()
    }

    pub fn sign(&self, text: &str) -> Result<String, JsValue> {
        self.0.sign(text).map_err(js_err)
    }
}

/// The pruned prefix of a tree (`prefixSize`, base64 `prefixNodes`), or none.
fn prefix_of(size: Option<f64>, nodes: Option<Vec<String>>) -> Result<Frontier, JsValue> {
    let (Some(size), Some(nodes)) = (size, nodes) else {
        return Ok(Frontier::new());
    };
    let size = count(size, "prefix size")?;
    let refs: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let hashes = tokenpixel_core::store::parse_frontier(size, &refs).map_err(js_err)?;
    Frontier::from_parts(size, hashes).map_err(js_err)
}

/// The tree of these pixels after the pruned prefix, when given.
fn tree_of(
    pixel_hashes: &[String],
    prefix_size: Option<f64>,
    prefix_nodes: Option<Vec<String>>,
) -> Result<Tree, JsValue> {
    Ok(Tree::pruned(
        prefix_of(prefix_size, prefix_nodes)?,
        leaves(pixel_hashes)?,
    ))
}

#[wasm_bindgen(js_name = treeRoot)]
pub fn tree_root(
    pixel_hashes: Vec<String>,
    prefix_size: Option<f64>,
    prefix_nodes: Option<Vec<String>>,
) -> Result<String, JsValue> {
    let mut f = prefix_of(prefix_size, prefix_nodes)?;
    for leaf in leaves(&pixel_hashes)? {
        f.push(leaf);
    }
    Ok(tlog::b64(&f.root()))
}

/// The frontier nodes (base64) after appending these pixels to the frontier `(size, nodes)`.
#[wasm_bindgen(js_name = extendFrontier)]
pub fn extend_frontier(
    size: f64,
    nodes: Vec<String>,
    pixel_hashes: Vec<String>,
) -> Result<Vec<String>, JsValue> {
    let mut f = prefix_of(Some(size), Some(nodes))?;
    for leaf in leaves(&pixel_hashes)? {
        f.push(leaf);
    }
    Ok(b64s(f.nodes()))
}

#[wasm_bindgen(js_name = inclusionProof)]
pub fn inclusion_proof(
    pixel_hashes: Vec<String>,
    index: f64,
    size: f64,
    prefix_size: Option<f64>,
    prefix_nodes: Option<Vec<String>>,
) -> Result<Vec<String>, JsValue> {
    let tree = tree_of(&pixel_hashes, prefix_size, prefix_nodes)?;
    let proof = tree
        .inclusion_proof(count(index, "index")?, count(size, "size")?)
        .map_err(js_err)?;
    Ok(b64s(&proof))
}

#[wasm_bindgen(js_name = consistencyProof)]
pub fn consistency_proof(
    pixel_hashes: Vec<String>,
    old: f64,
    new: f64,
    prefix_size: Option<f64>,
    prefix_nodes: Option<Vec<String>>,
) -> Result<Vec<String>, JsValue> {
    let tree = tree_of(&pixel_hashes, prefix_size, prefix_nodes)?;
    let proof = tree
        .consistency_proof(count(old, "old")?, count(new, "new")?)
        .map_err(js_err)?;
    Ok(b64s(&proof))
}

#[wasm_bindgen(js_name = verifyInclusion)]
pub fn verify_inclusion(
    pixel_hash: &str,
    index: f64,
    size: f64,
    proof: Vec<String>,
    root: &str,
) -> Result<(), JsValue> {
    let leaf = tlog::pixel_leaf(&digest(pixel_hash)?);
    tlog::verify_inclusion(
        &leaf,
        count(index, "index")?,
        count(size, "size")?,
        &nodes(&proof)?,
        &node(root)?,
    )
    .map_err(js_err)
}

#[wasm_bindgen(js_name = verifyConsistency)]
pub fn verify_consistency(
    old: f64,
    new: f64,
    old_root: &str,
    new_root: &str,
    proof: Vec<String>,
) -> Result<(), JsValue> {
    tlog::verify_consistency(
        count(old, "old")?,
        count(new, "new")?,
        &node(old_root)?,
        &node(new_root)?,
        &nodes(&proof)?,
    )
    .map_err(js_err)
}

#[wasm_bindgen(js_name = checkpointText)]
pub fn checkpoint_text(origin: &str, size: f64, root: &str) -> Result<String, JsValue> {
    Ok(Checkpoint {
        origin: origin.to_owned(),
        size: count(size, "size")?,
        root: node(root)?,
        extensions: vec![],
    }
    .to_text())
}

#[wasm_bindgen(js_name = originFor)]
pub fn origin_for(log: &str, agent_id: &str) -> Result<String, JsValue> {
    tlog::origin_for(log, agent_id).map_err(js_err)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckpointOut {
    origin: String,
    size: f64,
    root: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_by: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signers: Option<Vec<String>>,
}

fn checkpoint_out(
    c: Checkpoint,
    signed_by: Option<Vec<String>>,
    signers: Option<Vec<String>>,
) -> Result<JsValue, JsValue> {
    report_value(&CheckpointOut {
        origin: c.origin,
        size: c.size as f64,
        root: tlog::b64(&c.root),
        signed_by,
        signers,
    })
}

/// `{origin, size, root, signedBy}` of a signed checkpoint verified against verifier keys.
#[wasm_bindgen(js_name = openCheckpoint)]
pub fn open_checkpoint(note: &str, verifier_keys: Vec<String>) -> Result<JsValue, JsValue> {
    let signed = tlog::open_checkpoint(note, &keys(&verifier_keys)?).map_err(js_err)?;
    checkpoint_out(signed.checkpoint, Some(signed.signed_by), None)
}

/// `{origin, size, root, signers}` of a signed checkpoint, NOT verified: `signers` are the key
/// names on its signature lines, as written (anyone can write any name).
#[wasm_bindgen(js_name = readCheckpoint)]
pub fn read_checkpoint(note: &str) -> Result<JsValue, JsValue> {
    let parsed = Note::parse(note).map_err(js_err)?;
    let mut signers: Vec<String> = Vec::new();
    for s in &parsed.signatures {
        if !signers.contains(&s.name) {
            signers.push(s.name.clone());
        }
    }
    checkpoint_out(
        Checkpoint::parse(&parsed.text).map_err(js_err)?,
        None,
        Some(signers),
    )
}

/// A verifier key's name and key id (`<name>+<hex id>+<base64 key>`), or its error.
#[wasm_bindgen(js_name = parseVerifierKey)]
pub fn parse_verifier_key(text: &str) -> Result<JsValue, JsValue> {
    #[derive(Serialize)]
    struct Out {
        name: String,
        id: u32,
    }
    let k = VerifierKey::parse(text).map_err(js_err)?;
    report_value(&Out {
        name: k.name,
        id: k.id,
    })
}

/// `{text, signedBy}`: the note's text and the trusted keys that signed it (C2SP rules).
#[wasm_bindgen(js_name = openNote)]
pub fn open_note(note: &str, verifier_keys: Vec<String>) -> Result<JsValue, JsValue> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Out {
        text: String,
        signed_by: Vec<String>,
    }
    let parsed = Note::parse(note).map_err(js_err)?;
    let signed_by = parsed.verify(&keys(&verifier_keys)?).map_err(js_err)?;
    report_value(&Out {
        text: parsed.text,
        signed_by,
    })
}

/// The C2SP tlog-proof text of pixel `index` (its canonical `line` as the extra data).
#[wasm_bindgen(js_name = proofText)]
pub fn proof_text(
    index: f64,
    proof: Vec<String>,
    checkpoint: String,
    line: Option<String>,
) -> Result<String, JsValue> {
    Ok(ProofFile {
        extra: line.map(String::into_bytes),
        index: count(index, "index")?,
        proof: nodes(&proof)?,
        checkpoint,
    }
    .to_text())
}

/// Verifies a proof file with the verifier keys alone: `{seq, size, origin, signedBy, line}`.
#[wasm_bindgen(js_name = verifyProofText)]
pub fn verify_proof_text(
    text: &str,
    verifier_keys: Vec<String>,
    pixel_hash: Option<String>,
) -> Result<JsValue, JsValue> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Out {
        seq: f64,
        size: f64,
        origin: String,
        signed_by: Vec<String>,
        line: Option<String>,
    }
    let hash = pixel_hash.as_deref().map(digest).transpose()?;
    let p = tlog::verify_proof_file(text, &keys(&verifier_keys)?, hash).map_err(js_err)?;
    report_value(&Out {
        seq: p.index as f64,
        size: p.size as f64,
        origin: p.origin,
        signed_by: p.signed_by,
        line: p.line,
    })
}
