"""Binding edge cases (issue 9, section 2): every bad argument is a TokenPixelError with a
stable code, bool is not an integer, exact big integers, None clears, error fields."""

from __future__ import annotations

import json

import pytest

import tokenpixel as tp
from tokenpixel import _native

C = "DISTRICT_1.CHAMBER_0.NODE_PRE"


def chain() -> tp.Chain:
    return tp.Chain("agent-a", "s1")


@pytest.mark.parametrize("name", ["autonomy_index", "event_delta", "timestamp_ms"])
@pytest.mark.parametrize("value", [True, False])
def test_bool_is_not_an_integer(name: str, value: bool) -> None:
    with pytest.raises(tp.ArgumentError) as e:
        chain().emit(C, **{name: value})
    assert e.value.code == "INVALID_ARGUMENT"
    assert name in str(e.value)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"timestamp_ms": 10**30}, "INVALID_ARGUMENT"),
        ({"timestamp_ms": -1}, "INVALID_ARGUMENT"),
        ({"timestamp_ms": 1.5}, "INVALID_ARGUMENT"),
        ({"event_delta": 2**53}, "INVALID_ARGUMENT"),
        ({"event_delta": "3"}, "INVALID_ARGUMENT"),
        ({"autonomy_index": "0.5"}, "INVALID_ARGUMENT"),
        ({"autonomy_index": 10**400}, "INVALID_ARGUMENT"),
        ({"intent_hash": 7}, "INVALID_ARGUMENT"),
        ({"state": "not an object"}, "SCHEMA_VIOLATION"),
        ({"state": {"when": object()}}, "UNSUPPORTED_TYPE"),
        ({"state": {1: "int key"}}, "UNSUPPORTED_TYPE"),
        ({"context": 5}, "SCHEMA_VIOLATION"),
        ({"state_vector": {"psi": True}}, "SCHEMA_VIOLATION"),
    ],
)
def test_bad_arguments_raise_coded_errors(kwargs: dict, code: str) -> None:
    with pytest.raises(tp.TokenPixelError) as e:
        chain().emit(C, **kwargs)
    assert e.value.code == code


def test_wrong_types_for_positional_arguments() -> None:
    for call in (
        lambda: tp.Chain(5),  # type: ignore[arg-type]
        lambda: tp.Chain("a", session_id=b"s"),  # type: ignore[arg-type]
        lambda: chain().emit(5),  # type: ignore[arg-type]
    ):
        with pytest.raises(tp.ArgumentError) as e:
            call()
        assert e.value.code == "INVALID_ARGUMENT"


def test_summary_arguments() -> None:
    p = chain().emit(C)
    for kwargs in ({"max_tokens": -5}, {"max_tokens": 10**30}, {"max_tokens": True}):
        with pytest.raises(tp.ArgumentError) as e:
            tp.summarize(p, **kwargs)
        assert e.value.code == "INVALID_ARGUMENT"
    with pytest.raises(tp.ArgumentError):
        tp.summarize(p, 3)  # type: ignore[arg-type]
    assert tp.summarize(p).level == "compact"


def test_exact_integers_beyond_2_53_are_kept_as_json_would_read_them() -> None:
    c = chain()
    p = c.emit(C, state={"big": 2**60, "neg": -(2**70), "huge": 2**200})
    # The same bytes a JSON text with these numbers gives (and so Node).
    text = json.dumps({"big": 2**60, "neg": -(2**70), "huge": 2**200})
    assert json.loads(p.to_json())["state"] == json.loads(tp.canonicalize(text))
    assert '"big":1152921504606847000' in p.to_json()
    assert p.state == {"big": 2**60, "neg": -(2**70), "huge": 2**200}
    # The JCS digits of a double are accepted too (SPEC 3.2), so what json.loads reads back
    # from the stored line goes in again unchanged.
    again = tp.TokenPixel.from_dict(json.loads(p.to_json()))
    assert again == p
    for lossy in (2**53 + 1, 2**64 + 1, -(2**70) - 1, 10**400):
        with pytest.raises(tp.JsonError) as e:
            c.emit(C, state={"x": lossy})
        assert (e.value.code, e.value.reason) == ("NOT_I_JSON", "LOSSY_INTEGER")
        assert "$.state.x" in str(e.value)


def test_none_clears_context_and_intent_but_absent_carries_them() -> None:
    c = chain()
    first = c.emit(C, context={"notes": "n"}, intent_hash="intent:1", autonomy_index=0.5)
    carried = c.emit(C)
    assert carried.context == {"notes": "n"}
    assert carried.intent_hash == "intent:1"
    cleared = c.emit(C, context=None, intent_hash=None)
    assert cleared.context is None
    assert cleared.intent_hash is None
    # None for a non-nullable field means "not given": carried forward.
    again = c.emit(C, autonomy_index=None, state=None)
    assert again.autonomy_index == first.autonomy_index == 0.5


def test_verify_error_fields_and_repr() -> None:
    c = chain()
    good = [c.emit(C).to_json() for _ in range(2)]
    tampered = good[1].replace('"eventDelta":0', '"eventDelta":1')
    r = tp.verify_jsonl("\n".join([good[0], tampered]) + "\n")
    err = r.error
    assert err is not None
    assert (err.code, err.index, err.line, err.path, err.column) == (
        "HASH_MISMATCH",
        1,
        2,
        "$.hash",
        None,
    )
    assert "Some(" not in repr(err)
    assert repr(err).startswith('VerifyError(code="HASH_MISMATCH", index=1, line=2, column=None')
    r = tp.verify_jsonl(good[0] + "\n" + '{"a":1,}' + "\n")
    assert r.error is not None
    assert (r.error.code, r.error.line, r.error.column) == ("MALFORMED_JSON", 2, 8)
    assert r.error.to_dict()["column"] == 8


def test_jsonl_verifier_keeps_its_count_after_finish() -> None:
    c = chain()
    data = "".join(c.emit(C).to_json() + "\n" for _ in range(3)).encode()
    v = tp.JsonlVerifier()
    v.feed(data)
    report = v.finish()
    assert report.count == 3
    assert v.count == 3


def test_make_error_and_store_family() -> None:
    e = _native.make_error("STORE_IO", "disk full")
    assert isinstance(e, tp.TokenPixelError)
    assert type(e).__name__ == "StoreError"
    assert (e.code, e.reason, str(e)) == ("STORE_IO", None, "disk full")
    assert type(_native.make_error("HASH_MISMATCH", "x")).__name__ == "ChainError"
    with pytest.raises(tp.ArgumentError):
        _native.make_error("NO_SUCH_CODE", "x")
    for code in tp.ERROR_CODES:
        assert _native.make_error(code, "m").code == code


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (12, ("seq", 12)),
        ("123", ("seq", 123)),
        ("sha256:00AB", ("prefix", "00ab")),
        ("3fa9c1", ("prefix", "3fa9c1")),
    ],
)
def test_parse_key(key: object, expected: tuple) -> None:
    assert _native.parse_key(key) == expected


@pytest.mark.parametrize("key", ["²", "12a", "abc", "", " 1", -1, True, 1.0, 2**60, "sha256:"])
def test_parse_key_refuses(key: object) -> None:
    with pytest.raises(tp.ArgumentError) as e:
        _native.parse_key(key)
    assert e.value.code == "INVALID_ARGUMENT"
