"""The Python API: names, types, errors with codes and paths, read-only pixels."""

import datetime
import decimal
import threading
import time

import pytest

import tokenpixel as tp

C = "DISTRICT_2.CHAMBER_LORA.NODE_PRE"


def test_emit_and_attributes():
    chain = tp.Chain("agent-1", "session-1")
    assert chain.head is None and chain.next_seq == 0 and chain.head_hash == tp.GENESIS_HASH
    p = chain.emit(
        C,
        state={"docs": ["a", "b"], "n": 3, "f": 0.5, "ok": True, "none": None},
        context={"phase": {"name": "Phase 1", "number": 1}, "variables": {"k": "v"}},
        timestamp_ms=1_763_900_000_000,
        autonomy_index=0.25,
        intent_hash="intent:route",
        event_delta=2,
        state_vector={"psi": 0.9, "omega": 1},
    )
    assert (p.schema, p.seq, p.agent_id, p.session_id) == (1, 0, "agent-1", "session-1")
    assert (p.corridor, p.district, p.chamber, p.node) == (C, 2, "LORA", "PRE")
    assert p.timestamp_ms == 1_763_900_000_000
    assert (p.autonomy_index, p.intent_hash, p.event_delta) == (0.25, "intent:route", 2)
    assert p.state == {"docs": ["a", "b"], "n": 3, "f": 0.5, "ok": True, "none": None}
    assert type(p.state["n"]) is int
    assert p.state_vector == {"psi": 0.9, "omega": 1}
    assert p.context["variables"] == {"k": "v"}
    assert p.prev_hash == tp.GENESIS_HASH
    assert p.hash.startswith("sha256:") and len(p.hash) == 71
    assert p.short_id == p.hash[7:19]
    assert chain.head == p and chain.next_seq == 1
    d = p.to_dict()
    assert d["agentId"] == "agent-1" and d["stateVector"] == {"omega": 1, "psi": 0.9}
    assert tp.TokenPixel.from_dict(d) == p
    assert tp.TokenPixel.from_json(p.to_json()) == p
    assert hash(tp.TokenPixel.from_json(p.to_json())) == hash(p)
    assert tp.canonical_json(d) == p.to_json()
    with pytest.raises(AttributeError):
        p.seq = 5  # type: ignore[misc]
    assert "TokenPixel(seq=0" in repr(p)


def test_carry_forward_and_defaults():
    chain = tp.Chain("a")
    assert len(chain.session_id) == 32
    chain.emit(C, state={"k": 1}, intent_hash="i", event_delta=4)
    p = chain.emit("DISTRICT_2.CHAMBER_LORA.NODE_POST")
    assert p.state == {"k": 1} and p.intent_hash == "i" and p.event_delta == 0
    assert p.timestamp_ms >= chain.head.timestamp_ms


@pytest.mark.parametrize(
    "value, code, reason, path",
    [
        ({"when": datetime.datetime(2026, 1, 1)}, "UNSUPPORTED_TYPE", None, "$.state.when"),
        ({"b": b"bytes"}, "UNSUPPORTED_TYPE", None, "$.state.b"),
        ({"s": {1, 2}}, "UNSUPPORTED_TYPE", None, "$.state.s"),
        ({"t": (1, 2)}, "UNSUPPORTED_TYPE", None, "$.state.t"),
        ({"d": decimal.Decimal("1.5")}, "UNSUPPORTED_TYPE", None, "$.state.d"),
        ({"x": [0, float("nan")]}, "NOT_I_JSON", "NON_FINITE_NUMBER", "$.state.x[1]"),
        ({"x": float("inf")}, "NOT_I_JSON", "NON_FINITE_NUMBER", "$.state.x"),
        ({"big": 2**53 + 1}, "NOT_I_JSON", "LOSSY_INTEGER", "$.state.big"),
        ({"big": -(2**70) - 1}, "NOT_I_JSON", "LOSSY_INTEGER", "$.state.big"),
        ({"a b": {"c": object()}}, "UNSUPPORTED_TYPE", None, '$.state["a b"].c'),
        ({1: "int key"}, "UNSUPPORTED_TYPE", None, "$.state"),
        ({"s": "lone \ud800"}, "NOT_I_JSON", "LONE_SURROGATE", "$.state.s"),
    ],
)
def test_bad_values_name_their_path(value, code, reason, path):
    chain = tp.Chain("a")
    with pytest.raises(tp.JsonError) as info:
        chain.emit(C, state=value)
    err = info.value
    assert isinstance(err, tp.TokenPixelError) and isinstance(err, ValueError)
    assert (err.code, err.reason) == (code, reason)
    assert path in str(err)
    # The chain is still usable.
    assert chain.emit(C).seq == 0


def test_limits_and_exact_integers():
    chain = tp.Chain("a")
    assert chain.emit(C, state={"max": 2**53, "min": -(2**53)}).state == {
        "max": 2**53,
        "min": -(2**53),
    }
    deep: dict = {}
    cur = deep
    for _ in range(300):
        cur["d"] = {}
        cur = cur["d"]
    with pytest.raises(tp.JsonError) as info:
        chain.emit(C, state=deep)
    assert info.value.code == "LIMIT_EXCEEDED"
    cyclic: dict = {}
    cyclic["self"] = cyclic
    with pytest.raises(tp.JsonError):
        chain.emit(C, state=cyclic)
    with pytest.raises(tp.JsonError) as info:
        tp.canonicalize("[" * 200_000)
    assert info.value.code == "LIMIT_EXCEEDED"


def test_schema_and_argument_errors():
    chain = tp.Chain("a")
    with pytest.raises(tp.SchemaError) as info:
        chain.emit("DISTRICT_2.CHAMBER_LORA")
    assert info.value.code == "INVALID_CORRIDOR"
    with pytest.raises(tp.SchemaError) as info:
        chain.emit(C, autonomy_index=1.5)
    assert info.value.code == "SCHEMA_VIOLATION"
    with pytest.raises(tp.SchemaError):
        chain.emit(C, state_vector={"psi": "high"})
    with pytest.raises(tp.SchemaError):
        tp.Chain("bad/agent")
    with pytest.raises(tp.ArgumentError) as info:
        tp.verify_jsonl(b"", anchor="sha256:nope")
    assert info.value.code == "INVALID_ARGUMENT"
    with pytest.raises(tp.ChainError) as info:
        chain.emit(C, timestamp_ms=10)
        chain.emit(C, timestamp_ms=5)
    assert info.value.code == "TIME_REVERSED"
    with pytest.raises(TypeError):
        chain.emit(C, unknown_surface=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        tp.verify_jsonl(12)  # type: ignore[arg-type]


def test_resume_continues_in_a_new_process_shape():
    chain = tp.Chain("agent-r", "s1")
    lines = [chain.emit(C, timestamp_ms=1000 + i).to_json() for i in range(3)]
    resumed = tp.Chain.resume(lines, session_id="s2")
    p = resumed.emit(C, timestamp_ms=2000)
    assert (p.seq, p.session_id, p.prev_hash) == (3, "s2", tp.TokenPixel.from_json(lines[-1]).hash)
    report = tp.verify([*lines, p])
    assert (report.ok, report.count, report.head) == (True, 4, p.hash)
    tampered = [lines[0], lines[1].replace('"eventDelta":0', '"eventDelta":1'), lines[2]]
    with pytest.raises(tp.ChainError) as info:
        tp.Chain.resume(tampered)
    assert info.value.code == "HASH_MISMATCH"
    anchor = tp.TokenPixel.from_json(lines[0]).hash
    assert tp.Chain.resume(lines[1:], anchor=anchor).next_seq == 3
    with pytest.raises(tp.ChainError) as info:
        tp.Chain.resume(lines[1:])
    assert info.value.code == "NOT_GENESIS"
    with pytest.raises(tp.ArgumentError):
        tp.Chain.resume([])


def test_verify_reports_bad_items_by_index():
    chain = tp.Chain("a")
    lines = [chain.emit(C, timestamp_ms=i).to_json() for i in range(3)]
    report = tp.verify([lines[0], {"not": "a pixel"}, lines[2]])
    assert not report and report.error.index == 1 and report.error.code == "SCHEMA_VIOLATION"
    assert report.count == 1 and report.head == tp.TokenPixel.from_json(lines[0]).hash
    assert report.to_dict()["error"]["code"] == "SCHEMA_VIOLATION"


def test_jsonl_verifier_streams_and_finishes_once():
    chain = tp.Chain("a")
    data = "".join(chain.emit(C, timestamp_ms=i).to_json() + "\n" for i in range(50)).encode()
    v = tp.JsonlVerifier()
    for i in range(0, len(data), 13):
        v.feed(data[i : i + 13])
    assert not v.failed and v.count == 50
    assert v.finish().count == 50
    with pytest.raises(tp.ArgumentError):
        v.finish()


def test_long_verification_releases_the_gil():
    chain = tp.Chain("gil")
    line_state = {"blob": "x" * 4000}
    data = (
        "".join(
            chain.emit(C, state=line_state, timestamp_ms=i).to_json() + "\n" for i in range(4000)
        ).encode()
        * 1
    )
    window: dict[str, float] = {}

    def work() -> None:
        window["start"] = time.perf_counter()
        for _ in range(10):
            assert tp.verify_jsonl(data).ok
        window["end"] = time.perf_counter()

    t = threading.Thread(target=work)
    stamps: list[float] = []
    t.start()
    while t.is_alive():
        stamps.append(time.perf_counter())
    t.join()
    inside = [s for s in stamps if window["start"] < s < window["end"]]
    # With the GIL held during verification this thread could not run at all meanwhile.
    assert len(inside) > 1000, (len(inside), window["end"] - window["start"])


def test_error_codes_are_exported():
    assert "BROKEN_LINK" in tp.ERROR_CODES and "UNSUPPORTED_TYPE" in tp.ERROR_CODES
    assert tp.SCHEMA_VERSION == 1


def test_text_with_lone_surrogates_is_refused_cleanly():
    for call in (lambda: tp.canonicalize('"\ud800"'), lambda: tp.TokenPixel.from_json("\udc00")):
        with pytest.raises(tp.JsonError) as info:
            call()
        assert (info.value.code, info.value.reason) == ("NOT_I_JSON", "LONE_SURROGATE")
