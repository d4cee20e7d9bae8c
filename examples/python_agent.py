"""A sample agent pipeline: one CI/CD run through the five districts of the first seed.

Ingestion, LoRA bias, routing, execution and deployment each run inside a checkpointed stage,
which writes a NODE_PRE and a NODE_POST pixel to `.checkpoints/pixels_demo-agent.jsonl`.
Run it with `make demo` (or `python examples/python_agent.py [STORE_DIR]`), then inspect the
chain with `tokenpixel list`, `tokenpixel verify` and `tokenpixel load`.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import tokenpixel as tp

AGENT = "demo-agent"


def main(store_dir: str = ".checkpoints") -> int:
    # A fresh chain each run, so the demo always tells the same story.
    for old in Path(store_dir).glob(f"pixels_{AGENT}.*"):
        old.unlink()
    store = tp.JsonlStore(store_dir, fsync=True)
    cp = tp.Checkpointer(store, AGENT)
    cp.add_listener(
        lambda e: print(
            f"  checkpoint {e.token_pixel_id[7:19]}  seq {e.metadata['seq']:>2}  {e.corridor}"
        )
    )

    state: dict = {"documents": [], "deployments": [], "adapter": None}
    vector = {"psi": 1.0, "omega": 0}
    tasks = [
        {"id": str(i), "subject": s, "status": "pending"}
        for i, s in enumerate(["ingest", "apply lora", "route", "execute", "deploy"], start=1)
    ]
    context: dict = {
        "phase": {"name": "CI run", "number": 1, "status": "in_progress"},
        "phasesCompleted": [],
        "tasks": tasks,
        "dependencies": [
            {
                "name": "vault",
                "type": "service",
                "status": "available",
                "endpoint": "https://127.0.0.1:8200",
            },
            {
                "name": "ledger",
                "type": "database",
                "status": "available",
                "endpoint": "sqlite:///ledger.db",
            },
        ],
        "variables": {"target_env": "staging", "run_id": "run-1842"},
        "recentOutputs": [],
        "agentTier": 1,
    }

    def advance(task_id: str, district: int, output: dict) -> None:
        for t in context["tasks"]:
            if t["id"] == task_id:
                t["status"] = "completed"
        context["phasesCompleted"] = [*context["phasesCompleted"], district]
        context["activeTaskId"] = str(district + 1) if district < 5 else None
        context["recentOutputs"] = [*context["recentOutputs"][-2:], output]
        context["variables"] = {**context["variables"], "last_district": district}

    print(f"tokenpixel demo: agent {AGENT}, session {cp.session_id}")
    context["activeTaskId"] = "1"
    with cp.stage(
        "DISTRICT_1.CHAMBER_0",
        state=state,
        context=context,
        state_vector=vector,
        autonomy_index=0.5,
    ) as st:
        state = {**state, "documents": ["runbook.md", "incident-42.pdf"]}
        advance(
            "1",
            1,
            {"type": "evidence", "id": "evd-1", "action": "ingest", "success": True},
        )
        st.state, st.context = state, context
        st.update(event_delta=2)

    with cp.stage("DISTRICT_2.CHAMBER_LORA") as st:
        drift = 0.0625
        vector = {**vector, "psi": max(0.0, vector["psi"] - drift)}
        state = {**state, "adapter": "lora-7", "drift": drift}
        advance(
            "2",
            2,
            {"type": "evidence", "id": "evd-2", "action": "lora", "success": True},
        )
        st.state, st.context = state, context
        st.update(state_vector=vector, autonomy_index=0.6)

    with cp.stage("DISTRICT_3.CHAMBER_ROUTER") as st:
        intent = "deploy the incident fix to staging"
        intent_hash = "sha256:" + hashlib.sha256(intent.encode()).hexdigest()
        state = {**state, "route": "EXEC"}
        advance(
            "3",
            3,
            {"type": "evidence", "id": "evd-3", "action": "route", "success": True},
        )
        st.state, st.context = state, context
        st.update(intent_hash=intent_hash, autonomy_index=0.7)

    with cp.stage("DISTRICT_4.CHAMBER_EXEC") as st:
        state = {**state, "output": {"patch": "fix-42.diff", "tests": "passed"}}
        context["dependencies"][0] = {
            **context["dependencies"][0],
            "status": "degraded",
        }
        advance(
            "4",
            4,
            {"type": "evidence", "id": "evd-4", "action": "execute", "success": True},
        )
        st.state, st.context = state, context
        st.update(event_delta=1)

    with cp.stage("DISTRICT_5.CHAMBER_DEPLOY") as st:
        vector = {**vector, "omega": vector["omega"] + 1}
        state = {**state, "deployments": ["deploy-staging-1842"]}
        context["phase"] = {**context["phase"], "status": "completed"}
        advance(
            "5",
            5,
            {"type": "evidence", "id": "evd-5", "action": "deploy", "success": True},
        )
        st.state, st.context = state, context
        st.update(state_vector=vector, autonomy_index=0.8, event_delta=1)

    report = store.verify(AGENT)
    print(
        f"wrote {report.count} pixels to {store.path(AGENT)};"
        f" verified: {report.ok}; head {report.head}"
    )
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
