"""`tokenpixel hooks install`: a git post-commit hook that records a checkpoint per commit.

Idempotent; it never overwrites a hook of yours: our lines sit in a marked block right after
the hook's first line (so an `exit` further down cannot skip them), and `--uninstall` removes
only that block (and the file, when nothing of yours is left in it).
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Optional

BEGIN = "# >>> tokenpixel checkpoint >>>"
END = "# <<< tokenpixel checkpoint <<<"
SHEBANG = "#!/bin/sh"


def hook_path(repo: Path) -> Path:
    """The post-commit hook of `repo` (honours core.hooksPath)."""
    done = subprocess.run(
        ["git", "rev-parse", "--git-path", "hooks"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise ValueError(f"{repo} is not in a git repository: {done.stderr.strip()}")
    hooks = Path(done.stdout.strip())
    return (hooks if hooks.is_absolute() else repo / hooks) / "post-commit"


def block(store: str, agent: Optional[str]) -> str:
    cmd = [sys.executable, "-m", "tokenpixel", "--store", store]
    if agent:
        cmd += ["--agent", agent]
    line = " ".join(shlex.quote(c) for c in cmd)
    return (
        f"{BEGIN}\n"
        f'{line} now --notes "commit $(git rev-parse --short HEAD)" >/dev/null || true\n'
        f"{END}\n"
    )


def _without_block(text: str) -> str:
    start = text.find(BEGIN)
    if start < 0:
        return text
    end = text.find(END, start)
    end = len(text) if end < 0 else end + len(END)
    if text[end : end + 1] == "\n":
        end += 1
    return text[:start] + text[end:]


def install(repo: Path, store: str, agent: Optional[str]) -> str:
    path = hook_path(repo)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in text:
        return f"already installed in {path}"
    if not text:
        text = f"{SHEBANG}\n"
    first, _, rest = text.partition("\n")
    if first.startswith("#!"):
        text = first + "\n" + block(store, agent) + rest
    else:
        text = block(store, agent) + text
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return f"installed in {path}"


def uninstall(repo: Path) -> str:
    path = hook_path(repo)
    if not path.exists() or BEGIN not in path.read_text(encoding="utf-8"):
        return f"not installed in {path}"
    rest = _without_block(path.read_text(encoding="utf-8"))
    if rest.strip() in ("", SHEBANG):
        os.unlink(path)
        return f"removed {path}"
    path.write_text(rest, encoding="utf-8")
    return f"removed the tokenpixel lines from {path}"
