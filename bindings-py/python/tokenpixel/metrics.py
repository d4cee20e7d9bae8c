"""OpenTelemetry metrics of checkpointers, through the OpenTelemetry API (`opentelemetry-api`,
an optional dependency: `pip install tokenpixel[metrics]`).

Meter `tokenpixel`, instruments (attributes `agent`, `district`, `corridor`; the queue gauge
only `agent`):

- `tokenpixel.checkpoints` (counter, `{pixel}`): pixels made durable;
- `tokenpixel.pixel.size` (histogram, `By`): canonical line size;
- `tokenpixel.emit.latency` (histogram, `s`): time `emit` took on the caller;
- `tokenpixel.queue.wait` (histogram, `s`): background mode, from `emit` to durable;
- `tokenpixel.queue.depth` (observable gauge, `{pixel}`): background mode, pixels not yet
  durable.

Without `opentelemetry-api` nothing is recorded and nothing is imported; with the API but no
SDK configured, the API's no-op instruments are used. The meter comes from the global meter
provider, or from the `metrics=` provider given to `Checkpointer`.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Iterable
from typing import Any, Optional

from tokenpixel._native import __version__

METER_NAME = "tokenpixel"


class Instruments:
    """The instruments of one meter, shared by the checkpointers that record through it."""

    def __init__(self, meter: Any) -> None:
        from opentelemetry.metrics import Observation

        self._observation = Observation
        self.checkpoints = meter.create_counter(
            "tokenpixel.checkpoints", unit="{pixel}", description="Pixels made durable"
        )
        self.size = meter.create_histogram(
            "tokenpixel.pixel.size", unit="By", description="Canonical line size of a pixel"
        )
        self.latency = meter.create_histogram(
            "tokenpixel.emit.latency", unit="s", description="Time emit took on the caller"
        )
        self.wait = meter.create_histogram(
            "tokenpixel.queue.wait",
            unit="s",
            description="Background mode: time from emit until the pixel was durable",
        )
        self._queues: weakref.WeakSet[Any] = weakref.WeakSet()
        self._guard = threading.Lock()
        meter.create_observable_gauge(
            "tokenpixel.queue.depth",
            callbacks=[self._depths],
            unit="{pixel}",
            description="Background mode: pixels emitted and not yet durable",
        )

    def watch_queue(self, checkpointer: Any) -> None:
        """Reports `checkpointer.pending` in the queue gauge while it is open."""
        with self._guard:
            self._queues.add(checkpointer)

    def unwatch_queue(self, checkpointer: Any) -> None:
        with self._guard:
            self._queues.discard(checkpointer)

    def _depths(self, _options: Any) -> Iterable[Any]:
        with self._guard:
            queues = list(self._queues)
        return [self._observation(cp.pending, {"agent": cp.agent_id}) for cp in queues]


_BY_PROVIDER: weakref.WeakKeyDictionary[Any, Instruments] = weakref.WeakKeyDictionary()
_GLOBAL: list[Optional[Instruments]] = []
_LOCK = threading.Lock()


def instruments(provider: Any = True) -> Optional[Instruments]:
    """The instruments for `provider`: True = the global meter provider, False/None = off, or
    an OpenTelemetry MeterProvider. None when off or when `opentelemetry-api` is missing."""
    if provider is False or provider is None:
        return None
    with _LOCK:
        if provider is True:
            if not _GLOBAL:
                try:
                    from opentelemetry import metrics
                except ImportError:
                    _GLOBAL.append(None)
                else:  # a proxy meter: it follows a provider set later
                    _GLOBAL.append(Instruments(metrics.get_meter(METER_NAME, __version__)))
            return _GLOBAL[0]
        found = _BY_PROVIDER.get(provider)
        if found is None:
            found = Instruments(provider.get_meter(METER_NAME, __version__))
            _BY_PROVIDER[provider] = found
        return found


@functools.lru_cache(maxsize=4096)
def attributes(agent_id: str, corridor: str) -> dict[str, str]:
    """The attributes of a pixel's measurements (cached: callers must not change them)."""
    return {"agent": agent_id, "district": corridor.split(".", 1)[0], "corridor": corridor}
