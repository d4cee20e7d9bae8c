//! Signed heads and Merkle proofs (`docs/SPEC.md` section 14) for Python: the core does every
//! hash, signature and parse; this converts values. Hashes cross as `sha256:<hex>` (pixel
//! hashes) and base64 (tree nodes, as the C2SP texts write them).

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use tokenpixel_core::tlog::{
    self, Checkpoint, Frontier, Hash, Note, ProofFile, Signer25519, Tree, VerifierKey,
};
use tokenpixel_core::Digest;

use crate::error::{argument_error, py_err};

fn digest(py: Python<'_>, text: &str) -> PyResult<Digest> {
    Digest::parse_arg(text, "pixel hash").map_err(py_err(py))
}

fn node(py: Python<'_>, text: &str) -> PyResult<Hash> {
    let bytes = tlog::b64_decode(text, "tree hash").map_err(py_err(py))?;
    bytes
        .try_into()
        .map_err(|_| argument_error(py, "a tree hash is 32 bytes (44 base64 characters)"))
}

fn leaves(py: Python<'_>, pixel_hashes: Vec<String>) -> PyResult<Vec<Hash>> {
    pixel_hashes
        .iter()
        .map(|h| Ok(tlog::pixel_leaf(&digest(py, h)?)))
        .collect()
}

/// The pruned prefix `(size, base64 nodes)` of a tree, as an anchor record keeps it.
pub fn prefix_of(py: Python<'_>, prefix: Option<(u64, Vec<String>)>) -> PyResult<Frontier> {
    let Some((size, nodes)) = prefix else {
        return Ok(Frontier::new());
    };
    let refs: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let hashes = tokenpixel_core::store::parse_frontier(size, &refs).map_err(py_err(py))?;
    Frontier::from_parts(size, hashes).map_err(py_err(py))
}

fn keys(py: Python<'_>, texts: Vec<String>) -> PyResult<Vec<VerifierKey>> {
    texts
        .iter()
        .map(|k| VerifierKey::parse(k).map_err(py_err(py)))
        .collect()
}

/// An Ed25519 note signer (C2SP signed-note; Go's `sumdb/note` key texts).
#[pyclass(name = "NoteSigner", module = "tokenpixel", frozen)]
pub struct PySigner(Signer25519);

#[pymethods]
impl PySigner {
    /// A signer named `name` from a 32-byte secret seed (draw it with `os.urandom(32)`).
    #[new]
    fn new(py: Python<'_>, name: &str, seed: PyBackedBytes) -> PyResult<Self> {
        let seed: [u8; 32] = seed[..]
            .try_into()
            .map_err(|_| argument_error(py, "the seed is 32 bytes"))?;
        Ok(PySigner(
            Signer25519::from_seed(name, &seed).map_err(py_err(py))?,
        ))
    }

    /// Reads a private key text `PRIVATE+KEY+<name>+<id>+<key>`.
    #[staticmethod]
    fn from_text(py: Python<'_>, text: &str) -> PyResult<Self> {
        Ok(PySigner(Signer25519::from_text(text).map_err(py_err(py))?))
    }

    #[getter]
    fn name(&self) -> String {
        self.0.name().to_owned()
    }

    /// The verifier key text `<name>+<id>+<key>` to hand to verifiers.
    #[getter]
    fn verifier(&self) -> String {
        self.0.verifier()
    }

    /// The private key text (keep it secret).
    fn to_text(&self) -> String {
        self.0.to_text()
    }

    /// The signed note of `text` (which ends in a newline).
    fn sign(&self, py: Python<'_>, text: &str) -> PyResult<String> {
        self.0.sign(text).map_err(py_err(py))
    }

    fn __repr__(&self) -> String {
        format!("NoteSigner({:?})", self.0.name())
    }
}

/// Checks a verifier key text; returns `(name, key_id)`.
#[pyfunction]
fn parse_verifier_key(py: Python<'_>, text: &str) -> PyResult<(String, u32)> {
    let k = VerifierKey::parse(text).map_err(py_err(py))?;
    Ok((k.name, k.id))
}

/// The RFC 9162 root (base64) of the tree whose leaves are these pixels, in order; after the
/// pruned `prefix` `(size, nodes)` when given (the pixels are then the kept ones).
#[pyfunction]
#[pyo3(signature = (pixel_hashes, prefix=None))]
fn tree_root(
    py: Python<'_>,
    pixel_hashes: Vec<String>,
    prefix: Option<(u64, Vec<String>)>,
) -> PyResult<String> {
    let mut f = prefix_of(py, prefix)?;
    for leaf in leaves(py, pixel_hashes)? {
        f.push(leaf);
    }
    Ok(tlog::b64(&f.root()))
}

/// The frontier nodes (base64) after appending these pixels to the frontier `(size, nodes)`.
#[pyfunction]
fn extend_frontier(
    py: Python<'_>,
    size: u64,
    nodes: Vec<String>,
    pixel_hashes: Vec<String>,
) -> PyResult<Vec<String>> {
    let mut f = prefix_of(py, Some((size, nodes)))?;
    for leaf in leaves(py, pixel_hashes)? {
        f.push(leaf);
    }
    Ok(f.nodes().iter().map(|h| tlog::b64(h)).collect())
}

/// The inclusion proof (base64 hashes) of pixel `index` in the tree of the first `size` pixels
/// (after the pruned `prefix`, when given).
#[pyfunction]
#[pyo3(signature = (pixel_hashes, index, size, prefix=None))]
fn inclusion_proof(
    py: Python<'_>,
    pixel_hashes: Vec<String>,
    index: u64,
    size: u64,
    prefix: Option<(u64, Vec<String>)>,
) -> PyResult<Vec<String>> {
    let tree = Tree::pruned(prefix_of(py, prefix)?, leaves(py, pixel_hashes)?);
    let proof = tree.inclusion_proof(index, size).map_err(py_err(py))?;
    Ok(proof.iter().map(|h| tlog::b64(h)).collect())
}

/// The consistency proof (base64 hashes) from the first `old` pixels to the first `new`
/// (after the pruned `prefix`, when given).
#[pyfunction]
#[pyo3(signature = (pixel_hashes, old, new, prefix=None))]
fn consistency_proof(
    py: Python<'_>,
    pixel_hashes: Vec<String>,
    old: u64,
    new: u64,
    prefix: Option<(u64, Vec<String>)>,
) -> PyResult<Vec<String>> {
    let tree = Tree::pruned(prefix_of(py, prefix)?, leaves(py, pixel_hashes)?);
    let proof = tree.consistency_proof(old, new).map_err(py_err(py))?;
    Ok(proof.iter().map(|h| tlog::b64(h)).collect())
}

/// Raises SignatureError PROOF_INVALID unless the proof shows the pixel at `index`.
#[pyfunction]
fn verify_inclusion(
    py: Python<'_>,
    pixel_hash: &str,
    index: u64,
    size: u64,
    proof: Vec<String>,
    root: &str,
) -> PyResult<()> {
    let leaf = tlog::pixel_leaf(&digest(py, pixel_hash)?);
    let proof: Vec<Hash> = proof.iter().map(|p| node(py, p)).collect::<PyResult<_>>()?;
    tlog::verify_inclusion(&leaf, index, size, &proof, &node(py, root)?).map_err(py_err(py))
}

/// Raises SignatureError PROOF_INVALID unless the tree (`new`, `new_root`) extends (`old`,
/// `old_root`).
#[pyfunction]
fn verify_consistency(
    py: Python<'_>,
    old: u64,
    new: u64,
    old_root: &str,
    new_root: &str,
    proof: Vec<String>,
) -> PyResult<()> {
    let proof: Vec<Hash> = proof.iter().map(|p| node(py, p)).collect::<PyResult<_>>()?;
    tlog::verify_consistency(old, new, &node(py, old_root)?, &node(py, new_root)?, &proof)
        .map_err(py_err(py))
}

/// The checkpoint note text for `origin`, `size`, `root` (base64).
#[pyfunction]
fn checkpoint_text(py: Python<'_>, origin: &str, size: u64, root: &str) -> PyResult<String> {
    Ok(Checkpoint {
        origin: origin.to_owned(),
        size,
        root: node(py, root)?,
        extensions: vec![],
    }
    .to_text())
}

/// The origin line of an agent's chain in the log `log` (`<log>/<agent>`).
#[pyfunction]
fn origin_for(py: Python<'_>, log: &str, agent_id: &str) -> PyResult<String> {
    tlog::origin_for(log, agent_id).map_err(py_err(py))
}

/// Verifies a signed checkpoint against verifier keys: `(origin, size, root, signed_by)`.
#[pyfunction]
fn open_checkpoint(
    py: Python<'_>,
    note: &str,
    verifier_keys: Vec<String>,
) -> PyResult<(String, u64, String, Vec<String>)> {
    let signed = tlog::open_checkpoint(note, &keys(py, verifier_keys)?).map_err(py_err(py))?;
    let c = signed.checkpoint;
    Ok((c.origin, c.size, tlog::b64(&c.root), signed.signed_by))
}

/// A signed checkpoint's body, NOT verified: `(origin, size, root)`.
#[pyfunction]
fn read_checkpoint(py: Python<'_>, note: &str) -> PyResult<(String, u64, String)> {
    let parsed = Note::parse(note).map_err(py_err(py))?;
    let c = Checkpoint::parse(&parsed.text).map_err(py_err(py))?;
    Ok((c.origin, c.size, tlog::b64(&c.root)))
}

/// The names of the keys among `verifier_keys` that signed `note` (C2SP rules).
#[pyfunction]
fn open_note(
    py: Python<'_>,
    note: &str,
    verifier_keys: Vec<String>,
) -> PyResult<(String, Vec<String>)> {
    let parsed = Note::parse(note).map_err(py_err(py))?;
    let signed = parsed
        .verify(&keys(py, verifier_keys)?)
        .map_err(py_err(py))?;
    Ok((parsed.text, signed))
}

/// A C2SP tlog-proof text for the pixel at `index`, its `proof`, the signed checkpoint, and
/// the pixel's canonical line as the `extra` data.
#[pyfunction]
#[pyo3(signature = (index, proof, checkpoint, line = None))]
fn proof_text(
    py: Python<'_>,
    index: u64,
    proof: Vec<String>,
    checkpoint: String,
    line: Option<String>,
) -> PyResult<String> {
    let proof: Vec<Hash> = proof.iter().map(|p| node(py, p)).collect::<PyResult<_>>()?;
    Ok(ProofFile {
        extra: line.map(String::into_bytes),
        index,
        proof,
        checkpoint,
    }
    .to_text())
}

/// Verifies a proof file: the pixel (from its `extra` line, or `pixel_hash` when given) is at
/// `index` in the checkpoint signed by `verifier_keys`. Returns `(index, size, origin,
/// signed_by, line)`.
#[pyfunction]
#[pyo3(signature = (text, verifier_keys, pixel_hash = None))]
#[allow(clippy::type_complexity)]
fn verify_proof_text(
    py: Python<'_>,
    text: &str,
    verifier_keys: Vec<String>,
    pixel_hash: Option<&str>,
) -> PyResult<(u64, u64, String, Vec<String>, Option<String>)> {
    let hash = pixel_hash.map(|h| digest(py, h)).transpose()?;
    let keys = keys(py, verifier_keys)?;
    let p = py
        .detach(|| tlog::verify_proof_file(text, &keys, hash))
        .map_err(py_err(py))?;
    Ok((p.index, p.size, p.origin, p.signed_by, p.line))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySigner>()?;
    m.add_function(wrap_pyfunction!(parse_verifier_key, m)?)?;
    m.add_function(wrap_pyfunction!(tree_root, m)?)?;
    m.add_function(wrap_pyfunction!(extend_frontier, m)?)?;
    m.add_function(wrap_pyfunction!(inclusion_proof, m)?)?;
    m.add_function(wrap_pyfunction!(consistency_proof, m)?)?;
    m.add_function(wrap_pyfunction!(verify_inclusion, m)?)?;
    m.add_function(wrap_pyfunction!(verify_consistency, m)?)?;
    m.add_function(wrap_pyfunction!(checkpoint_text, m)?)?;
    m.add_function(wrap_pyfunction!(origin_for, m)?)?;
    m.add_function(wrap_pyfunction!(open_checkpoint, m)?)?;
    m.add_function(wrap_pyfunction!(open_note, m)?)?;
    m.add_function(wrap_pyfunction!(read_checkpoint, m)?)?;
    m.add_function(wrap_pyfunction!(proof_text, m)?)?;
    m.add_function(wrap_pyfunction!(verify_proof_text, m)?)?;
    Ok(())
}
