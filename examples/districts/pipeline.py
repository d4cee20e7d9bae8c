"""The five districts of the CI/CD seed, checkpointed: ingestion, LoRA bias, routing to a
dynamic chamber, asynchronous execution, deployment to two targets.

    python examples/districts/pipeline.py [STORE]      (default .checkpoints)

Every step runs under a stage: `NODE_PRE` before, `NODE_POST` after with what it produced,
`NODE_ERROR` (then the error propagates) when it fails. The pixels are written by a background
writer, so a step never waits for the disk; `close()` makes them all durable.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys

import tokenpixel as tp
from tokenpixel import District, corridor

AGENT = "districts-agent"


def ingest(cp: tp.Checkpointer) -> list[str]:
    documents = ["runbook.md", "incident-42.md", "architecture.md"]
    with cp.stage(corridor(District.INGESTION, "0")) as st:
        st.state = {"documents": documents, "chunks": 42}
        st.context = {"phase": {"name": "Ingestion", "number": 1, "status": "completed"}}
    return documents


def apply_lora(cp: tp.Checkpointer, psi: float) -> float:
    with cp.stage(corridor(District.LORA_BIAS, "LORA"), state_vector={"psi": psi}) as st:
        drift = 0.0625  # what comparing the weights before and after would measure
        psi = max(0.0, psi - drift)
        st.state = {"adapter": "lora-r8", "drift": drift}
        st.update(state_vector={"psi": psi, "omega": 0})
    return psi


def route(cp: tp.Checkpointer, query: str) -> str:
    intent = "deploy" if "deploy" in query else "answer"
    chamber = {"deploy": "exec-gpu-1", "answer": "chat"}[intent]  # a dynamic chamber id
    intent_hash = "sha256:" + hashlib.sha256(intent.encode()).hexdigest()
    with cp.stage(corridor(District.ROUTING, "ROUTER")) as st:
        st.state = {"query": query, "intent": intent, "chamber": chamber}
        st.update(intent_hash=intent_hash, autonomy_index=0.75)
    cp.emit(corridor(District.ROUTING, chamber, node="POST"), state={"routed_to": chamber})
    return chamber


async def execute(cp: tp.Checkpointer, chamber: str) -> str:
    async with cp.astage(corridor(District.EXECUTION, "EXEC")) as st:
        await asyncio.sleep(0.01)  # the task itself
        output = f"built app-1.4.2.tgz on {chamber}"
        st.state = {"output": output, "output_size": len(output)}
        st.update(event_delta=1)
    return output


def deploy(cp: tp.Checkpointer, targets: list[str]) -> list[str]:
    deployed = []
    for omega, target in enumerate(targets, start=1):
        cp.emit(corridor(District.DEPLOYMENT, "DEPLOY", node=f"{target}_PRE"))
        deployed.append(f"{target.lower()}-deploy-{omega}")
        cp.emit(
            corridor(District.DEPLOYMENT, "DEPLOY", node=f"{target}_POST"),
            state={"deployments": list(deployed)},
            state_vector={"psi": 0.9375, "omega": omega},
        )
    return deployed


def main(store_dir: str) -> None:
    store = tp.JsonlStore(store_dir)
    with tp.Checkpointer(store, AGENT, session_id="districts-run", background=True) as cp:
        ingest(cp)
        apply_lora(cp, psi=1.0)
        chamber = route(cp, "deploy the new build")
        asyncio.run(execute(cp, chamber))
        deploy(cp, ["EDGE", "EU"])
    report = store.verify(AGENT)
    print(f"{AGENT}: {report.count} pixels, verified {report.ok}, head {report.head}")
    for p in store.list(AGENT):
        print(f"  {p.seq:>2}  {p.corridor}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".checkpoints")
