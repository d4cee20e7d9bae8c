"""Property tests: random JSON round-trips; garbage raises TokenPixelError, never crashes."""

import json

from conftest import _number
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenpixel as tp

SAFE_INT = st.integers(min_value=-(2**53), max_value=2**53)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)
TEXT = st.text()
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | SAFE_INT | FLOATS | TEXT,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(TEXT, children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_random_values_round_trip(value):
    canonical = tp.canonical_json(value)
    # The canonical text is idempotent and reads back as the same value.
    assert tp.canonicalize(canonical) == canonical
    assert json.loads(canonical, parse_int=_number) == value
    # Any other valid JSON spelling canonicalizes to the same text.
    assert tp.canonicalize(json.dumps(value, indent=1, ensure_ascii=True)) == canonical


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES)
def test_random_states_emit_and_verify(value):
    chain = tp.Chain("prop-agent", "s")
    p = chain.emit("DISTRICT_1.CHAMBER_0.NODE_PRE", state={"v": value}, timestamp_ms=1)
    assert p.state == {"v": value}
    assert tp.verify_jsonl(p.to_json()).ok


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet='[]{}",:0123456789eE.+-truefalsn\\u \n\t', max_size=60))
def test_json_like_garbage_raises_cleanly(text):
    try:
        out = tp.canonicalize(text)
    except tp.TokenPixelError as e:
        assert e.code in ("MALFORMED_JSON", "NOT_I_JSON", "LIMIT_EXCEEDED")
    else:
        assert tp.canonicalize(out) == out
    try:
        tp.TokenPixel.from_json(text)
    except tp.TokenPixelError as e:
        assert e.code in tp.ERROR_CODES


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400))
def test_garbage_bytes_never_crash(data):
    report = tp.verify_jsonl(data)
    assert report.ok == (data == b"")
    if not report.ok:
        assert report.error.code in tp.ERROR_CODES


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=255))
def test_byte_flips_fail_at_the_right_pixel(pos, byte):
    chain = tp.Chain("flip", "s")
    data = bytearray(
        "".join(
            chain.emit("DISTRICT_1.CHAMBER_0.NODE_PRE", state={"i": i}, timestamp_ms=i).to_json()
            + "\n"
            for i in range(5)
        ).encode()
    )
    pos %= len(data)
    if data[pos] == byte:
        return
    line = data[:pos].count(b"\n")
    data[pos] = byte
    report = tp.verify_jsonl(bytes(data))
    assert not report.ok and report.error.index == line
