"""TokenPixelSaver (issue 15, SPEC 13): LangGraph's own conformance suite on every store kind
the saver supports, a real graph, and tampering refused on read."""

from __future__ import annotations

import asyncio
import json
import operator
import subprocess
import sys
from pathlib import Path
from typing import Annotated, TypedDict

import pytest
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.graph import END, START, StateGraph

import tokenpixel as tp
import tokenpixel.langgraph as lg
from tokenpixel.langgraph import TokenPixelSaver, agent_for


def conformance(make_store) -> None:
    @checkpointer_test(name=f"TokenPixelSaver-{make_store.__name__}")
    async def factory():
        yield TokenPixelSaver(make_store())

    report = asyncio.run(validate(factory))
    report.print_report()
    failed = {name: r for name, r in report.results.items() if r.passed is not True}
    assert not failed, failed
    assert report.conformance_level() == "FULL"  # the five base groups and the three optional


def test_conformance_on_jsonl(tmp_path) -> None:
    n = iter(range(1000))

    def jsonl():
        return tp.JsonlStore(tmp_path / f"s{next(n)}")

    conformance(jsonl)


def test_conformance_on_sqlite(tmp_path) -> None:
    n = iter(range(1000))

    def sqlite():
        return tp.SqliteStore(tmp_path / f"s{next(n)}.db")

    conformance(sqlite)


def test_conformance_on_postgres(servers) -> None:
    def postgres():
        return tp.open_store(servers["TOKENPIXEL_TEST_PG"])

    conformance(postgres)


def test_conformance_on_s3(servers) -> None:
    import uuid

    def s3():
        return tp.S3Store(servers["TOKENPIXEL_TEST_BUCKET"], f"lg-{uuid.uuid4().hex[:8]}/")

    conformance(s3)


class State(TypedDict):
    steps: Annotated[list[str], operator.add]
    total: int


def graph(saver):
    def plan(state: State) -> dict:
        return {"steps": ["plan"], "total": state["total"] + 1}

    def act(state: State) -> dict:
        return {"steps": ["act"], "total": state["total"] * 10}

    builder = StateGraph(State)
    builder.add_node("plan", plan)
    builder.add_node("act", act)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "act")
    builder.add_edge("act", END)
    return builder.compile(checkpointer=saver, interrupt_before=["act"])


def scenario(saver) -> list:
    """Interrupt, resume, history, time travel: what a user does, as observed values."""
    app = graph(saver)
    config = {"configurable": {"thread_id": "run:1 ünïcode"}}
    seen = [app.invoke({"steps": [], "total": 1}, config)]  # stops before "act"
    seen.append(app.get_state(config).next)
    seen.append(app.invoke(None, config))  # resume (the human approved)
    history = list(app.get_state_history(config))
    seen.append([(s.next, s.values) for s in history])
    before_act = next(s for s in history if s.next == ("act",))
    forked = app.update_state(before_act.config, {"total": 5})  # time travel
    seen.append(app.invoke(None, forked))
    seen.append(len(list(app.get_state_history(config))))
    return seen


@pytest.mark.parametrize("kind", ["jsonl", "sqlite"])
def test_a_sync_graph_behaves_as_with_langgraphs_own_saver(tmp_path, kind) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    store = tp.JsonlStore(tmp_path) if kind == "jsonl" else tp.SqliteStore(tmp_path / "g.db")
    ours, theirs = scenario(TokenPixelSaver(store)), scenario(InMemorySaver())
    assert ours == theirs
    assert ours[2] == {"steps": ["plan", "act"], "total": 20}
    assert ours[4]["total"] == 50
    report = store.verify(agent_for("run:1 ünïcode", ""))
    assert report.ok and report.count >= 6


def test_every_read_verifies_chain_and_blobs(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path)
    app = graph(TokenPixelSaver(store))
    config = {"configurable": {"thread_id": "t"}}
    app.invoke({"steps": [], "total": 1}, config)
    app.invoke(None, config)
    latest = TokenPixelSaver(store).get_tuple(config)
    assert latest is not None and latest.checkpoint["channel_values"]["total"] == 20

    # An edited blob is refused: the pixel holds its hash.
    lines = (tmp_path / f"pixels_{agent_for('t', '')}.jsonl").read_text().splitlines()
    states = [json.loads(line)["state"] for line in reversed(lines)]
    record = next(r for r in states if r["type"] == "langgraph.checkpoint")
    blob = tmp_path / "blobs" / record["metadata"]["sha256"][:2] / record["metadata"]["sha256"]
    original = blob.read_bytes()
    blob.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(tp.ChainError) as info:
        TokenPixelSaver(store).get_tuple(config)
    assert info.value.code == "HASH_MISMATCH"
    assert record["id"] in str(info.value)
    blob.write_bytes(original)

    # An edited pixel is refused by a reader that has not verified it yet.
    path = tmp_path / f"pixels_{agent_for('t', '')}.jsonl"
    text = path.read_text()
    path.write_text(text.replace('"source":"loop"', '"source":"edit"', 1))
    with pytest.raises(tp.ChainError) as info:
        TokenPixelSaver(store).get_tuple(config)
    assert info.value.code == "HASH_MISMATCH"
    path.write_text(text)
    assert TokenPixelSaver(store).get_tuple(config) is not None


def test_verification_is_incremental(tmp_path, monkeypatch) -> None:
    fed = []

    class Counting:
        """The real verifier, counting the lines it is fed."""

        def __init__(self, **kwargs) -> None:
            self.inner = tp.JsonlVerifier(**kwargs)

        def feed(self, chunk: bytes) -> None:
            fed.append(chunk.count(b"\n"))
            self.inner.feed(chunk)

        @property
        def failed(self) -> bool:
            return self.inner.failed

        def finish(self):
            return self.inner.finish()

    monkeypatch.setattr(lg, "JsonlVerifier", Counting)
    store = tp.JsonlStore(tmp_path)
    writer, reader = TokenPixelSaver(store), TokenPixelSaver(store)
    app = graph(writer)
    config = {"configurable": {"thread_id": "inc"}}
    app.invoke({"steps": [], "total": 1}, config)
    count = store.verify(agent_for("inc", "")).count
    fed.clear()
    reader.get_tuple(config)
    assert sum(fed) == count  # the first read verifies the whole chain
    fed.clear()
    reader.get_tuple(config)
    assert sum(fed) == 0  # nothing new: nothing verified again
    app.invoke(None, config)  # another saver (process) goes on
    fed.clear()
    reader.get_tuple(config)
    added = store.verify(agent_for("inc", "")).count - count
    assert 0 < added == sum(fed)  # only the pixels added since
    # What a saver sealed itself it does not verify again.
    fed.clear()
    writer.get_tuple(config)
    assert sum(fed) == 0


def test_delete_thread_removes_chain_and_unused_blobs_and_records_it(tmp_path) -> None:
    store = tp.JsonlStore(tmp_path)
    saver = TokenPixelSaver(store)
    app = graph(saver)
    for thread in ("keep", "drop"):
        cfg = {"configurable": {"thread_id": thread}}
        app.invoke({"steps": [], "total": 2 if thread == "keep" else 3}, cfg)
    blobs_before = set(saver.blobs.all())
    saver.delete_thread("drop")
    assert not (tmp_path / f"pixels_{agent_for('drop', '')}.jsonl").exists()
    assert saver.get_tuple({"configurable": {"thread_id": "drop"}}) is None
    assert saver.get_tuple({"configurable": {"thread_id": "keep"}}) is not None
    assert set(saver.blobs.all()) < blobs_before
    # The registry chain says the thread was deleted on purpose, at which head.
    records = [p.state for p in store.list(lg.REGISTRY)]
    deleted = [r for r in records if r["type"] == "langgraph.deleted"]
    assert [(r["thread"], r["reason"]) for r in deleted] == [("drop", "delete_thread")]
    assert deleted[0]["head"].startswith("sha256:") and deleted[0]["count"] > 0
    assert store.verify(lg.REGISTRY).ok


def test_importing_tokenpixel_does_not_import_langgraph() -> None:
    code = "import sys, tokenpixel; print('langgraph' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_thread_names_map_to_valid_agent_ids() -> None:
    for thread, ns in [("child:abc", ""), ("日本語", "sub|graph"), ("", ""), ("a" * 500, "x")]:
        agent = agent_for(thread, ns)
        tp._native.validate_agent_id(agent)
        assert agent.startswith("lg-")
    assert agent_for("a", "b") != agent_for("a\x00b", "")


def test_the_cli_verifies_a_langgraph_store(tmp_path) -> None:
    app = graph(TokenPixelSaver(tp.JsonlStore(tmp_path)))
    app.invoke({"steps": [], "total": 1}, {"configurable": {"thread_id": "cli"}})
    r = subprocess.run(
        [sys.executable, "-m", "tokenpixel", "--store", str(tmp_path), "verify", "--all"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert Path(tmp_path / "blobs").is_dir()
    assert "2 chains, 0 failed" in r.stdout  # the thread and the registry


def test_the_example_runs(tmp_path) -> None:
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run(
        [sys.executable, str(root / "examples" / "langgraph" / "graph.py"), str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "paused before: ('deploy',)" in r.stdout
    assert "2 chains, 0 failed" in r.stdout
    assert "tampered blob refused: HASH_MISMATCH" in r.stdout
