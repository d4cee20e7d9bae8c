"""A LangGraph agent whose every checkpoint is a verified tokenpixel chain.

    python examples/langgraph/graph.py [STORE_DIR]

A deterministic tool loop (no LLM calls): the agent plans, calls a tool until the ticket is
resolved, and stops before "deploy" for a human to approve (interrupt and resume). Then time
travel: the history, an edited earlier state, a replay from there. Then the CLI verifies the
chains and diffs two checkpoints, and a tampered blob is refused.
"""

from __future__ import annotations

import operator
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph

import tokenpixel as tp
from tokenpixel.langgraph import TokenPixelSaver, agent_for


class Ticket(TypedDict):
    log: Annotated[list[str], operator.add]
    attempts: int
    resolved: bool


def plan(state: Ticket) -> dict:
    return {"log": ["plan: reproduce, patch, test"]}


def tool(state: Ticket) -> dict:
    attempt = state["attempts"] + 1
    return {
        "log": [f"tool: run tests (attempt {attempt})"],
        "attempts": attempt,
        "resolved": attempt >= 3,
    }


def route(state: Ticket) -> str:
    return "deploy" if state["resolved"] else "tool"


def deploy(state: Ticket) -> dict:
    return {"log": [f"deploy: shipped after {state['attempts']} attempts"]}


def build(saver):
    g = StateGraph(Ticket)
    g.add_node("plan", plan)
    g.add_node("tool", tool)
    g.add_node("deploy", deploy)
    g.add_edge(START, "plan")
    g.add_edge("plan", "tool")
    g.add_conditional_edges("tool", route, ["tool", "deploy"])
    g.add_edge("deploy", END)
    return g.compile(checkpointer=saver, interrupt_before=["deploy"])


def cli(store: Path, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "tokenpixel", "--store", str(store), *args],
        capture_output=True,
        text=True,
    )
    return out.stdout + out.stderr


def main(directory: str) -> None:
    store_dir = Path(directory)
    store = tp.JsonlStore(store_dir)
    app = build(TokenPixelSaver(store))
    config = {"configurable": {"thread_id": "ticket-4711"}}

    app.invoke({"log": [], "attempts": 0, "resolved": False}, config)
    print("paused before:", app.get_state(config).next)  # ('deploy',): a human approves
    final = app.invoke(None, config)
    print("after approval:", final["log"][-1])

    history = list(app.get_state_history(config))
    print(f"history: {len(history)} checkpoints, newest first")
    second_try = next(s for s in history if s.values.get("attempts") == 2)
    replayed = app.update_state(second_try.config, {"attempts": 9})  # time travel
    result = app.invoke(None, replayed)
    print("replayed from attempt 2 with attempts=9:", result["log"][-1])
    print("the thread now pauses before:", app.get_state(config).next)

    agent = agent_for("ticket-4711", "")
    print(cli(store_dir, "verify", "--all").strip())
    checkpoints = [p.seq for p in store.list(agent) if p.state["type"] == "langgraph.checkpoint"]
    print(
        cli(
            store_dir,
            "--agent",
            agent,
            "diff",
            "--from",
            str(checkpoints[-2]),
            "--to",
            str(checkpoints[-1]),
        ).strip()
    )

    # Edit one stored blob (the newest checkpoint's metadata): the next read refuses it.
    newest = store.latest(agent)
    ref = next(
        p.state for p in reversed(store.list(agent)) if p.state["type"] == "langgraph.checkpoint"
    )["metadata"]["sha256"]
    blob = store_dir / "blobs" / ref[:2] / ref
    blob.write_bytes(blob.read_bytes().replace(b"loop", b"LOOP"))
    try:
        TokenPixelSaver(store).get_tuple(config)
        raise SystemExit("a tampered blob was accepted")
    except tp.ChainError as e:
        print(f"tampered blob refused: {e.code}")
    assert newest is not None


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="langgraph-"))
