"""The pipeline's districts (the CI/CD seed) and the corridor helper.

>>> corridor(District.DEPLOYMENT, "DEPLOY", node="EDGE_PRE")
'DISTRICT_5.CHAMBER_DEPLOY.NODE_EDGE_PRE'
>>> corridor(District.ROUTING, "router-7")  # a stage prefix: the stage adds NODE_PRE/POST
'DISTRICT_3.CHAMBER_ROUTER_7'
"""

from __future__ import annotations

from enum import Enum

from tokenpixel._native import DISTRICTS, corridor

__all__ = ["District", "corridor"]


class District(str, Enum):
    """The five districts of the convention; each value is its corridor segment."""

    INGESTION = "DISTRICT_1"
    LORA_BIAS = "DISTRICT_2"
    ROUTING = "DISTRICT_3"
    EXECUTION = "DISTRICT_4"
    DEPLOYMENT = "DISTRICT_5"

    @property
    def number(self) -> int:
        return int(self.value.rsplit("_", 1)[1])

    @property
    def purpose(self) -> str:
        """What happens in this district (from the core's table)."""
        return next(p for n, _, p in DISTRICTS if n == self.number)

    def __str__(self) -> str:
        return self.value
