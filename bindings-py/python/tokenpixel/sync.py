"""Copying chains between stores (docs/SPEC.md 12.13): incremental, verified as it goes,
refusing a divergence, resumable by running it again."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Callable, Optional

from tokenpixel._native import TokenPixel, TokenPixelError
from tokenpixel.errors import NotFoundError
from tokenpixel.store import AnchorRecord, Store

BATCH = 500


@dataclass(frozen=True)
class SyncOutcome:
    """What `sync_chain` did: `status` is copied, up-to-date, prefix, diverged or failed."""

    agent: str
    status: str
    copied: int
    message: str

    @property
    def ok(self) -> bool:
        return self.status in ("copied", "up-to-date", "prefix")


def _latest(store: Store, agent: str) -> Optional[TokenPixel]:
    try:
        return store.latest(agent)
    except NotFoundError:
        return None


def _at(store: Store, agent: str, seq: int) -> Optional[TokenPixel]:
    try:
        return store.get(seq, agent)
    except NotFoundError:
        return None


def _diverged(agent: str, seq: int, src: Optional[TokenPixel], dst: Optional[TokenPixel]) -> str:
    def show(p: Optional[TokenPixel]) -> str:
        return p.hash if p is not None else "no pixel (pruned)"

    return f"diverged at seq {seq}: SRC has {show(src)}, DST has {show(dst)}"


def sync_chain(
    src: Store, dst: Store, agent: str, *, progress: Optional[Callable[[int, int], None]] = None
) -> SyncOutcome:
    """Copies agent's pixels that DST lacks from SRC, in batches, each append checked."""
    src_head = src.latest(agent)  # NOT_FOUND when SRC has no such chain
    if src_head is None:
        return SyncOutcome(agent, "up-to-date", 0, "SRC's chain is empty: nothing to copy")
    dst_head = _latest(dst, agent)
    start = None
    if dst_head is not None:
        if dst_head.seq >= src_head.seq:
            theirs = _at(dst, agent, src_head.seq)
            if theirs is not None and theirs.hash == src_head.hash:
                status = "up-to-date" if dst_head.seq == src_head.seq else "prefix"
                what = (
                    "DST ends at SRC's head"
                    if status == "up-to-date"
                    else (f"SRC is a prefix of DST (DST goes on to seq {dst_head.seq})")
                )
                return SyncOutcome(agent, status, 0, f"{what}: nothing to copy")
            return SyncOutcome(
                agent, "diverged", 0, _diverged(agent, src_head.seq, src_head, theirs)
            )
        ours = _at(src, agent, dst_head.seq)
        if ours is None or ours.hash != dst_head.hash:
            return SyncOutcome(agent, "diverged", 0, _diverged(agent, dst_head.seq, ours, dst_head))
        start = dst_head.seq + 1
    total = src_head.seq + 1 - (start or 0)
    copied = 0
    # An empty DST takes a pruned chain with its anchor record, frontier included (SPEC 12.7),
    # so signed heads still verify there.
    record = src.anchor_record(agent) if start is None else None
    batch: list[TokenPixel] = []
    try:
        for pixel in _pixels_from(src, agent, start):
            batch.append(pixel)
            if len(batch) == BATCH:
                copied += _write(dst, agent, batch, record if copied == 0 else None)
                batch = []
                if progress is not None:
                    progress(copied, total)
        if batch:
            copied += _write(dst, agent, batch, record if copied == 0 else None)
    except TokenPixelError as exc:
        if exc.code == "CHAIN_CONFLICT":
            return SyncOutcome(agent, "diverged", copied, f"DST changed during the copy: {exc}")
        code = getattr(exc, "code", "")
        return SyncOutcome(
            agent,
            "failed",
            copied,
            f"SRC's chain fails verification ({code}: {exc}); {copied} pixels copied before it",
        )
    end = _latest(dst, agent)
    if end is None or end.hash != src_head.hash:
        return SyncOutcome(agent, "diverged", copied, "SRC changed during the copy: run again")
    return SyncOutcome(agent, "copied", copied, f"copied {copied} pixels; DST ends at {end.hash}")


def _pixels_from(src: Store, agent: str, start: Optional[int]) -> Iterator[TokenPixel]:
    for line in src.lines(agent):
        pixel = TokenPixel.from_json(line)
        if start is None or pixel.seq >= start:
            yield pixel


def _write(dst: Store, agent: str, batch: list[TokenPixel], record: Optional[AnchorRecord]) -> int:
    with dst.transaction(agent) as tx:
        if record is not None:  # an empty DST takes a pruned chain with its anchor record
            tx.replace(batch, record[0], record[2])
        else:
            tx.extend(batch)
    return len(batch)


def terminal_progress(label: str) -> Optional[Callable[[int, int], None]]:
    """A progress line on stderr, when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        pct = int(100 * done / max(total, 1))
        sys.stderr.write(f"\rsyncing {label}: {done}/{total} pixels ({pct}%)")
        sys.stderr.flush()

    return show
