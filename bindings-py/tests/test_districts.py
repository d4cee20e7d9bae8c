"""Districts and the corridor helper (issue 10): the seed's names, built and checked by the core."""

from __future__ import annotations

import doctest

import pytest

import tokenpixel as tp
import tokenpixel.districts as districts_module
from tokenpixel.districts import District, corridor


def test_districts_match_the_core_table() -> None:
    assert [d.value for d in District] == [f"DISTRICT_{n}" for n in range(1, 6)]
    core = [(n, name) for n, name, _ in tp._native.DISTRICTS]
    assert [(d.number, d.name) for d in District] == core
    assert District.LORA_BIAS.purpose.startswith("LoRA bias")
    assert f"{District.DEPLOYMENT}" == "DISTRICT_5"


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        (
            (District.DEPLOYMENT, "DEPLOY"),
            {"node": "EDGE_PRE"},
            "DISTRICT_5.CHAMBER_DEPLOY.NODE_EDGE_PRE",
        ),
        ((District.ROUTING, "router-7"), {"node": "POST"}, "DISTRICT_3.CHAMBER_ROUTER_7.NODE_POST"),
        ((District.ROUTING, "gpt-4o"), {}, "DISTRICT_3.CHAMBER_GPT_4O"),
        ((2, "CHAMBER_LORA", "NODE_PRE"), {}, "DISTRICT_2.CHAMBER_LORA.NODE_PRE"),
        (("DISTRICT_12", "x"), {"node": "y"}, "DISTRICT_12.CHAMBER_X.NODE_Y"),
    ],
)
def test_corridor(args: tuple, kwargs: dict, expected: str) -> None:
    assert corridor(*args, **kwargs) == expected
    if "NODE_" in expected:
        assert tp.validate_corridor(expected) == expected


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ((1, ""), "INVALID_CORRIDOR"),
        ((1, "-x"), "INVALID_CORRIDOR"),
        ((1, "A", "N" * 120), "INVALID_CORRIDOR"),
        (("DISTRICT_05", "A"), "INVALID_ARGUMENT"),
        ((True, "A"), "INVALID_ARGUMENT"),
        ((1.0, "A"), "INVALID_ARGUMENT"),
        ((1, 5), "INVALID_ARGUMENT"),
    ],
)
def test_corridor_refuses(args: tuple, code: str) -> None:
    with pytest.raises(tp.TokenPixelError) as e:
        corridor(*args)
    assert e.value.code == code


def test_module_examples() -> None:
    assert doctest.testmod(districts_module).failed == 0
