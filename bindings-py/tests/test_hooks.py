"""`tokenpixel hooks install`: a checkpoint per commit, idempotent, never a user's hook lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import tokenpixel as tp


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path) -> Path:
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "t@example.invalid")
    git(tmp_path, "config", "user.name", "t")
    return tmp_path


def cli(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TOKENPIXEL_AGENT"}
    return subprocess.run(
        [sys.executable, "-m", "tokenpixel", "--agent", "repo-agent", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
    )


def commit(repo: Path, name: str) -> None:
    (repo / name).write_text(name)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", f"add {name}")


def test_install_is_idempotent_and_checkpoints_each_commit(repo) -> None:
    assert cli(repo, "hooks", "install").returncode == 0
    again = cli(repo, "hooks", "install")
    assert again.returncode == 0 and "already installed" in again.stdout
    hook = repo / ".git" / "hooks" / "post-commit"
    assert hook.read_text().count("tokenpixel checkpoint >>>") == 1
    commit(repo, "a.txt")
    commit(repo, "b.txt")
    store = tp.JsonlStore(repo / ".checkpoints")
    pixels = store.list("repo-agent")
    assert len(pixels) == 2
    assert pixels[1].context["notes"].startswith("commit ")
    assert store.verify("repo-agent").ok
    out = cli(repo, "hooks", "install", "--uninstall")
    assert out.returncode == 0 and "removed" in out.stdout
    assert not hook.exists()


def test_a_users_hook_is_kept_and_still_runs(repo) -> None:
    hook = repo / ".git" / "hooks" / "post-commit"
    hook.write_text("#!/bin/sh\necho mine >> hook.log\nexit 0\n")
    hook.chmod(0o755)
    assert cli(repo, "hooks", "install").returncode == 0
    commit(repo, "a.txt")
    assert (repo / "hook.log").read_text() == "mine\n"
    assert len(tp.JsonlStore(repo / ".checkpoints").list("repo-agent")) == 1  # before the exit
    assert cli(repo, "hooks", "install", "--uninstall").returncode == 0
    assert hook.read_text() == "#!/bin/sh\necho mine >> hook.log\nexit 0\n"


def test_outside_a_repository_is_a_usage_error(tmp_path) -> None:
    out = cli(tmp_path, "hooks", "install")
    assert out.returncode == 2
    assert "not in a git repository" in out.stderr
