"""Builders for OKR test data, shared by unit, integration and end-to-end tests."""

from typing import Any

from events import Stamp

PRIYA = Stamp("priya", "c-1")
TOM = Stamp("tom", "c-2")


def definition(**overrides: Any) -> dict[str, Any]:
    """A measurable key result definition (Tom's LP reporting turnaround), overridable."""
    base: dict[str, Any] = {
        "title": "LP reporting turnaround",
        "owner": "tom",
        "unit": "days",
        "baseline": 15,
        "target": 8,
        "direction": "decrease",
        "pay_linked": False,
    }
    base.update(overrides)
    return base
