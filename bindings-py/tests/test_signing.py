"""Signed heads and Merkle proofs (issue 14, SPEC 14): interop vectors through the binding,
truncation and replacement caught, proofs checked without the chain, the CLI."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import tokenpixel as tp
from tokenpixel import _native as native
from tokenpixel import signing

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "tests" / "vectors" / "tlog.json").read_text())
C = "DISTRICT_1.CHAMBER_0.NODE_PRE"
SEED = bytes(range(32))


def chain(store: tp.Store, agent: str, n: int) -> list[tp.TokenPixel]:
    cp = tp.Checkpointer(store, agent, session_id="s")
    return [cp.emit(C, state={"i": i}, timestamp_ms=1000 + i) for i in range(n)]


def test_c2sp_and_go_notes_verify_through_the_binding() -> None:
    for case in VECTORS["notes"]:
        if "error" in case:
            with pytest.raises(tp.SignatureError) as info:
                native.open_note(case["note"], case["keys"])
            assert info.value.code == case["error"]
        else:
            _, signed = native.open_note(case["note"], case["keys"])
            assert signed == case["signedBy"], case["desc"]
    go = VECTORS["signing"][0]
    signer = tp.NoteSigner.from_text(go["privateKey"])
    assert signer.verifier == go["verifierKey"]
    assert signer.sign(go["text"]) == go["signed"]  # byte for byte what Go's note.Sign writes


def test_sign_and_verify_on_a_chain_and_what_a_hash_chain_misses(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path)
    chain(store, "ci", 9)
    signer = tp.NoteSigner("example.com/ci", SEED)
    note = signing.sign_head(store, "ci", signer, "example.com/ci")
    assert note.startswith("example.com/ci/ci\n9\n")
    head = signing.verify_signed(store, "ci", [signer.verifier])
    assert (head.size, head.count, head.signed_by) == (9, 9, ["example.com/ci"])

    # Cut the last two pixels: the chain still verifies, the signed head does not.
    path = tmp_path / "pixels_ci.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:7]))
    assert store.verify("ci").ok
    with pytest.raises(tp.SignatureError) as info:
        signing.verify_signed(store, "ci", [signer.verifier])
    assert info.value.code == "TRUNCATED"

    # Replaced by another chain of the same length: ROOT_MISMATCH.
    path.unlink()
    cp = tp.Checkpointer(store, "ci", session_id="other")
    for i in range(9):
        cp.emit(C, state={"other": i})
    with pytest.raises(tp.SignatureError) as info:
        signing.verify_signed(store, "ci", [signer.verifier])
    assert info.value.code == "ROOT_MISMATCH"


def test_signature_errors_have_codes(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path)
    chain(store, "ci", 3)
    signer = tp.NoteSigner("example.com/ci", SEED)
    note = signing.sign_head(store, "ci", signer)
    stranger = tp.NoteSigner("example.com/other", bytes(32))

    def code(fn) -> str:
        with pytest.raises(tp.TokenPixelError) as info:
            fn()
        return info.value.code

    assert code(lambda: signing.verify_signed(store, "ci", [stranger.verifier])) == "UNKNOWN_KEY"
    forged = note.replace("\n3\n", "\n2\n")
    assert code(lambda: signing.verify_signed(store, "ci", [signer.verifier], note=forged)) == (
        "BAD_SIGNATURE"
    )
    other = signer.sign(native.checkpoint_text("example.com/ci/someone-else", 3, "A" * 43 + "="))
    assert code(lambda: signing.verify_signed(store, "ci", [signer.verifier], note=other)) == (
        "ORIGIN_MISMATCH"
    )
    sig_line = note.splitlines()[-1]
    bad_b64 = note.replace(sig_line, sig_line[:-2] + "A=")  # changed pad bits: not canonical
    assert code(lambda: native.open_note(bad_b64, [signer.verifier])) in (
        "MALFORMED_NOTE",
        "BAD_SIGNATURE",
    )
    assert code(lambda: native.open_note("no signatures\n", [signer.verifier])) == "MALFORMED_NOTE"
    assert code(lambda: native.open_note("x" * 70_000 + "\n\n— a AAAAAAA=\n", [])) == (
        "MALFORMED_NOTE"
    )
    assert code(lambda: native.parse_verifier_key("example.com/ci+00000000+AAAA")) == "UNKNOWN_KEY"
    assert code(lambda: tp.NoteSigner("bad name", SEED)) == "INVALID_ARGUMENT"


def test_a_proof_stands_alone(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path)
    pixels = chain(store, "ci", 13)
    signer = tp.NoteSigner("example.com/ci", SEED)
    signing.sign_head(store, "ci", signer)
    for seq in (0, 6, 12):
        text = signing.prove(store, "ci", seq)
        assert text.startswith("c2sp.org/tlog-proof@v1\nextra ")
        proved = signing.verify_proof(text, [signer.verifier])  # no store needed
        assert (proved["seq"], proved["size"]) == (seq, 13)
        assert proved["line"] == pixels[seq].to_json()
    text = signing.prove(store, "ci", 6)
    # The wrong pixel for this proof, a changed index, or a changed pixel: refused.
    with pytest.raises(tp.SignatureError) as info:
        signing.verify_proof(text, [signer.verifier], pixel_hash=pixels[5].hash)
    assert info.value.code == "PROOF_INVALID"
    with pytest.raises(tp.SignatureError) as info:
        signing.verify_proof(text.replace("index 6", "index 7"), [signer.verifier])
    assert info.value.code == "PROOF_INVALID"
    extra = text.splitlines()[1]
    changed = json.loads(base64.b64decode(extra[6:]))
    changed["state"]["i"] = 99
    forged = text.replace(
        extra, "extra " + base64.b64encode(tp.canonical_json(changed).encode()).decode()
    )
    with pytest.raises(tp.ChainError) as info:
        signing.verify_proof(forged, [signer.verifier])
    assert info.value.code == "HASH_MISMATCH"


def test_consistency_between_signed_heads(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path)
    chain(store, "ci", 5)
    signer = tp.NoteSigner("example.com/ci", SEED)
    old = signing.sign_head(store, "ci", signer)
    tp.Checkpointer(store, "ci").emit(C)
    tp.Checkpointer(store, "ci").emit(C)
    new = signing.sign_head(store, "ci", signer)
    proof = signing.check_consistency(store, "ci", old, new, [signer.verifier])
    assert proof
    (_, o_size, o_root, _), (_, n_size, n_root, _) = (
        native.open_checkpoint(old, [signer.verifier]),
        native.open_checkpoint(new, [signer.verifier]),
    )
    native.verify_consistency(o_size, n_size, o_root, n_root, proof)
    with pytest.raises(tp.SignatureError):
        native.verify_consistency(o_size, n_size, n_root, n_root, proof)


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "s3"])
def test_signed_heads_on_every_store(tmp_path, kind, servers) -> None:
    url = {
        "sqlite": f"sqlite:///{tmp_path}/s.db",
        "postgres": servers["TOKENPIXEL_TEST_PG"],
        "s3": f"s3://{servers['TOKENPIXEL_TEST_BUCKET']}/sig-{uuid.uuid4().hex[:8]}",
    }[kind]
    store = tp.open_store(url)
    agent = f"sig-{uuid.uuid4().hex[:8]}"
    chain(store, agent, 4)
    signer = tp.NoteSigner("example.com/fleet", SEED)
    signing.sign_head(store, agent, signer)
    assert signing.load_checkpoint(tp.open_store(url), agent) is not None
    assert signing.verify_signed(tp.open_store(url), agent, [signer.verifier]).size == 4


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tokenpixel", *args], capture_output=True, text=True, cwd=cwd
    )


def test_cli_catches_a_truncated_artifact(tmp_path) -> None:
    for _ in range(6):
        assert cli("--agent", "ci", "emit", "--corridor", C, cwd=tmp_path).returncode == 0
    r = cli("keygen", "--name", "example.com/ci", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    vkey = r.stdout.strip()
    key = tmp_path / "example.com_ci.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert cli("keygen", "--name", "example.com/ci", cwd=tmp_path).returncode == 2  # no overwrite
    assert cli("--agent", "ci", "sign", "--key", str(key), cwd=tmp_path).returncode == 0
    r = cli("--agent", "ci", "verify", "--key", vkey, cwd=tmp_path)
    assert r.returncode == 0 and "signed by example.com/ci at size 6" in r.stdout, r.stdout
    r = cli("--agent", "ci", "prove", "--seq", "3", "--out", "p.tlog-proof", cwd=tmp_path)
    assert r.returncode == 0
    r = cli("verify-proof", "p.tlog-proof", "--key", vkey, cwd=tmp_path)
    assert r.returncode == 0 and "seq 3 is in example.com/ci/ci at size 6" in r.stdout
    # The artifact loses its last pixel on the way to the next job.
    path = tmp_path / ".checkpoints" / "pixels_ci.jsonl"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:5]))
    assert cli("--agent", "ci", "verify", cwd=tmp_path).returncode == 0  # the chain alone: fine
    r = cli("--agent", "ci", "verify", "--key", vkey, cwd=tmp_path)
    assert r.returncode == 1 and "TRUNCATED" in r.stdout, r.stdout


def test_the_checkpointer_signs_every_n_pixels_and_on_close(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path)
    signer = tp.NoteSigner("example.com/ci", SEED)
    with tp.Checkpointer(store, "auto", signer=signer, sign_every=4) as cp:
        for i in range(6):
            cp.emit(C, state={"i": i})
            if i == 3:
                assert signing.verify_signed(store, "auto", [signer.verifier]).size == 4
    assert signing.verify_signed(store, "auto", [signer.verifier]).size == 6  # on close
    background = tp.Checkpointer(store, "bg", background=True, signer=signer)
    for i in range(5):
        background.emit(C, state={"i": i})
    background.close()
    assert signing.verify_signed(store, "bg", [signer.verifier]).size == 5
    with pytest.raises(tp.ArgumentError):
        tp.Checkpointer(store, "x", sign_every=-1)


@pytest.mark.parametrize("kind", ["jsonl", "sqlite", "postgres", "s3"])
def test_pruned_chains_keep_signed_heads_and_proofs(tmp_path, kind, servers) -> None:
    """Pruning keeps the prefix's Merkle frontier (SPEC 12.7): checkpoints signed before or
    after it still verify, kept pixels are still proven, byte for byte as before pruning."""
    url = {
        "jsonl": str(tmp_path / "store"),
        "sqlite": f"sqlite:///{tmp_path}/s.db",
        "postgres": servers["TOKENPIXEL_TEST_PG"],
        "s3": f"s3://{servers['TOKENPIXEL_TEST_BUCKET']}/prune-{uuid.uuid4().hex[:8]}",
    }[kind]
    store = tp.open_store(url)
    agent = f"pr-{uuid.uuid4().hex[:8]}"
    chain(store, agent, 40)
    signer = tp.NoteSigner("example.com/fleet", SEED)
    keys = [signer.verifier]
    first_note = signing.sign_head(store, agent, signer)
    before = [p.hash for p in store.list(agent)]
    assert store.prune(15, agent) == 25
    with store.transaction(agent) as tx:
        _, first_seq, frontier = tx._session.anchor_record()
    assert first_seq == 25 and frontier is not None and len(frontier) == bin(25).count("1")
    assert frontier == native.extend_frontier(0, [], before[:25])
    head = signing.verify_signed(store, agent, keys, note=first_note)
    assert (head.size, head.count) == (40, 40)
    # The chain goes on and is signed again: both checkpoints, and the proof between them.
    cp = tp.Checkpointer(store, agent)
    for i in range(10):
        cp.emit(C, state={"after": i})
    second_note = signing.sign_head(store, agent, signer)
    assert signing.verify_signed(store, agent, keys).size == 50
    everything = before + [p.hash for p in store.list(agent)][15:]
    assert signing.check_consistency(store, agent, first_note, second_note, keys) == (
        native.consistency_proof(everything, 40, 50)
    )
    # A kept pixel is proven exactly as from the whole chain; a pruned one is refused.
    proof = signing.prove(store, agent, 30)
    assert signing.verify_proof(proof, keys)["seq"] == 30
    expected = native.inclusion_proof(everything, 30, 50)
    assert expected and all(f"\n{h}\n" in proof for h in expected)
    with pytest.raises(tp.TokenPixelError) as info:
        signing.prove(store, agent, 10)
    assert info.value.code == "INVALID_ARGUMENT" and "pruned" in str(info.value)
    # Pruned again past the first checkpoint: the second still verifies, the first cannot be.
    assert store.prune(5, agent) == 20
    assert signing.verify_signed(store, agent, keys, note=second_note).size == 50
    with pytest.raises(tp.TokenPixelError) as info:
        signing.verify_signed(store, agent, keys, note=first_note)
    assert info.value.code == "INVALID_ARGUMENT" and "pruned" in str(info.value)
    # Cut after signing: TRUNCATED still, on a pruned chain.
    if kind == "jsonl":
        path = store.path(agent)
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(lines[:-2]))
        with pytest.raises(tp.SignatureError) as sig:
            signing.verify_signed(store, agent, keys, note=second_note)
        assert sig.value.code == "TRUNCATED"


def test_a_chain_pruned_before_frontiers_were_kept_is_refused_clearly(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path)
    chain(store, "old", 9)
    store.prune(4, "old")
    anchor_file = tmp_path / "pixels_old.anchor"
    record = json.loads(anchor_file.read_text())
    del record["frontier"]  # as tokenpixel wrote it before frontiers were kept
    anchor_file.write_text(json.dumps(record) + "\n")
    assert store.verify("old").ok
    with pytest.raises(tp.TokenPixelError) as info:
        signing.sign_head(store, "old", tp.NoteSigner("example.com/ci", SEED))
    assert info.value.code == "INVALID_ARGUMENT" and "frontier" in str(info.value)
    # Such a chain pruned again stays without one (its prefix's frontier is unknown).
    tp.Checkpointer(store, "old").emit(C)
    store.prune(2, "old")
    assert "frontier" not in json.loads(anchor_file.read_text())
