"""The example GitHub Actions pipeline runs here, job by job (issue 10): each job's `run:` steps
in order, with GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, job outputs wired through `needs`,
and artifact passing emulated by copying `.checkpoints/`. Deleting the last pixel between two
jobs makes the next job fail."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Optional

import yaml

import tokenpixel as tp

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "github-actions" / "agentic-pipeline.yml"
EXPR = re.compile(r"\$\{\{\s*(needs|steps)\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}")


def outputs_of(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def run_workflow(
    tmp_path: Path, tamper: Optional[Callable[[str, Path], None]] = None
) -> tuple[dict, Optional[tuple[str, str]]]:
    """Runs every job; returns (job outputs, the (job, step) that failed, if any)."""
    wf = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    artifacts: dict[str, Path] = {}
    job_outputs: dict[str, dict[str, str]] = {}
    bin_dir = str(Path(sys.executable).parent)
    for name, job in wf["jobs"].items():
        ws = tmp_path / name
        ws.mkdir()
        step_outputs: dict[str, dict[str, str]] = {}

        def expand(text: str, step_outputs=step_outputs) -> str:
            def sub(m: re.Match) -> str:
                kind, ref, key = m.groups()
                table = job_outputs if kind == "needs" else step_outputs
                return table[ref][key]

            return EXPR.sub(sub, text)

        env = {
            **os.environ,
            **{k: str(v) for k, v in wf["env"].items()},
            "GITHUB_ACTIONS": "true",
            "GITHUB_RUN_ID": "4242",
            "GITHUB_JOB": name,
            "GITHUB_STEP_SUMMARY": str(ws / "summary.md"),
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        }
        for i, step in enumerate(job["steps"]):
            uses = step.get("uses", "")
            if uses.startswith("actions/download-artifact"):
                shutil.copytree(artifacts[step["with"]["name"]], ws / ".checkpoints")
                if tamper is not None:
                    tamper(name, ws / ".checkpoints")
                continue
            if uses.startswith("actions/upload-artifact"):
                artifacts[step["with"]["name"]] = ws / ".checkpoints"
                continue
            if uses or step.get("id") == "install":  # checkout, setup-python; installed already
                continue
            out = ws / f"output-{i}"
            step_env = {k: expand(str(v)) for k, v in (step.get("env") or {}).items()}
            done = subprocess.run(
                ["bash", "-e", "-c", step["run"]],
                cwd=ws,
                env={**env, **step_env, "GITHUB_OUTPUT": str(out)},
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                return job_outputs, (name, step.get("name", step["run"]))
            if "id" in step:
                step_outputs[step["id"]] = outputs_of(out)
        job_outputs[name] = {k: expand(v) for k, v in (job.get("outputs") or {}).items()}
    return job_outputs, None


def test_the_workflow_is_safe_to_read() -> None:
    wf = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert wf["permissions"] == {}
    for job in wf["jobs"].values():
        assert job["permissions"] == {"contents": "read"}
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), step  # values reach scripts through env
            uses = step.get("uses")
            if uses:
                assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", uses), uses  # pinned SHAs


def test_the_pipeline_runs_job_by_job_and_the_chain_verifies(tmp_path) -> None:
    outputs, failed = run_workflow(tmp_path)
    assert failed is None, failed
    final = tmp_path / "deployment" / ".checkpoints"
    store = tp.JsonlStore(final)
    report = store.verify("agentic-pipeline")
    assert (report.ok, report.count) == (True, 10)
    assert report.head == outputs["deployment"]["head"]
    corridors = [p.corridor for p in store.list("agentic-pipeline")]
    assert corridors[0] == "DISTRICT_1.CHAMBER_0.NODE_PRE"
    assert corridors[-1] == "DISTRICT_5.CHAMBER_DEPLOY.NODE_POST"
    assert {p.session_id for p in store.list("agentic-pipeline")} == {
        f"gh-4242-{job}" for job in ("ingestion", "lora", "routing", "execution", "deployment")
    }
    summary = (tmp_path / "lora" / "summary.md").read_text()
    assert "| seq | corridor |" in summary and "DISTRICT_2.CHAMBER_LORA.NODE_POST" in summary
    assert store.list("agentic-pipeline")[-1].state == {
        "artifact": "app-1.4.2.tgz",
        "targets": ["EDGE", "EU"],
    }


def test_a_truncated_artifact_stops_the_next_job(tmp_path) -> None:
    def drop_last_pixel(job: str, checkpoints: Path) -> None:
        if job == "routing":
            path = checkpoints / "pixels_agentic-pipeline.jsonl"
            lines = path.read_text().splitlines(keepends=True)
            path.write_text("".join(lines[:-1]))  # still a valid chain, one pixel short

    outputs, failed = run_workflow(tmp_path, drop_last_pixel)
    assert failed == ("routing", "Verify the chain so far")
    assert "routing" not in outputs and "deployment" not in outputs
