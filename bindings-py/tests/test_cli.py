"""The `tokenpixel` command line, run as a subprocess, exit codes included."""

import json
import subprocess

from conftest import PYTHON

import tokenpixel as tp


def run(args, cwd, env, expect=0):
    proc = subprocess.run(
        [PYTHON, "-m", "tokenpixel", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert proc.returncode == expect, (args, proc.returncode, proc.stdout, proc.stderr)
    return proc


def test_now_list_load_show_prune_verify(tmp_path, cli_env):
    out = run(
        ["now", "--notes", "Phase 5 start", "--var", "target_env", "prod", "--var", "n", "5"],
        tmp_path,
        cli_env,
    )
    assert "created checkpoint" in out.stdout
    for i in range(4):
        run(
            [
                "now",
                "--var",
                "step",
                str(i),
                "--corridor",
                f"DISTRICT_{i + 1}.CHAMBER_CLI.NODE_POST",
            ],
            tmp_path,
            cli_env,
        )
    listing = run(["list"], tmp_path, cli_env).stdout
    assert "DISTRICT_4.CHAMBER_CLI.NODE_POST" in listing and "Phase 5 start" in listing
    data = json.loads(run(["list", "--limit", "2", "--json"], tmp_path, cli_env).stdout)
    assert [p["seq"] for p in data] == [3, 4]
    latest = json.loads(run(["load", "--json"], tmp_path, cli_env).stdout)
    assert latest["seq"] == 4
    assert latest["context"]["variables"] == {"target_env": "prod", "n": 5, "step": 3}
    assert latest["context"]["notes"] == "Phase 5 start"
    first_id = data[0]["hash"][7:19]
    shown = run(["show", first_id], tmp_path, cli_env).stdout
    assert "seq 3" in shown and data[0]["hash"] in shown
    assert "seq 0" in run(["load", "0"], tmp_path, cli_env).stdout
    verified = json.loads(run(["verify", "--json"], tmp_path, cli_env).stdout)
    assert verified["ok"] and verified["results"][0]["count"] == 5
    pruned = json.loads(run(["prune", "--keep", "2", "--json"], tmp_path, cli_env).stdout)
    assert pruned["removed"] == 3 and pruned["anchor"].startswith("sha256:")
    assert "OK" in run(["verify"], tmp_path, cli_env).stdout
    # The pruned file alone needs its anchor, found beside it.
    assert "OK" in run(["verify", ".checkpoints/pixels_cli-agent.jsonl"], tmp_path, cli_env).stdout


def test_verify_exit_codes_and_tampering(tmp_path, cli_env):
    store = tp.JsonlStore(tmp_path / "s")
    cp = tp.Checkpointer(store, "agent-v")
    for i in range(6):
        cp.emit("DISTRICT_1.CHAMBER_0.NODE_POST", state={"i": i, "word": "alpha"})
    path = store.path("agent-v")
    run(["verify", str(path)], tmp_path, cli_env, expect=0)
    run(["--store", str(tmp_path / "s"), "verify"], tmp_path, cli_env, expect=0)
    run(["verify", "--store", str(tmp_path / "s")], tmp_path, cli_env, expect=0)
    data = path.read_bytes()
    lines = data.split(b"\n")
    third = len(lines[0]) + len(lines[1]) + 2  # first byte of pixel 2
    bad = bytearray(data)
    bad[third + data[third:].index(b"alpha") + 2] ^= 0x01  # 'alpha' -> 'al`ha'-like edit
    path.write_bytes(bytes(bad))
    out = run(["verify", str(path)], tmp_path, cli_env, expect=1).stdout
    assert "pixel 2 (line 3)" in out and "HASH_MISMATCH" in out
    report = json.loads(run(["verify", str(path), "--json"], tmp_path, cli_env, expect=1).stdout)
    err = report["results"][0]["error"]
    assert (err["code"], err["index"], err["line"]) == ("HASH_MISMATCH", 2, 3)


def test_usage_errors_exit_2(tmp_path, cli_env):
    run(["verify", str(tmp_path / "missing.jsonl")], tmp_path, cli_env, expect=2)
    run(["verify", "--store", str(tmp_path / "nowhere")], tmp_path, cli_env, expect=2)
    run(["frobnicate"], tmp_path, cli_env, expect=2)
    run(["list", "--limit", "x"], tmp_path, cli_env, expect=2)
    run(["load"], tmp_path, cli_env, expect=2)  # no checkpoints yet
    run(["now", "--corridor", "NOT_A_CORRIDOR"], tmp_path, cli_env, expect=2)
    run(["now"], tmp_path, cli_env)
    run(["show", "ffffffffffff"], tmp_path, cli_env, expect=2)
    assert "tokenpixel" in run(["--version"], tmp_path, cli_env).stdout


def test_console_script_is_installed(tmp_path, cli_env):
    import shutil
    from pathlib import Path

    script = shutil.which("tokenpixel") or str(Path(PYTHON).parent / "tokenpixel")
    proc = subprocess.run([script, "--help"], capture_output=True, text=True, env=cli_env)
    assert proc.returncode == 0 and "verify" in proc.stdout


def test_verify_jobs(tmp_path, cli_env):
    """--jobs N checks one chain's lines on N threads: the same result; below 1 is a usage error."""
    store = tp.JsonlStore(tmp_path / "s")
    cp = tp.Checkpointer(store, "agent-j")
    for i in range(400):
        cp.emit("DISTRICT_1.CHAMBER_0.NODE_POST", state={"i": i, "pad": "x" * 1000})
    path = store.path("agent-j")
    for jobs in ("1", "2"):
        out = run(["verify", str(path), "--jobs", jobs], tmp_path, cli_env, expect=0).stdout
        assert "400 pixels" in out
    data = bytearray(path.read_bytes())
    data[data.index(b'"i":300,') + 20] = ord("y")
    path.write_bytes(bytes(data))
    for jobs in ("1", "2"):
        out = run(["verify", str(path), "--jobs", jobs], tmp_path, cli_env, expect=1).stdout
        assert "pixel 300 (line 301)" in out and "HASH_MISMATCH" in out
    run(["verify", str(path), "--jobs", "0"], tmp_path, cli_env, expect=2)
