"""Caller-side latency of `Checkpointer.emit`, sync (fsync off) and background, on the shared
workload shapes (../shared/bench/workload.py), with the bare `Chain.emit` for reference.

    python bindings-py/bench/bench_pipeline.py [N]      (default 20000 per shape)

Prints p50, p99 and max latency in microseconds and pixels per second for each mode and
shape. A benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tokenpixel as tp

ROOT = Path(__file__).resolve().parents[2]
WORKLOAD = ROOT.parent / "shared" / "bench" / "workload.py"
NAMES = {
    "state": "state",
    "context": "context",
    "stateVector": "state_vector",
    "autonomyIndex": "autonomy_index",
    "intentHash": "intent_hash",
    "eventDelta": "event_delta",
    "timestampMs": "timestamp_ms",
}


def inputs(shape: str, n: int) -> list[tuple[str, dict]]:
    out = subprocess.run(
        [sys.executable, str(WORKLOAD), "--shape", shape, str(n)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    steps = []
    for line in out.splitlines():
        d = json.loads(line)
        steps.append((d["corridor"], {NAMES[k]: v for k, v in d.items() if k in NAMES}))
    return steps


def percentile(xs: list[float], p: float) -> float:
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def run(mode: str, steps: list[tuple[str, dict]]) -> tuple[list[float], float]:
    with tempfile.TemporaryDirectory() as d:
        store = tp.JsonlStore(d)
        if mode == "Chain.emit":
            chain = tp.Chain("bench", "s")
            emit = chain.emit
            close = None
        else:
            cp = tp.Checkpointer(store, "bench", background=(mode == "background"))
            emit, close = cp.emit, cp.close
        lat = []
        gc.disable()
        start = time.perf_counter()
        for corridor, fields in steps:
            t0 = time.perf_counter()
            emit(corridor, **fields)
            lat.append(time.perf_counter() - t0)
        if close is not None:
            close()  # background: until everything is durable
        total = time.perf_counter() - start
        gc.enable()
    return sorted(lat), len(steps) / total


def main(n: int = 20_000) -> None:
    print(f"Checkpointer.emit latency, {n} pixels per shape (fsync off), microseconds")
    print(f"{'shape':8} {'mode':11} {'p50':>8} {'p99':>8} {'max':>9} {'pixels/s':>10}")
    for shape in ("agent", "text", "numeric"):
        steps = inputs(shape, n)
        for mode in ("Chain.emit", "sync", "background"):
            lat, rate = run(mode, steps)
            print(
                f"{shape:8} {mode:11} {percentile(lat, 0.5) * 1e6:8.1f} "
                f"{percentile(lat, 0.99) * 1e6:8.1f} {lat[-1] * 1e6:9.1f} {rate:10.0f}"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
