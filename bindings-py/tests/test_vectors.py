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


@pytest.mark.parametrize("jobs", [0, 2, 3])
def test_parallel_verification_gives_the_same_reports(jobs):
    """`jobs` threads check and hash lines; the report never depends on how many."""
    for case in TAMPER:
        data = bytes.fromhex(case["jsonlHex"]) if "jsonlHex" in case else case["jsonl"]
        anchor = case["anchor"]
        want = tp.verify_jsonl(data, anchor).to_dict()
        assert tp.verify_jsonl(data, anchor, jobs=jobs).to_dict() == want
    # A chain large enough to be split between threads (blocks of 256 KiB and more), with a
    # damaged pixel near the end of each thread's part, and fed in chunks.
    chain = tp.Chain("agent-j", "s")
    lines = [
        chain.emit("DISTRICT_1.CHAMBER_0.NODE_POST", state={"i": i, "pad": "x" * 900}).to_json()
        for i in range(1200)
    ]
    data = ("\n".join(lines) + "\n").encode()
    assert tp.verify_jsonl(data, jobs=jobs).count == 1200
    for at in (599, 1100):
        bad = bytearray(data)
        bad[data.index(b'"i":%d,' % at) + 20] = ord("y")  # inside "pad": x -> y
        want = tp.verify_jsonl(bytes(bad))
        assert (want.error.code, want.error.index) == ("HASH_MISMATCH", at)
        assert tp.verify_jsonl(bytes(bad), jobs=jobs).to_dict() == want.to_dict()
        v = tp.JsonlVerifier(jobs=jobs)
        for i in range(0, len(bad), 300_000):
            v.feed(bytes(bad[i : i + 300_000]))
        assert v.finish().to_dict() == want.to_dict()


def test_jobs_must_not_be_negative():
    with pytest.raises(tp.TokenPixelError) as info:
        tp.verify_jsonl(b"", jobs=-1)
    assert info.value.code == "INVALID_ARGUMENT"
    with pytest.raises(tp.TokenPixelError):
        tp.JsonlVerifier(jobs=-2)
