import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"


def _number(text: str):
    # As JSON.parse does: integers beyond 2^53 are doubles. (Python ints that large are
    # refused by tokenpixel, since they would not survive a trip through JavaScript.)
    n = int(text)
    return n if abs(n) <= 2**53 else float(text)


def load_vectors(name: str):
    return json.loads((VECTORS / name).read_text(encoding="utf-8"), parse_int=_number)


def run_steps(chain, steps):
    """Replays golden-vector emit steps on a Chain, returning the JSONL text."""
    out = []
    for s in steps:
        # Only the keys a step gives: a key given as null (context, intentHash) clears.
        names = {
            "timestampMs": "timestamp_ms",
            "state": "state",
            "context": "context",
            "autonomyIndex": "autonomy_index",
            "intentHash": "intent_hash",
            "eventDelta": "event_delta",
            "stateVector": "state_vector",
        }
        fields = {py: s[key] for key, py in names.items() if key in s}
        p = chain.emit(s["corridor"], **fields)
        out.append(p.to_json() + "\n")
    return "".join(out)


@pytest.fixture
def cli_env(tmp_path):
    env = dict(os.environ)
    env.pop("TOKENPIXEL_AGENT", None)
    env["PYTHONIOENCODING"] = "utf-8"
    return env


PYTHON = sys.executable


def run_demo(store_dir, env) -> None:
    """Runs the `make demo` pipeline (examples/python_agent.py) into `store_dir`."""
    subprocess.run(
        [PYTHON, str(ROOT / "examples" / "python_agent.py"), str(store_dir)],
        check=True,
        capture_output=True,
        env=env,
    )


@pytest.fixture(scope="session")
def servers():
    """The real PostgreSQL and S3 servers (tests/servers/servers.py). `make test` starts them
    once for every suite and passes their addresses in the environment; a bare `pytest`
    starts its own for the session."""
    if os.environ.get("TOKENPIXEL_TEST_PG") and os.environ.get("TOKENPIXEL_TEST_S3"):
        yield dict(os.environ)
        return
    sys.path.insert(0, str(ROOT / "tests" / "servers"))
    import servers as launcher

    state = launcher.start()
    env = launcher.env_of(state)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield dict(os.environ)
    finally:
        launcher.stop(state)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
