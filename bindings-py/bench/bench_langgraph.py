"""Per-step cost of TokenPixelSaver against LangGraph's own SqliteSaver and InMemorySaver: a
10-node graph run for STEPS super-steps, with small channel values and with one large (100 KB)
channel that never changes after the first step. Prints microseconds per step, the ratio to
SqliteSaver, and the bytes each leaves on disk.

    python bindings-py/bench/bench_langgraph.py [STEPS]     (default 1000)

A benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import START, StateGraph

import tokenpixel as tp
from tokenpixel.langgraph import TokenPixelSaver

NODES = 10


class State(TypedDict):
    step: int
    note: str
    big: str


def graph(saver, steps: int):
    g = StateGraph(State)

    def node(i: int):
        def run(state: State) -> dict:
            return {"step": state["step"] + 1, "note": f"node {i} at {state['step']}"}

        return run

    for i in range(NODES):
        g.add_node(f"n{i}", node(i))
    g.add_edge(START, "n0")
    for i in range(NODES):
        nxt = f"n{(i + 1) % NODES}"
        g.add_conditional_edges(
            f"n{i}", lambda s, nxt=nxt: "__end__" if s["step"] >= steps else nxt
        )
    return g.compile(checkpointer=saver)


def size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run(name: str, steps: int, big: str) -> tuple[float, int]:
    tmp = Path(tempfile.mkdtemp())
    conn = None
    if name == "InMemorySaver":
        saver, where = InMemorySaver(), None
    elif name == "SqliteSaver":
        conn = sqlite3.connect(tmp / "lg.db", check_same_thread=False)
        saver, where = SqliteSaver(conn), tmp / "lg.db"
    elif name == "TokenPixel JSONL":
        saver, where = TokenPixelSaver(tp.JsonlStore(tmp / "store")), tmp / "store"
    else:
        saver, where = TokenPixelSaver(tp.SqliteStore(tmp / "tp.db")), tmp / "tp.db"
    app = graph(saver, steps)
    config = {"configurable": {"thread_id": "bench"}, "recursion_limit": steps + 10}
    start = time.perf_counter()
    app.invoke({"step": 0, "note": "", "big": big}, config)
    took = time.perf_counter() - start
    if conn is not None:
        conn.commit()
    return took / steps * 1e6, size(where) if where else 0


def main(steps: int = 1000) -> None:
    savers = ["InMemorySaver", "SqliteSaver", "TokenPixel JSONL", "TokenPixel SQLite"]
    for label, big in (("small values", ""), ("one 100 KB channel", "x" * 100_000)):
        print(f"{label}: {NODES}-node graph, {steps} steps")
        print(f"  {'saver':18} {'us/step':>9} {'vs SqliteSaver':>15} {'bytes on disk':>14}")
        results = {name: run(name, steps, big) for name in savers}
        base = results["SqliteSaver"]
        for name, (us, nbytes) in results.items():
            print(f"  {name:18} {us:9.0f} {us / base[0]:14.2f}x {nbytes:14d}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
    os._exit(0)
