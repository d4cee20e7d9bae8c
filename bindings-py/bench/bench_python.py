"""Emit and verify throughput of tokenpixel against what a Python user would write by hand.

Baselines, each doing the same work per pixel (state hash, pixel hash, link check):
  (a) pure-Python RFC 8785 (`rfc8785`) + hashlib: correct JCS, slow;
  (b) orjson with sorted keys + hashlib: fast, but NOT JCS (number and string forms differ),
      so its hashes would not match other languages. It is the speed a user could get by
      giving up correctness.

Usage: python bindings-py/bench/bench_python.py [N]   (default 100000 pixels of about 1 KB)
"""

from __future__ import annotations

import gc
import hashlib
import json
import sys
import time
from typing import Any, Callable

import orjson
import rfc8785

import tokenpixel as tp

T0 = 1_763_900_000_000
PIXEL_TAG = b"tokenpixel/v1/pixel\0"
STATE_TAG = b"tokenpixel/v1/state\0"
SURFACE = ("autonomyIndex", "context", "intentHash", "state", "stateVector")
CORRIDORS = [
    "DISTRICT_1.CHAMBER_0.NODE_POST",
    "DISTRICT_2.CHAMBER_LORA.NODE_POST",
    "DISTRICT_3.CHAMBER_ROUTER.NODE_POST",
    "DISTRICT_4.CHAMBER_EXEC.NODE_POST",
    "DISTRICT_5.CHAMBER_DEPLOY.NODE_POST",
]


def state_for(i: int) -> dict[str, Any]:
    return {
        "step": i,
        "documents": [f"doc-{i}-a", f"doc-{i}-b", f"doc-{i}-c"],
        "summary": "Ingested three documents; routed intent to the execution chamber; "
        f"model drift within bounds. Step {i}.",
        "metrics": {
            "latencyMs": 100 + i % 900,
            "tokens": 1000 + i * 7 % 5000,
            "score": (i % 1000) / 1000,
            "drift": 0.0125,
        },
        "routing": {
            "chamber": "EXEC",
            "candidates": ["EXEC", "DEPLOY", "REVIEW"],
            "confidence": 0.875,
        },
        "artifacts": [
            {
                "name": f"model-{i}.bin",
                "bytes": 1_000_000 + i,
                "sha": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            }
        ],
        "notes": "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
        "incididunt ut labore et dolore magna aliqua.",
    }


def digest(tag: bytes, body: bytes) -> str:
    return "sha256:" + hashlib.sha256(tag + body).hexdigest()


def make_emit(dumps: Callable[[Any], bytes]):
    """A hand-written emitter over a given serializer."""

    def emit(states: list[dict[str, Any]]) -> list[bytes]:
        prev = "sha256:" + "0" * 64
        out = []
        for i, state in enumerate(states):
            pixel: dict[str, Any] = {
                "agentId": "bench-agent",
                "autonomyIndex": 0.75,
                "context": None,
                "corridor": CORRIDORS[i % 5],
                "eventDelta": 0,
                "intentHash": None,
                "prevHash": prev,
                "schema": 1,
                "seq": i,
                "sessionId": "bench-session",
                "state": state,
                "stateVector": {},
                "timestampMs": T0 + i,
            }
            pixel["stateHash"] = digest(STATE_TAG, dumps({k: pixel[k] for k in SURFACE}))
            pixel["hash"] = prev = digest(PIXEL_TAG, dumps(pixel))
            out.append(dumps(pixel))
        return out

    return emit


def make_verify(loads: Callable[[bytes], Any], dumps: Callable[[Any], bytes]):
    """A hand-written verifier: per line, parse, recompute both hashes, check the link."""

    def verify(data: bytes) -> int:
        prev = "sha256:" + "0" * 64
        count = 0
        for line in data.splitlines():
            pixel = loads(line)
            stored = pixel.pop("hash")
            if digest(PIXEL_TAG, dumps(pixel)) != stored:
                raise ValueError(f"hash mismatch at {count}")
            if digest(STATE_TAG, dumps({k: pixel[k] for k in SURFACE})) != pixel["stateHash"]:
                raise ValueError(f"stateHash mismatch at {count}")
            if pixel["prevHash"] != prev or pixel["seq"] != count:
                raise ValueError(f"broken link at {count}")
            prev = stored
            count += 1
        return count

    return verify


def jcs_dumps(obj: Any) -> bytes:
    return rfc8785.dumps(obj)


def orjson_dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Best of `repeat` runs, with the cyclic GC paused as `timeit` does (otherwise full
    collections over the 100,000 prepared states dominate every contender's time)."""
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


def main(n: int = 100_000) -> None:
    states = [state_for(i) for i in range(n)]

    def tp_emit() -> bytes:
        chain = tp.Chain("bench-agent", "bench-session")
        return b"".join(
            (
                chain.emit(
                    CORRIDORS[i % 5], state=s, timestamp_ms=T0 + i, autonomy_index=0.75
                ).to_json()
                + "\n"
            ).encode()
            for i, s in enumerate(states)
        )

    t_tp_emit, data = timed(tp_emit, repeat=3)
    mb = len(data) / 1e6
    print(f"chain: {n} pixels, {mb:.1f} MB, {len(data) / n:.0f} bytes per line")

    t_tp_verify, report = timed(lambda: tp.verify_jsonl(data), repeat=5)
    assert report.ok and report.count == n, report.error

    # The JCS baseline must agree with tokenpixel byte for byte: it is the same format.
    jcs_lines = make_emit(jcs_dumps)(states[:200])
    ours = data.splitlines()[:200]
    assert jcs_lines == ours, "rfc8785 baseline disagrees with tokenpixel"

    # The slow pure-Python baseline runs on a slice; all figures are per pixel, best of 3.
    k = min(n, 10_000)
    scale = n / k
    data_k = b"".join(line + b"\n" for line in data.splitlines()[:k])
    t_a_emit, lines_a = timed(lambda: make_emit(jcs_dumps)(states[:k]), repeat=3)
    t_a_emit *= scale
    t_b_emit, lines_b = timed(lambda: make_emit(orjson_dumps)(states), repeat=3)
    data_b = b"\n".join(lines_b) + b"\n"
    t_a_verify, count_a = timed(lambda: make_verify(json.loads, jcs_dumps)(data_k), repeat=3)
    t_a_verify *= scale
    t_b_verify, count_b = timed(lambda: make_verify(orjson.loads, orjson_dumps)(data_b), repeat=3)
    assert count_a == k and count_b == n and len(lines_a) == k

    def row(name: str, seconds: float) -> str:
        return f"{name:<34} {seconds * 1e6 / n:9.2f} us/pixel {mb / seconds:9.1f} MB/s"

    print("\nemit (build, hash and link a pixel; tokenpixel includes dict conversion)")
    print(row("tokenpixel Chain.emit", t_tp_emit))
    print(row("(a) rfc8785 + hashlib", t_a_emit))
    print(row("(b) orjson sorted + hashlib", t_b_emit))
    print("\nverify (parse, recompute both hashes, check links)")
    print(row("tokenpixel verify_jsonl", t_tp_verify))
    print(row("(a) rfc8785 + hashlib", t_a_verify))
    print(row("(b) orjson sorted + hashlib", t_b_verify))
    print("\nratios (higher is better for tokenpixel)")
    print(
        f"emit:   {t_a_emit / t_tp_emit:6.1f}x (a)   {t_b_emit / t_tp_emit:6.2f}x (b)"
        "   goal: >= 20x (a)"
    )
    print(
        f"verify: {t_a_verify / t_tp_verify:6.1f}x (a)   {t_b_verify / t_tp_verify:6.2f}x (b)"
        "   goals: >= 25x (a), >= 2x (b)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
