"""OpenTelemetry metrics of the Checkpointer (issue 10), read back through the SDK's in-memory
reader."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import tokenpixel as tp

A = "agent-m"
PRE = "DISTRICT_2.CHAMBER_LORA.NODE_PRE"
POST = "DISTRICT_3.CHAMBER_ROUTER.NODE_POST"


def points(reader: InMemoryMetricReader) -> dict[str, list]:
    """Metric name -> its data points, for the tokenpixel meter."""
    out: dict[str, list] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            if sm.scope.name != "tokenpixel":
                continue
            for metric in sm.metrics:
                out.setdefault(metric.name, []).extend(metric.data.data_points)
    return out


def by_corridor(pts: list) -> dict[str, object]:
    return {p.attributes["corridor"]: p for p in pts}


def test_sync_checkpointer_records_counter_sizes_and_latency(tmp_path) -> None:
    reader = InMemoryMetricReader()
    cp = tp.Checkpointer(tp.JsonlStore(tmp_path), A, metrics=MeterProvider(metric_readers=[reader]))
    pixels = [cp.emit(PRE, state={"i": 1}), cp.emit(PRE, state={"i": 2}), cp.emit(POST)]
    got = points(reader)

    counts = by_corridor(got["tokenpixel.checkpoints"])
    assert counts[PRE].value == 2 and counts[POST].value == 1
    assert dict(counts[PRE].attributes) == {"agent": A, "district": "DISTRICT_2", "corridor": PRE}
    assert counts[POST].attributes["district"] == "DISTRICT_3"

    sizes = by_corridor(got["tokenpixel.pixel.size"])
    assert sizes[PRE].count == 2
    assert sizes[PRE].sum == sum(len(p.to_json().encode()) for p in pixels[:2])
    assert sizes[POST].max == len(pixels[2].to_json().encode())

    latency = by_corridor(got["tokenpixel.emit.latency"])
    assert latency[PRE].count == 2 and latency[POST].count == 1
    assert 0 < latency[PRE].sum < 5  # seconds
    assert "tokenpixel.queue.wait" not in got  # sync mode has no queue


def test_background_checkpointer_records_queue_wait_and_depth(tmp_path) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    with (
        tp.Checkpointer(tp.JsonlStore(tmp_path), A, background=True, metrics=provider) as cp,
        tp.Checkpointer(tp.JsonlStore(tmp_path / "b"), "agent-n", metrics=provider),
    ):
        for i in range(20):
            cp.emit(PRE, state={"i": i})
        cp.flush()
        got = points(reader)
        depth = {p.attributes["agent"]: p.value for p in got["tokenpixel.queue.depth"]}
        assert depth == {A: 0}  # only background checkpointers have a queue
        wait = by_corridor(got["tokenpixel.queue.wait"])
        assert wait[PRE].count == 20
        assert by_corridor(got["tokenpixel.checkpoints"])[PRE].value == 20
        assert by_corridor(got["tokenpixel.emit.latency"])[PRE].count == 20
    # closed: it no longer reports a queue
    assert points(reader).get("tokenpixel.queue.depth", []) == []


def run_python(code: str, tmp_path) -> str:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), str(tmp_path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_global_provider_set_after_import_is_followed_and_off_is_off(tmp_path) -> None:
    out = run_python(
        """
        import sys
        import tokenpixel as tp
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        cp = tp.Checkpointer(tp.JsonlStore(sys.argv[1]), "agent-g")  # before the SDK is set
        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        cp.emit("DISTRICT_1.CHAMBER_0.NODE_PRE")
        cp.emit("DISTRICT_1.CHAMBER_0.NODE_POST")
        off = tp.Checkpointer(tp.JsonlStore(sys.argv[1]), "agent-g", metrics=False)
        off.emit("DISTRICT_1.CHAMBER_0.NODE_POST")  # metrics=False: not counted
        data = reader.get_metrics_data()
        total = sum(
            p.value
            for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
            if m.name == "tokenpixel.checkpoints" for p in m.data.data_points
        )
        print(total)
        """,
        tmp_path,
    )
    assert out.strip() == "2"


def test_without_opentelemetry_installed_nothing_is_imported(tmp_path) -> None:
    out = run_python(
        """
        import sys
        sys.modules["opentelemetry"] = None  # as if not installed: import fails
        import tokenpixel as tp
        cp = tp.Checkpointer(tp.JsonlStore(sys.argv[1]), "agent-x", background=True)
        p = cp.emit("DISTRICT_1.CHAMBER_0.NODE_PRE")
        cp.close()
        print(p.seq, tp.JsonlStore(sys.argv[1]).verify("agent-x").count)
        """,
        tmp_path,
    )
    assert out.split() == ["0", "1"]
