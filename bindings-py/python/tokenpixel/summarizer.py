"""Context for sub-agents and new sessions, as in the checkpoint skill: summaries that name
the pixel they came from, and an opt-in restore of checkpoint variables into the environment."""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from typing import Optional

from tokenpixel._native import TokenPixel, summarize


class ContextSummarizer:
    """`ContextSummarizer(pixel).for_subagent("terraform", max_tokens=1000)`."""

    def __init__(self, pixel: TokenPixel):
        self.pixel = pixel

    def for_subagent(
        self,
        task: str,
        relevant_keys: Optional[list[str]] = None,
        max_tokens: Optional[int] = None,
        level: str = "compact",
    ) -> str:
        """A task-focused summary within `max_tokens` (estimated), naming the source hash."""
        return summarize(
            self.pixel, level, for_task=task, relevant_keys=relevant_keys, max_tokens=max_tokens
        ).text

    def minimal_summary(self) -> str:
        return summarize(self.pixel, "minimal").text

    def compact_summary(self) -> str:
        return summarize(self.pixel, "compact").text

    def standard_summary(self) -> str:
        return summarize(self.pixel, "standard").text

    def full_summary(self) -> str:
        return summarize(self.pixel, "full").text


def restore_env(
    pixel: TokenPixel,
    prefix: str = "CKPT_",
    environ: Optional[MutableMapping[str, str]] = None,
) -> dict[str, str]:
    """Opt-in: sets `CKPT_<KEY>` for each context variable of `pixel` (strings as they are,
    other values as JSON) in `environ` (default `os.environ`). Returns what was set."""
    target = os.environ if environ is None else environ
    variables = (pixel.context or {}).get("variables") or {}
    out: dict[str, str] = {}
    for key, value in variables.items():
        name = prefix + "".join(c if c.isalnum() else "_" for c in key).upper()
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        target[name] = text
        out[name] = text
    return out
