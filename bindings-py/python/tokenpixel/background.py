"""The background writer of a `Checkpointer(..., background=True)`: the caller seals pixels
(hash and seq known at once) and this thread appends them, in order, in batches, holding the
store's writer lock from its start until `close()`.

Nothing is dropped silently: a failed append is kept and raised by the next `emit`, by `flush`
and by `close`; the failed pixel and those after it stay pending. Open writers are flushed and
closed at interpreter exit.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import deque
from itertools import islice
from typing import Callable, Optional

from tokenpixel._native import TokenPixel, make_error
from tokenpixel.store import Store

log = logging.getLogger("tokenpixel")

_OPEN: weakref.WeakSet[BackgroundWriter] = weakref.WeakSet()


class BackgroundWriter:
    """Appends queued pixels to one agent's chain on a thread of its own."""

    def __init__(
        self,
        store: Store,
        agent_id: str,
        *,
        queue_size: int,
        on_full: str,
        batch_size: int,
        on_durable: Callable[[TokenPixel, float], None],
    ) -> None:
        for name, value in (("queue_size", queue_size), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise make_error("INVALID_ARGUMENT", f"{name} must be an integer >= 1")
        if on_full not in ("block", "raise"):
            raise make_error("INVALID_ARGUMENT", 'on_full must be "block" or "raise"')
        self.store = store
        self.agent_id = agent_id
        self.queue_size = queue_size
        self.on_full = on_full
        self.batch_size = batch_size
        self._on_durable = on_durable
        self._pending: deque[tuple[TokenPixel, float]] = deque()  # (pixel, enqueued at)
        self._cond = threading.Condition()
        self._error: Optional[BaseException] = None
        self._closing = False
        self._started = threading.Event()
        self.head: Optional[TokenPixel] = None
        self._thread = threading.Thread(
            target=self._run, name=f"tokenpixel-writer-{agent_id}", daemon=True
        )
        self._thread.start()
        self._started.wait()
        if self._error is not None:  # the lock or the head could not be read
            raise self._error
        _OPEN.add(self)

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def _run(self) -> None:
        try:
            with self.store.transaction(self.agent_id) as tx:
                self.head = tx.head()
                self._started.set()
                self._loop(tx)
        except BaseException as exc:  # reported to the caller
            with self._cond:
                self._error = self._error or exc
                self._cond.notify_all()
        finally:
            self._started.set()

    def _loop(self, tx) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending or self._error is not None:
                    return
                batch = list(islice(self._pending, self.batch_size))
            try:
                tx.extend([pixel for pixel, _ in batch])  # one write per batch
                done = len(batch)
            except BaseException as exc:
                done = _stored(tx, batch)
                with self._cond:
                    self._error = exc
                    for _ in range(done):
                        self._pending.popleft()
                    self._cond.notify_all()
                self._notify(batch[:done])
                return
            with self._cond:
                for _ in range(done):
                    self._pending.popleft()
                self._cond.notify_all()
            self._notify(batch)

    def _notify(self, pixels: list[tuple[TokenPixel, float]]) -> None:
        for pixel, enqueued_at in pixels:
            self._on_durable(pixel, enqueued_at)

    def check(self) -> None:
        """Raises a failed write, if any (what the next emit does)."""
        with self._cond:
            if self._error is not None:
                raise self._error
            if self._closing:
                raise make_error("INVALID_ARGUMENT", "this checkpointer is closed")

    def make_room(self) -> None:
        """Before sealing: waits for room in the queue, or raises QUEUE_FULL."""
        with self._cond:
            while len(self._pending) >= self.queue_size and self._error is None:
                if self.on_full == "raise":
                    raise make_error(
                        "QUEUE_FULL",
                        f"the background queue holds {len(self._pending)} pixels "
                        f"(queue_size {self.queue_size}); nothing was queued",
                    )
                self._cond.wait()
            if self._error is not None:
                raise self._error

    def put(self, pixel: TokenPixel) -> None:
        with self._cond:
            self._pending.append((pixel, time.perf_counter()))
            if len(self._pending) == 1:  # the writer waits only on an empty queue
                self._cond.notify_all()

    def flush(self, timeout: Optional[float] = None) -> None:
        """Returns when everything queued so far is durable; raises a failed write."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: not self._pending or self._error is not None, timeout=timeout
            )
            if self._error is not None:
                raise self._error
            if not ok:
                raise make_error(
                    "STORE_IO", f"{len(self._pending)} pixels not written within {timeout} s"
                )

    def close(self) -> None:
        """Flushes, stops the thread and releases the writer lock."""
        try:
            self.flush()
        finally:
            with self._cond:
                self._closing = True
                self._cond.notify_all()
            self._thread.join()
            _OPEN.discard(self)


def _stored(tx, batch: list[tuple[TokenPixel, float]]) -> int:
    """How many of `batch` a failed extend stored (a prefix: those up to the head)."""
    try:
        head = tx.head()
    except BaseException:  # cannot tell: they stay pending and are reported
        return 0
    for i, (pixel, _) in enumerate(batch):
        if head is not None and pixel.hash == head.hash:
            return i + 1
    return 0


@atexit.register
def _flush_at_exit() -> None:
    for writer in list(_OPEN):
        try:
            writer.close()
        except BaseException as exc:  # the process is ending: say what was not written
            log.error(
                "tokenpixel: %d pending checkpoints of %s not written: %s",
                writer.pending,
                writer.agent_id,
                exc,
            )
