"""Store throughput on the shared `agent` workload (../shared/bench/workload.py): appends per
second for one writer, eight writers on one agent and eight writers on eight agents, and
verify throughput (MB/s) of a long chain, for JSONL, SQLite, PostgreSQL and S3 (S3 with and
without segments). Needs the test servers:

    python tests/servers/servers.py run -- .venv/bin/python bindings-py/bench/bench_stores.py

A benchmark, not a test: nothing is asserted. Sizes: APPENDS pixels per append run, CHAIN
pixels in the verified chain (S3: S3_CHAIN, since every pixel is one request to the server).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import tokenpixel as tp

ROOT = Path(__file__).resolve().parents[2]
WORKLOAD = ROOT.parent / "shared" / "bench" / "workload.py"
APPENDS = int(os.environ.get("APPENDS", 2000))
CHAIN = int(os.environ.get("CHAIN", 100_000))
S3_CHAIN = int(os.environ.get("S3_CHAIN", 10_000))
NAMES = {
    "state": "state",
    "context": "context",
    "stateVector": "state_vector",
    "autonomyIndex": "autonomy_index",
    "intentHash": "intent_hash",
    "eventDelta": "event_delta",
}

WRITER = """
import json, sys, time, tokenpixel as tp
url, agent, n, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
steps = [json.loads(l) for l in open(path)][:n]
cp = tp.Checkpointer(tp.open_store(url), agent, retries=100000)
cp.emit(steps[0][0], **steps[0][1])  # connected and warm: the timed window starts after
start = time.time()
for corridor, fields in steps[1:]:
    cp.emit(corridor, **fields)
print(start, time.time(), len(steps) - 1)
"""


def steps(n: int) -> list[tuple[str, dict]]:
    out = subprocess.run(
        [sys.executable, str(WORKLOAD), "--shape", "agent", str(n)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows = []
    for line in out.splitlines():
        d = json.loads(line)
        rows.append((d["corridor"], {NAMES[k]: v for k, v in d.items() if k in NAMES}))
    return rows


def urls(tmp: str) -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {
        "jsonl": f"{tmp}/jsonl",
        "sqlite": f"sqlite:///{tmp}/bench.db",
        "postgres": os.environ["TOKENPIXEL_TEST_PG"],
        "s3": f"s3://{os.environ['TOKENPIXEL_TEST_BUCKET']}/bench-{tag}",
    }


def one_writer(url: str, data: list) -> float:
    cp = tp.Checkpointer(tp.open_store(url), f"one-{uuid.uuid4().hex[:6]}")
    start = time.perf_counter()
    for corridor, fields in data:
        cp.emit(corridor, **fields)
    return len(data) / (time.perf_counter() - start)


def eight_writers(url: str, n: int, path: str, same_agent: bool) -> float:
    """Appends per second of eight processes, over the window in which they all append
    (process start-up and connecting are left out)."""
    base = f"many-{uuid.uuid4().hex[:6]}"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                url,
                base if same_agent else f"{base}-{k}",
                str(n // 8),
                path,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for k in range(8)
    ]
    windows = []
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            raise SystemExit("a writer failed")
        start, end, count = out.split()
        windows.append((float(start), float(end), int(count)))
    total = sum(c for _, _, c in windows)
    return total / (max(e for _, e, _ in windows) - min(s for s, _, _ in windows))


def verify_rate(store: tp.Store, agent: str, nbytes: int) -> float:
    start = time.perf_counter()
    report = store.verify(agent)
    took = time.perf_counter() - start
    assert report.ok, report
    return nbytes / took / 1e6


def long_chain(url: str, n: int) -> tuple[tp.Store, str, int]:
    store = tp.open_store(url)
    agent = f"long-{uuid.uuid4().hex[:6]}"
    chain = tp.Chain(agent, "bench")
    nbytes = 0
    batch = []
    for corridor, fields in steps(n):
        p = chain.emit(corridor, **fields)
        nbytes += len(p.to_json()) + 1
        batch.append(p)
        if len(batch) == 5000:
            with store.transaction(agent) as tx:
                tx.extend(batch)
            batch = []
    if batch:
        with store.transaction(agent) as tx:
            tx.extend(batch)
    return store, agent, nbytes


def main() -> None:
    data = steps(APPENDS)
    tmp = tempfile.mkdtemp()
    path = f"{tmp}/steps.jsonl"
    with open(path, "w") as f:
        for row in data:
            f.write(json.dumps(row) + "\n")
    print(
        f"agent shape; appends: {APPENDS} pixels per run (S3: a quarter); "
        f"verify: {CHAIN} pixels (S3: {S3_CHAIN})"
    )
    print(f"{'store':9} {'1 writer/s':>11} {'8 on 1/s':>10} {'8 on 8/s':>10} {'verify MB/s':>12}")
    jsonl_verify = None
    for kind, url in urls(tmp).items():
        n = APPENDS // 4 if kind == "s3" else APPENDS
        one = one_writer(url, data[:n])
        same = eight_writers(url, n, path, True)
        many = eight_writers(url, n, path, False)
        store, agent, nbytes = long_chain(url, S3_CHAIN if kind == "s3" else CHAIN)
        rate = verify_rate(store, agent, nbytes)
        note = ""
        if kind == "jsonl":
            jsonl_verify = rate
        if kind == "s3":
            import boto3

            client = boto3.client("s3")
            segments = [k for _, _, k in store._segments(agent)]  # type: ignore[attr-defined]
            for key in segments:
                client.delete_object(Bucket=store.bucket, Key=key)  # type: ignore[attr-defined]
            raw = verify_rate(store, agent, nbytes)
            store.compact(agent)  # type: ignore[attr-defined]
            rate = verify_rate(store, agent, nbytes)
            note = f"  (without segments {raw:.1f} MB/s)"
            if jsonl_verify:
                note += f"; JSONL/S3 = {jsonl_verify / rate:.1f}x"
        print(f"{kind:9} {one:11.0f} {same:10.0f} {many:10.0f} {rate:12.1f}{note}")


if __name__ == "__main__":
    main()
