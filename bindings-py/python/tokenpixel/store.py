"""Host-side storage of pixel chains: append-only JSONL files or SQLite.

Both stores keep the exact canonical line of every pixel, so what is verified is what was
written. Appends check the link to the stored head under an exclusive lock, so two processes
never interleave lines or fork a chain. Pruning keeps the newest pixels and records the hash
they link to as the chain's trusted anchor, so the rest still verifies.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Union

from tokenpixel._native import (
    GENESIS_HASH,
    ArgumentError,
    ChainError,
    JsonlVerifier,
    TokenPixel,
    VerifyReport,
)

log = logging.getLogger("tokenpixel")

PixelKey = Union[int, str]
"""A pixel's seq (int) or its hash, with or without `sha256:`, or a unique hex prefix."""

CHUNK = 1 << 20


def _argument_error(message: str) -> ArgumentError:
    err = ArgumentError(message)
    err.code = "INVALID_ARGUMENT"
    err.reason = None
    return err


def _chain_error(code: str, message: str) -> ChainError:
    err = ChainError(message)
    err.code = code
    err.reason = None
    return err


@dataclass(frozen=True)
class Recovery:
    """What a store did about a torn last line left by a crash."""

    agent_id: str
    action: str  # "completed": the line was whole but lacked its newline; "moved": see `saved_to`
    byte_count: int
    saved_to: Optional[str] = None


class Store:
    """What every store offers. Methods taking `agent_id` default to the store's only agent."""

    def agents(self) -> list[str]:
        raise NotImplementedError

    def lines(self, agent_id: Optional[str] = None) -> Iterator[str]:
        """The stored canonical lines, oldest first."""
        raise NotImplementedError

    def anchor(self, agent_id: Optional[str] = None) -> Optional[str]:
        """The trusted hash the first stored pixel links to, if the chain was pruned."""
        raise NotImplementedError

    def locked(self, agent_id: str) -> contextlib.AbstractContextManager[None]:
        """An exclusive lock on one agent's chain, across processes."""
        raise NotImplementedError

    def _append_locked(self, pixel: TokenPixel) -> None:
        raise NotImplementedError

    def _prepare_locked(self, agent_id: str) -> None:
        """Called under the lock before reading the head for an append (crash recovery)."""

    def _replace_locked(self, agent_id: str, lines: list[str], anchor: Optional[str]) -> None:
        raise NotImplementedError

    def latest(self, agent_id: Optional[str] = None) -> Optional[TokenPixel]:
        raise NotImplementedError

    # -- shared behaviour -------------------------------------------------------------------

    def _agent(self, agent_id: Optional[str]) -> str:
        if agent_id is not None:
            return agent_id
        agents = self.agents()
        if len(agents) == 1:
            return agents[0]
        if not agents:
            raise _argument_error("the store is empty: no agent has checkpoints yet")
        raise _argument_error(f"the store holds several agents ({', '.join(agents)}): name one")

    def append(self, pixel: TokenPixel) -> None:
        """Appends a pixel; it must link to the stored head (else ChainError BROKEN_LINK)."""
        with self.locked(pixel.agent_id):
            self._prepare_locked(pixel.agent_id)
            self._append_locked(pixel)

    def _check_link(self, pixel: TokenPixel, head: Optional[TokenPixel], anchor: Optional[str]):
        expected = head.hash if head is not None else (anchor or GENESIS_HASH)
        if pixel.prev_hash != expected:
            raise _chain_error(
                "BROKEN_LINK",
                f"pixel seq {pixel.seq} links to {pixel.prev_hash}, but the stored head is "
                f"{expected}: another writer appended first, or the pixel is from another chain",
            )

    def __iter__(self) -> Iterator[TokenPixel]:
        return self.iter()

    def iter(self, agent_id: Optional[str] = None) -> Iterator[TokenPixel]:
        for line in self.lines(agent_id):
            yield TokenPixel.from_json(line)

    def list(self, agent_id: Optional[str] = None, limit: Optional[int] = None) -> list[TokenPixel]:
        """The newest `limit` pixels (all when None), oldest first."""
        if limit is not None and limit < 0:
            raise _argument_error("limit must be >= 0")
        window: deque[str] = deque(maxlen=limit)
        window.extend(self.lines(agent_id))
        return [TokenPixel.from_json(line) for line in window]

    def get(self, key: PixelKey, agent_id: Optional[str] = None) -> TokenPixel:
        """A pixel by seq, by hash or by a unique prefix of its hex digits. KeyError if none."""
        if isinstance(key, int) and not isinstance(key, bool):
            for line in self.lines(agent_id):
                p = TokenPixel.from_json(line)
                if p.seq == key:
                    return p
            raise KeyError(key)
        text = str(key).strip().lower()
        if text.startswith("sha256:"):
            text = text[7:]
        if text.isdigit() and len(text) < 12:
            return self.get(int(text), agent_id)
        if not text or any(c not in "0123456789abcdef" for c in text):
            raise _argument_error(f"{key!r} is neither a seq nor a hex hash prefix")
        found: list[TokenPixel] = []
        for line in self.lines(agent_id):
            p = TokenPixel.from_json(line)
            if p.hash[7:].startswith(text):
                found.append(p)
        if not found:
            raise KeyError(key)
        if len(found) > 1:
            raise _argument_error(f"{key!r} matches {len(found)} pixels: give more digits")
        return found[0]

    def verify(
        self,
        agent_id: Optional[str] = None,
        progress: Optional[Callable[[int], None]] = None,
    ) -> VerifyReport:
        """Verifies the stored chain (against its recorded anchor, if pruned)."""
        agent = self._agent(agent_id)
        verifier = JsonlVerifier(anchor=self.anchor(agent))
        done = 0
        for chunk in self.read_bytes_chunks(agent):
            verifier.feed(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done)
            if verifier.failed:
                break
        return verifier.finish()

    def read_bytes_chunks(self, agent_id: Optional[str] = None) -> Iterator[bytes]:
        """The stored chain as JSONL bytes, in chunks (what verification streams)."""
        for line in self.lines(agent_id):
            yield (line + "\n").encode("utf-8", errors="surrogateescape")

    def prune(self, keep: int, agent_id: Optional[str] = None) -> int:
        """Keeps the newest `keep` pixels; records the anchor. Returns how many were removed."""
        if keep < 1:
            raise _argument_error("keep must be at least 1 (the head is never pruned)")
        agent = self._agent(agent_id)
        with self.locked(agent):
            lines = list(self.lines(agent))
            if len(lines) <= keep:
                return 0
            kept = lines[-keep:]
            anchor = TokenPixel.from_json(kept[0]).prev_hash
            self._replace_locked(agent, kept, anchor)
            return len(lines) - keep


class JsonlStore(Store):
    """One append-only file per agent: `<directory>/pixels_<agent_id>.jsonl`.

    - `fsync=True` makes every append durable before it returns.
    - Appends take an exclusive lock (`fcntl.flock` on POSIX) so processes never interleave.
    - A torn last line (a crash mid-append) is repaired on the next append or `recover()`:
      a whole pixel missing its newline is completed; anything else is moved to
      `pixels_<agent>.jsonl.torn-<unix ms>` and reported in `recoveries`, never dropped.
    - Pruning rewrites the file atomically and records the anchor in `pixels_<agent>.anchor`.
    """

    def __init__(self, directory: Union[str, os.PathLike[str]], *, fsync: bool = False):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self.recoveries: list[Recovery] = []

    def path(self, agent_id: str) -> Path:
        return self.directory / f"pixels_{agent_id}.jsonl"

    def _anchor_path(self, agent_id: str) -> Path:
        return self.directory / f"pixels_{agent_id}.anchor"

    def agents(self) -> list[str]:
        return sorted(
            p.name[len("pixels_") : -len(".jsonl")] for p in self.directory.glob("pixels_*.jsonl")
        )

    @contextlib.contextmanager
    def locked(self, agent_id: str) -> Iterator[None]:
        lock_path = self.directory / f"pixels_{agent_id}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock(fd)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def anchor(self, agent_id: Optional[str] = None) -> Optional[str]:
        path = self._anchor_path(self._agent(agent_id))
        if not path.exists():
            return None
        value = json.loads(path.read_text(encoding="utf-8"))["anchor"]
        return str(value)

    def lines(self, agent_id: Optional[str] = None) -> Iterator[str]:
        path = self.path(self._agent(agent_id))
        if not path.exists():
            return
        with open(path, "rb") as f:
            for raw in f:
                yield raw.rstrip(b"\n").decode("utf-8", errors="surrogateescape")

    def read_bytes_chunks(self, agent_id: Optional[str] = None) -> Iterator[bytes]:
        path = self.path(self._agent(agent_id))
        if not path.exists():
            return
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk

    def latest(self, agent_id: Optional[str] = None) -> Optional[TokenPixel]:
        line = self._last_line(self.path(self._agent(agent_id)))
        return TokenPixel.from_json(line) if line else None

    @staticmethod
    def _last_line(path: Path) -> Optional[str]:
        """The last complete line, read backwards from the end (no full scan)."""
        if not path.exists():
            return None
        with open(path, "rb") as f:
            _, complete = _tail(f)
            return _line_before(f, complete)

    def recover(self, agent_id: Optional[str] = None) -> Optional[Recovery]:
        """Repairs a torn last line, if any (also done automatically before each append)."""
        agent = self._agent(agent_id)
        with self.locked(agent):
            return self._recover_locked(agent)

    def _recover_locked(self, agent_id: str) -> Optional[Recovery]:
        path = self.path(agent_id)
        if not path.exists():
            return None
        with open(path, "rb+") as f:
            end, cut = _tail(f)
            if cut == end:
                return None
            f.seek(cut)
            tail = f.read(end - cut)
            recovery: Optional[Recovery] = None
            previous = _line_before(f, cut)
            try:
                pixel = TokenPixel.from_json(tail.decode("utf-8"))
                whole = pixel.to_json().encode() == tail and (
                    (previous is None and pixel.seq == 0)
                    or (
                        previous is not None
                        and TokenPixel.from_json(previous).hash == pixel.prev_hash
                    )
                )
            except (ValueError, UnicodeDecodeError):
                whole = False
            if whole:
                f.seek(end)
                f.write(b"\n")
                recovery = Recovery(agent_id, "completed", len(tail))
            else:
                saved = path.with_name(f"{path.name}.torn-{int(time.time() * 1000)}")
                with open(saved, "wb") as out:
                    out.write(tail)
                    out.flush()
                    os.fsync(out.fileno())
                f.truncate(cut)
                recovery = Recovery(agent_id, "moved", len(tail), str(saved))
            f.flush()
            os.fsync(f.fileno())
        self.recoveries.append(recovery)
        log.warning("tokenpixel: recovered a torn last line in %s: %s", path, recovery)
        return recovery

    def _prepare_locked(self, agent_id: str) -> None:
        self._recover_locked(agent_id)

    def _append_locked(self, pixel: TokenPixel) -> None:
        agent = pixel.agent_id
        path = self.path(agent)
        self._check_link(pixel, self.latest(agent), self.anchor(agent))
        created = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            data = (pixel.to_json() + "\n").encode()
            written = os.write(fd, data)
            while written < len(data):  # a short write (rare): finish it
                written += os.write(fd, data[written:])
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        if created and self.fsync:
            _fsync_dir(self.directory)

    def _replace_locked(self, agent_id: str, lines: list[str], anchor: Optional[str]) -> None:
        path = self.path(agent_id)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            for line in lines:
                f.write(line.encode("utf-8", errors="surrogateescape") + b"\n")
            f.flush()
            os.fsync(f.fileno())
        anchor_tmp = self._anchor_path(agent_id).with_suffix(".anchor.tmp")
        first_seq = TokenPixel.from_json(lines[0]).seq if lines else None
        anchor_tmp.write_text(
            json.dumps(
                {"anchor": anchor, "firstSeq": first_seq, "prunedAtMs": int(time.time() * 1000)}
            )
            + "\n",
            encoding="utf-8",
        )
        # Anchor first: a crash between the renames leaves a longer chain with a newer
        # anchor, which fails loudly (ANCHOR_MISMATCH) rather than silently.
        os.replace(anchor_tmp, self._anchor_path(agent_id))
        os.replace(tmp, path)
        _fsync_dir(self.directory)


class SqliteStore(Store):
    """Pixels in one SQLite database (standard library `sqlite3`), one row per pixel."""

    SCHEMA = """
    CREATE TABLE IF NOT EXISTS pixels (
        agent_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        prev_hash TEXT NOT NULL,
        corridor TEXT NOT NULL,
        timestamp_ms INTEGER NOT NULL,
        line TEXT NOT NULL,
        PRIMARY KEY (agent_id, seq)
    );
    CREATE TABLE IF NOT EXISTS anchors (
        agent_id TEXT PRIMARY KEY,
        anchor TEXT NOT NULL,
        first_seq INTEGER NOT NULL
    );
    """

    def __init__(self, path: Union[str, os.PathLike[str]], *, timeout: float = 30.0):
        self.path = str(path)
        self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        self._depth = 0
        # Switching to WAL can report "locked" without waiting while another process opens
        # the same database; retry within the timeout.
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.executescript(self.SCHEMA)
                break
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def agents(self) -> list[str]:
        rows = self._db.execute("SELECT DISTINCT agent_id FROM pixels ORDER BY agent_id")
        return [r[0] for r in rows]

    @contextlib.contextmanager
    def locked(self, agent_id: str) -> Iterator[None]:
        # BEGIN IMMEDIATE takes SQLite's write lock: one writer at a time, across processes.
        outer = self._depth == 0
        if outer:
            self._db.execute("BEGIN IMMEDIATE")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if outer:
                self._db.execute("ROLLBACK")
            raise
        self._depth -= 1
        if outer:
            self._db.execute("COMMIT")

    def anchor(self, agent_id: Optional[str] = None) -> Optional[str]:
        row = self._db.execute(
            "SELECT anchor FROM anchors WHERE agent_id = ?", (self._agent(agent_id),)
        ).fetchone()
        return row[0] if row else None

    def lines(self, agent_id: Optional[str] = None) -> Iterator[str]:
        cur = self._db.execute(
            "SELECT line FROM pixels WHERE agent_id = ? ORDER BY seq", (self._agent(agent_id),)
        )
        for (line,) in cur:
            yield line

    def latest(self, agent_id: Optional[str] = None) -> Optional[TokenPixel]:
        row = self._db.execute(
            "SELECT line FROM pixels WHERE agent_id = ? ORDER BY seq DESC LIMIT 1",
            (self._agent(agent_id),),
        ).fetchone()
        return TokenPixel.from_json(row[0]) if row else None

    def get(self, key: PixelKey, agent_id: Optional[str] = None) -> TokenPixel:
        if isinstance(key, int) and not isinstance(key, bool):
            row = self._db.execute(
                "SELECT line FROM pixels WHERE agent_id = ? AND seq = ?",
                (self._agent(agent_id), key),
            ).fetchone()
            if row is None:
                raise KeyError(key)
            return TokenPixel.from_json(row[0])
        return super().get(key, agent_id)

    def _append_locked(self, pixel: TokenPixel) -> None:
        self._check_link(pixel, self.latest(pixel.agent_id), self.anchor(pixel.agent_id))
        self._db.execute(
            "INSERT INTO pixels (agent_id, seq, hash, prev_hash, corridor, timestamp_ms, line)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                pixel.agent_id,
                pixel.seq,
                pixel.hash,
                pixel.prev_hash,
                pixel.corridor,
                pixel.timestamp_ms,
                pixel.to_json(),
            ),
        )

    def _replace_locked(self, agent_id: str, lines: list[str], anchor: Optional[str]) -> None:
        first_seq = TokenPixel.from_json(lines[0]).seq
        self._db.execute("DELETE FROM pixels WHERE agent_id = ? AND seq < ?", (agent_id, first_seq))
        self._db.execute(
            "INSERT OR REPLACE INTO anchors (agent_id, anchor, first_seq) VALUES (?, ?, ?)",
            (agent_id, anchor, first_seq),
        )


def _tail(f) -> tuple[int, int]:
    """(file size, offset just past the last newline): equal unless the last line is torn."""
    f.seek(0, os.SEEK_END)
    end = f.tell()
    if end == 0:
        return 0, 0
    f.seek(end - 1)
    if f.read(1) == b"\n":
        return end, end
    return end, _previous_newline(f, end) + 1


def _line_before(f, end: int) -> Optional[str]:
    """The line that ends (with its newline) at offset `end`, or None at the file's start."""
    if end <= 0:
        return None
    start = _previous_newline(f, end - 1) + 1
    f.seek(start)
    return f.read(end - 1 - start).decode("utf-8", errors="surrogateescape")


def _previous_newline(f, before: int) -> int:
    """Offset of the last b'\\n' strictly before `before`, or -1."""
    pos = before
    while pos > 0:
        size = min(8192, pos)
        pos -= size
        f.seek(pos)
        block = f.read(size)
        i = block.rfind(b"\n")
        if i >= 0:
            return pos + i
    return -1


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can fsync a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                return
            except OSError:
                continue
    fcntl.flock(fd, fcntl.LOCK_EX)
