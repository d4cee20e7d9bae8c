"""The Checkpointer: emit and persist in one step, continuing the chain already in the store,
with district stages (pre and post pixels) and checkpoint events for listeners."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from tokenpixel._native import Chain, TokenPixel, validate_corridor
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

    def __init__(self, store: Store, agent_id: str, *, session_id: Optional[str] = None):
        self.store = store
        self.agent_id = agent_id
        self._chain = Chain(agent_id, session_id)
        self.session_id = self._chain.session_id
        self._listeners: list[Callable[[CheckpointEvent], None]] = []

    @property
    def head(self) -> Optional[TokenPixel]:
        return self.store.latest(self.agent_id)

    def add_listener(self, listener: Callable[[CheckpointEvent], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[CheckpointEvent], None]) -> None:
        self._listeners.remove(listener)

    def _sync(self) -> None:
        """Points the in-memory chain at the stored head (another writer may have appended)."""
        head = self.head
        if head is None:
            if self._chain.head is not None:
                self._chain = Chain(self.agent_id, self.session_id)
            return
        if self._chain.head_hash != head.hash:
            self._chain = Chain.resume([head], anchor=head.prev_hash, session_id=self.session_id)

    def emit(
        self,
        corridor: str,
        *,
        state: Optional[dict[str, Any]] = None,
        context: Optional[dict[str, Any]] = None,
        timestamp_ms: Optional[int] = None,
        **surface: Any,
    ) -> TokenPixel:
        """Emits the next pixel and persists it. `surface`: autonomy_index, intent_hash,
        event_delta, state_vector."""
        with self.store.locked(self.agent_id):
            self.store._prepare_locked(self.agent_id)
            self._sync()
            pixel = self._chain.emit(
                corridor, state=state, context=context, timestamp_ms=timestamp_ms, **surface
            )
            self.store._append_locked(pixel)
        self._notify(pixel)
        return pixel

    def _notify(self, pixel: TokenPixel) -> None:
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
                "size_bytes": len(pixel.to_json()),
            },
            pixel=pixel,
        )
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                # The pixel is already persisted; a failing listener must not undo or block it.
                log.exception("tokenpixel: checkpoint listener %r failed", listener)

    @contextmanager
    def stage(
        self,
        prefix: str,
        *,
        state: Optional[dict[str, Any]] = None,
        context: Optional[dict[str, Any]] = None,
        **surface: Any,
    ) -> Iterator[Stage]:
        """`with cp.stage("DISTRICT_2.CHAMBER_LORA") as st:` emits `<prefix>.NODE_PRE` on
        entry and `<prefix>.NODE_POST` on exit. If the block raises, a `<prefix>.NODE_ERROR`
        pixel records the exception (type and message in context notes and variables) and the
        exception propagates."""
        validate_corridor(f"{prefix}.NODE_PRE")
        pre = self.emit(f"{prefix}.NODE_PRE", state=state, context=context, **surface)
        st = Stage(prefix=prefix, pre=pre)
        try:
            yield st
        except BaseException as exc:
            ctx = dict(st.context if st.context is not None else (pre.context or {}))
            variables = dict(ctx.get("variables") or {})
            variables.update(error_type=type(exc).__name__, error_msg=str(exc)[:2000])
            ctx["variables"] = variables
            ctx["notes"] = f"Error: {type(exc).__name__}: {str(exc)[:500]}"
            st.error = self.emit(f"{prefix}.NODE_ERROR", state=st.state, context=ctx, **st.surface)
            raise
        st.post = self.emit(f"{prefix}.NODE_POST", state=st.state, context=st.context, **st.surface)
