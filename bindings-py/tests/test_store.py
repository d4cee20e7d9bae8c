"""Storage: JSONL and SQLite stores, torn-line recovery, pruning, concurrent writers."""

import multiprocessing
import os
from pathlib import Path

import pytest

import tokenpixel as tp

C = "DISTRICT_4.CHAMBER_EXEC.NODE_POST"


@pytest.fixture(params=["jsonl", "sqlite"])
def store(request, tmp_path):
    if request.param == "jsonl":
        yield tp.JsonlStore(tmp_path / "ckpt", fsync=True)
    else:
        s = tp.SqliteStore(tmp_path / "ckpt.sqlite")
        yield s
        s.close()


def fill(store, n, agent="agent-s"):
    cp = tp.Checkpointer(store, agent, session_id="s1")
    return [cp.emit(C, state={"i": i}, timestamp_ms=1000 + i) for i in range(n)]


def test_append_latest_list_get_iter(store):
    pixels = fill(store, 30)
    assert store.agents() == ["agent-s"]
    assert store.latest() == pixels[-1]
    assert store.list(limit=5) == pixels[-5:]
    assert store.list() == pixels
    assert store.get(7) == pixels[7]
    assert store.get(pixels[9].hash) == pixels[9]
    assert store.get(pixels[9].short_id) == pixels[9]
    assert store.get(pixels[9].hash[7:20]) == pixels[9]
    with pytest.raises(KeyError):  # NotFoundError is a KeyError too
        store.get(999)
    with pytest.raises(tp.NotFoundError) as info:
        store.get("585076985525")  # a short id without a letter is read as a seq
    assert 'has no pixel "585076985525" (digits are a seq' in str(info.value)
    assert '"sha256:585076985525"' in str(info.value)
    with pytest.raises(tp.NotFoundError) as info:
        store.get("ffffffffffffffffff")
    assert info.value.code == "NOT_FOUND"
    assert list(store) == pixels
    assert store.verify().ok and store.verify().count == 30


def test_append_refuses_a_fork(store):
    pixels = fill(store, 3)
    other = tp.Chain.resume(pixels[:2]).emit(C, timestamp_ms=5000)  # forks after seq 1
    with pytest.raises(tp.StoreError) as info:
        store.append(other)
    assert info.value.code == "CHAIN_CONFLICT"
    assert store.latest() == pixels[-1]
    assert store.verify().count == 3


def test_prune_records_the_anchor(store):
    pixels = fill(store, 20)
    assert store.prune(keep=5) == 15
    assert store.list() == pixels[-5:]
    assert store.anchor() == pixels[14].hash
    report = store.verify()
    assert report.ok and report.count == 5 and report.head == pixels[-1].hash
    assert store.prune(keep=10) == 0
    # The chain continues after pruning.
    cp = tp.Checkpointer(store, "agent-s")
    p = cp.emit(C, timestamp_ms=99_999)
    assert p.seq == 20 and store.verify().count == 6
    with pytest.raises(tp.ArgumentError):
        store.prune(keep=0)


def test_checkpointer_stage_and_listeners(store):
    cp = tp.Checkpointer(store, "stager")
    events = []
    cp.add_listener(events.append)
    cp.add_listener(lambda e: 1 / 0)  # a failing listener does not stop checkpointing
    with cp.stage("DISTRICT_2.CHAMBER_LORA", state={"w": 1}) as st:
        st.state = {"w": 2}
        st.update(state_vector={"psi": 0.9375})
    assert st.pre.corridor == "DISTRICT_2.CHAMBER_LORA.NODE_PRE"
    assert st.post.corridor == "DISTRICT_2.CHAMBER_LORA.NODE_POST"
    assert st.post.state == {"w": 2} and st.post.state_vector == {"psi": 0.9375}
    with pytest.raises(RuntimeError, match="boom"), cp.stage("DISTRICT_3.CHAMBER_ROUTER"):
        raise RuntimeError("boom")
    err = store.latest("stager")
    assert err.corridor == "DISTRICT_3.CHAMBER_ROUTER.NODE_ERROR"
    assert err.context["variables"]["error_type"] == "RuntimeError"
    assert err.context["variables"]["error_msg"] == "boom"
    assert "boom" in err.context["notes"]
    assert [e.corridor for e in events] == [
        "DISTRICT_2.CHAMBER_LORA.NODE_PRE",
        "DISTRICT_2.CHAMBER_LORA.NODE_POST",
        "DISTRICT_3.CHAMBER_ROUTER.NODE_PRE",
        "DISTRICT_3.CHAMBER_ROUTER.NODE_ERROR",
    ]
    e = events[1]
    assert e.event_type == "CHECKPOINT_CREATED" and e.token_pixel_id == st.post.hash
    assert e.metadata["seq"] == 1 and e.pixel == st.post
    report = store.verify("stager")
    assert (report.ok, report.count, report.head) == (True, 4, store.latest("stager").hash)


def test_torn_line_is_recovered_and_reported(tmp_path):
    store = tp.JsonlStore(tmp_path)
    pixels = fill(store, 5)
    path = store.path("agent-s")
    whole = path.read_bytes()
    # A crash mid-append: half of a sixth line reached the disk.
    sixth = tp.Chain.resume(pixels).emit(C, timestamp_ms=10_000).to_json().encode()
    path.write_bytes(whole + sixth[: len(sixth) // 2])
    torn = store.verify()
    assert (torn.ok, torn.count, torn.error.code, torn.error.line) == (
        False,
        5,
        "MALFORMED_JSON",
        6,
    )
    assert store.latest() == pixels[-1]  # readers skip the torn tail
    rec = store.recover()
    assert rec.action == "moved" and rec.byte_count == len(sixth) // 2
    assert Path(rec.saved_to).read_bytes() == sixth[: len(sixth) // 2]  # nothing lost
    assert store.recoveries == [rec]
    assert path.read_bytes() == whole
    report = store.verify()
    assert (report.ok, report.count, report.head) == (True, 5, pixels[-1].hash)
    # A whole line that only lacks its newline is completed, not moved.
    path.write_bytes(whole + sixth)
    cp = tp.Checkpointer(store, "agent-s")
    p = cp.emit(C, timestamp_ms=20_000)  # appending recovers first
    assert store.recoveries[-1].action == "completed"
    assert p.seq == 6 and store.verify().ok and store.verify().count == 7


def _writer(directory: str, n: int, session: str) -> None:
    store = tp.JsonlStore(directory)
    cp = tp.Checkpointer(store, "shared-agent", session_id=session)
    for i in range(n):
        cp.emit(C, state={"writer": session, "i": i})


def _sqlite_writer(path: str, n: int, session: str) -> None:
    store = tp.SqliteStore(path)
    cp = tp.Checkpointer(store, "shared-agent", session_id=session)
    for i in range(n):
        cp.emit(C, state={"writer": session, "i": i})
    store.close()


@pytest.mark.parametrize("kind", ["jsonl", "sqlite"])
def test_two_processes_append_concurrently(tmp_path, kind):
    ctx = multiprocessing.get_context("spawn")
    target = tmp_path / ("db.sqlite" if kind == "sqlite" else "store")
    fn = _sqlite_writer if kind == "sqlite" else _writer
    procs = [ctx.Process(target=fn, args=(str(target), 60, f"w{k}")) for k in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = tp.SqliteStore(target) if kind == "sqlite" else tp.JsonlStore(target)
    report = store.verify("shared-agent")
    assert report.ok, report.error
    assert report.count == 120
    sessions = {p.session_id for p in store.iter("shared-agent")}
    assert sessions == {"w0", "w1"}


def test_store_files_are_plain_jsonl(tmp_path):
    store = tp.JsonlStore(tmp_path)
    pixels = fill(store, 3)
    lines = store.path("agent-s").read_text().splitlines()
    assert lines == [p.to_json() for p in pixels]
    report = tp.verify_jsonl(store.path("agent-s").read_bytes())
    assert (report.ok, report.count, report.head) == (True, 3, pixels[-1].hash)
    assert os.path.basename(store.path("agent-s")) == "pixels_agent-s.jsonl"
