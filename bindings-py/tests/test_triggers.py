"""Automatic checkpoints (issue 10): PeriodicCheckpointer and EventTriggeredCheckpointer."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict

import pytest

import tokenpixel as tp
from tokenpixel.triggers import EventTriggeredCheckpointer, PeriodicCheckpointer


@pytest.fixture
def cp(tmp_path) -> tp.Checkpointer:
    store = tp.JsonlStore(tmp_path)
    c = tp.Checkpointer(store, "agent-t", session_id="s")
    c.emit("DISTRICT_4.CHAMBER_EXEC.NODE_PRE", state={"n": 0})
    return c


def corridors(cp: tp.Checkpointer) -> list[str]:
    return [p.corridor for p in cp.store.list("agent-t")]


def test_periodic_tick_semantics(cp) -> None:
    values = iter([{"n": 0}, {"n": 1}, {"n": 1}, {"n": 2}])
    p = PeriodicCheckpointer(cp, 60, state=lambda: next(values))
    results = [p.tick() for _ in range(4)]
    assert [r is None for r in results] == [True, False, True, False]
    assert p.skipped == 2
    assert [pix.state for pix in p.emitted] == [{"n": 1}, {"n": 2}]
    assert corridors(cp)[-2:] == ["DISTRICT_4.CHAMBER_EXEC.NODE_PERIODIC"] * 2
    forced = PeriodicCheckpointer(cp, 60, state=lambda: {"n": 2}, skip_unchanged=False)
    assert forced.tick() is not None
    report = cp.store.verify("agent-t")
    assert (report.ok, report.count, report.head) == (True, 4, forced.emitted[-1].hash)


def test_periodic_timer_runs_and_stops(cp) -> None:
    n = {"i": 0}

    def state() -> dict:
        n["i"] += 1
        return {"i": n["i"]}

    with PeriodicCheckpointer(
        cp, 0.02, corridor="DISTRICT_1.CHAMBER_0.NODE_PERIODIC", state=state
    ) as p:
        deadline = time.monotonic() + 5
        while len(p.emitted) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert p.running
    assert not p.running
    count = len(p.emitted)
    assert count >= 3
    time.sleep(0.1)
    assert len(p.emitted) == count  # nothing after stop
    assert len(corridors(cp)) == 1 + count
    assert cp.store.verify("agent-t").ok


def test_periodic_drops_missed_ticks(cp) -> None:
    calls: list[float] = []

    def state() -> dict:
        calls.append(time.monotonic())
        if len(calls) == 1:
            time.sleep(0.5)  # ten intervals late
        return {"i": len(calls)}

    p = PeriodicCheckpointer(cp, 0.05, state=state).start()
    time.sleep(1.0)
    p.stop()
    # After the slow tick about 9 more fit in the second left. Replaying the ten missed ticks
    # as a burst would make about 19, and put many calls within a few ms of each other.
    assert 3 <= len(calls) <= 13
    burst = [b - a for a, b in zip(calls[1:], calls[2:]) if b - a < 0.005]
    assert len(burst) <= 1


def test_periodic_errors_are_reported_and_the_timer_goes_on(cp) -> None:
    seen: list[BaseException] = []
    n = {"i": 0}

    def state() -> dict:
        n["i"] += 1
        if n["i"] == 1:
            raise RuntimeError("state unavailable")
        return {"i": n["i"]}

    p = PeriodicCheckpointer(cp, 0.02, state=state, on_error=seen.append).start()
    deadline = time.monotonic() + 5
    while not p.emitted and time.monotonic() < deadline:
        time.sleep(0.01)
    p.stop()
    assert [type(e).__name__ for e in seen] == ["RuntimeError"]
    assert p.errors == seen
    assert p.emitted


def test_periodic_arguments(cp) -> None:
    for bad in (0, -1, True, "1"):
        with pytest.raises(tp.ArgumentError):
            PeriodicCheckpointer(cp, bad)
    with pytest.raises(tp.SchemaError):
        PeriodicCheckpointer(cp, 1, corridor="nope")


class Bus:
    """A minimal in-process event bus."""

    def __init__(self) -> None:
        self.handlers: dict[str, list] = defaultdict(list)

    def subscribe(self, name, fn) -> None:
        self.handlers[name].append(fn)

    def publish(self, name, payload=None) -> None:
        for fn in self.handlers[name]:
            fn(payload)


def test_events_map_to_the_seed_corridors(cp) -> None:
    bus = Bus()
    et = EventTriggeredCheckpointer(cp).subscribe(bus)
    bus.publish("INTENT_CHANGED", {"intent_hash": "intent:deploy"})
    bus.publish("ANOMALY_DETECTED", {"metric": "latency", "value": 9.5})
    bus.publish("CORRIDOR_CROSSED", {"corridor": "DISTRICT_5.CHAMBER_DEPLOY.NODE_PRE"})
    bus.publish("CORRIDOR_CROSSED", "DISTRICT_5.CHAMBER_DEPLOY.NODE_POST")
    bus.publish("SOMETHING_ELSE", {})  # not subscribed: nothing
    assert corridors(cp)[1:] == [
        "DISTRICT_4.CHAMBER_EXEC.NODE_INTENT_CHANGE",
        "DISTRICT_4.CHAMBER_EXEC.NODE_ANOMALY",
        "DISTRICT_5.CHAMBER_DEPLOY.NODE_PRE",
        "DISTRICT_5.CHAMBER_DEPLOY.NODE_POST",
    ]
    intent, anomaly = et.emitted[0], et.emitted[1]
    assert intent.intent_hash == "intent:deploy"
    assert anomaly.state["event"] == {
        "name": "ANOMALY_DETECTED",
        "payload": {"metric": "latency", "value": 9.5},
    }
    assert anomaly.state["n"] == 0  # the rest of the state is carried
    assert cp.store.verify("agent-t").ok


def test_events_with_on_style_sources_and_bad_events(cp) -> None:
    class Emitter:
        def __init__(self) -> None:
            self.fns: dict = {}

        def on(self, name, fn) -> None:
            self.fns[name] = fn

    em = Emitter()
    EventTriggeredCheckpointer(cp).subscribe(em)
    assert sorted(em.fns) == sorted(EventTriggeredCheckpointer.EVENTS)
    et = EventTriggeredCheckpointer(cp)
    with pytest.raises(tp.ArgumentError):
        et.handle("NOPE")
    with pytest.raises(tp.ArgumentError):
        et.handle("CORRIDOR_CROSSED", {})
    with pytest.raises(tp.ArgumentError):
        et.subscribe(object())


def test_events_from_asyncio_keep_one_chain(cp) -> None:
    et = EventTriggeredCheckpointer(cp, state=lambda: {"k": threading.get_ident() > 0})

    async def main() -> None:
        await asyncio.gather(*(et.ahandle("ANOMALY_DETECTED", {"i": i}) for i in range(20)))

    asyncio.run(main())
    report = cp.store.verify("agent-t")
    assert (report.ok, report.count) == (True, 21)
    assert sorted(p.state["event"]["payload"]["i"] for p in et.emitted) == list(range(20))
