"""The Checkpointer: emit and persist in one step, continuing the chain already in the store,
with district stages (pre and post pixels) and checkpoint events for listeners."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from tokenpixel._native import Chain, TokenPixel, make_error, validate_corridor
from tokenpixel.background import BackgroundWriter
from tokenpixel.errors import NotFoundError, StoreError
from tokenpixel.metrics import attributes, instruments
from tokenpixel.store import Store

log = logging.getLogger("tokenpixel")


@dataclass(frozen=True)
class CheckpointEvent:
    """Sent to listeners after every checkpoint is persisted."""

    token_pixel_id: str
    agent_id: str
    corridor: str
    timestamp_ms: int
    autonomy_index: float
    metadata: dict[str, Any]
    pixel: TokenPixel
    event_type: str = "CHECKPOINT_CREATED"


@dataclass
class Stage:
    """A stage in progress. Set `state`, `context` or surface values (`autonomy_index`,
    `intent_hash`, `event_delta`, `state_vector`) before the block ends: they go into the
    post pixel."""

    prefix: str
    pre: TokenPixel
    post: Optional[TokenPixel] = None
    error: Optional[TokenPixel] = None
    state: Optional[dict[str, Any]] = None
    context: Optional[dict[str, Any]] = None
    surface: dict[str, Any] = field(default_factory=dict)

    def update(self, **surface: Any) -> None:
        """Sets surface values for the post pixel."""
        self.surface.update(surface)


class Checkpointer:
    """Emits pixels for one agent and persists them in `store`.

    Each emit takes the store's lock, continues from the stored head (so several processes
    can checkpoint the same agent without forking the chain), appends, and then notifies
    listeners.
    """

    def __init__(
        self,
        store: Store,
        agent_id: str,
        *,
        session_id: Optional[str] = None,
        background: bool = False,
        queue_size: int = 1024,
        on_full: str = "block",
        batch_size: int = 256,
        metrics: Any = True,
        retries: int = 16,
        signer: Any = None,
        sign_every: int = 0,
        log: Optional[str] = None,
    ):
        """`metrics`: True records OpenTelemetry metrics through the global meter provider (when
        `opentelemetry-api` is installed), False records none, or give a MeterProvider.
        `retries`: how often a sync emit that meets CHAIN_CONFLICT (another writer took the
        seq first: S3 stores, SPEC 12.9) re-reads the head, re-seals and tries again."""
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise make_error("INVALID_ARGUMENT", "retries must be an integer >= 0")
        self.retries = retries
        # Signed heads (SPEC 14): with a NoteSigner, a checkpoint of the chain is signed every
        # `sign_every` durable pixels (0: only on close) and when the checkpointer closes.
        if isinstance(sign_every, bool) or not isinstance(sign_every, int) or sign_every < 0:
            raise make_error("INVALID_ARGUMENT", "sign_every must be an integer >= 0")
        self.signer, self.sign_every, self.log = signer, sign_every, log
        self._unsigned = 0
        self._metrics = instruments(metrics)
        self.store = store
        self.agent_id = agent_id
        self._chain = Chain(agent_id, session_id)
        self.session_id = self._chain.session_id
        self._listeners: list[Callable[[CheckpointEvent], None]] = []
        # Emits of one checkpointer are serialized (threads, asyncio.to_thread): one chain.
        self._emitting = threading.RLock()
        self._writer: Optional[BackgroundWriter] = None
        if background:
            self._writer = BackgroundWriter(
                store,
                agent_id,
                queue_size=queue_size,
                on_full=on_full,
                batch_size=batch_size,
                on_durable=self._durable,
            )
            self._sync(self._writer.head)
            if self._metrics is not None:
                self._metrics.watch_queue(self)

    @property
    def background(self) -> bool:
        return self._writer is not None

    @property
    def pending(self) -> int:
        """Emitted pixels not yet durable (background mode)."""
        return self._writer.pending if self._writer is not None else 0

    def flush(self, timeout: Optional[float] = None) -> None:
        """Returns when every pixel emitted so far is durable; raises a failed write."""
        if self._writer is not None:
            self._writer.flush(timeout)

    def close(self) -> None:
        """Flushes and stops the background writer (releasing the writer lock); with a
        signer, signs the head if pixels came since the last signature."""
        if self._writer is not None:
            self._writer.close()
            if self._metrics is not None:
                self._metrics.unwatch_queue(self)
        if self.signer is not None and self._unsigned:
            self.sign()

    def sign(self) -> str:
        """Signs a checkpoint of the stored chain now (SPEC 14) and keeps it in the store."""
        from tokenpixel import signing

        if self.signer is None:
            raise make_error("INVALID_ARGUMENT", "this checkpointer has no signer")
        note = signing.sign_head(self.store, self.agent_id, self.signer, self.log)
        self._unsigned = 0
        return note

    def __enter__(self) -> Checkpointer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def head(self) -> Optional[TokenPixel]:
        """The newest pixel: the in-memory head in background mode, else the stored head."""
        if self._writer is not None:
            return self._chain.head
        try:
            return self.store.latest(self.agent_id)
        except NotFoundError:
            return None

    def add_listener(self, listener: Callable[[CheckpointEvent], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[CheckpointEvent], None]) -> None:
        self._listeners.remove(listener)

    def _sync(self, head: Optional[TokenPixel]) -> None:
        """Points the in-memory chain at the stored head (another writer may have appended)."""
        if head is None:
            if self._chain.head is not None:
                self._chain = Chain(self.agent_id, self.session_id)
            return
        if self._chain.head_hash != head.hash:
            self._chain = Chain.resume([head], anchor=head.prev_hash, session_id=self.session_id)

    def emit(self, corridor: str, **fields: Any) -> TokenPixel:
        """Emits the next pixel and persists it. `fields` are `Chain.emit`'s (state, context,
        timestamp_ms, autonomy_index, intent_hash, event_delta, state_vector): left out, a
        value carries forward; `context=None` and `intent_hash=None` clear it."""
        started = time.perf_counter()
        if self._writer is not None:
            with self._emitting:
                self._writer.check()
                self._writer.make_room()
                pixel = self._chain.emit(corridor, **fields)
                self._writer.put(pixel)
            # listeners hear of it once it is durable
        else:
            pixel = self._emit_sync(corridor, fields)
            self._notify(pixel)
        if self._metrics is not None:
            self._metrics.latency.record(
                time.perf_counter() - started, attributes(self.agent_id, pixel.corridor)
            )
        return pixel

    def _emit_sync(self, corridor: str, fields: dict[str, Any]) -> TokenPixel:
        """One store transaction; on CHAIN_CONFLICT, re-read the head and re-seal."""
        for attempt in range(self.retries + 1):
            try:
                with self._emitting, self.store.transaction(self.agent_id) as tx:
                    self._sync(tx.head())
                    pixel = self._chain.emit(corridor, **fields)
                    tx.append(pixel)
                return pixel
            except StoreError as exc:
                if exc.code != "CHAIN_CONFLICT" or attempt == self.retries:
                    raise
                # Another writer took the seq: the next attempt starts from its head.
                time.sleep(random.uniform(0, 0.001 * (2 ** min(attempt, 6))))
        raise AssertionError("unreachable")

    def _durable(self, pixel: TokenPixel, enqueued_at: float) -> None:
        """The background writer made `pixel` durable."""
        if self._metrics is not None:
            self._metrics.wait.record(
                time.perf_counter() - enqueued_at, attributes(self.agent_id, pixel.corridor)
            )
        self._notify(pixel)

    def _notify(self, pixel: TokenPixel) -> None:
        if self.signer is not None:
            self._unsigned += 1
            if self.sign_every and self._unsigned >= self.sign_every and self._writer is None:
                self.sign()
        size = len(pixel.to_json().encode())
        if self._metrics is not None:
            attrs = attributes(self.agent_id, pixel.corridor)
            self._metrics.checkpoints.add(1, attrs)
            self._metrics.size.record(size, attrs)
        if not self._listeners:
            return
        event = CheckpointEvent(
            token_pixel_id=pixel.hash,
            agent_id=pixel.agent_id,
            corridor=pixel.corridor,
            timestamp_ms=pixel.timestamp_ms,
            autonomy_index=pixel.autonomy_index,
            metadata={
                "seq": pixel.seq,
                "intent_hash": pixel.intent_hash,
                "event_delta": pixel.event_delta,
                "state_hash": pixel.state_hash,
                "size_bytes": size,
            },
            pixel=pixel,
        )
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                # The pixel is already persisted; a failing listener must not undo or block it.
                log.exception("tokenpixel: checkpoint listener %r failed", listener)

    def _enter(self, prefix: str, fields: dict[str, Any]) -> Stage:
        validate_corridor(f"{prefix}.NODE_PRE")
        return Stage(prefix=prefix, pre=self.emit(f"{prefix}.NODE_PRE", **_given(fields)))

    def _fail(self, st: Stage, exc: BaseException) -> None:
        ctx = dict(st.context if st.context is not None else (st.pre.context or {}))
        variables = dict(ctx.get("variables") or {})
        variables.update(error_type=type(exc).__name__, error_msg=str(exc)[:2000])
        ctx["variables"] = variables
        ctx["notes"] = f"Error: {type(exc).__name__}: {str(exc)[:500]}"
        fields = _given({"state": st.state, **st.surface})
        st.error = self.emit(f"{st.prefix}.NODE_ERROR", context=ctx, **fields)

    def _finish(self, st: Stage) -> None:
        fields = _given({"state": st.state, "context": st.context, **st.surface})
        st.post = self.emit(f"{st.prefix}.NODE_POST", **fields)

    @contextmanager
    def stage(self, prefix: str, **fields: Any) -> Iterator[Stage]:
        """`with cp.stage("DISTRICT_2.CHAMBER_LORA") as st:` emits `<prefix>.NODE_PRE` on
        entry (with `fields`) and `<prefix>.NODE_POST` on exit (with what `st` holds). If the
        block raises, a `<prefix>.NODE_ERROR` pixel records the exception (type and message in
        the context's variables and notes) and the exception propagates."""
        st = self._enter(prefix, fields)
        try:
            yield st
        except BaseException as exc:
            self._fail(st, exc)
            raise
        self._finish(st)

    @asynccontextmanager
    async def astage(self, prefix: str, **fields: Any) -> AsyncIterator[Stage]:
        """`async with cp.astage(prefix) as st:`, the asyncio twin of `stage`. Concurrent
        stages (asyncio tasks) of one checkpointer keep one valid chain."""
        st = self._enter(prefix, fields)
        try:
            yield st
        except BaseException as exc:
            self._fail(st, exc)
            raise
        self._finish(st)


def _given(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields that were set (None: not given)."""
    return {k: v for k, v in fields.items() if v is not None}
