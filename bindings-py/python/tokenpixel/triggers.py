"""Checkpoints that trigger themselves: on a timer, or on events.

`PeriodicCheckpointer` emits `...NODE_PERIODIC` every `interval_s` seconds from a state
callback; `EventTriggeredCheckpointer` maps the CI/CD seed's events to their corridors:

| event | corridor |
|---|---|
| `INTENT_CHANGED` | the current district and chamber, `NODE_INTENT_CHANGE` |
| `ANOMALY_DETECTED` | the current district and chamber, `NODE_ANOMALY` |
| `CORRIDOR_CROSSED` | the corridor crossed into (the event's `corridor`) |

Both go through `Checkpointer.emit`, so they share the agent's chain, lock and listeners.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any, Callable, Optional

from tokenpixel._native import (
    TokenPixel,
    canonical_json,
    corridor,
    make_error,
    validate_corridor,
)
from tokenpixel.checkpointer import Checkpointer

log = logging.getLogger("tokenpixel")

StateFn = Callable[[], Optional[Mapping[str, Any]]]

__all__ = ["EVENT_NODES", "EventTriggeredCheckpointer", "PeriodicCheckpointer"]


def _current_prefix(cp: Checkpointer) -> tuple[int, str]:
    """(district, chamber) of the agent's newest pixel, or of the default corridor."""
    head = cp.head
    if head is None:
        return 0, "AGENT"
    return head.district, head.chamber


def _same(a: Any, b: Any) -> bool:
    return canonical_json(a) == canonical_json(b)


class PeriodicCheckpointer:
    """Emits a checkpoint every `interval_s` seconds on a background thread.

    - `state` (and `context`) are callables returning the values to record; left out, the
      pixel carries the previous state forward.
    - `corridor`: where the pixel is taken; by default the current district and chamber (of
      the newest pixel) at `NODE_PERIODIC`, as the seed does.
    - Ticks are scheduled against a fixed start (no drift), and a tick that comes due while the
      previous emission is still running is skipped, never queued (no pile-up).
    - With `skip_unchanged` (the default) a tick whose state and context equal the newest
      pixel's emits nothing: the same `stateHash` would say nothing new.
    - After `stop()` returns, nothing more is emitted. Errors are logged, kept in `errors` and
      passed to `on_error`; the timer goes on.
    """

    def __init__(
        self,
        checkpointer: Checkpointer,
        interval_s: float,
        *,
        corridor: Optional[str] = None,
        state: Optional[StateFn] = None,
        context: Optional[StateFn] = None,
        skip_unchanged: bool = True,
        on_error: Optional[Callable[[BaseException], None]] = None,
    ):
        if isinstance(interval_s, bool) or not isinstance(interval_s, (int, float)):
            raise make_error("INVALID_ARGUMENT", "interval_s must be a number of seconds")
        if not interval_s > 0:
            raise make_error("INVALID_ARGUMENT", "interval_s must be > 0")
        if corridor is not None:
            validate_corridor(corridor)
        self.checkpointer = checkpointer
        self.interval_s = float(interval_s)
        self.corridor = corridor
        self._state = state
        self._context = context
        self.skip_unchanged = skip_unchanged
        self.on_error = on_error
        self.emitted: list[TokenPixel] = []
        self.skipped = 0
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> PeriodicCheckpointer:
        if self.running:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="tokenpixel-periodic", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: Optional[float] = None) -> None:
        """Stops the timer and waits for an emission in progress to finish."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> PeriodicCheckpointer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def tick(self) -> Optional[TokenPixel]:
        """One emission now (what the timer calls): the pixel, or None when skipped."""
        state = dict(self._state()) if self._state is not None else None
        context = self._context() if self._context is not None else None
        if self.skip_unchanged:
            head = self.checkpointer.head
            unchanged = head is not None and (
                (state is None or _same(state, head.state))
                and (context is None or _same(context, head.context))
            )
            if unchanged:
                self.skipped += 1
                return None
        where = self.corridor or corridor(*_current_prefix(self.checkpointer), "PERIODIC")
        kwargs: dict[str, Any] = {"state": state}
        if context is not None:
            kwargs["context"] = dict(context)
        pixel = self.checkpointer.emit(where, **kwargs)
        self.emitted.append(pixel)
        return pixel

    def _loop(self) -> None:
        start = time.monotonic()
        ticks = 0
        while True:
            ticks += 1
            due = start + ticks * self.interval_s
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            try:
                self.tick()
            except Exception as exc:  # keep ticking; report
                self.errors.append(exc)
                log.warning("tokenpixel: periodic checkpoint failed: %s", exc)
                if self.on_error is not None:
                    self.on_error(exc)
            # Missed ticks (a slow emission) are dropped, not replayed in a burst.
            behind = int((time.monotonic() - start) / self.interval_s)
            ticks = max(ticks, behind)


EVENT_NODES = {
    "INTENT_CHANGED": "INTENT_CHANGE",
    "ANOMALY_DETECTED": "ANOMALY",
}
"""Events that checkpoint at the current district and chamber, and the node they use."""


class EventTriggeredCheckpointer:
    """Emits a checkpoint when a trigger event arrives.

    Connect it to an event source with `subscribe(source)` (anything with
    `subscribe(name, fn)` or `on(name, fn)`: an in-process event bus, pyee, a
    `blinker`-style signal hub), or call `handle(name, payload)` yourself; from asyncio use
    `await ahandle(name, payload)`, which runs the emit in a worker thread.

    The payload (a mapping) is recorded in the pixel's `state` under `event` (name and payload),
    next to `state()`'s value if a state callable is given. `INTENT_CHANGED` payloads may carry
    `intent_hash`; `CORRIDOR_CROSSED` payloads carry `corridor` (the corridor entered), or the
    payload is that corridor as a str.
    """

    EVENTS = ("INTENT_CHANGED", "ANOMALY_DETECTED", "CORRIDOR_CROSSED")

    def __init__(self, checkpointer: Checkpointer, *, state: Optional[StateFn] = None):
        self.checkpointer = checkpointer
        self._state = state
        self.emitted: list[TokenPixel] = []

    def subscribe(self, source: Any) -> EventTriggeredCheckpointer:
        hook = getattr(source, "subscribe", None) or getattr(source, "on", None)
        if hook is None:
            raise make_error(
                "INVALID_ARGUMENT",
                "the event source needs a subscribe(name, fn) or on(name, fn) method",
            )
        for name in self.EVENTS:
            hook(name, lambda payload=None, _n=name: self.handle(_n, payload))
        return self

    def handle(self, name: str, payload: Any = None) -> TokenPixel:
        """Emits the checkpoint for one event; returns the pixel."""
        where, kwargs = self._plan(name, payload)
        pixel = self.checkpointer.emit(where, **kwargs)
        self.emitted.append(pixel)
        return pixel

    async def ahandle(self, name: str, payload: Any = None) -> TokenPixel:
        """`handle` for asyncio code: the store IO runs in a worker thread."""
        return await asyncio.to_thread(self.handle, name, payload)

    def _plan(self, name: str, payload: Any) -> tuple[str, dict[str, Any]]:
        data = dict(payload) if isinstance(payload, Mapping) else {}
        if name == "CORRIDOR_CROSSED":
            where = payload if isinstance(payload, str) else data.get("corridor")
            if not isinstance(where, str):
                raise make_error(
                    "INVALID_ARGUMENT",
                    "CORRIDOR_CROSSED needs the corridor entered (payload['corridor'])",
                )
            validate_corridor(where)
        elif name in EVENT_NODES:
            where = corridor(*_current_prefix(self.checkpointer), EVENT_NODES[name])
        else:
            raise make_error(
                "INVALID_ARGUMENT", f"unknown trigger event {name!r}: expected one of {self.EVENTS}"
            )
        state = dict(self._state() or {}) if self._state is not None else None
        if state is None:
            head = self.checkpointer.head
            state = dict(head.state) if head is not None else {}
        state["event"] = {"name": name, "payload": data if data else payload}
        kwargs: dict[str, Any] = {"state": state}
        if name == "INTENT_CHANGED" and isinstance(data.get("intent_hash"), str):
            kwargs["intent_hash"] = data["intent_hash"]
        return where, kwargs
