"""The demo chain verifies, any byte change is caught at the right pixel, and the README's
Python examples run."""

import os
import re
import runpy
import subprocess

from conftest import PYTHON, ROOT, run_demo

import tokenpixel as tp


def test_demo_chain_detects_every_byte_change(tmp_path, cli_env):
    store_dir = tmp_path / ".checkpoints"
    run_demo(store_dir, cli_env)
    path = store_dir / "pixels_demo-agent.jsonl"
    data = path.read_bytes()
    report = tp.verify_jsonl(data)
    assert report.ok and report.count == 10
    corridors = [tp.TokenPixel.from_json(line).corridor for line in data.decode().splitlines()]
    assert corridors[0] == "DISTRICT_1.CHAMBER_0.NODE_PRE"
    assert corridors[-1] == "DISTRICT_5.CHAMBER_DEPLOY.NODE_POST"
    assert len({c.split(".")[0] for c in corridors}) == 5
    # Every byte, every other value: verification fails at the pixel holding that byte.
    for pos in range(len(data)):
        line = data.count(b"\n", 0, pos)
        for new in {data[pos] ^ 0x01, 0x20, 0x0A}:
            if new == data[pos]:
                continue
            bad = bytearray(data)
            bad[pos] = new
            r = tp.verify_jsonl(bytes(bad))
            assert not r.ok and r.error.index == line, (pos, new, r)
    # And through the command line, for a sample of positions.
    for pos in range(0, len(data), len(data) // 12):
        line = data.count(b"\n", 0, pos)
        bad = bytearray(data)
        bad[pos] ^= 0x02
        path.write_bytes(bytes(bad))
        proc = subprocess.run(
            [PYTHON, "-m", "tokenpixel", "verify", str(path)],
            capture_output=True,
            text=True,
            env=cli_env,
        )
        assert proc.returncode == 1, proc.stdout
        assert f"pixel {line} (line {line + 1})" in proc.stdout
    path.write_bytes(data)


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.S)


def test_readme_python_examples_run(tmp_path, monkeypatch):
    blocks = python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert blocks, "the README has no Python example"
    monkeypatch.chdir(tmp_path)
    for i, block in enumerate(blocks):
        script = tmp_path / f"readme_{i}.py"
        script.write_text(block, encoding="utf-8")
        runpy.run_path(str(script), run_name="__main__")


def test_package_readme_example_runs(tmp_path, monkeypatch):
    blocks = python_blocks((ROOT / "bindings-py" / "README.md").read_text(encoding="utf-8"))
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "bindings-py/README.md", "exec"), {})


def test_stub_matches_the_extension():
    proc = subprocess.run(
        [PYTHON, "-m", "mypy.stubtest", "tokenpixel._native", "--ignore-missing-stub"],
        capture_output=True,
        text=True,
        cwd=os.path.dirname(__file__),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
