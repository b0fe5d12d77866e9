"""The demo's pricing-lab scenarios (reference/scenarios/, format: orchestration/scenarios.py).

- ``flagship_output_cut``: every plan's output-token price of the flagship model (gpt-4o*) cut
  by 20% over September and October 2026, for every customer: which customers fall below their
  segment's margin target?
- ``self_serve_to_starter_plus``: the self-serve customers moved to Starter Plus (a monthly fee
  with included usage) over the same months: who would get a bill shock?
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

FLAGSHIP_GLOB = "gpt-4o*"
FLAGSHIP_OUTPUT_CUT = Decimal("0.80")
PERIODS = {"from": "2026-09", "to": "2026-10"}


def _dump(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump(obj, sort_keys=False, default_flow_style=None, width=100), encoding="utf-8"
    )


def flagship_cut_plans(plans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each plan version with its flagship output price x 0.80 (same code and version: the
    scenario replaces them)."""
    out = []
    for plan in plans:
        cut = copy.deepcopy(plan)
        for charge in cut["charges"]:
            if charge["meter"] != "llm_output_tokens":
                continue
            for row in charge["prices"]:
                if (row.get("when") or {}).get("model") == FLAGSHIP_GLOB:
                    price = Decimal(row["unit_price"]) * FLAGSHIP_OUTPUT_CUT
                    row["unit_price"] = format(price.normalize(), "f")
        out.append(cut)
    return out


def starter_plus(starter: dict[str, Any]) -> dict[str, Any]:
    """Starter's prices with a 49.00 monthly fee that includes usage: 2M input and 500k output
    tokens per price row, and 10,000 API requests."""
    plan = copy.deepcopy(starter)
    plan.update(
        code="starter_plus",
        version=1,
        name="Starter Plus",
        effective_from=dt.date(2026, 1, 1),
        fee="49.00",
    )
    included = {"llm_input_tokens": 2_000_000, "llm_output_tokens": 500_000, "api_requests": 10_000}
    for charge in plan["charges"]:
        free = included.get(charge["meter"])
        if free:
            for row in charge["prices"]:
                row["free_units"] = free
    return plan


def write_flagship_output_cut(
    ref: Path,
    plans: list[dict[str, Any]],
    periods: dict[str, str] = PERIODS,
    scenario: str = "flagship_output_cut",
) -> Path:
    """reference/scenarios/<scenario>.yml (and its plan files): the flagship output price cut
    on every plan, for every customer, over ``periods``. The benchmark writes one over its
    month (meterline_dev/bench.py)."""
    root = ref / "scenarios"
    files = []
    for plan in flagship_cut_plans(plans):
        name = f"plans/{plan['code']}_v{plan['version']}_{scenario}.yml"
        _dump(root / name, plan)
        files.append(name)
    path = root / f"{scenario}.yml"
    _dump(
        path,
        {
            "name": "Flagship output price -20%",
            "description": "Cut the output-token price of gpt-4o* by 20% on every plan: who "
            "falls below their segment's margin target?",
            "periods": periods,
            "plans": files,
            "customers": "all",
        },
    )
    return path


def write_demo_scenarios(ref: Path, plans: list[dict[str, Any]]) -> None:
    root = ref / "scenarios"
    write_flagship_output_cut(ref, plans)
    starter = next(p for p in plans if p["code"] == "starter")
    _dump(root / "plans/starter_plus_v1.yml", starter_plus(starter))
    _dump(
        root / "self_serve_to_starter_plus.yml",
        {
            "name": "Self-serve to Starter Plus",
            "description": "Move the self-serve customers to Starter Plus (49.00 a month with "
            "included usage): who would get a bill shock?",
            "periods": PERIODS,
            "plans": ["plans/starter_plus_v1.yml"],
            "customers": {"segment": "self_serve"},
            "move_to_plan": "starter_plus",
        },
    )
