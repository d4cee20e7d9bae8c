"""LangGraph checkpoints in tokenpixel chains: `graph.compile(checkpointer=TokenPixelSaver(store))`
(`pip install "tokenpixel[langgraph]"`; docs/SPEC.md section 13).

Every checkpoint and every batch of pending writes becomes a pixel in a hash chain, one chain
per (thread, checkpoint namespace). Channel values, the checkpoint body and its metadata are
serialized with LangGraph's own serializer into a content-addressed blob store beside the
chain (keyed by the SHA-256 of their bytes, which the pixel records), so an unchanged channel
is stored once and an edited blob is refused. Every read verifies what it returns: the chain
(incrementally: only the pixels added since the last verified head) and the blobs it loads.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from tokenpixel._native import Chain, JsonlVerifier, TokenPixel, make_error
from tokenpixel.errors import NotFoundError
from tokenpixel.store import JsonlStore, SqliteStore, Store

CORRIDOR_CHECKPOINT = "DISTRICT_4.CHAMBER_LANGGRAPH.NODE_CHECKPOINT"
CORRIDOR_WRITES = "DISTRICT_4.CHAMBER_LANGGRAPH.NODE_WRITES"
CORRIDOR_REWRITE = "DISTRICT_4.CHAMBER_LANGGRAPH.NODE_REWRITE"
CORRIDOR_REGISTRY = "DISTRICT_0.CHAMBER_LANGGRAPH.NODE_REGISTRY"
REGISTRY = "lg-registry"
SESSION = "langgraph"


def agent_for(thread_id: str, checkpoint_ns: str) -> str:
    """The chain of a thread and namespace: any strings map to a valid agent id (SPEC 13.1)."""
    digest = hashlib.sha256(f"{thread_id}\x00{checkpoint_ns}".encode()).hexdigest()
    return f"lg-{digest[:40]}"


# -- blobs -------------------------------------------------------------------------------------


class BlobStore:
    """Content-addressed bytes: `put` returns the SHA-256 hex of the data."""

    def put(self, data: bytes) -> str:
        raise NotImplementedError

    def get(self, digest: str) -> Optional[bytes]:
        raise NotImplementedError

    def delete(self, digest: str) -> None:
        raise NotImplementedError

    def all(self) -> list[str]:
        raise NotImplementedError


class DirectoryBlobs(BlobStore):
    """`<directory>/<first two hex digits>/<sha256 hex>`: beside a JSONL store's chains."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def _path(self, digest: str) -> Path:
        return self.directory / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{digest}.tmp-{os.getpid()}-{threading.get_ident()}")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return digest

    def get(self, digest: str) -> Optional[bytes]:
        try:
            return self._path(digest).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(digest).unlink()

    def all(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return [p.name for p in self.directory.glob("??/*") if len(p.name) == 64]


class SqliteBlobs(BlobStore):
    """A `tokenpixel_blobs` table in the SQLite store's own database."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        store._exec(
            "CREATE TABLE IF NOT EXISTS tokenpixel_blobs"
            " (hash TEXT PRIMARY KEY, data BLOB NOT NULL)"
        )

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self.store._exec(
            "INSERT OR IGNORE INTO tokenpixel_blobs (hash, data) VALUES (?, ?)", (digest, data)
        )
        return digest

    def get(self, digest: str) -> Optional[bytes]:
        row = self.store._one("SELECT data FROM tokenpixel_blobs WHERE hash = ?", (digest,))
        return bytes(row[0]) if row else None

    def delete(self, digest: str) -> None:
        self.store._exec("DELETE FROM tokenpixel_blobs WHERE hash = ?", (digest,))

    def all(self) -> list[str]:
        with self.store._lock:
            rows = self.store._db.execute("SELECT hash FROM tokenpixel_blobs").fetchall()
        return [r[0].decode() if isinstance(r[0], bytes) else r[0] for r in rows]


class PostgresBlobs(BlobStore):
    """A `tokenpixel_langgraph_blobs` table in the PostgreSQL store's database."""

    def __init__(self, store: Any) -> None:
        self.store = store
        store._exec(
            "CREATE TABLE IF NOT EXISTS tokenpixel_langgraph_blobs"
            " (hash text PRIMARY KEY, data bytea NOT NULL)"
        )

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self.store._exec(
            "INSERT INTO tokenpixel_langgraph_blobs (hash, data) VALUES (%s, %s)"
            " ON CONFLICT (hash) DO NOTHING",
            (digest, data),
        )
        return digest

    def get(self, digest: str) -> Optional[bytes]:
        row = self.store._one(
            "SELECT data FROM tokenpixel_langgraph_blobs WHERE hash = %s", (digest,)
        )
        return bytes(row[0]) if row else None

    def delete(self, digest: str) -> None:
        self.store._exec("DELETE FROM tokenpixel_langgraph_blobs WHERE hash = %s", (digest,))

    def all(self) -> list[str]:
        return [r[0] for r in self.store._rows("SELECT hash FROM tokenpixel_langgraph_blobs")]


class S3Blobs(BlobStore):
    """Objects `<prefix>_blobs/<sha256 hex>` beside the S3 store's chains (`_blobs` is not an
    agent id, so `agents()` never lists it)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.base = f"{store.prefix}_blobs/"

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self.store._create(self.base + digest, data)  # exists already: the same bytes
        return digest

    def get(self, digest: str) -> Optional[bytes]:
        return self.store._get(self.base + digest)

    def delete(self, digest: str) -> None:
        self.store._delete([self.base + digest])

    def all(self) -> list[str]:
        return [k[len(self.base) :] for k in self.store._keys(self.base)]


def default_blobs(store: Store) -> BlobStore:
    if isinstance(store, JsonlStore):
        return DirectoryBlobs(Path(store.directory) / "blobs")
    if isinstance(store, SqliteStore):
        return SqliteBlobs(store)
    from tokenpixel.pg_store import PostgresStore
    from tokenpixel.s3_store import S3Store

    if isinstance(store, PostgresStore):
        return PostgresBlobs(store)
    if isinstance(store, S3Store):
        return S3Blobs(store)
    raise make_error(
        "INVALID_ARGUMENT",
        f"TokenPixelSaver needs a blob store for {type(store).__name__}: pass blobs=...",
    )


# -- one chain, as read back -----------------------------------------------------------------


@dataclass
class _Index:
    """What one verified chain holds, rebuilt record by record."""

    head: Optional[str] = None  # hash of the last verified pixel
    count: int = 0
    thread: Optional[str] = None
    ns: Optional[str] = None
    checkpoints: dict[str, dict] = field(default_factory=dict)  # id -> record
    blobs: dict[tuple[str, str], dict] = field(default_factory=dict)  # (channel, version) -> ref
    writes: dict[str, dict[tuple[str, int], tuple]] = field(default_factory=dict)

    def apply(self, record: dict) -> None:
        kind = record.get("type")
        if self.thread is None and "thread" in record:
            self.thread, self.ns = record["thread"], record["ns"]
        if kind == "langgraph.checkpoint":
            self.checkpoints[record["id"]] = record
            for channel, entry in record["channels"].items():
                self.blobs[(channel, _vkey(entry["version"]))] = entry["blob"]
        elif kind == "langgraph.writes":
            stored = self.writes.setdefault(record["checkpoint"], {})
            for w in record["writes"]:
                key = (record["task"], w["idx"])
                if key[1] >= 0 and key in stored:
                    continue  # the first write of a (task, idx) stands, as LangGraph's savers do
                stored[key] = (
                    record["task"],
                    w["channel"],
                    w["blob"],
                    record["path"],
                )


def _vkey(version: Any) -> str:
    """Channel versions are str, int or float: one key for each."""
    return f"{type(version).__name__}:{version}"


def _version_json(version: Any) -> Any:
    if isinstance(version, bool) or not isinstance(version, (str, int, float)):
        raise make_error(
            "INVALID_ARGUMENT", f"a channel version must be str, int or float: {version!r}"
        )
    return version


# -- the saver ------------------------------------------------------------------------------


class TokenPixelSaver(BaseCheckpointSaver[str]):
    """A LangGraph checkpointer that keeps every checkpoint in a verified tokenpixel chain.

    `store` is a tokenpixel store (JsonlStore or SqliteStore, or another with `blobs=` given);
    channel values go to `blobs` (default: `blobs/` beside a JSONL store's files, a table in
    the SQLite store's database)."""

    def __init__(
        self,
        store: Store,
        *,
        blobs: Optional[BlobStore] = None,
        serde: Optional[SerializerProtocol] = None,
    ) -> None:
        super().__init__(serde=serde)
        self.store = store
        self.blobs = blobs if blobs is not None else default_blobs(store)
        self._lock = threading.RLock()
        self._indexes: dict[str, _Index] = {}
        # Pixels this saver sealed, by agent and the head they were sealed on: concurrent puts
        # (LangGraph's async durability) may finish their bookkeeping out of order.
        self._sealed: dict[str, dict[str, list[TokenPixel]]] = {}

    # -- blobs and records ---------------------------------------------------------------------

    def _put_blob(self, value: Any) -> dict:
        kind, data = self.serde.dumps_typed(value)
        return {"type": kind, "sha256": self.blobs.put(data)}

    def _load_blob(self, ref: dict, where: str) -> Any:
        data = self.blobs.get(ref["sha256"])
        if data is None:
            raise make_error("STORE_CORRUPT", f"blob sha256:{ref['sha256']} of {where} is missing")
        if hashlib.sha256(data).hexdigest() != ref["sha256"]:
            raise make_error(
                "HASH_MISMATCH",
                f"blob sha256:{ref['sha256']} of {where} was changed: it is refused",
            )
        return self.serde.loads_typed((ref["type"], data))

    # -- chains ------------------------------------------------------------------------------

    def _index(self, agent: str) -> _Index:
        """The chain's records, verified: from the cached verified head when the stored chain
        still extends it, else from the start."""
        with self._lock:
            try:
                head = self.store.latest(agent)
            except NotFoundError:
                head = None
            if head is None:
                self._indexes.pop(agent, None)
                self._sealed.pop(agent, None)
                return _Index()
            cached = self._indexes.get(agent)
            if cached is not None and cached.head == head.hash:
                return cached
            index = self._extend(agent, cached) if cached is not None else None
            if index is None:
                index = self._extend(agent, _Index())
            assert index is not None
            self._indexes[agent] = index
            return index

    def _extend(self, agent: str, base: _Index) -> Optional[_Index]:
        """`base` plus the pixels after it, verified; None when the chain no longer extends
        `base` (it was rewritten): the caller starts over."""
        index = _Index(
            base.head,
            base.count,
            base.thread,
            base.ns,
            dict(base.checkpoints),
            dict(base.blobs),
            {k: dict(v) for k, v in base.writes.items()},
        )
        verifier = JsonlVerifier(anchor=base.head) if base.count else JsonlVerifier()
        lines = self.store.lines(agent)
        for _ in range(base.count):
            if next(lines, None) is None:
                return None
        records = []
        for line in lines:
            verifier.feed((line + "\n").encode())
            if verifier.failed:
                break
            records.append(TokenPixel.from_json(line))
        report = verifier.finish()
        if not report.ok:
            assert report.error is not None
            if base.count and report.error.index == 0:
                return None  # rewritten since: read it all again
            raise make_error(
                report.error.code,
                f"the chain of LangGraph thread {base.thread or agent} fails verification at "
                f"pixel {base.count + report.error.index}: {report.error.message}",
            )
        for pixel in records:
            index.apply(pixel.state)
        index.count += len(records)
        index.head = report.head if records else base.head
        return index

    def _append(self, agent: str, records: list[dict], thread: str, ns: str) -> None:
        """Appends records to the chain of (thread, ns), registering a new chain first."""
        new = False
        with self.store.transaction(agent) as tx:
            head = tx.head()
            new = head is None
            chain = (
                Chain.resume([head], anchor=head.prev_hash, session_id=SESSION)
                if head is not None
                else Chain(agent, SESSION)
            )
            pixels = [chain.emit(_corridor(r), state=r) for r in records]
            tx.extend(pixels)
        with self._lock:  # the verified index goes on with what was just sealed here
            cached = self._indexes.get(agent)
            if cached is None and new:
                cached = self._indexes[agent] = _Index()
            if cached is not None:
                sealed = self._sealed.setdefault(agent, {})
                sealed[head.hash if head is not None else ""] = pixels
                while (cached.head or "") in sealed:
                    for pixel in (run := sealed.pop(cached.head or "")):
                        cached.apply(pixel.state)
                    cached.count += len(run)
                    cached.head = run[-1].hash
                if not sealed or len(sealed) > 64:  # runs that never connect: a writer elsewhere
                    self._sealed.pop(agent, None)
        if new:
            self._register({"type": "langgraph.thread", "thread": thread, "ns": ns, "agent": agent})

    def _register(self, record: dict) -> None:
        with self.store.transaction(REGISTRY) as tx:
            head = tx.head()
            chain = (
                Chain.resume([head], anchor=head.prev_hash, session_id=SESSION)
                if head is not None
                else Chain(REGISTRY, SESSION)
            )
            tx.append(chain.emit(CORRIDOR_REGISTRY, state=record))

    def _threads(self) -> dict[str, tuple[str, str]]:
        """Live chains: agent -> (thread, ns), from the registry chain (verified)."""
        live: dict[str, tuple[str, str]] = {}
        for pixel in self._registry_records():
            r = pixel
            if r["type"] == "langgraph.thread":
                live[r["agent"]] = (r["thread"], r["ns"])
            elif r["type"] == "langgraph.deleted":
                live.pop(r["agent"], None)
        return live

    def _registry_records(self) -> list[dict]:
        index_records: list[dict] = []
        try:
            lines = list(self.store.lines(REGISTRY))
        except NotFoundError:
            return []
        report = JsonlVerifier()
        for line in lines:
            report.feed((line + "\n").encode())
        result = report.finish()
        if not result.ok:
            assert result.error is not None
            raise make_error(
                result.error.code,
                f"the LangGraph thread registry fails verification: {result.error.message}",
            )
        for line in lines:
            index_records.append(TokenPixel.from_json(line).state)
        return index_records

    # -- reading ------------------------------------------------------------------------------

    def _tuple(
        self, index: _Index, checkpoint_id: str, config: Optional[dict] = None
    ) -> CheckpointTuple:
        record = index.checkpoints[checkpoint_id]
        thread, ns = record["thread"], record["ns"]
        where = f"checkpoint {checkpoint_id} of thread {thread!r}"
        body = self._load_blob(record["checkpoint"], where)
        values = {}
        for channel, version in body.get("channel_versions", {}).items():
            ref = index.blobs.get((channel, _vkey(version)))
            if ref is None or ref["type"] == "empty":
                continue
            values[channel] = self._load_blob(ref, where)
        stored = index.writes.get(checkpoint_id, {})
        ordered = sorted(stored, key=lambda k: writes_sort_key(stored[k][3], *k))
        pending = [
            (stored[k][0], stored[k][1], self._load_blob(stored[k][2], where)) for k in ordered
        ]
        parent = record.get("parent")
        return CheckpointTuple(
            config=config
            or {
                "configurable": {
                    "thread_id": thread,
                    "checkpoint_ns": ns,
                    "checkpoint_id": checkpoint_id,
                }
            },
            checkpoint={**body, "channel_values": values},
            metadata=self._load_blob(record["metadata"], where),
            parent_config=(
                {
                    "configurable": {
                        "thread_id": thread,
                        "checkpoint_ns": ns,
                        "checkpoint_id": parent,
                    }
                }
                if parent
                else None
            ),
            pending_writes=pending,
        )

    def get_tuple(self, config: RunnableConfig) -> Optional[CheckpointTuple]:
        thread = config["configurable"]["thread_id"]
        ns = config["configurable"].get("checkpoint_ns", "")
        index = self._index(agent_for(str(thread), ns))
        if checkpoint_id := get_checkpoint_id(config):
            if checkpoint_id not in index.checkpoints:
                return None
            return self._tuple(index, checkpoint_id, config)
        if not index.checkpoints:
            return None
        return self._tuple(index, max(index.checkpoints))

    def list(
        self,
        config: Optional[RunnableConfig],
        *,
        filter: Optional[dict[str, Any]] = None,
        before: Optional[RunnableConfig] = None,
        limit: Optional[int] = None,
    ) -> Iterator[CheckpointTuple]:
        if config is not None:
            thread = str(config["configurable"]["thread_id"])
            wanted_ns = config["configurable"].get("checkpoint_ns")
            chains = [
                (agent, t, ns)
                for agent, (t, ns) in self._threads().items()
                if t == thread and (wanted_ns is None or ns == wanted_ns)
            ]
            wanted_id = get_checkpoint_id(config)
        else:
            chains = [(agent, t, ns) for agent, (t, ns) in self._threads().items()]
            wanted_id = None
        before_id = get_checkpoint_id(before) if before else None
        remaining = limit
        for agent, _thread, _ns in sorted(chains, key=lambda c: (c[1], c[2])):
            index = self._index(agent)
            for checkpoint_id in sorted(index.checkpoints, reverse=True):
                if wanted_id and checkpoint_id != wanted_id:
                    continue
                if before_id and checkpoint_id >= before_id:
                    continue
                tup = self._tuple(index, checkpoint_id)
                if filter and not all(tup.metadata.get(k) == v for k, v in filter.items()):
                    continue
                if remaining is not None:
                    if remaining <= 0:
                        return
                    remaining -= 1
                yield tup

    # -- writing ------------------------------------------------------------------------------

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        thread = str(config["configurable"]["thread_id"])
        ns = config["configurable"].get("checkpoint_ns", "")
        body = checkpoint.copy()
        values: dict[str, Any] = body.pop("channel_values")  # type: ignore[misc]
        channels = {}
        for channel, version in new_versions.items():
            blob = self._put_blob(values[channel]) if channel in values else {"type": "empty"}
            channels[channel] = {"version": _version_json(version), "blob": blob}
        full_metadata = get_checkpoint_metadata(config, metadata)
        record = {
            "type": "langgraph.checkpoint",
            "thread": thread,
            "ns": ns,
            "id": checkpoint["id"],
            "parent": config["configurable"].get("checkpoint_id"),
            "step": _jsonable(full_metadata.get("step")),
            "source": _jsonable(full_metadata.get("source")),
            "run_id": _jsonable(full_metadata.get("run_id")),
            "checkpoint": self._put_blob(body),
            "metadata": self._put_blob(full_metadata),
            "channels": channels,
            "versions": {
                ch: _version_json(v) for ch, v in checkpoint.get("channel_versions", {}).items()
            },
        }
        self._append(agent_for(thread, ns), [record], thread, ns)
        return {
            "configurable": {
                "thread_id": thread,
                "checkpoint_ns": ns,
                "checkpoint_id": checkpoint["id"],
            }
        }

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        thread = str(config["configurable"]["thread_id"])
        ns = config["configurable"].get("checkpoint_ns", "")
        checkpoint_id = config["configurable"]["checkpoint_id"]
        agent = agent_for(thread, ns)
        with self._lock:  # the stored writes decide which are new (one writer per process)
            existing = self._index(agent).writes.get(checkpoint_id, {})
            stored = []
            for idx, (channel, value) in enumerate(writes):
                key = (task_id, WRITES_IDX_MAP.get(channel, idx))
                if key[1] >= 0 and key in existing:
                    continue  # a repeated (task_id, idx) write is stored once
                stored.append({"idx": key[1], "channel": channel, "blob": self._put_blob(value)})
            if not stored:
                return
            record = {
                "type": "langgraph.writes",
                "thread": thread,
                "ns": ns,
                "checkpoint": checkpoint_id,
                "task": task_id,
                "path": task_path,
                "writes": stored,
            }
            self._append(agent, [record], thread, ns)

    # -- deleting, copying, pruning -------------------------------------------------------------

    def delete_thread(self, thread_id: str) -> None:
        """Removes every chain of the thread and the blobs no other chain uses (SPEC 13.3)."""
        thread = str(thread_id)
        with self._lock:
            for agent, (t, ns) in self._threads().items():
                if t == thread:
                    self._delete_chain(agent, thread, ns, "delete_thread")
            self._collect_garbage()

    def _delete_chain(self, agent: str, thread: str, ns: str, reason: str) -> None:
        head = None
        with contextlib.suppress(NotFoundError):
            head = self.store.latest(agent)
        self.store.delete(agent)
        self._indexes.pop(agent, None)
        self._sealed.pop(agent, None)
        self._register(
            {
                "type": "langgraph.deleted",
                "thread": thread,
                "ns": ns,
                "agent": agent,
                "reason": reason,
                "head": head.hash if head else None,
                "count": head.seq + 1 if head else 0,
            }
        )

    def _rewrite(self, agent: str, keep: list[dict], reason: str, old: _Index) -> None:
        """Replaces a chain by `keep` (re-sealed from genesis), after a record of why."""
        first = {
            "type": "langgraph.rewritten",
            "thread": old.thread,
            "ns": old.ns,
            "reason": reason,
            "previousHead": old.head,
            "previousCount": old.count,
        }
        chain = Chain(agent, SESSION)
        pixels = [chain.emit(_corridor(r), state=r) for r in [first, *keep]]
        from tokenpixel.s3_store import S3Store

        if isinstance(self.store, S3Store):
            # S3 has no atomic rewrite (12.11): delete, then write the new chain.
            self.store.delete(agent)
        with self.store.transaction(agent) as tx:
            tx.replace(pixels, None)
        with self._lock:
            self._indexes.pop(agent, None)
            self._sealed.pop(agent, None)

    def _records(self, agent: str) -> list[dict]:
        self._index(agent)  # verified first
        return [TokenPixel.from_json(line).state for line in self.store.lines(agent)]

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Removes the checkpoints (and their writes) of the given runs: each affected chain is
        rewritten without them (SPEC 13.3)."""
        runs = {str(r) for r in run_ids}
        if not runs:
            return
        with self._lock:
            for agent, (thread, ns) in self._threads().items():
                index = self._index(agent)
                doomed = {cid for cid, r in index.checkpoints.items() if r.get("run_id") in runs}
                if not doomed:
                    continue
                keep = [
                    r
                    for r in self._records(agent)
                    if r["type"] != "langgraph.rewritten"
                    and not (r["type"] == "langgraph.checkpoint" and r["id"] in doomed)
                    and not (r["type"] == "langgraph.writes" and r["checkpoint"] in doomed)
                ]
                keep = _with_resolved_channels(keep, index)
                if any(r["type"] == "langgraph.checkpoint" for r in keep):
                    self._rewrite(agent, keep, "delete_for_runs", index)
                else:
                    self._delete_chain(agent, thread, ns, "delete_for_runs")
            self._collect_garbage()

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copies every chain of the source thread into chains of the target thread."""
        source, target = str(source_thread_id), str(target_thread_id)
        with self._lock:
            for agent, (thread, ns) in self._threads().items():
                if thread != source:
                    continue
                records = [
                    {**r, "thread": target}
                    for r in self._records(agent)
                    if r["type"] in ("langgraph.checkpoint", "langgraph.writes")
                ]
                if records:
                    self._append(agent_for(target, ns), records, target, ns)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """`keep_latest`: each chain keeps its newest checkpoint and that checkpoint's writes
        (rewritten); `delete`: the threads' chains are removed."""
        if strategy not in ("keep_latest", "delete"):
            raise make_error("INVALID_ARGUMENT", f"unknown prune strategy {strategy!r}")
        threads = {str(t) for t in thread_ids}
        if not threads:
            return
        with self._lock:
            for agent, (thread, ns) in self._threads().items():
                if thread not in threads:
                    continue
                if strategy == "delete":
                    self._delete_chain(agent, thread, ns, "prune")
                    continue
                index = self._index(agent)
                if len(index.checkpoints) <= 1:
                    continue
                latest = max(index.checkpoints)
                keep = [
                    r
                    for r in self._records(agent)
                    if (r["type"] == "langgraph.checkpoint" and r["id"] == latest)
                    or (r["type"] == "langgraph.writes" and r["checkpoint"] == latest)
                ]
                self._rewrite(agent, _with_resolved_channels(keep, index), "prune", index)
            self._collect_garbage()

    def _collect_garbage(self) -> None:
        """Deletes blobs that no live chain references."""
        used: set[str] = set()
        for agent in self._threads():
            for r in self._records(agent):
                used.update(_refs(r))
        for digest in self.blobs.all():
            if digest not in used:
                self.blobs.delete(digest)

    # -- async twins (run on a worker thread) ---------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> Optional[CheckpointTuple]:
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(
        self,
        config: Optional[RunnableConfig],
        *,
        filter: Optional[dict[str, Any]] = None,
        before: Optional[RunnableConfig] = None,
        limit: Optional[int] = None,
    ) -> AsyncIterator[CheckpointTuple]:
        items = await asyncio.to_thread(
            lambda: list(self.list(config, filter=filter, before=before, limit=limit))
        )
        for item in items:
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self.delete_thread, thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await asyncio.to_thread(self.delete_for_runs, run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await asyncio.to_thread(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await asyncio.to_thread(self.prune, thread_ids, strategy=strategy)

    def get_next_version(self, current: Optional[str], channel: None) -> str:
        """Versions as InMemorySaver makes them: sortable strings."""
        if current is None:
            current_v = 0
        elif isinstance(current, int):
            current_v = current
        else:
            current_v = int(current.split(".")[0])
        return f"{current_v + 1:032}.{hashlib.sha256(os.urandom(8)).hexdigest()[:16]}"


def _corridor(record: dict) -> str:
    kind = record.get("type")
    if kind == "langgraph.writes":
        return CORRIDOR_WRITES
    if kind == "langgraph.rewritten":
        return CORRIDOR_REWRITE
    return CORRIDOR_CHECKPOINT


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def _refs(record: dict) -> Iterator[str]:
    for key in ("checkpoint", "metadata"):
        ref = record.get(key)
        if isinstance(ref, dict) and "sha256" in ref:
            yield ref["sha256"]
    for entry in (record.get("channels") or {}).values():
        if "sha256" in entry["blob"]:
            yield entry["blob"]["sha256"]
    for w in record.get("writes") or []:
        if isinstance(w, dict) and "sha256" in w.get("blob", {}):
            yield w["blob"]["sha256"]


def _with_resolved_channels(records: list[dict], index: _Index) -> list[dict]:
    """Kept checkpoints name the blob of every channel version they use, since the records
    that first stored them may be gone after a rewrite."""
    out = []
    for r in records:
        if r["type"] == "langgraph.checkpoint":
            channels = dict(r["channels"])
            for channel, version in r["versions"].items():
                ref = index.blobs.get((channel, _vkey(version)))
                if channel not in channels and ref is not None:
                    channels[channel] = {"version": version, "blob": ref}
            r = {**r, "channels": channels}
        out.append(r)
    return out
