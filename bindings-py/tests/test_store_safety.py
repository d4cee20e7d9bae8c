"""Store safety (issue 9, section 4): what an outside probe broke, each as a test. SPEC 12."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import tokenpixel as tp
import tokenpixel.store as store_module

C = "DISTRICT_1.CHAMBER_0.NODE_PRE"
A = "agent-s"


def fill(store: tp.Store, n: int, agent: str = A, state=None) -> list[tp.TokenPixel]:
    cp = tp.Checkpointer(store, agent, session_id="s")
    return [cp.emit(C, state=state or {"i": i}, timestamp_ms=1000 + i) for i in range(n)]


def code_of(fn) -> str:
    with pytest.raises(tp.TokenPixelError) as info:
        fn()
    return info.value.code


def test_symlinked_chain_file_is_refused_and_the_target_is_untouched(tmp_path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("precious data without a newline")
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    (store_dir / f"pixels_{A}.jsonl").symlink_to(outside)
    store = tp.JsonlStore(store_dir)
    pixel = tp.Chain(A, "s").emit(C, timestamp_ms=1)
    for op in (
        lambda: store.append(pixel),
        lambda: store.recover(A),
        lambda: store.prune(1, A),
        lambda: store.list(A),
        lambda: store.latest(A),
        lambda: store.verify(A),
        lambda: list(store.lines(A)),
    ):
        assert code_of(op) == "UNSAFE_PATH"
    assert outside.read_text() == "precious data without a newline"
    assert sorted(p.name for p in store_dir.iterdir()) == [f"pixels_{A}.jsonl"]


def test_symlinked_lock_directory_is_refused(tmp_path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    (store_dir / f"pixels_{A}.lock").symlink_to(elsewhere)
    store = tp.JsonlStore(store_dir, lock_timeout=1)
    assert code_of(lambda: fill(store, 1)) == "UNSAFE_PATH"
    assert list(elsewhere.iterdir()) == []


def test_fifo_as_chain_file_does_not_hang(tmp_path) -> None:
    os.mkfifo(tmp_path / f"pixels_{A}.jsonl")
    script = (
        "import tokenpixel as tp, sys\n"
        f"s = tp.JsonlStore({str(tmp_path)!r}, lock_timeout=2)\n"
        "codes = []\n"
        "for op in (lambda: s.latest(), lambda: s.list(), lambda: s.verify(),\n"
        "           lambda: s.prune(1), lambda: s.recover(),\n"
        f"           lambda: s.append(tp.Chain({A!r}, 's').emit('{C}'))):\n"
        "    try:\n        op(); codes.append('ok')\n"
        "    except tp.TokenPixelError as e:\n        codes.append(e.code)\n"
        "print(','.join(codes))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == ",".join(["UNSAFE_PATH"] * 6)


BAD_IDS = ["a/../../other/pixels_v", "../x", "a\tb", "a\nb", "", ".hidden", "x" * 129]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_agent_ids_are_checked_on_every_path(tmp_path, bad: str) -> None:
    store_dir = tmp_path / "store"
    store = tp.JsonlStore(store_dir)
    fill(store, 2)
    before = sorted(p.name for p in store_dir.iterdir())
    for op in (
        lambda: store.list(bad),
        lambda: store.latest(bad),
        lambda: store.verify(bad),
        lambda: store.prune(1, bad),
        lambda: store.get(0, bad),
        lambda: store.anchor(bad),
        lambda: store.recover(bad),
        lambda: store.transaction(bad).__enter__(),
    ):
        assert code_of(op) == "INVALID_ARGUMENT"
    assert sorted(p.name for p in store_dir.iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def test_reads_never_create_and_missing_agents_are_not_found(tmp_path) -> None:
    missing = tmp_path / "missing"
    store = tp.JsonlStore(missing)
    assert store.agents() == []
    for op in (lambda: store.verify(A), lambda: store.latest(A), lambda: store.list(A)):
        assert code_of(op) == "NOT_FOUND"
    assert not missing.exists()
    fill(store, 1)
    assert code_of(lambda: store.verify("someone-else")) == "NOT_FOUND"
    with pytest.raises(KeyError):
        store.latest("someone-else")


HOLDER = """
import sys, time, tokenpixel as tp
store = tp.JsonlStore(sys.argv[1])
with store.transaction(sys.argv[2]):
    print("holding", flush=True)
    time.sleep(600)
"""


def start_holder(store_dir: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(store_dir), A], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_a_live_holder_is_named_and_a_killed_one_is_dead_at_once(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path, lock_timeout=0.2)
    fill(store, 1)
    holder = start_holder(tmp_path)
    try:
        with pytest.raises(tp.StoreError) as info:
            fill(store, 1)
        assert info.value.code == "STORE_LOCKED"
        assert f"pid {holder.pid} (python)" in str(info.value)
        # Killed with -9 and not yet reaped (a zombie): dead all the same.
        holder.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{holder.pid}/stat").exists() and time.monotonic() < deadline:
            if Path(f"/proc/{holder.pid}/stat").read_text().split(") ")[1][0] == "Z":
                break
            time.sleep(0.01)
        started = time.monotonic()
        patient = tp.JsonlStore(tmp_path, lock_timeout=2)
        tp.Checkpointer(patient, A).emit(C)
        assert time.monotonic() - started < 2
    finally:
        holder.kill()
        holder.wait()
    assert store.verify(A).count == 2


def test_old_flock_lock_file_is_replaced(tmp_path) -> None:
    (tmp_path / f"pixels_{A}.lock").write_bytes(b"")  # what tokenpixel 0.1 left
    store = tp.JsonlStore(tmp_path)
    fill(store, 2)
    assert store.verify(A).count == 2
    (tmp_path / "pixels_b.lock").write_text("not empty")
    assert code_of(lambda: fill(store, 1, agent="b")) == "UNSAFE_PATH"


@pytest.fixture
def tiny_disk(tmp_path):
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the full-disk test: {done.stderr!r}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_full_disk_append_leaves_the_file_as_it_was(tiny_disk) -> None:
    store = tp.JsonlStore(tiny_disk / "store")
    fill(store, 2)
    path = tiny_disk / "store" / f"pixels_{A}.jsonl"
    # Leave room for the lock (a directory and a small file) but not for a 30 KB pixel.
    (tiny_disk / "filler").write_bytes(b"x" * (64 * 1024 - path.stat().st_size - 20000))
    big = {"blob": "y" * 30000}
    before = path.read_bytes()
    cp = tp.Checkpointer(store, A)
    with pytest.raises(tp.StoreError) as info:
        cp.emit(C, state=big)
    assert info.value.code == "STORE_IO"
    assert path.read_bytes() == before
    store_arg = ["--store", str(tiny_disk / "store"), "--agent", A]
    cli = subprocess.run(
        [sys.executable, "-m", "tokenpixel", *store_arg, "now", "--var", "blob", "z" * 30000],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 2, cli.stderr
    assert "STORE_IO" in cli.stderr
    assert "Traceback" not in cli.stderr
    assert path.read_bytes() == before
    (tiny_disk / "filler").unlink()
    cp.emit(C, state={"after": True})
    assert store.verify(A).count == 3


@pytest.fixture
def bytes_read(monkeypatch):
    counter = {"n": 0, "max": 0}
    real = os.pread

    def counting(fd, size, pos):
        data = real(fd, size, pos)
        counter["n"] += len(data)
        counter["max"] = max(counter["max"], len(data))
        return data

    monkeypatch.setattr(store_module.os, "pread", counting)
    return counter


def test_list_limit_and_latest_read_from_the_tail(tmp_path, bytes_read) -> None:
    store = tp.JsonlStore(tmp_path)
    pixels = fill(store, 5000, state={"pad": "p" * 1000})
    size = (tmp_path / f"pixels_{A}.jsonl").stat().st_size
    assert size > 6 << 20
    bytes_read["n"] = 0
    assert store.list(A, limit=20) == pixels[-20:]
    assert bytes_read["n"] <= (1 << 20) + 20 * 2000  # one chunk from the end, not the file
    bytes_read["n"] = 0
    assert store.latest(A) == pixels[-1]
    assert bytes_read["n"] <= 1 << 20


def test_a_line_over_16_mib_is_refused_before_it_is_read_whole(tmp_path, bytes_read) -> None:
    store = tp.JsonlStore(tmp_path)
    fill(store, 1)
    path = tmp_path / f"pixels_{A}.jsonl"
    with open(path, "ab") as f:
        f.write(b"{" + b" " * (17 << 20) + b"}\n")
    for op in (lambda: list(store.lines(A)), lambda: store.latest(A), lambda: store.list(A, 3)):
        bytes_read["n"] = 0
        assert code_of(op) == "LIMIT_EXCEEDED"
        assert bytes_read["n"] <= (18 << 20) + (1 << 20)
    assert store.verify(A).error.code == "LIMIT_EXCEEDED"


def test_a_torn_tail_over_16_mib_is_not_copied(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path)
    fill(store, 1)
    path = tmp_path / f"pixels_{A}.jsonl"
    with open(path, "ab") as f:
        f.write(b"x" * (17 << 20))  # no newline
    size = path.stat().st_size
    with pytest.raises(tp.StoreError) as info:
        fill(store, 1)
    assert info.value.code == "STORE_CORRUPT"
    assert "byte offset" in str(info.value)
    assert path.stat().st_size == size
    assert not list(tmp_path.glob("*.torn-*"))


def test_prune_streams_and_keeps_a_verifiable_suffix(tmp_path, bytes_read) -> None:
    store = tp.JsonlStore(tmp_path)
    pixels = fill(store, 300)
    assert store.prune(10, A) == 290
    assert bytes_read["max"] <= 1 << 20
    assert store.list(A) == pixels[-10:]
    report = store.verify(A)
    assert (report.ok, report.count, report.head) == (True, 10, pixels[-1].hash)
    assert store.anchor(A) == pixels[-11].hash


def test_tampered_head_is_not_extended(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path)
    fill(store, 3)
    path = tmp_path / f"pixels_{A}.jsonl"
    path.write_text(path.read_text().replace('"i":2', '"i":7'))
    with pytest.raises(tp.ChainError) as info:
        fill(store, 1)
    assert info.value.code == "HASH_MISMATCH"
    assert store.verify(A).error.code == "HASH_MISMATCH"


def test_concurrent_threads_and_store_objects_share_one_chain(tmp_path) -> None:
    def worker(k: int) -> None:
        cp = tp.Checkpointer(tp.JsonlStore(tmp_path), A, session_id=f"t{k}")
        for i in range(50):
            cp.emit(C, state={"k": k, "i": i})

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = tp.JsonlStore(tmp_path).verify(A)
    assert (report.ok, report.count) == (True, 200)
    assert not list(tmp_path.glob("*.lock*"))


# -- SQLite ------------------------------------------------------------------------------------


def test_sqlite_errors_have_codes(tmp_path) -> None:
    not_db = tmp_path / "not.db"
    not_db.write_bytes(b"this is not a database" * 100)
    assert code_of(lambda: tp.SqliteStore(not_db)) == "STORE_IO"
    a_dir = tmp_path / "dir.db"
    a_dir.mkdir()
    assert code_of(lambda: tp.SqliteStore(a_dir)) == "STORE_IO"
    path = tmp_path / "ok.db"
    store = tp.SqliteStore(path)
    fill(store, 2)
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE pixels SET line = CAST(x'7b22ff22' AS TEXT) WHERE seq = 1 AND agent_id = ?",
            (A,),
        )
    assert code_of(lambda: store.latest(A)) == "STORE_CORRUPT"
    assert code_of(lambda: store.list(A)) == "STORE_CORRUPT"
    store.close()


def test_sqlite_store_works_from_worker_threads(tmp_path) -> None:
    store = tp.SqliteStore(tmp_path / "t.db")
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            cp = tp.Checkpointer(store, A, session_id=f"t{k}")
            for i in range(25):
                cp.emit(C, state={"k": k, "i": i})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = store.verify(A)
    assert (report.ok, report.count) == (True, 100)


# -- the CLI: codes, never tracebacks ------------------------------------------------------------


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("TOKENPIXEL_AGENT", None)
    return subprocess.run(
        [sys.executable, "-m", "tokenpixel", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["load", "²"], "INVALID_ARGUMENT"),
        (["diff", "--from", "²"], "INVALID_ARGUMENT"),
        (["summary", "--max-tokens", "-5"], "INVALID_ARGUMENT"),
        (["summary", "--max-tokens", "9" * 30], "INVALID_ARGUMENT"),
        (["load", "abc"], "INVALID_ARGUMENT"),
        (["load", "sha256:ffffffff"], "NOT_FOUND"),
        (["--agent", "a/../../x", "list"], "INVALID_ARGUMENT"),
        (["--agent", "a\tb", "now"], "INVALID_ARGUMENT"),
        (["--agent", "nobody", "verify"], "NOT_FOUND"),
    ],
)
def test_cli_bad_input_exits_2_with_a_code(tmp_path, args: list[str], code: str) -> None:
    fill(tp.JsonlStore(tmp_path / ".checkpoints"), 3)
    before = sorted(p.name for p in (tmp_path / ".checkpoints").iterdir())
    out = cli(tmp_path, *args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert code in out.stderr
    assert "Traceback" not in out.stderr
    assert sorted(p.name for p in (tmp_path / ".checkpoints").iterdir()) == before


def test_cli_bad_anchor_file_is_store_corrupt_not_tampered(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path / ".checkpoints")
    fill(store, 5)
    store.prune(2, A)
    (tmp_path / ".checkpoints" / f"pixels_{A}.anchor").write_text("{not json")
    out = cli(tmp_path, "verify")
    assert out.returncode == 2
    assert "STORE_CORRUPT" in out.stderr


def test_cli_missing_store_is_not_created(tmp_path) -> None:
    out = cli(tmp_path, "--store", "MISSING", "list")
    assert out.returncode == 2
    assert not (tmp_path / "MISSING").exists()


def test_cli_invalid_utf8_is_one_answer_everywhere(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path / ".checkpoints")
    fill(store, 2)
    path = tmp_path / ".checkpoints" / f"pixels_{A}.jsonl"
    with open(path, "ab") as f:
        f.write(b'{"bad":"\xff"}\n')
    verify = cli(tmp_path, "verify", "--json")
    assert verify.returncode == 1
    assert '"reason": "INVALID_UTF8"' in verify.stdout
    for args in (["list"], ["load"], ["summary"]):
        out = cli(tmp_path, *args)
        assert out.returncode == 2, args
        assert "NOT_I_JSON" in out.stderr and "not valid UTF-8" in out.stderr, args


def test_cli_warns_about_a_tampered_pixel_and_now_refuses_it(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path / ".checkpoints")
    fill(store, 3)
    path = tmp_path / ".checkpoints" / f"pixels_{A}.jsonl"
    path.write_text(path.read_text().replace('"i":2', '"i":9'))
    out = cli(tmp_path, "list")
    assert out.returncode == 0
    assert "warning: checkpoint seq 2 fails verification: HASH_MISMATCH" in out.stderr
    now = cli(tmp_path, "now")
    assert now.returncode == 2
    assert "HASH_MISMATCH" in now.stderr
    shutil.rmtree(tmp_path / ".checkpoints")


def test_a_kept_head_is_dropped_whenever_the_file_changes(tmp_path) -> None:
    """A writer starts from the head it appended while the file is as it left it (SPEC 12.4):
    another process's append, or an edit in place with the mtime set back, is still seen."""
    store = tp.JsonlStore(tmp_path)
    cp = tp.Checkpointer(store, A, session_id="s")
    cp.emit(C, state={"i": 0})
    cp.emit(C, state={"i": 1})
    other = (
        "import sys, tokenpixel as tp; "
        "tp.Checkpointer(tp.JsonlStore(sys.argv[1]), sys.argv[2]).emit(sys.argv[3], state={'i': 2})"
    )
    subprocess.run([sys.executable, "-c", other, str(tmp_path), A, C], check=True)
    p = cp.emit(C, state={"i": 3})
    assert p.seq == 3
    report = store.verify(A)
    assert (report.ok, report.count, report.head) == (True, 4, p.hash)

    path = tmp_path / f"pixels_{A}.jsonl"
    before = os.stat(path)
    path.write_bytes(path.read_bytes().replace(b'"i":3', b'"i":9'))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_size == before.st_size
    with pytest.raises(tp.ChainError) as info:
        cp.emit(C, state={"i": 4})
    assert info.value.code == "HASH_MISMATCH"


def test_extend_stores_the_linked_prefix_then_raises(tmp_path) -> None:
    chain = tp.Chain(A, "s")
    pixels = [chain.emit(C, state={"i": i}, timestamp_ms=1000 + i) for i in range(4)]
    store = tp.JsonlStore(tmp_path)
    with store.transaction(A) as tx:
        tx.extend(pixels[:2])
        assert tx.head() == pixels[1]
        with pytest.raises(tp.StoreError) as info:
            tx.extend([pixels[2], pixels[0], pixels[3]])
        assert info.value.code == "CHAIN_CONFLICT"
        assert tx.head() == pixels[2]
    report = store.verify(A)
    assert (report.ok, report.count, report.head) == (True, 3, pixels[2].hash)
    forged = tp.TokenPixel.from_json(pixels[3].to_json().replace('"i":3', '"i":8'))
    with pytest.raises(tp.ChainError) as info:
        store.append(forged)  # read, not sealed here: its hashes are checked
    assert info.value.code == "HASH_MISMATCH"
