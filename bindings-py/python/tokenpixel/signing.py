"""Signed heads and Merkle proofs for stored chains (docs/SPEC.md section 14).

A chain is a transparency log: one RFC 9162 Merkle leaf per pixel. `sign_head` signs a C2SP
checkpoint of the chain as it is (origin `<log>/<agent>`, size, root) and keeps it beside the
chain; `verify_signed` then catches what a hash chain alone cannot: a chain cut short
(TRUNCATED) or replaced (ROOT_MISMATCH). `prove` writes a C2SP tlog-proof file that shows one
pixel is in the signed chain, checked by `verify_proof` with the verifier key alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from tokenpixel._native import (
    JsonlVerifier,
    NoteSigner,
    TokenPixel,
    checkpoint_text,
    consistency_proof,
    inclusion_proof,
    make_error,
    open_checkpoint,
    origin_for,
    proof_text,
    read_checkpoint,
    tree_root,
    verify_consistency,
    verify_proof_text,
)
from tokenpixel.store import JsonlStore, SqliteStore, Store


def keygen(name: str) -> NoteSigner:
    """A new Ed25519 signer named `name` (a fresh secret seed from the OS)."""
    return NoteSigner(name, os.urandom(32))


def write_key(path: Union[str, os.PathLike[str]], signer: NoteSigner) -> None:
    """Writes the private key file, mode 0600; refuses to overwrite an existing file."""
    try:
        fd = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600
        )
    except FileExistsError:
        raise make_error(
            "INVALID_ARGUMENT", f"{path} exists: a key file is never overwritten"
        ) from None
    with os.fdopen(fd, "w") as f:
        f.write(signer.to_text() + "\n")


def read_key(path: Union[str, os.PathLike[str]]) -> NoteSigner:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise make_error("INVALID_ARGUMENT", f"cannot read the key file {path}: {exc}") from None
    return NoteSigner.from_text(text.strip())


# -- where a store keeps its latest signed checkpoint -----------------------------------------


def save_checkpoint(store: Store, agent: str, note: str) -> None:
    """Keeps `note` as the agent's latest signed checkpoint (SPEC 14.5)."""
    if isinstance(store, JsonlStore):
        path = Path(store.directory) / f"pixels_{agent}.tlog-checkpoint"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(note)
        os.replace(tmp, path)
        return
    if isinstance(store, SqliteStore):
        store._exec(
            "CREATE TABLE IF NOT EXISTS tokenpixel_checkpoints"
            " (agent_id TEXT PRIMARY KEY, note TEXT NOT NULL)"
        )
        store._exec(
            "INSERT OR REPLACE INTO tokenpixel_checkpoints (agent_id, note) VALUES (?, ?)",
            (agent, note),
        )
        return
    from tokenpixel.pg_store import PostgresStore
    from tokenpixel.s3_store import S3Store

    if isinstance(store, PostgresStore):
        store._exec(
            "CREATE TABLE IF NOT EXISTS tokenpixel_checkpoints"
            " (agent_id text PRIMARY KEY, note text NOT NULL)"
        )
        store._exec(
            "INSERT INTO tokenpixel_checkpoints (agent_id, note) VALUES (%s, %s)"
            " ON CONFLICT (agent_id) DO UPDATE SET note = EXCLUDED.note",
            (agent, note),
        )
        return
    if isinstance(store, S3Store):
        store._put(f"{store.prefix}{agent}/tlog-checkpoint", note.encode())
        return
    raise make_error("INVALID_ARGUMENT", f"{type(store).__name__} keeps no signed checkpoints")


def load_checkpoint(store: Store, agent: str) -> Optional[str]:
    """The agent's latest signed checkpoint, or None."""
    if isinstance(store, JsonlStore):
        path = Path(store.directory) / f"pixels_{agent}.tlog-checkpoint"
        return path.read_text() if path.is_file() and not path.is_symlink() else None
    if isinstance(store, SqliteStore):
        store._exec(
            "CREATE TABLE IF NOT EXISTS tokenpixel_checkpoints"
            " (agent_id TEXT PRIMARY KEY, note TEXT NOT NULL)"
        )
        row = store._one("SELECT note FROM tokenpixel_checkpoints WHERE agent_id = ?", (agent,))
        return store._text(row[0]) if row else None
    from tokenpixel.pg_store import PostgresStore
    from tokenpixel.s3_store import S3Store

    if isinstance(store, PostgresStore):
        try:
            row = store._one(
                "SELECT note FROM tokenpixel_checkpoints WHERE agent_id = %s", (agent,)
            )
        except Exception:
            return None
        return row[0] if row else None
    if isinstance(store, S3Store):
        body = store._get(f"{store.prefix}{agent}/tlog-checkpoint")
        return body.decode() if body is not None else None
    return None


# -- the chain as a tree ---------------------------------------------------------------------


@dataclass
class ChainTree:
    """A verified chain as a Merkle tree: the hashes of its stored pixels and, for a pruned
    chain, the compact range of the pruned prefix (SPEC 12.7, 14.6)."""

    first: int  # seq of the first stored pixel: the size of the pruned prefix
    prefix: Optional[tuple[int, list[str]]]  # (size, base64 nodes), None when not pruned
    hashes: list[str]  # the stored pixels' hashes, in seq order

    @property
    def size(self) -> int:
        return self.first + len(self.hashes)

    def _reachable(self, size: int, what: str) -> None:
        if size < self.first:
            raise make_error(
                "INVALID_ARGUMENT",
                f"{what} at size {size} reaches into the {self.first} pruned pixels: only "
                "sizes from the pruned prefix on can be checked (SPEC 14.6)",
            )

    def root(self, size: int) -> str:
        self._reachable(size, "a root")
        return tree_root(self.hashes[: size - self.first], self.prefix)

    def inclusion(self, seq: int, size: int) -> list[str]:
        if seq < self.first:
            raise make_error("INVALID_ARGUMENT", f"pixel {seq} was pruned: it cannot be proven")
        return inclusion_proof(self.hashes, seq, size, self.prefix)

    def consistency(self, old: int, new: int) -> list[str]:
        if old != 0:
            self._reachable(old, "a consistency proof")
        return consistency_proof(self.hashes, old, new, self.prefix)


def chain_tree(store: Store, agent: str) -> ChainTree:
    """The chain, verified, as a Merkle tree. A chain pruned before the prefix's frontier was
    kept (older stores) is refused with INVALID_ARGUMENT."""
    # One read: the bytes go to the verifier as `verify` feeds them (a torn tail fails there),
    # and each whole line gives its hash.
    with store.transaction(agent) as tx:
        record = tx._session.anchor_record()
        verifier = JsonlVerifier(anchor=record[0] if record else None)
        hashes: list[str] = []
        rest = b""
        for chunk in store.read_bytes_chunks(agent):
            verifier.feed(chunk)
            if verifier.failed:
                break
            *lines, rest = (rest + chunk).split(b"\n")
            hashes.extend(TokenPixel.from_json(line.decode()).hash for line in lines)
        report = verifier.finish()
    if not report.ok:
        assert report.error is not None
        raise make_error(
            report.error.code,
            f"the chain of {agent} does not verify at pixel {report.error.index}: "
            f"{report.error.message}",
        )
    if record is None:
        return ChainTree(0, None, hashes)
    if record[2] is None:
        raise make_error(
            "INVALID_ARGUMENT",
            f"the chain of {agent} was pruned before pruning kept the prefix's Merkle frontier: "
            "its signed heads cannot be checked",
        )
    return ChainTree(record[1], (record[1], record[2]), hashes)


def chain_hashes(store: Store, agent: str) -> list[str]:
    """The pixel hashes of a verified, unpruned chain, in seq order."""
    tree = chain_tree(store, agent)
    if tree.first:
        raise make_error("INVALID_ARGUMENT", f"the chain of {agent} was pruned")
    return tree.hashes


def sign_head(store: Store, agent: str, signer: NoteSigner, log: Optional[str] = None) -> str:
    """Signs a checkpoint of the chain as it is now (origin `<log>/<agent>`, the log name by
    default the key's name) and keeps it in the store."""
    tree = chain_tree(store, agent)
    text = checkpoint_text(origin_for(log or signer.name, agent), tree.size, tree.root(tree.size))
    note = signer.sign(text)
    save_checkpoint(store, agent, note)
    return note


@dataclass(frozen=True)
class SignedHead:
    """A chain checked against a signed checkpoint."""

    agent: str
    origin: str
    size: int
    root: str
    signed_by: list[str]
    count: int  # pixels in the chain (the signed ones and any after them)


def verify_signed(
    store: Store,
    agent: str,
    keys: list[str],
    *,
    note: Optional[str] = None,
    log: Optional[str] = None,
) -> SignedHead:
    """Verifies the chain and its signed checkpoint: TRUNCATED if the chain is shorter than
    the signed size, ROOT_MISMATCH if its first pixels do not give the signed root,
    ORIGIN_MISMATCH, UNKNOWN_KEY, BAD_SIGNATURE as they say."""
    note = note if note is not None else load_checkpoint(store, agent)
    if note is None:
        raise make_error("NOT_FOUND", f"no signed checkpoint for {agent} in {store}")
    origin, size, root, signed_by = open_checkpoint(note, keys)
    expected = origin_for(log, agent) if log is not None else None
    if (expected is not None and origin != expected) or (
        expected is None and not origin.endswith("/" + agent)
    ):
        raise make_error(
            "ORIGIN_MISMATCH",
            f"the checkpoint is for {origin!r}, not for the chain of {agent}"
            + (f" ({expected!r})" if expected else ""),
        )
    tree = chain_tree(store, agent)
    if tree.size < size:
        raise make_error(
            "TRUNCATED",
            f"the chain of {agent} has {tree.size} pixels, the signed checkpoint {size}: "
            "pixels were cut from the end",
        )
    if tree.root(size) != root:
        raise make_error(
            "ROOT_MISMATCH",
            f"the first {size} pixels of {agent} do not give the signed root: the chain was "
            "replaced or rewritten",
        )
    return SignedHead(agent, origin, size, root, signed_by, tree.size)


def prove(store: Store, agent: str, seq: int, note: Optional[str] = None) -> str:
    """A C2SP tlog-proof that pixel `seq` is in the signed checkpoint (the latest one kept in
    the store unless `note` is given); it carries the pixel's line."""
    note = note if note is not None else load_checkpoint(store, agent)
    if note is None:
        raise make_error("NOT_FOUND", f"no signed checkpoint for {agent}: run `tokenpixel sign`")
    (
        _,
        size,
        root,
    ) = read_checkpoint(note)
    tree = chain_tree(store, agent)
    if seq >= size:
        raise make_error("INVALID_ARGUMENT", f"pixel {seq} is not in the signed {size} pixels")
    if tree.size < size or tree.root(size) != root:
        raise make_error("ROOT_MISMATCH", f"the stored chain of {agent} is not the signed one")
    proof = tree.inclusion(seq, size)
    line = store.get(seq, agent).to_json()
    return proof_text(seq, proof, note, line)


def verify_proof(text: str, keys: list[str], pixel_hash: Optional[str] = None) -> dict:
    """Checks a proof file with the verifier keys alone; returns what it proved."""
    index, size, origin, signed_by, line = verify_proof_text(text, keys, pixel_hash)
    return {"seq": index, "size": size, "origin": origin, "signedBy": signed_by, "line": line}


def check_consistency(store: Store, agent: str, old: str, new: str, keys: list[str]) -> list[str]:
    """Verifies two signed checkpoints and that the newer extends the older (the proof is
    built from the stored chain); returns the proof."""
    o_origin, o_size, o_root, _ = open_checkpoint(old, keys)
    n_origin, n_size, n_root, _ = open_checkpoint(new, keys)
    if o_origin != n_origin:
        raise make_error("ORIGIN_MISMATCH", f"{o_origin!r} and {n_origin!r} are different logs")
    if o_size > n_size:
        o_size, n_size, o_root, n_root = n_size, o_size, n_root, o_root
    tree = chain_tree(store, agent)
    if tree.size < n_size:
        raise make_error("TRUNCATED", f"the chain of {agent} is shorter than {n_size} pixels")
    if o_size == 0 or o_size == n_size:
        if o_size == n_size and o_root != n_root:
            raise make_error("PROOF_INVALID", "two checkpoints of one size with different roots")
        return []
    proof = tree.consistency(o_size, n_size)
    verify_consistency(o_size, n_size, o_root, n_root, proof)
    return proof
