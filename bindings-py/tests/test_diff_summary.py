"""diff, summarize, ContextSummarizer, restore_env and the diff/summary CLI."""

import json
import subprocess

import pytest
from conftest import PYTHON, load_vectors, run_demo

import tokenpixel as tp

DIFF = load_vectors("diff.json")["cases"]
SUMMARY = load_vectors("summary.json")["cases"]


@pytest.mark.parametrize("case", DIFF, ids=[c["name"] for c in DIFF])
def test_diff_vectors(case):
    if "range" in case:
        d = tp.diff_range(case["range"])
    else:
        d = tp.diff(tp.TokenPixel.from_json(case["a"]), case["b"])
    assert d.to_dict() == case["expect"]
    assert d.render() == case["text"] == str(d)


@pytest.mark.parametrize("case", SUMMARY, ids=[c["name"] for c in SUMMARY])
def test_summary_vectors(case):
    o = case["options"]
    s = tp.summarize(
        case["pixel"],
        o["level"] or "compact",
        for_task=o["forTask"],
        relevant_keys=o["relevantKeys"],
        max_tokens=o["maxTokens"],
    )
    assert s.to_dict() == case["expect"]
    assert s.tokens == tp.estimate_tokens(s.text)


def test_context_summarizer_and_restore_env():
    pixel = tp.TokenPixel.from_json(SUMMARY[0]["pixel"])
    summarizer = tp.ContextSummarizer(pixel)
    text = summarizer.for_subagent("promotion", relevant_keys=["target_env"], max_tokens=500)
    assert pixel.hash in text and "target_env" in text
    assert tp.estimate_tokens(summarizer.for_subagent("terraform", max_tokens=50)) <= 50
    assert len(summarizer.full_summary()) > len(summarizer.minimal_summary())
    env: dict[str, str] = {}
    set_vars = tp.restore_env(pixel, environ=env)
    assert env == set_vars and env["CKPT_TARGET_ENV"] == "staging" and env["CKPT_DISTRICT"] == "4"
    with pytest.raises(tp.ArgumentError):
        tp.summarize(pixel, "huge")


def test_cli_diff_and_summary_on_the_demo_chain(tmp_path, cli_env):
    store = tmp_path / ".checkpoints"
    run_demo(store, cli_env)

    def run(*args, code=0):
        p = subprocess.run(
            [PYTHON, "-m", "tokenpixel", "--store", str(store), *args],
            capture_output=True,
            text=True,
            env=cli_env,
        )
        assert p.returncode == code, p.stderr
        return p.stdout

    out = run("diff", "--from", "1", "--to", "3")
    assert "corridor: DISTRICT_1.CHAMBER_0.NODE_POST -> DISTRICT_2.CHAMBER_LORA.NODE_POST" in out
    assert "variable changed: last_district: 1 -> 2" in out
    latest = run("diff")
    assert "DISTRICT_5.CHAMBER_DEPLOY.NODE_PRE -> DISTRICT_5.CHAMBER_DEPLOY.NODE_POST" in latest
    data = json.loads(run("diff", "--json"))
    assert data["to"]["seq"] == 9 and data["from"]["seq"] == 8
    full = run("summary", "--level", "full")
    head = json.loads(run("load", "--json"))
    assert head["hash"] in full and "## full state" in full
    s = json.loads(run("summary", "--for", "terraform", "--max-tokens", "80", "--json"))
    assert s["tokens"] <= 80 and s["focus"] == "infrastructure"
    run("summary", "--level", "huge", code=2)
