"""Host-side storage of pixel chains: append-only JSONL files or SQLite (docs/SPEC.md section 12).

Both stores keep the exact canonical line of every pixel and offer one interface: `agents()`,
`transaction(agent)` (`head`, `anchor`, `append`, `replace` under the writer lock), and the
reads built on them. Every decision about the bytes (agent ids, keys, whether a line extends
the chain, torn tails, the anchor record) is made by the core; this module only does the IO.
The JSONL store's writer lock is the one protocol of SPEC 12.3, shared with the Node store, so
Python and Node writers on one chain exclude each other.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import logging
import os
import secrets
import socket
import sqlite3
import stat
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Union

from tokenpixel._native import (
    MAX_LINE_BYTES,
    JsonlVerifier,
    TokenPixel,
    TokenPixelError,
    VerifyReport,
    anchor_record,
    check_append,
    classify_tail,
    extend_frontier,
    frontier_text,
    parse_anchor_record,
    parse_frontier_text,
    parse_key,
    pixel_not_found_message,
    validate_agent_id,
)
from tokenpixel.errors import error

log = logging.getLogger("tokenpixel")

PixelKey = Union[int, str]
"""A pixel's seq (int or ASCII digits) or a hash prefix (`sha256:3fa9`, `3fa9c1`): SPEC 12.6."""

CHUNK = 1 << 20
DEFAULT_LOCK_TIMEOUT = 30.0
MAX_BACKOFF = 0.025
MAX_SMALL_FILE = 4096  # owner and anchor files

_SAFE = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_READ = os.O_RDONLY | _SAFE
_UPDATE = os.O_RDWR | _SAFE
_APPEND = os.O_WRONLY | os.O_APPEND | _SAFE
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _SAFE
_REWRITE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _SAFE


@dataclass(frozen=True)
class Recovery:
    """What a store did about a torn last line left by a crash (SPEC 12.5)."""

    agent_id: str
    action: str  # "completed": a whole pixel that only lacked its newline; "moved": see saved_to
    byte_count: int
    saved_to: Optional[str] = None


# -- file IO ------------------------------------------------------------------------------------


def _describe(mode: int) -> str:
    for test, name in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _unsafe(path: str, mode: int) -> TokenPixelError:
    return error(
        "UNSAFE_PATH",
        f"{path} is {_describe(mode)}: a store opens only regular files in its own directory "
        "and never follows a link",
    )


def _io(what: str, path: str, exc: OSError) -> TokenPixelError:
    return error("STORE_IO", f"{what} {path}: {exc.strerror or exc}")


def _open_regular(path: str, flags: int) -> Optional[int]:
    """An fd on a regular file; None when it does not exist; UNSAFE_PATH or STORE_IO otherwise."""
    try:
        fd = os.open(path, flags, 0o644)
    except FileNotFoundError:
        return None
    except OSError as exc:
        with contextlib.suppress(OSError):
            mode = os.lstat(path).st_mode
            if not stat.S_ISREG(mode):
                raise _unsafe(path, mode) from None
        raise _io("cannot open", path, exc) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _unsafe(path, mode)
    return fd


@contextlib.contextmanager
def _opened(path: str, flags: int, missing: Optional[Callable[[], Exception]] = None):
    fd = _open_regular(path, flags)
    if fd is None:
        if missing is not None:
            raise missing()
        yield None
        return
    try:
        yield fd
    finally:
        os.close(fd)


def _read_at(fd: int, path: str, size: int, pos: int) -> bytes:
    try:
        return os.pread(fd, size, pos)
    except OSError as exc:
        raise _io("cannot read", path, exc) from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n <= 0:
            raise OSError(errno.EIO, "write made no progress")
        view = view[n:]


def _fsync_dir(directory: str) -> None:
    with contextlib.suppress(OSError):  # not every platform can fsync a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _too_long(path: str, offset: int) -> TokenPixelError:
    return error(
        "LIMIT_EXCEEDED",
        f"the line at byte offset {offset} of {path} is longer than {MAX_LINE_BYTES} bytes "
        "(16 MiB): refused before reading it whole",
    )


def _forward_lines(fd: int, path: str, start: int = 0) -> Iterator[bytes]:
    """Complete lines from `start`, oldest first, without their newline; a torn tail is left
    out. Memory: one chunk plus the longest line (at most 16 MiB)."""
    parts: list[bytes] = []
    pending = 0
    line_start = start
    pos = start
    while True:
        chunk = _read_at(fd, path, CHUNK, pos)
        if not chunk:
            return
        begin = 0
        while True:
            nl = chunk.find(b"\n", begin)
            if nl < 0:
                break
            piece = chunk[begin:nl]
            if pending + len(piece) > MAX_LINE_BYTES:
                raise _too_long(path, line_start)
            yield b"".join(parts) + piece if parts else piece
            parts, pending = [], 0
            begin = nl + 1
            line_start = pos + begin
        if begin < len(chunk):
            parts.append(chunk[begin:])
            pending += len(chunk) - begin
            if pending > MAX_LINE_BYTES:
                raise _too_long(path, line_start)
        pos += len(chunk)


def _backward_lines(fd: int, path: str, end: int) -> Iterator[bytes]:
    """Complete lines before `end`, newest first (the tail after the last newline skipped)."""
    parts: list[bytes] = []
    pending = 0
    in_tail = True
    pos = end
    while pos > 0:
        n = min(CHUNK, pos)
        pos -= n
        chunk = _read_at(fd, path, n, pos)
        stop = len(chunk)
        while stop > 0:
            nl = chunk.rfind(b"\n", 0, stop)
            if nl < 0:
                break
            piece = chunk[nl + 1 : stop]
            if pending + len(piece) > MAX_LINE_BYTES:
                raise _too_long(path, pos + nl + 1)
            if not in_tail:
                yield piece + b"".join(reversed(parts))
            in_tail = False
            parts, pending = [], 0
            stop = nl
        parts.append(chunk[:stop])
        pending += stop
        if pending > MAX_LINE_BYTES:
            raise _too_long(path, pos)
    if not in_tail:
        yield b"".join(reversed(parts))


def _decode(line: bytes, path: str) -> str:
    """A stored line as text: invalid UTF-8 is NOT_I_JSON / INVALID_UTF8, as `verify` says."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        err = error("NOT_I_JSON", f"a line of {path} is not valid UTF-8")
        err.reason = "INVALID_UTF8"
        raise err from None


def _last_line(fd: int, path: str, end: int) -> Optional[str]:
    for line in _backward_lines(fd, path, end):
        return _decode(line, path)
    return None


def _size(fd: int) -> int:
    return os.fstat(fd).st_size


# -- the writer lock (SPEC 12.3) ---------------------------------------------------------------


def _process_start(pid: int) -> Optional[str]:
    """Field 22 of /proc/<pid>/stat; "" where there is no /proc; None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    except OSError:
        return ""
    fields = text[text.rfind(")") + 2 :].split(" ")
    if fields[0] in ("Z", "X"):  # a zombie (killed, not reaped) holds nothing any more
        return None
    return fields[22 - 3] if len(fields) > 22 - 3 else ""


@dataclass(frozen=True)
class _Identity:
    host: str
    boot: str
    pid: int
    start: str


_IDENTITY: Optional[_Identity] = None


def _identity() -> _Identity:
    global _IDENTITY
    if _IDENTITY is None or _IDENTITY.pid != os.getpid():
        try:
            with open("/proc/sys/kernel/random/boot_id", encoding="utf-8") as f:
                boot = f.read().strip()
        except OSError:
            boot = ""
        pid = os.getpid()
        _IDENTITY = _Identity(socket.gethostname(), boot, pid, _process_start(pid) or "")
    return _IDENTITY


def _owner_record() -> bytes:
    me = _identity()
    record = {
        "host": me.host,
        "boot": me.boot,
        "pid": me.pid,
        "start": me.start,
        "lang": "python",
        "acquiredMs": int(time.time() * 1000),
    }
    return json.dumps(record, separators=(",", ":")).encode()


def _valid_owner(info: object) -> bool:
    return (
        isinstance(info, dict)
        and isinstance(info.get("host"), str)
        and isinstance(info.get("boot"), str)
        and isinstance(info.get("start"), str)
        and type(info.get("pid")) is int
        and info["pid"] > 0
    )


def _holder_is_dead(info: object) -> bool:
    """Dead (12.3): same host and another boot, or same host and boot and no such process."""
    if not _valid_owner(info):
        return False
    assert isinstance(info, dict)
    me = _identity()
    if info["host"] != me.host:
        return False  # another host: never broken automatically
    if info["boot"] != me.boot:
        return True
    try:
        os.kill(info["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    start = _process_start(info["pid"])
    if start is None:  # gone, or a zombie
        return True
    if not info["start"] or not me.start:
        return False
    return start != "" and start != info["start"]


def _read_holder(lock_dir: str) -> Optional[tuple[str, object]]:
    try:
        mode = os.lstat(lock_dir).st_mode
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(mode):
        raise _unsafe(lock_dir, mode)
    try:
        names = os.listdir(lock_dir)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _io("cannot read the lock", lock_dir, exc) from None
    name = next((n for n in names if n.startswith("owner-") and n.endswith(".json")), None)
    if name is None:
        return None
    with _opened(os.path.join(lock_dir, name), _READ) as fd:
        if fd is None:
            return None
        text = _read_at(fd, lock_dir, MAX_SMALL_FILE, 0)
    try:
        info = json.loads(text)
    except ValueError:
        info = None
    return name, info


def _describe_holder(holder: Optional[tuple[str, object]]) -> str:
    if holder is None:
        return "a directory without an owner file (remove it if no writer runs)"
    name, info = holder
    if not _valid_owner(info):
        return f"an unreadable owner file {name}"
    assert isinstance(info, dict)
    lang = f" ({info['lang']})" if isinstance(info.get("lang"), str) else ""
    return f"pid {info['pid']}{lang} on host {info['host']}"


@dataclass(frozen=True)
class _Lock:
    lock_dir: str
    owner: str


def _take(lock_dir: str, timeout: float) -> _Lock:
    token = secrets.token_hex(16)
    tmp = f"{lock_dir}.tmp-{token}"
    name = f"owner-{token}.json"
    try:
        os.mkdir(tmp)
    except OSError as exc:
        raise _io("cannot create", tmp, exc) from None
    taken = False
    try:
        fd = _open_regular(os.path.join(tmp, name), _CREATE)
        assert fd is not None
        try:
            _write_all(fd, _owner_record())
        except OSError as exc:
            raise _io("cannot write the owner file in", tmp, exc) from None
        finally:
            os.close(fd)
        deadline = time.monotonic() + timeout
        delay, retried = 0.001, False
        while True:
            if _try_rename(tmp, lock_dir):
                taken = True
                return _Lock(lock_dir, os.path.join(lock_dir, name))
            holder = _read_holder(lock_dir)
            if holder is None and not retried:
                retried = True  # it vanished meanwhile: try again at once
                continue
            retried = False
            if holder is not None and _holder_is_dead(holder[1]):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(lock_dir, holder[0]))
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise error(
                    "STORE_LOCKED",
                    f"the writer lock {lock_dir} is held by {_describe_holder(holder)}; "
                    f"waited {timeout:g} s",
                )
            time.sleep(min(delay, left))
            delay = min(delay * 2, MAX_BACKOFF)
    finally:
        if not taken:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(tmp, name))
            with contextlib.suppress(OSError):
                os.rmdir(tmp)


def _try_rename(tmp: str, lock_dir: str) -> bool:
    try:
        os.rename(tmp, lock_dir)
        return True
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            return False
        if exc.errno in (errno.ENOTDIR, errno.EISDIR) and _remove_old_lock_file(lock_dir):
            return _try_rename(tmp, lock_dir)
        if exc.errno in (errno.ENOTDIR, errno.EISDIR):
            with contextlib.suppress(FileNotFoundError):
                mode = os.lstat(lock_dir).st_mode
                if not stat.S_ISDIR(mode):
                    raise error(
                        "UNSAFE_PATH", f"{lock_dir} is {_describe(mode)}, not a lock directory"
                    ) from None
        raise _io("cannot take the lock", lock_dir, exc) from None


def _remove_old_lock_file(lock_dir: str) -> bool:
    """Upgrading: tokenpixel 0.1 locked with flock on an empty regular file at the lock path.
    Such a file (regular, empty, not a link) is removed so the directory lock can take its
    place; anything else there stays and is UNSAFE_PATH."""
    try:
        st = os.lstat(lock_dir)
        if not stat.S_ISREG(st.st_mode) or st.st_size != 0:
            return False
        os.unlink(lock_dir)
        return True
    except OSError:
        return False


def _release(lock: _Lock) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(lock.owner)
    try:
        os.rmdir(lock.lock_dir)
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
            raise _io("cannot remove the lock", lock.lock_dir, exc) from None


class _Entry:
    """One agent's lock as this process holds it: shared by threads and store objects."""

    def __init__(self) -> None:
        self.mutex = threading.RLock()
        self.depth = 0
        self.lock: Optional[_Lock] = None
        # The head this process last appended, and the chain file's identity right after that
        # append: while the file is unchanged (no other writer, no edit), a transaction starts
        # from it without reading, parsing and re-hashing the stored head (SPEC 12.4).
        self.cache: Optional[tuple[tuple[int, ...], TokenPixel]] = None


_REGISTRY: dict[tuple[str, str], _Entry] = {}
_REGISTRY_GUARD = threading.Lock()


def _reset_registry() -> None:  # a forked child holds none of its parent's locks
    global _REGISTRY_GUARD
    _REGISTRY.clear()
    _REGISTRY_GUARD = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_registry)


# -- the store interface -------------------------------------------------------------------------


class Transaction:
    """Exclusive write access to one agent's chain (SPEC 12.1); valid inside its `with`."""

    def __init__(self, agent_id: str, session: _Session) -> None:
        self.agent_id = agent_id
        self._session = session

    def head(self) -> Optional[TokenPixel]:
        """The last stored pixel, or None for an empty chain."""
        return self._session.head_pixel()

    def anchor(self) -> Optional[str]:
        """The trusted hash the first stored pixel links to (after pruning), or None."""
        record = self._session.anchor_record()
        return record[0] if record else None

    def append(self, pixel: Union[TokenPixel, str]) -> None:
        """Stores one pixel (or canonical line) that extends `head()`: else CHAIN_CONFLICT."""
        self._session.append(pixel)

    def extend(self, pixels: Iterable[Union[TokenPixel, str]]) -> None:
        """Appends pixels in order, as one write where the store can. When one does not extend
        the chain, those before it are stored and its error is raised."""
        self._session.extend(pixels)

    def replace(
        self,
        lines: Iterable[Union[TokenPixel, str]],
        anchor: Optional[str],
        frontier: Optional[list[str]] = None,
    ) -> None:
        """Replaces the chain by `lines`, which must verify against `anchor`. `frontier` is the
        pruned prefix's Merkle frontier to keep with the anchor (SPEC 12.7: `sync` passes the
        source's), one base64 node per bit of the first seq; None keeps none."""
        if frontier is not None and anchor is None:
            raise error("INVALID_ARGUMENT", "a frontier goes with an anchor (a pruned chain)")
        self._session.replace(lines, anchor, frontier)


class _Session:
    """What a transaction does under the lock (the store kind implements it)."""

    agent: str
    # The head as this session appended it or took it from a checked cache: trusted, so the
    # next append links to it without re-hashing it.
    _trusted: Optional[TokenPixel] = None

    def head_line(self) -> Optional[str]:
        raise NotImplementedError

    def head_pixel(self) -> Optional[TokenPixel]:
        if self._trusted is not None:
            return self._trusted
        line = self.head_line()
        return TokenPixel.from_json(line) if line is not None else None

    def check_next(self, pixel: Union[TokenPixel, str], after: Optional[TokenPixel]) -> TokenPixel:
        """The pixel, checked to extend `after` (a trusted head) or else the stored head."""
        pixel = _line_of(pixel)
        head: Union[TokenPixel, str, None] = after if after is not None else self.head_line()
        record = self.anchor_record() if head is None else None
        p = check_append(
            head, record[0] if record else None, pixel, first_seq=record[1] if record else None
        )
        if p.agent_id != self.agent:
            raise error(
                "AGENT_CHANGED",
                f"a pixel of agent {p.agent_id} cannot go into the chain of agent {self.agent}",
            )
        return p

    def extend(self, pixels: Iterable[Union[TokenPixel, str]]) -> None:
        for pixel in pixels:
            self.append(pixel)

    def anchor_record(self) -> Optional[AnchorRecord]:
        raise NotImplementedError

    def append(self, pixel: Union[TokenPixel, str]) -> None:
        raise NotImplementedError

    def replace(
        self,
        lines: Iterable[Union[TokenPixel, str]],
        anchor: Optional[str],
        frontier: Optional[list[str]] = None,
    ) -> None:
        raise NotImplementedError

    def delete(self) -> bool:
        raise NotImplementedError


# What a store keeps after pruning (SPEC 12.2): the anchor, the first kept seq and the pruned
# prefix's compact range (base64 nodes; None when pruned before it was kept).
AnchorRecord = tuple[str, int, Optional[list[str]]]


def _pruned_frontier(record: Optional[AnchorRecord], hashes: list[str]) -> Optional[list[str]]:
    """The pruned prefix's frontier once the pixels with these hashes (the ones a prune
    removes, in seq order) are pruned too; None when the earlier prefix's is unknown."""
    if record is None:
        return extend_frontier(0, [], hashes)
    if record[2] is None:
        return None
    return extend_frontier(record[1], record[2], hashes)


def _anchor_of_row(anchor: str, first_seq: int, column: Optional[str]) -> AnchorRecord:
    """An anchor row of SQLite or PostgreSQL (anchor, first_seq, frontier column) as a record,
    the frontier column checked by the core."""
    return (anchor, first_seq, None if column is None else parse_frontier_text(first_seq, column))


def _replacement(
    lines: Iterable[Union[TokenPixel, str]], anchor: Optional[str], frontier: Optional[list[str]]
) -> tuple[list[TokenPixel], int, Optional[str]]:
    """What `replace` stores in a table or an object store: the pixels (verified against
    `anchor`, else their code is raised), the first seq, and the frontier column (checked)."""
    pixels = [p if isinstance(p, TokenPixel) else TokenPixel.from_json(p) for p in lines]
    verifier = JsonlVerifier(anchor=anchor)
    for p in pixels:
        verifier.feed((p.to_json() + "\n").encode())
    result = verifier.finish()
    if not result.ok:
        assert result.error is not None
        raise error(result.error.code, f"the new chain does not verify: {result.error.message}")
    first = pixels[0].seq if pixels else 0
    return pixels, first, None if frontier is None else frontier_text(first, frontier)


def _check_limit(limit: Optional[int]) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise error("INVALID_ARGUMENT", "limit must be an integer >= 0")


def _line_of(pixel: Union[TokenPixel, str]) -> Union[TokenPixel, str]:
    if isinstance(pixel, (TokenPixel, str)):
        return pixel
    raise error("INVALID_ARGUMENT", "append takes a TokenPixel or a canonical line (str)")


class Store:
    """What every store offers (SPEC 12.1). Methods taking `agent_id` default to the store's
    only agent."""

    def agents(self) -> list[str]:
        raise NotImplementedError

    def transaction(self, agent_id: str) -> contextlib.AbstractContextManager[Transaction]:
        raise NotImplementedError

    def lines(self, agent_id: Optional[str] = None) -> Iterator[str]:
        """The stored canonical lines, oldest first, streamed."""
        raise NotImplementedError

    def anchor(self, agent_id: Optional[str] = None) -> Optional[str]:
        raise NotImplementedError

    def anchor_record(self, agent_id: Optional[str] = None) -> Optional[AnchorRecord]:
        """What pruning kept (SPEC 12.2): `(anchor, first_seq, frontier)`, or None when the
        chain was never pruned; read without the writer lock."""
        raise NotImplementedError

    def latest(self, agent_id: Optional[str] = None) -> Optional[TokenPixel]:
        raise NotImplementedError

    def list(self, agent_id: Optional[str] = None, limit: Optional[int] = None) -> list[TokenPixel]:
        raise NotImplementedError

    def read_bytes_chunks(self, agent_id: Optional[str] = None) -> Iterator[bytes]:
        for line in self.lines(agent_id):
            yield (line + "\n").encode("utf-8")

    # -- shared behaviour -----------------------------------------------------------------------

    def _agent(self, agent_id: Optional[str]) -> str:
        if agent_id is not None:
            validate_agent_id(agent_id)
            return agent_id
        agents = self.agents()
        if len(agents) == 1:
            return agents[0]
        if not agents:
            raise error("NOT_FOUND", f"the store {self} has no chain yet")
        raise error(
            "INVALID_ARGUMENT", f"the store holds several agents ({', '.join(agents)}): name one"
        )

    def append(self, pixel: Union[TokenPixel, str]) -> None:
        """Appends one pixel that extends the stored head (else CHAIN_CONFLICT)."""
        pixel = _line_of(pixel)
        p = pixel if isinstance(pixel, TokenPixel) else TokenPixel.from_json(pixel)
        with self.transaction(p.agent_id) as tx:
            tx.append(pixel)

    def __iter__(self) -> Iterator[TokenPixel]:
        return self.iter()

    def iter(self, agent_id: Optional[str] = None) -> Iterator[TokenPixel]:
        for line in self.lines(agent_id):
            yield TokenPixel.from_json(line)

    def get(self, key: PixelKey, agent_id: Optional[str] = None) -> TokenPixel:
        """A pixel by seq or by a unique hash prefix (SPEC 12.6): NOT_FOUND, AMBIGUOUS_KEY."""
        kind, wanted = parse_key(key)
        agent = self._agent(agent_id)
        found: Optional[TokenPixel] = None
        matches = 0
        for line in self.lines(agent):
            p = TokenPixel.from_json(line)
            if kind == "seq":
                if p.seq == wanted:
                    return p
            elif p.hash[7:].startswith(str(wanted)):
                matches += 1
                found = found or p
        if matches > 1:
            raise error(
                "AMBIGUOUS_KEY", f"{key!r} matches {matches} pixels of {agent}: give more digits"
            )
        if found is None:
            raise error("NOT_FOUND", pixel_not_found_message(agent, key))
        return found

    def verify(
        self, agent_id: Optional[str] = None, progress: Optional[Callable[[int], None]] = None
    ) -> VerifyReport:
        """Verifies the stored chain, streamed (against its recorded anchor, if pruned)."""
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

    def prune(self, keep: int, agent_id: Optional[str] = None) -> int:
        """Keeps the newest `keep` pixels and records the anchor; returns how many went."""
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise error(
                "INVALID_ARGUMENT", "keep must be an integer >= 1 (the head is never pruned)"
            )
        agent = self._agent(agent_id)
        self.latest(agent)  # NOT_FOUND for a missing chain
        return self._prune(agent, keep)

    def _prune(self, agent: str, keep: int) -> int:
        raise NotImplementedError

    def delete(self, agent_id: str) -> bool:
        """Removes the agent's whole chain (and anchor), under its writer lock; True if there
        was one (SPEC 12.14). What was deleted is the caller's to record elsewhere."""
        validate_agent_id(agent_id)
        with self.transaction(agent_id) as tx:
            return tx._session.delete()


# -- JSONL ----------------------------------------------------------------------------------------


class _JsonlSession(_Session):
    def __init__(self, store: JsonlStore, agent: str, entry: _Entry) -> None:
        self.store = store
        self.agent = agent
        self.entry = entry
        self.file = str(store.path(agent))
        self.anchor_file = os.path.join(store.directory, f"pixels_{agent}.anchor")
        self._head: Optional[str] = None
        self._head_read = False
        self.recovery: Optional[Recovery] = None

    def head_line(self) -> Optional[str]:
        if not self._head_read:
            with _opened(self.file, _READ) as fd:
                self._head = None if fd is None else _last_line(fd, self.file, _size(fd))
            self._head_read = True
        return self._head

    def anchor_record(self) -> Optional[AnchorRecord]:
        return _read_anchor(self.anchor_file, self.file)

    def start(self) -> None:
        """At the start of a transaction: the cached head if the file is as this process left
        it, else recovery of a torn tail (12.5)."""
        cache, self.entry.cache = self.entry.cache, None
        if cache is not None and _identity_of(self.file) == cache[0]:
            self._trusted = cache[1]
            self._head, self._head_read = cache[1].to_json(), True
            self.entry.cache = cache
            return
        self.recover()

    def recover(self) -> None:
        self.recovery = _recover_tail(self)
        if self.recovery is not None:
            self._head_read = False
            self.store.recoveries.append(self.recovery)
            log.warning(
                "tokenpixel: recovered a torn last line in %s: %s", self.file, self.recovery
            )

    def append(self, pixel: Union[TokenPixel, str]) -> None:
        self._write([self.check_next(pixel, self._trusted)])

    def extend(self, pixels: Iterable[Union[TokenPixel, str]]) -> None:
        checked: list[TokenPixel] = []
        try:
            for pixel in pixels:
                checked.append(self.check_next(pixel, checked[-1] if checked else self._trusted))
        finally:
            if checked:  # those that extend the chain are stored, then the error is raised
                self._write(checked)

    def _write(self, pixels: list[TokenPixel]) -> None:
        data = "".join(p.to_json() + "\n" for p in pixels).encode()
        self.entry.cache = None
        try:
            ident = _append_line(self.file, data, self.store.fsync, self.store.directory)
        except BaseException:
            self._head_read, self._trusted = False, None
            raise
        head = pixels[-1]
        self._head, self._head_read, self._trusted = head.to_json(), True, head
        self.entry.cache = (ident, head)

    def replace(
        self,
        lines: Iterable[Union[TokenPixel, str]],
        anchor: Optional[str],
        frontier: Optional[list[str]] = None,
    ) -> None:
        texts = (p.to_json() if isinstance(p, TokenPixel) else p for p in lines)
        first: list[str] = []

        def chunks() -> Iterator[bytes]:
            for text in texts:
                if not first:
                    first.append(text)
                yield (text + "\n").encode("utf-8")

        def first_seq() -> int:
            if first:
                return TokenPixel.from_json(first[0]).seq
            head = self.head_line()
            return TokenPixel.from_json(head).seq + 1 if head else 0

        self._rewrite(chunks(), anchor, first_seq, frontier)

    def delete(self) -> bool:
        self._head_read, self._trusted, self.entry.cache = False, None, None
        found = False
        for path in (self.anchor_file, self.file):
            try:
                os.unlink(path)
                found = True
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise _io("cannot delete", path, exc) from None
        _fsync_dir(self.store.directory)
        return found

    def prune(self, keep: int) -> int:
        with _opened(self.file, _READ, lambda: _not_found(self.agent, self.store)) as fd:
            count, end = _count_lines(fd, self.file)
            if count <= keep:
                return 0
            start = _offset_after_line(fd, self.file, count - keep)
            first = TokenPixel.from_json(
                _decode(next(_forward_lines(fd, self.file, start)), self.file)
            )
            removed = itertools.islice(_forward_lines(fd, self.file), count - keep)
            frontier = _pruned_frontier(
                self.anchor_record(),
                [TokenPixel.from_json(_decode(line, self.file)).hash for line in removed],
            )
            self._rewrite(
                _copy_range(fd, self.file, start, end),
                first.prev_hash,
                lambda: first.seq,
                frontier,
            )
            return count - keep

    def _rewrite(
        self,
        chunks: Iterable[bytes],
        anchor: Optional[str],
        first_seq: Callable[[], int],
        frontier: Optional[list[str]] = None,
    ) -> None:
        tmp = self.file + ".tmp"
        _write_verified(tmp, chunks, anchor)
        try:
            if anchor is None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.anchor_file)
            else:
                now = int(time.time() * 1000)
                record = anchor_record(anchor, first_seq(), now, frontier) + "\n"
                _write_file(self.anchor_file + ".tmp", record.encode())
                os.replace(self.anchor_file + ".tmp", self.anchor_file)
            os.replace(tmp, self.file)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise _io("cannot replace", self.file, exc) from None
        _fsync_dir(self.store.directory)
        self._head_read, self._trusted, self.entry.cache = False, None, None


def _not_found(agent: str, store: object) -> TokenPixelError:
    return error("NOT_FOUND", f"no chain for agent {agent} in {store}")


def _read_anchor(anchor_file: str, chain_file: str) -> Optional[AnchorRecord]:
    with _opened(anchor_file, _READ) as fd:
        if fd is None:
            return None
        data = _read_at(fd, anchor_file, MAX_SMALL_FILE + 1, 0)
    anchor, first_seq, frontier = parse_anchor_record(data)
    seq = _first_seq(chain_file)
    if seq is not None and seq != first_seq:
        raise error(
            "STORE_CORRUPT",
            f"{anchor_file} records firstSeq {first_seq}, but the first pixel of {chain_file} "
            f"has seq {seq}",
        )
    return anchor, first_seq, frontier


def _first_seq(chain_file: str) -> Optional[int]:
    with _opened(chain_file, _READ) as fd:
        if fd is None:
            return None
        try:
            first = next(_forward_lines(fd, chain_file), None)
            return None if first is None else TokenPixel.from_json(_decode(first, chain_file)).seq
        except TokenPixelError as exc:
            if getattr(exc, "code", "") in ("UNSAFE_PATH", "STORE_IO"):
                raise
            return None  # a broken first line is reported by verify with its own code


def _file_identity(st: os.stat_result) -> tuple[int, ...]:
    """What changes whenever a file's bytes do: any append (size), a replacement (inode), an
    edit in place (mtime, and ctime, which no user can set back)."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _identity_of(path: str) -> Optional[tuple[int, ...]]:
    try:
        return _file_identity(os.lstat(path))
    except OSError:
        return None


def _append_line(path: str, data: bytes, fsync: bool, directory: str) -> tuple[int, ...]:
    """SPEC 12.4: one append of the whole lines; on any failure the file is cut back. Returns
    the file's identity right after the append."""
    created = False
    fd = _open_regular(path, _APPEND)
    if fd is None:
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise _io("cannot create the store", directory, exc) from None
        fd = _open_regular(path, _APPEND | os.O_CREAT | os.O_EXCL)
        created = True
    assert fd is not None
    size = None
    try:
        size = _size(fd)
        _write_all(fd, data)
        if fsync:
            os.fsync(fd)
        ident = _file_identity(os.fstat(fd))
    except OSError as exc:
        undone = _undo_append(fd, path, size, created)
        raise error(
            "STORE_IO", f"cannot append to {path}: {exc.strerror or exc}; {undone}"
        ) from None
    finally:
        os.close(fd)
    if created and fsync:
        _fsync_dir(directory)
    return ident


def _undo_append(fd: int, path: str, size: Optional[int], created: bool) -> str:
    try:
        if created:
            os.unlink(path)
        elif size is not None:
            os.ftruncate(fd, size)
        return "the file is as it was"
    except OSError as exc:
        return f"and cutting it back failed ({exc}): the next writer moves the partial line aside"


def _write_file(path: str, data: bytes) -> None:
    fd = _open_regular(path, _REWRITE)
    assert fd is not None
    try:
        _write_all(fd, data)
        os.fsync(fd)
    except OSError as exc:
        raise _io("cannot write", path, exc) from None
    finally:
        os.close(fd)


def _write_verified(tmp: str, chunks: Iterable[bytes], anchor: Optional[str]) -> None:
    verifier = JsonlVerifier(anchor=anchor)
    fd = _open_regular(tmp, _REWRITE)
    assert fd is not None
    ok = False
    try:
        for chunk in chunks:
            verifier.feed(chunk)
            if verifier.failed:
                break
            _write_all(fd, chunk)
        report = verifier.finish()
        if not report.ok:
            assert report.error is not None
            raise error(report.error.code, f"the new chain does not verify: {report.error.message}")
        os.fsync(fd)
        ok = True
    except OSError as exc:
        raise _io("cannot write", tmp, exc) from None
    finally:
        os.close(fd)
        if not ok:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _count_lines(fd: int, path: str) -> tuple[int, int]:
    count = end = pos = 0
    while chunk := _read_at(fd, path, CHUNK, pos):
        n = chunk.count(b"\n")
        if n:
            count += n
            end = pos + chunk.rfind(b"\n") + 1
        pos += len(chunk)
    return count, end


def _offset_after_line(fd: int, path: str, index: int) -> int:
    seen = pos = 0
    while chunk := _read_at(fd, path, CHUNK, pos):
        at = -1
        while True:
            at = chunk.find(b"\n", at + 1)
            if at < 0:
                break
            seen += 1
            if seen == index:
                return pos + at + 1
        pos += len(chunk)
    raise error("STORE_IO", f"{path} changed while it was pruned")


def _copy_range(fd: int, path: str, start: int, end: int) -> Iterator[bytes]:
    pos = start
    while pos < end:
        chunk = _read_at(fd, path, min(CHUNK, end - pos), pos)
        if not chunk:
            raise error("STORE_IO", f"{path} shrank while it was pruned")
        pos += len(chunk)
        yield chunk


def _recover_tail(session: _JsonlSession) -> Optional[Recovery]:
    """Under the lock (12.5): completes, or moves aside, a torn tail."""
    path = session.file
    with _opened(path, _UPDATE) as fd:
        if fd is None:
            return None
        size = _size(fd)
        if size == 0 or _read_at(fd, path, 1, size - 1) == b"\n":
            return None
        cut = _tail_start(fd, path, size)
        tail = _read_at(fd, path, size - cut, cut)
        previous = _last_line(fd, path, cut)
        record = session.anchor_record() if previous is None else None
        try:
            if classify_tail(previous, tail, record[0] if record else None):
                os.pwrite(fd, b"\n", size)
                os.fsync(fd)
                return Recovery(session.agent, "completed", len(tail))
            saved = _save_tail(path, tail)
            _fsync_dir(os.path.dirname(path) or ".")
            os.ftruncate(fd, cut)
            os.fsync(fd)
        except OSError as exc:
            raise _io("cannot repair", path, exc) from None
        return Recovery(session.agent, "moved", len(tail), saved)


def _tail_start(fd: int, path: str, size: int) -> int:
    cut, end = 0, size
    while end > 0:
        start = max(0, end - CHUNK)
        nl = _read_at(fd, path, end - start, start).rfind(b"\n")
        if nl >= 0:
            cut = start + nl + 1
            break
        end = start
    if size - cut > MAX_LINE_BYTES:
        raise error(
            "STORE_CORRUPT",
            f"{path} ends with {size - cut} bytes without a newline, from byte offset {cut}: "
            "a torn tail over 16 MiB cannot be a pixel; nothing was changed",
        )
    return cut


def _save_tail(path: str, tail: bytes) -> str:
    ms = int(time.time() * 1000)
    while True:
        saved = f"{path}.torn-{ms}"
        try:
            fd = os.open(saved, _CREATE, 0o644)
        except FileExistsError:
            ms += 1
            continue
        try:
            _write_all(fd, tail)
            os.fsync(fd)
        finally:
            os.close(fd)
        return saved


class JsonlStore(Store):
    """One append-only file per agent, `<directory>/pixels_<agent_id>.jsonl` (SPEC 12.2).

    - `fsync=True` makes every append durable before it is acknowledged.
    - Writers take the lock of SPEC 12.3 (shared with Node writers); `lock_timeout` seconds
      (default 30) before STORE_LOCKED.
    - A torn last line (a crash mid-append) is repaired at the start of every transaction: a
      whole pixel missing its newline is completed; anything else is moved to
      `pixels_<agent>.jsonl.torn-<unix ms>` and reported in `recoveries`, never dropped.
    - Reads never create anything; the first append creates the directory.
    """

    def __init__(
        self,
        directory: Union[str, os.PathLike[str]],
        *,
        fsync: bool = False,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ):
        if isinstance(lock_timeout, bool) or not isinstance(lock_timeout, (int, float)):
            raise error("INVALID_ARGUMENT", "lock_timeout must be a number of seconds")
        self.directory = str(directory)
        self.fsync = bool(fsync)
        self.lock_timeout = float(lock_timeout)
        self.recoveries: list[Recovery] = []

    def __repr__(self) -> str:
        return f"JsonlStore({self.directory!r})"

    def __str__(self) -> str:
        return self.directory

    def path(self, agent_id: str) -> Path:
        validate_agent_id(agent_id)
        return Path(self.directory) / f"pixels_{agent_id}.jsonl"

    def agents(self) -> list[str]:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise _io("cannot list", self.directory, exc) from None
        found = []
        for n in names:
            if n.startswith("pixels_") and n.endswith(".jsonl"):
                agent = n[len("pixels_") : -len(".jsonl")]
                with contextlib.suppress(TokenPixelError):
                    validate_agent_id(agent)
                    found.append(agent)
        return sorted(found, key=lambda a: a.encode("utf-16-be"))

    def _existing(self, agent: str) -> str:
        path = str(self.path(agent))
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            raise _not_found(agent, self) from None
        except OSError as exc:
            raise _io("cannot stat", path, exc) from None
        if not stat.S_ISREG(mode):
            raise _unsafe(path, mode)
        return path

    @contextlib.contextmanager
    def transaction(self, agent_id: str) -> Iterator[Transaction]:
        """Exclusive write access to one agent's chain, across threads and processes."""
        validate_agent_id(agent_id)
        try:
            os.makedirs(self.directory, exist_ok=True)
            key = (os.path.realpath(self.directory), agent_id)
        except OSError as exc:
            raise _io("cannot open the store", self.directory, exc) from None
        with _REGISTRY_GUARD:
            entry = _REGISTRY.setdefault(key, _Entry())
        if not entry.mutex.acquire(timeout=self.lock_timeout):
            raise error(
                "STORE_LOCKED",
                f"the writer lock of agent {agent_id} in {self.directory} is held by another "
                f"thread of this process (a background writer?); waited {self.lock_timeout:g} s",
            )
        try:
            outer = entry.depth == 0
            if outer:
                entry.lock = _take(
                    os.path.join(self.directory, f"pixels_{agent_id}.lock"), self.lock_timeout
                )
            entry.depth += 1
            try:
                session = _JsonlSession(self, agent_id, entry)
                if outer:
                    session.start()
                yield Transaction(agent_id, session)
            finally:
                entry.depth -= 1
                if entry.depth == 0 and entry.lock is not None:
                    lock, entry.lock = entry.lock, None
                    _release(lock)
        finally:
            entry.mutex.release()

    def anchor(self, agent_id: Optional[str] = None) -> Optional[str]:
        record = self.anchor_record(agent_id)
        return record[0] if record else None

    def anchor_record(self, agent_id: Optional[str] = None) -> Optional[AnchorRecord]:
        agent = self._agent(agent_id)
        return _read_anchor(
            os.path.join(self.directory, f"pixels_{agent}.anchor"), self._existing(agent)
        )

    def lines(self, agent_id: Optional[str] = None) -> Iterator[str]:
        path = self._existing(self._agent(agent_id))
        with _opened(path, _READ) as fd:
            if fd is None:
                return
            for raw in _forward_lines(fd, path):
                yield _decode(raw, path)

    def read_bytes_chunks(self, agent_id: Optional[str] = None) -> Iterator[bytes]:
        path = self._existing(self._agent(agent_id))
        with _opened(path, _READ) as fd:
            if fd is None:
                return
            pos = 0
            while chunk := _read_at(fd, path, CHUNK, pos):
                pos += len(chunk)
                yield chunk

    def latest(self, agent_id: Optional[str] = None) -> Optional[TokenPixel]:
        path = self._existing(self._agent(agent_id))
        with _opened(path, _READ) as fd:
            line = None if fd is None else _last_line(fd, path, _size(fd))
        return TokenPixel.from_json(line) if line is not None else None

    def list(self, agent_id: Optional[str] = None, limit: Optional[int] = None) -> list[TokenPixel]:
        """The newest `limit` pixels (all when None), oldest first; read from the end."""
        _check_limit(limit)
        agent = self._agent(agent_id)
        if limit is None:
            return list(self.iter(agent))
        path = self._existing(agent)
        newest: list[bytes] = []
        with _opened(path, _READ) as fd:
            if fd is not None and limit:
                for raw in _backward_lines(fd, path, _size(fd)):
                    newest.append(raw)
                    if len(newest) == limit:
                        break
        return [TokenPixel.from_json(_decode(raw, path)) for raw in reversed(newest)]

    def recover(self, agent_id: Optional[str] = None) -> Optional[Recovery]:
        """Repairs a torn last line, if any (also done at the start of every transaction)."""
        agent = self._agent(agent_id)
        self._existing(agent)
        before = len(self.recoveries)
        with self.transaction(agent):
            pass
        return self.recoveries[-1] if len(self.recoveries) > before else None

    def _prune(self, agent: str, keep: int) -> int:
        with self.transaction(agent) as tx:
            session = tx._session
            assert isinstance(session, _JsonlSession)
            return session.prune(keep)


# -- SQLite ---------------------------------------------------------------------------------------


def _sqlite_error(exc: sqlite3.Error, path: str) -> TokenPixelError:
    return error("STORE_IO", f"SQLite store {path}: {exc}")


class _SqliteSession(_Session):
    def __init__(self, store: SqliteStore, agent: str) -> None:
        self.store = store
        self.agent = agent

    def head_line(self) -> Optional[str]:
        row = self.store._one(
            "SELECT line FROM pixels WHERE agent_id = ? ORDER BY seq DESC LIMIT 1", (self.agent,)
        )
        return self.store._text(row[0]) if row else None

    def anchor_record(self) -> Optional[AnchorRecord]:
        return self.store._anchor_of(self.agent)

    def _put_anchor(self, anchor: str, first_seq: int, column: Optional[str]) -> None:
        self.store._exec(
            "INSERT OR REPLACE INTO anchors (agent_id, anchor, first_seq, frontier)"
            " VALUES (?, ?, ?, ?)",
            (self.agent, anchor, first_seq, column),
        )

    def append(self, pixel: Union[TokenPixel, str]) -> None:
        p = self.check_next(pixel, self._trusted)
        self._trusted = None
        self.store._exec(
            "INSERT INTO pixels (agent_id, seq, hash, prev_hash, corridor, timestamp_ms, line)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (p.agent_id, p.seq, p.hash, p.prev_hash, p.corridor, p.timestamp_ms, p.to_json()),
        )
        self._trusted = p

    def replace(
        self,
        lines: Iterable[Union[TokenPixel, str]],
        anchor: Optional[str],
        frontier: Optional[list[str]] = None,
    ) -> None:
        self._trusted = None
        pixels, first, column = _replacement(lines, anchor, frontier)
        self.store._exec("DELETE FROM pixels WHERE agent_id = ?", (self.agent,))
        for p in pixels:
            self.store._exec(
                "INSERT INTO pixels (agent_id, seq, hash, prev_hash, corridor, timestamp_ms, line)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (p.agent_id, p.seq, p.hash, p.prev_hash, p.corridor, p.timestamp_ms, p.to_json()),
            )
        if anchor is None:
            self.store._exec("DELETE FROM anchors WHERE agent_id = ?", (self.agent,))
        else:
            self._put_anchor(anchor, first, column)

    def delete(self) -> bool:
        self._trusted = None
        found = self.store._one("SELECT 1 FROM pixels WHERE agent_id = ? LIMIT 1", (self.agent,))
        anchored = self.store._one("SELECT 1 FROM anchors WHERE agent_id = ?", (self.agent,))
        self.store._exec("DELETE FROM pixels WHERE agent_id = ?", (self.agent,))
        self.store._exec("DELETE FROM anchors WHERE agent_id = ?", (self.agent,))
        return found is not None or anchored is not None

    def prune(self, keep: int) -> int:
        self._trusted = None
        count = self.store._one("SELECT COUNT(*) FROM pixels WHERE agent_id = ?", (self.agent,))[0]
        if count <= keep:
            return 0
        row = self.store._one(
            "SELECT line FROM pixels WHERE agent_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?",
            (self.agent, keep - 1),
        )
        first = TokenPixel.from_json(self.store._text(row[0]))
        removed = self.store._all(
            "SELECT hash FROM pixels WHERE agent_id = ? AND seq < ? ORDER BY seq",
            (self.agent, first.seq),
        )
        hashes = [self.store._text(r[0]) for r in removed]
        frontier = _pruned_frontier(self.anchor_record(), hashes)
        self.store._exec(
            "DELETE FROM pixels WHERE agent_id = ? AND seq < ?", (self.agent, first.seq)
        )
        column = None if frontier is None else frontier_text(first.seq, frontier)
        self._put_anchor(first.prev_hash, first.seq, column)
        return count - keep


class SqliteStore(Store):
    """Pixels in one SQLite database (standard library `sqlite3`), one row per pixel (SPEC 12.8).

    One store object is usable from any thread (a lock serializes its connection). Its
    transactions are SQLite's write lock (`BEGIN IMMEDIATE`), across processes.
    """

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
        first_seq INTEGER NOT NULL,
        frontier TEXT
    );
    """

    def __init__(self, path: Union[str, os.PathLike[str]], *, timeout: float = 30.0):
        self.path = str(path)
        self._lock = threading.RLock()
        self._depth = 0
        try:
            self._db = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._db.text_factory = bytes
            self._setup(timeout)
        except sqlite3.Error as exc:
            raise _sqlite_error(exc, self.path) from None

    def _setup(self, timeout: float) -> None:
        # Switching to WAL can report "locked" at once while another process opens the same
        # database: retry within the timeout.
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.executescript(self.SCHEMA)
                info = self._db.execute("PRAGMA table_info(anchors)").fetchall()
                # A database made before pruning kept the prefix's frontier: add its column.
                if b"frontier" not in [r[1] for r in info]:
                    self._db.execute("ALTER TABLE anchors ADD COLUMN frontier TEXT")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"

    def __str__(self) -> str:
        return self.path

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _text(self, value: object) -> str:
        if isinstance(value, bytes):
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                raise error("STORE_CORRUPT", f"{self.path} holds a row that is not UTF-8") from None
        if isinstance(value, str):
            return value
        raise error("STORE_CORRUPT", f"{self.path} holds a row that is not text")

    def _exec(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._db.execute(sql, args)
            except sqlite3.IntegrityError as exc:
                raise error("CHAIN_CONFLICT", f"{self.path}: {exc}") from None
            except sqlite3.Error as exc:
                raise _sqlite_error(exc, self.path) from None

    def _one(self, sql: str, args: tuple = ()) -> Optional[tuple]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchone()
            except sqlite3.Error as exc:
                raise _sqlite_error(exc, self.path) from None

    def _all(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise _sqlite_error(exc, self.path) from None

    def agents(self) -> list[str]:
        with self._lock:
            try:
                rows = self._db.execute("SELECT DISTINCT agent_id FROM pixels").fetchall()
            except sqlite3.Error as exc:
                raise _sqlite_error(exc, self.path) from None
        return sorted((self._text(r[0]) for r in rows), key=lambda a: a.encode("utf-16-be"))

    @contextlib.contextmanager
    def transaction(self, agent_id: str) -> Iterator[Transaction]:
        """SQLite's write lock (BEGIN IMMEDIATE) for the duration; nested calls join it."""
        validate_agent_id(agent_id)
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._exec("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield Transaction(agent_id, _SqliteSession(self, agent_id))
            except BaseException:
                self._depth -= 1
                if outer:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._exec("COMMIT")

    def _require(self, agent: str) -> None:
        q_pixels = "SELECT 1 FROM pixels WHERE agent_id = ? LIMIT 1"
        q_anchor = "SELECT 1 FROM anchors WHERE agent_id = ?"
        if self._one(q_pixels, (agent,)) is None and self._one(q_anchor, (agent,)) is None:
            raise _not_found(agent, self)

    def anchor(self, agent_id: Optional[str] = None) -> Optional[str]:
        record = self.anchor_record(agent_id)
        return record[0] if record else None

    def anchor_record(self, agent_id: Optional[str] = None) -> Optional[AnchorRecord]:
        agent = self._agent(agent_id)
        record = self._anchor_of(agent)
        if record is None:
            self._require(agent)
        return record

    def _anchor_of(self, agent: str) -> Optional[AnchorRecord]:
        row = self._one(
            "SELECT anchor, first_seq, frontier FROM anchors WHERE agent_id = ?", (agent,)
        )
        if row is None:
            return None
        column = None if row[2] is None else self._text(row[2])
        return _anchor_of_row(self._text(row[0]), row[1], column)

    def lines(self, agent_id: Optional[str] = None) -> Iterator[str]:
        agent = self._agent(agent_id)
        self._require(agent)
        last = -1
        while True:  # in pages, so a long chain is never held whole
            with self._lock:
                try:
                    rows = self._db.execute(
                        "SELECT seq, line FROM pixels WHERE agent_id = ? AND seq > ?"
                        " ORDER BY seq LIMIT 1000",
                        (agent, last),
                    ).fetchall()
                except sqlite3.Error as exc:
                    raise _sqlite_error(exc, self.path) from None
            if not rows:
                return
            for _seq, line in rows:
                yield self._text(line)
            last = rows[-1][0]

    def latest(self, agent_id: Optional[str] = None) -> Optional[TokenPixel]:
        agent = self._agent(agent_id)
        row = self._one(
            "SELECT line FROM pixels WHERE agent_id = ? ORDER BY seq DESC LIMIT 1", (agent,)
        )
        if row is None:
            self._require(agent)
            return None
        return TokenPixel.from_json(self._text(row[0]))

    def list(self, agent_id: Optional[str] = None, limit: Optional[int] = None) -> list[TokenPixel]:
        _check_limit(limit)
        agent = self._agent(agent_id)
        if limit is None:
            return list(self.iter(agent))
        self._require(agent)
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT line FROM pixels WHERE agent_id = ? ORDER BY seq DESC LIMIT ?",
                    (agent, limit),
                ).fetchall()
            except sqlite3.Error as exc:
                raise _sqlite_error(exc, self.path) from None
        return [TokenPixel.from_json(self._text(r[0])) for r in reversed(rows)]

    def get(self, key: PixelKey, agent_id: Optional[str] = None) -> TokenPixel:
        kind, wanted = parse_key(key)
        if kind != "seq":
            return super().get(key, agent_id)
        agent = self._agent(agent_id)
        row = self._one("SELECT line FROM pixels WHERE agent_id = ? AND seq = ?", (agent, wanted))
        if row is None:
            self._require(agent)
            raise error("NOT_FOUND", pixel_not_found_message(agent, key))
        return TokenPixel.from_json(self._text(row[0]))

    def _prune(self, agent: str, keep: int) -> int:
        with self.transaction(agent) as tx:
            session = tx._session
            assert isinstance(session, _SqliteSession)
            return session.prune(keep)
