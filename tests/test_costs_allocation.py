"""Shared (FOCUS) cost allocation: tagged rows to their customer, untagged rows by the driver
of the first matching rule of reference/cost_allocation.yml, cents by largest remainder with
ties broken by customer_id, so allocated amounts sum exactly to the shared cost."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from orchestration.config import REPO_ROOT, Settings, settings
from tests.support.costs import (
    build_costs,
    focus_row,
    query,
    write_events,
    write_focus_csv,
    write_reference,
)

ALLOCATION_YML = """tag_key: customer_id
rules:
  - match: {ServiceCategory: Compute}
    driver: gpu_seconds
  - match: {ServiceCategory: Databases, ServiceName: "Vector*"}
    driver: requests
"""


@pytest.fixture(scope="module")
def alloc(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("alloc") / "data"
    data.mkdir()
    write_reference(
        data,
        [("cus_c", "startup"), ("cus_b", "startup"), ("cus_a", "enterprise")],
        allocation_yml=ALLOCATION_YML,
    )
    events = []
    for day in ("2026-10-01", "2026-10-02"):
        for cus in ("cus_c", "cus_b", "cus_a"):  # equal GPU-seconds: remainders tie
            events.append(
                {
                    "type": "gpu.job",
                    "subject": cus,
                    "time": f"{day}T10:00:00Z",
                    "gpu_seconds": 1,
                    "gpu_type": "h100",
                    "status": "success",
                }
            )
    # cus_a makes one more request on day 1 (requests 2 : 1 : 1)
    events.append(
        {
            "type": "image.generation",
            "subject": "cus_a",
            "time": "2026-10-01T11:00:00Z",
            "images": 1,
        }
    )
    write_events(data, "usage_2026-10-31.jsonl", events)
    write_focus_csv(
        data,
        "cloudgpu_2026-10.csv",
        [
            focus_row("2026-10-01", "100.00", "Compute", "GPU Instances"),
            focus_row("2026-10-01", "7.00", "Compute", "GPU Instances", {"customer_id": "cus_c"}),
            focus_row("2026-10-01", "10.01", "Databases", "Vector DB"),
            focus_row("2026-10-01", "1.23", "Storage", "Object Storage"),  # no rule: unattributed
            focus_row("2026-10-02", "0.104", "Compute", "GPU Instances"),
            # unknown customer tag, no rule for Storage: unattributed
            focus_row(
                "2026-10-02", "2.003", "Storage", "Object Storage", {"customer_id": "cus_zzz"}
            ),
        ],
    )
    s = settings(data)
    build_costs(s, "fct_cogs_daily", "fct_provider_costs")
    return s


def test_allocated_amounts(alloc: Settings) -> None:
    rows = query(
        alloc,
        """
        select cost_date::varchar, customer_id, model, cogs_allocated, cogs_direct
        from marts.fct_cogs_daily order by cost_date, model, customer_id""",
    )
    D = Decimal
    z = D("0.00")
    assert rows == [
        # 100.00 over three equal GPU-second weights: the extra cent to the first customer_id
        ("2026-10-01", "cus_a", "GPU Instances", D("33.34"), z),
        ("2026-10-01", "cus_b", "GPU Instances", D("33.33"), z),
        ("2026-10-01", "cus_c", "GPU Instances", D("40.33"), z),  # 33.33 + 7.00 tagged
        ("2026-10-01", "unattributed", "Object Storage", D("1.23"), z),
        # 10.01 by requests 2:1:1 -> 5.005, 2.5025, 2.5025 -> 5.01, 2.50, 2.50
        ("2026-10-01", "cus_a", "Vector DB", D("5.01"), z),
        ("2026-10-01", "cus_b", "Vector DB", D("2.50"), z),
        ("2026-10-01", "cus_c", "Vector DB", D("2.50"), z),
        # day total 2.107 -> 2.11; pools 0.10 + 2.00 round to 2.10, the cent goes to the larger
        ("2026-10-02", "cus_a", "GPU Instances", D("0.04"), z),
        ("2026-10-02", "cus_b", "GPU Instances", D("0.03"), z),
        ("2026-10-02", "cus_c", "GPU Instances", D("0.03"), z),
        ("2026-10-02", "unattributed", "Object Storage", D("2.01"), z),
    ]


def test_allocations_sum_exactly_to_shared_cost(alloc: Settings) -> None:
    rows = query(
        alloc,
        """
        with billed as (
            select x_charge_date as day, round(sum(BilledCost), 2) as billed
            from marts.fct_provider_costs group by all),
        cogs as (select cost_date as day, sum(cogs_total) as cogs
                 from marts.fct_cogs_daily group by all)
        select day::varchar, billed, cogs from billed join cogs using (day) order by day""",
    )
    assert rows == [
        ("2026-10-01", Decimal("118.24"), Decimal("118.24")),
        ("2026-10-02", Decimal("2.11"), Decimal("2.11")),
    ]


def test_classification(alloc: Settings) -> None:
    rows = query(
        alloc,
        """
        select cost_date::varchar, service_name, recipient_kind, tag_customer_id, driver
        from intermediate.int_shared_costs_classified order by cost_date, billed_cost desc""",
    )
    assert rows == [
        ("2026-10-01", "GPU Instances", "driver", None, "gpu_seconds"),
        ("2026-10-01", "Vector DB", "driver", None, "requests"),
        ("2026-10-01", "GPU Instances", "tagged", "cus_c", None),
        ("2026-10-01", "Object Storage", "unattributed", None, None),
        ("2026-10-02", "Object Storage", "unattributed", None, None),
        ("2026-10-02", "GPU Instances", "driver", None, "gpu_seconds"),
    ]


# --- the allocation macro on its own: exact sums for any amounts and weights -------------


class _DuckDBAdapter:
    """``adapter.dispatch`` as dbt-duckdb resolves it: ``duckdb__<name>``, else ``default__``."""

    module: Any = None

    def dispatch(self, name: str, namespace: str | None = None) -> Any:
        del namespace
        duckdb_form = getattr(self.module, f"duckdb__{name}", None)
        return duckdb_form or getattr(self.module, f"default__{name}")


def render_cost_helpers(call: str) -> str:
    """``call`` (Jinja) rendered after the portable macros and macros/costs/cost_helpers.sql,
    as dbt-duckdb renders them."""
    macros = REPO_ROOT / "dbt_project" / "macros"
    portable = (macros / "portable.sql").read_text()
    src = portable + (macros / "costs" / "cost_helpers.sql").read_text()
    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    adapter = _DuckDBAdapter()
    env.globals |= {"adapter": adapter, "return": lambda value: value}
    adapter.module = env.from_string(src).make_module()
    return env.from_string(src + call).render()


def _render_allocation() -> str:
    return render_cost_helpers(
        "{{ allocate_largest_remainder('t', ['pool'], 'amount', 'weight', 'rid', 2) }}"
    )


ALLOCATION_SQL = _render_allocation()


@hsettings(max_examples=60, deadline=None)
@given(
    cents=st.integers(min_value=-5_000_000, max_value=5_000_000),
    weights=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=9),
)
def test_largest_remainder_sums_exactly(cents: int, weights: list[int]) -> None:
    con = duckdb.connect()
    con.execute(
        "create table t (pool int, rid varchar, amount decimal(38,2), weight decimal(38,15))"
    )
    amount = Decimal(cents) / 100
    con.executemany(
        "insert into t values (1, ?, ?, ?)",
        [(f"r{i:02d}", amount, Decimal(w) / 1000) for i, w in enumerate(weights)],
    )
    rows = con.execute(
        f"select rid, allocated_amount from ({ALLOCATION_SQL}) order by rid"
    ).fetchall()
    con.close()
    assert sum(a for _, a in rows) == amount
    total = sum(weights)
    for (_, alloc), w in zip(rows, weights, strict=True):
        exact = Fraction(cents) * w / total
        assert abs(Fraction(alloc * 100) - exact) <= 1


def test_rendered_macro_is_plain_sql() -> None:
    assert "allocated_amount" in ALLOCATION_SQL
    assert Path(REPO_ROOT / "dbt_project" / "macros" / "costs").is_dir()


# Meters as allocation drivers beyond the plain token sums: a sum over an extra `data` key, the
# same sum filtered on another extra key, a count of distinct values of a typed dimension, and a
# sum and a max of uncached input tokens (a derived typed field: input - cached - cache writes).
DRIVER_METERS_YML = """  - code: frames
    event_type: render.job
    aggregation: sum
    field: data.frames
    unit: frame
  - code: eu_frames
    event_type: render.job
    aggregation: sum
    field: data.frames
    unit: frame
    filter: {data.region: eu}
  - code: workspaces
    event_type: llm.completion
    aggregation: count_unique
    field: workspace_id
    unit: workspace
  - code: fresh_input
    event_type: llm.completion
    aggregation: sum
    field: uncached_input_tokens
    unit: token
  - code: peak_fresh_input
    event_type: llm.completion
    aggregation: max
    field: uncached_input_tokens
    unit: token
"""

DRIVER_ALLOCATION_YML = """tag_key: customer_id
rules:
  - match: {ServiceCategory: Compute}
    driver: frames
  - match: {ServiceCategory: Databases}
    driver: workspaces
  - match: {ServiceCategory: Storage}
    driver: eu_frames
"""


def test_meter_drivers_on_extra_keys_and_distinct_values(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    write_reference(
        data,
        [("cus_a", "startup"), ("cus_b", "startup")],
        allocation_yml=DRIVER_ALLOCATION_YML,
        extra_meters_yml=DRIVER_METERS_YML,
    )
    day = "2026-10-01T10:00:00Z"

    def render(cus: str, frames: int, region: str) -> dict[str, object]:
        return {
            "type": "render.job",
            "subject": cus,
            "time": day,
            "frames": frames,
            "region": region,
            "status": "success",
        }

    def completion(cus: str, workspace: str, cached: int = 0) -> dict[str, object]:
        return {
            "subject": cus,
            "time": day,
            "model": "gpt-4o",
            "input_tokens": 10,
            "cached_input_tokens": cached,
            "workspace_id": workspace,
            "status": "success",
        }

    write_events(
        data,
        "usage_2026-10-01.jsonl",
        [
            render("cus_a", 20, "eu"),
            render("cus_a", 10, "us"),
            render("cus_b", 10, "us"),
            # a failed job is not usage
            {**render("cus_b", 1000, "eu"), "status": "error"},
            completion("cus_a", "w1", cached=4),
            completion("cus_a", "w1"),
            completion("cus_b", "w1", cached=2),
            completion("cus_b", "w2", cached=5),
        ],
    )
    write_focus_csv(
        data,
        "cloudgpu_2026-10.csv",
        [
            focus_row("2026-10-01", "40.00", "Compute", "Render Farm"),
            focus_row("2026-10-01", "3.00", "Databases", "Vector DB"),
            focus_row("2026-10-01", "5.00", "Storage", "Object Storage"),
        ],
    )
    s = settings(data)
    build_costs(s, "fct_cogs_daily")
    assert query(
        s,
        "select driver, customer_id, driver_quantity from intermediate.int_cost_drivers_daily "
        "where driver in ('frames', 'eu_frames', 'workspaces', 'fresh_input', "
        "'peak_fresh_input') order by 1, 2",
    ) == [
        ("eu_frames", "cus_a", Decimal("20")),
        ("frames", "cus_a", Decimal("30")),
        ("frames", "cus_b", Decimal("10")),
        ("fresh_input", "cus_a", Decimal("16")),  # (10 - 4) + 10
        ("fresh_input", "cus_b", Decimal("13")),  # (10 - 2) + (10 - 5)
        ("peak_fresh_input", "cus_a", Decimal("10")),
        ("peak_fresh_input", "cus_b", Decimal("8")),
        ("workspaces", "cus_a", Decimal("1")),
        ("workspaces", "cus_b", Decimal("2")),
    ]
    rows = query(
        s,
        "select model, customer_id, cogs_allocated from marts.fct_cogs_daily order by 1, 2",
    )
    assert rows == [
        ("Object Storage", "cus_a", Decimal("5.00")),  # eu frames: cus_a only
        ("Render Farm", "cus_a", Decimal("30.00")),  # frames 30 : 10
        ("Render Farm", "cus_b", Decimal("10.00")),
        ("Vector DB", "cus_a", Decimal("1.00")),  # distinct workspaces 1 : 2
        ("Vector DB", "cus_b", Decimal("2.00")),
    ]
