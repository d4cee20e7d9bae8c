"""The golden vectors in tests/vectors/ give the same results in Python as in Rust."""

import pytest
from conftest import load_vectors, run_steps

import tokenpixel as tp

CANONICAL = load_vectors("canonical.json")["cases"]
CHAINS = load_vectors("chains.json")["chains"]
TAMPER = load_vectors("tamper.json")["cases"]


@pytest.mark.parametrize("case", CANONICAL, ids=[c["name"] for c in CANONICAL])
def test_canonical(case):
    if "output" in case:
        assert tp.canonicalize(case["input"]) == case["output"]
        assert tp.canonicalize(case["output"]) == case["output"]
    else:
        with pytest.raises(tp.TokenPixelError) as info:
            tp.canonicalize(case["input"])
        assert info.value.code == case["error"]["code"]
        assert info.value.reason == case["error"].get("reason")
        assert isinstance(info.value, tp.JsonError)


def check_report(report, expect):
    assert report.ok == expect["ok"]
    assert report.count == expect["count"]
    assert report.head == expect["head"]
    if "error" in expect:
        e = report.error
        assert (e.code, e.index, e.line) == (
            expect["error"]["code"],
            expect["error"]["index"],
            expect["error"]["line"],
        )
        assert e.reason == expect["error"].get("reason")
        assert e.message
    else:
        assert report.error is None


@pytest.mark.parametrize("case", CHAINS, ids=[c["name"] for c in CHAINS])
def test_chain(case):
    check_report(tp.verify_jsonl(case["jsonl"], case["anchor"]), case["expect"])
    check_report(tp.verify_jsonl(case["jsonl"].encode(), anchor=case["anchor"]), case["expect"])
    lines = case["jsonl"].splitlines()
    check_report(tp.verify(lines, anchor=case["anchor"]), case["expect"])
    pixels = [tp.TokenPixel.from_json(line) for line in lines]
    check_report(tp.verify(pixels, case["anchor"]), case["expect"])
    check_report(tp.verify([p.to_dict() for p in pixels], case["anchor"]), case["expect"])
    if "steps" in case:
        chain = tp.Chain(case["agentId"], case["sessionId"])
        assert run_steps(chain, case["steps"]) == case["jsonl"]


@pytest.mark.parametrize("case", TAMPER, ids=[c["name"] for c in TAMPER])
def test_tamper(case):
    data = bytes.fromhex(case["jsonlHex"]) if "jsonlHex" in case else case["jsonl"].encode()
    check_report(tp.verify_jsonl(data, case["anchor"]), case["expect"])
    # Streaming in small chunks gives the same report.
    v = tp.JsonlVerifier(case["anchor"])
    for i in range(0, len(data), 97):
        v.feed(data[i : i + 97])
    check_report(v.finish(), case["expect"])
