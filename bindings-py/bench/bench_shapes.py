"""Python emit and verify on the shared workload shapes (../shared/bench/workload.py: `agent`,
`text`, `numeric`), against what a Python user would write by hand, measured side by side:

  (a) `rfc8785` + hashlib: correct RFC 8785, pure Python;
  (b) `orjson` with sorted keys + hashlib: fast, not RFC 8785 (numbers and strings differ), the
      speed a user gets by giving up cross-language hashes; it does the same two hashes
      (state surface and pixel) and the link check per pixel.

    python bindings-py/bench/bench_shapes.py [N]     (default 20000 pixels per shape)

Prints per-pixel times and the ratios the speed issue tracks (verify vs (b) >= 2x, vs (a)
>= 25x; emit vs (a) >= 20x), for verification on one thread and with `jobs=0` (one thread per
core). `sha us` is the floor of any implementation: hashlib's SHA-256 (OpenSSL, SHA
instructions) over the two preimages a pixel's hashes cover, nothing else; `floor/(a)` is the
best emit ratio against (a) that hashing alone allows. A benchmark, not a test: nothing is
asserted about speed.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import orjson
import rfc8785

import tokenpixel as tp

WORKLOAD = Path(__file__).resolve().parents[3] / "shared" / "bench" / "workload.py"
PIXEL_TAG = b"tokenpixel/v1/pixel\0"
STATE_TAG = b"tokenpixel/v1/state\0"
SURFACE = ("autonomyIndex", "context", "intentHash", "state", "stateVector")
GENESIS = "sha256:" + "0" * 64
FIELDS = {
    "state": ("state", {}),
    "context": ("context", None),
    "stateVector": ("state_vector", {}),
    "autonomyIndex": ("autonomy_index", 0),
    "intentHash": ("intent_hash", None),
    "eventDelta": ("event_delta", 0),
}


def rows(shape: str, n: int) -> list[dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, str(WORKLOAD), "--shape", shape, str(n)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines()]


def digest(tag: bytes, body: bytes) -> str:
    return "sha256:" + hashlib.sha256(tag + body).hexdigest()


def ritual_emit(dumps: Callable[[Any], bytes], steps: list[dict[str, Any]]) -> list[bytes]:
    prev, out = GENESIS, []
    for i, s in enumerate(steps):
        pixel = {
            "agentId": "bench",
            "corridor": s["corridor"],
            "prevHash": prev,
            "schema": 1,
            "seq": i,
            "sessionId": "s",
            "timestampMs": s["timestampMs"],
            **{k: s.get(k, default) for k, (_, default) in FIELDS.items()},
        }
        pixel["stateHash"] = digest(STATE_TAG, dumps({k: pixel[k] for k in SURFACE}))
        pixel["hash"] = prev = digest(PIXEL_TAG, dumps(pixel))
        out.append(dumps(pixel))
    return out


def ritual_verify(loads: Callable[[bytes], Any], dumps: Callable[[Any], bytes], data: bytes) -> int:
    prev, count = GENESIS, 0
    for line in data.splitlines():
        pixel = loads(line)
        stored = pixel.pop("hash")
        if digest(PIXEL_TAG, dumps(pixel)) != stored:
            raise ValueError(f"hash mismatch at {count}")
        if digest(STATE_TAG, dumps({k: pixel[k] for k in SURFACE})) != pixel["stateHash"]:
            raise ValueError(f"stateHash mismatch at {count}")
        if pixel["prevHash"] != prev or pixel["seq"] != count:
            raise ValueError(f"broken link at {count}")
        prev, count = stored, count + 1
    return count


def preimages(data: bytes) -> list[tuple[bytes, bytes]]:
    """Each pixel's two preimages (line less `hash`, state surface), cut out once."""
    out = []
    for line in data.splitlines():
        pixel = orjson.loads(line)
        start = line.index(b'"hash":')
        pixel_pre = PIXEL_TAG + line[:start] + line[start + 7 + 73 + 1 :]
        state = rfc8785.dumps({k: pixel[k] for k in SURFACE})
        out.append((pixel_pre, STATE_TAG + state))
    return out


def floor(pre: list[tuple[bytes, bytes]]) -> None:
    """SHA-256 over each pixel's two preimages and nothing else: the floor of any emitter or
    verifier of these pixels."""
    for pixel_pre, state_pre in pre:
        hashlib.sha256(pixel_pre).digest()
        hashlib.sha256(state_pre).digest()


def tp_emit(steps: list[dict[str, Any]]) -> bytes:
    chain = tp.Chain("bench", "s")
    out = []
    for s in steps:
        fields = {py: s.get(k, default) for k, (py, default) in FIELDS.items()}
        pixel = chain.emit(s["corridor"], timestamp_ms=s["timestampMs"], **fields)
        out.append(pixel.to_json() + "\n")
    return "".join(out).encode()


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            t = time.perf_counter()
            result = fn()
            best = min(best, time.perf_counter() - t)
        finally:
            gc.enable()
    return best, result


def jcs(obj: Any) -> bytes:
    return rfc8785.dumps(obj)


def sorted_orjson(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def main(n: int = 20_000) -> None:
    print(f"Python, {n} pixels per shape; times per pixel; ratios: higher is better for us")
    cores = os.cpu_count() or 1
    print(
        f"{'shape':8} {'bytes':>6} {'sha us':>7} {'emit us':>8} {'verify us':>10} {'-j us':>6} "
        f"{'emit/(a)':>9} {'floor/(a)':>10} {'verify/(a)':>11} {'verify/(b)':>11} "
        f"{'-j/(a)':>7} {'-j/(b)':>7}"
    )
    for shape in ("agent", "text", "numeric"):
        steps = rows(shape, n)
        t_emit, data = timed(lambda steps=steps: tp_emit(steps))
        k = min(n, 2000)  # the pure-Python baseline on a slice, scaled
        assert ritual_emit(jcs, steps[:50]) == data.splitlines()[:50], "rfc8785 disagrees"
        t_a_emit, _ = timed(lambda head=steps[:k]: ritual_emit(jcs, head))
        t_a_emit *= n / k
        t_verify, report = timed(lambda data=data: tp.verify_jsonl(data), repeat=5)
        assert report.ok and report.count == n
        t_jobs, report = timed(lambda data=data: tp.verify_jsonl(data, jobs=0), repeat=5)
        assert report.ok and report.count == n
        pre = preimages(data)
        t_sha, _ = timed(lambda pre=pre: floor(pre))
        data_k = b"".join(line + b"\n" for line in data.splitlines()[:k])
        t_a_verify, _ = timed(lambda d=data_k: ritual_verify(json.loads, jcs, d))
        t_a_verify *= n / k
        data_b = b"\n".join(ritual_emit(sorted_orjson, steps)) + b"\n"
        t_b_verify, count = timed(lambda d=data_b: ritual_verify(orjson.loads, sorted_orjson, d))
        assert count == n
        us = 1e6 / n
        print(
            f"{shape:8} {len(data) // n:6d} {t_sha * us:7.2f} {t_emit * us:8.2f} "
            f"{t_verify * us:10.2f} {t_jobs * us:6.2f} "
            f"{t_a_emit / t_emit:8.1f}x {t_a_emit / t_sha:9.1f}x "
            f"{t_a_verify / t_verify:10.1f}x {t_b_verify / t_verify:10.2f}x "
            f"{t_a_verify / t_jobs:6.1f}x {t_b_verify / t_jobs:6.2f}x"
        )
    print(f"-j: verify_jsonl(data, jobs=0), {cores} threads here")
    print("goals: emit/(a) >= 20x, verify/(a) >= 25x, verify/(b) >= 2x on every shape")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
