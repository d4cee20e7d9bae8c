"""The background writer (issue 10): seal on the caller, write on a thread, nothing dropped."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading

import pytest

import tokenpixel as tp

C = "DISTRICT_4.CHAMBER_EXEC.NODE_POST"
A = "agent-bg"


def test_hash_at_once_durable_after_flush_lock_held_until_close(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path)
    events: list[str] = []
    with tp.Checkpointer(store, A, background=True) as cp:
        cp.add_listener(lambda e: events.append(e.token_pixel_id))
        pixels = [cp.emit(C, state={"i": i}) for i in range(100)]
        assert [p.seq for p in pixels] == list(range(100))
        # Another writer waits for the held lock (a thread of this process, then a process).
        with pytest.raises(tp.StoreError) as info:
            tp.Checkpointer(tp.JsonlStore(tmp_path, lock_timeout=0.1), A).emit(C)
        assert info.value.code == "STORE_LOCKED"
        script = (
            "import sys, tokenpixel as tp\n"
            "try:\n"
            "    store = tp.JsonlStore(sys.argv[1], lock_timeout=0.2)\n"
            f"    tp.Checkpointer(store, {A!r}).emit({C!r})\n"
            "except tp.TokenPixelError as e:\n"
            "    print(e.code)\n"
        )
        other = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True
        )
        assert other.stdout.strip() == "STORE_LOCKED", other.stderr
        cp.flush()
        assert cp.pending == 0
        assert store.latest(A) == pixels[-1]
        assert events == [p.hash for p in pixels]  # listeners hear of durable pixels, in order
    with pytest.raises(tp.ArgumentError):
        cp.emit(C)
    after = tp.Checkpointer(store, A).emit(C)  # the lock was released by close()
    assert after.prev_hash == pixels[-1].hash
    report = store.verify(A)
    assert (report.ok, report.count, report.head) == (True, 101, after.hash)


def test_background_continues_the_stored_chain(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path)
    first = tp.Checkpointer(store, A).emit(C)
    with tp.Checkpointer(store, A, background=True) as cp:
        assert cp.head == first
        p = cp.emit(C)
    assert (p.seq, p.prev_hash) == (1, first.hash)


def test_full_queue_blocks_or_raises(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path)
    with tp.Checkpointer(store, A, background=True, queue_size=2) as cp:
        for i in range(50):
            cp.emit(C, state={"i": i})  # blocks while two are pending; never drops
    assert store.verify(A).count == 50
    gate = threading.Event()
    slow = tp.Checkpointer(store, A, background=True, queue_size=3, on_full="raise")
    slow.add_listener(lambda e: gate.wait(10))  # the writer stalls after its first append
    try:
        raised = None
        for i in range(10):
            try:
                slow.emit(C, state={"j": i})
            except tp.StoreError as e:
                raised = (i, e.code)
                break
        assert raised is not None and raised[1] == "QUEUE_FULL"
        head = slow.head
        assert head is not None and head.state == {"j": raised[0] - 1}  # nothing sealed
    finally:
        gate.set()
        slow.close()
    assert store.verify(A).ok


class FailingStore(tp.Store):
    """A real JsonlStore whose third append fails once (an injected disk error)."""

    def __init__(self, inner: tp.JsonlStore) -> None:
        self.inner = inner
        self.appends = 0

    def latest(self, agent_id=None):
        return self.inner.latest(agent_id)

    @contextlib.contextmanager
    def transaction(self, agent_id):
        outer = self

        class Tx:
            def __init__(self, tx) -> None:
                self.tx = tx

            def head(self):
                return self.tx.head()

            def append(self, pixel) -> None:
                outer.appends += 1
                if outer.appends == 3:
                    raise tp.errors.error("STORE_IO", "disk full (injected)")
                self.tx.append(pixel)

            def extend(self, pixels) -> None:  # a store without one-write batches
                for pixel in pixels:
                    self.append(pixel)

        with self.inner.transaction(agent_id) as tx:
            yield Tx(tx)


def test_a_failed_write_is_raised_never_dropped(tmp_path) -> None:
    inner = tp.JsonlStore(tmp_path)
    cp = tp.Checkpointer(FailingStore(inner), A, background=True)
    for i in range(5):
        cp.emit(C, state={"i": i})
    with pytest.raises(tp.StoreError) as info:
        cp.flush()
    assert info.value.code == "STORE_IO"
    assert cp.pending == 3  # the failed pixel and those after it
    with pytest.raises(tp.StoreError):
        cp.emit(C)
    with pytest.raises(tp.StoreError):
        cp.close()
    assert inner.verify(A).count == 2


WRITER = """
import json, sys, time, tokenpixel as tp
cp = tp.Checkpointer(tp.JsonlStore(sys.argv[1]), "agent-bg", background=True)
hashes = [cp.emit("DISTRICT_4.CHAMBER_EXEC.NODE_POST", state={"i": i}).hash for i in range(200)]
if sys.argv[2] == "flush":
    cp.flush()
print(json.dumps(hashes), flush=True)
if sys.argv[2] == "flush":
    time.sleep(600)  # holding the lock until killed
"""


def test_kill_9_after_flush_loses_nothing_flushed(tmp_path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path), "flush"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    hashes = json.loads(proc.stdout.readline())
    proc.kill()
    proc.wait()
    store = tp.JsonlStore(tmp_path, lock_timeout=5)
    assert [p.hash for p in store.list(A)] == hashes
    nxt = tp.Checkpointer(store, A).emit(C)  # the dead writer's lock is broken at once
    assert nxt.prev_hash == hashes[-1]


def test_interpreter_exit_flushes_pending_writes(tmp_path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", WRITER, str(tmp_path), "exit"],
        capture_output=True,
        text=True,
        check=True,
    )
    hashes = json.loads(out.stdout)
    store = tp.JsonlStore(tmp_path)
    assert [p.hash for p in store.list(A)] == hashes
    assert store.verify(A).ok


def test_threads_emitting_in_background_keep_one_chain(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path)
    with tp.Checkpointer(store, A, background=True, queue_size=16) as cp:

        def work(k: int) -> None:
            for i in range(100):
                cp.emit(C, state={"k": k, "i": i})

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    report = store.verify(A)
    assert (report.ok, report.count) == (True, 400)


def test_background_arguments(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path)
    for kwargs in ({"queue_size": 0}, {"batch_size": True}, {"on_full": "drop"}):
        with pytest.raises(tp.ArgumentError):
            tp.Checkpointer(store, A, background=True, **kwargs)
