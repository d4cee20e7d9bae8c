"""SPEC section 8's stdlib-only Python example runs, and is right on every pixel of the chain
vectors, including pixels whose context holds a member named `hash` (SPEC 4.1)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def spec_example() -> str:
    spec = (ROOT / "docs" / "SPEC.md").read_text(encoding="utf-8")
    section = spec[spec.index("## 8. Worked example") : spec.index("## 9. Diff")]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no Python example in SPEC section 8"
    return match.group(1)


def test_the_example_verifies_every_vector_pixel(tmp_path) -> None:
    chains = json.loads((ROOT / "tests" / "vectors" / "chains.json").read_text(encoding="utf-8"))
    lines = [line for c in chains["chains"] for line in c["jsonl"].splitlines()]
    nested = next(c for c in chains["chains"] if c["name"] == "nested-hash-members")
    assert '"variables":{"hash":"sha256:' in nested["jsonl"]
    script = tmp_path / "example.py"
    script.write_text(spec_example(), encoding="utf-8")
    for line in lines:
        (tmp_path / "pixel.json").write_text(line + "\n", encoding="utf-8")
        done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True)
        assert done.returncode == 0, (line[:80], done.stderr)


def test_the_example_catches_an_edit_of_a_nested_hash(tmp_path) -> None:
    chains = json.loads((ROOT / "tests" / "vectors" / "chains.json").read_text(encoding="utf-8"))
    nested = next(c for c in chains["chains"] if c["name"] == "nested-hash-members")
    line = nested["jsonl"].splitlines()[0].replace("00112233", "99112233", 1)
    (tmp_path / "pixel.json").write_text(line, encoding="utf-8")
    (tmp_path / "example.py").write_text(spec_example(), encoding="utf-8")
    done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True)
    assert done.returncode != 0
    assert b"AssertionError" in done.stderr


def test_the_old_regex_was_wrong_on_nested_hash_members() -> None:
    # What SPEC 8 used to say: remove the first "hash" member. It removes the nested one.
    import hashlib

    chains = json.loads((ROOT / "tests" / "vectors" / "chains.json").read_text(encoding="utf-8"))
    nested = next(c for c in chains["chains"] if c["name"] == "nested-hash-members")
    line = nested["jsonl"].splitlines()[0]
    body = re.sub(r'"hash":"sha256:[0-9a-f]{64}",', "", line, count=1)
    digest = hashlib.sha256(b"tokenpixel/v1/pixel\0" + body.encode()).hexdigest()
    assert json.loads(line)["hash"] != "sha256:" + digest
