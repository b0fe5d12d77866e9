"""End to end on generated demo data (small): the generator's planted ~2 % under-metering shows
up as `under_metered` on exactly the planted model and days, every other day matches, and the
COGS invariant holds for every provider x day. The absolute tolerance is lowered because the
data set is tiny (at demo scale the default 1.00 flags the same three days)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from orchestration.config import Settings, settings
from tests.support.costs import build_costs, dbt_build, query


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, object]]:
    from meterline_dev.generator import generate

    data = tmp_path_factory.mktemp("gen") / "data"
    generate(
        data, customers=8, events=4000, start=dt.date(2026, 10, 1), days=20, seed=7, progress=False
    )
    truth = json.loads((data / "generator_truth.json").read_text())
    s = settings(data)
    build_costs(s, "fct_cost_reconciliation", "fct_cogs_daily", "fct_provider_costs")
    dbt_build(
        s, "--select", "fct_cost_reconciliation", "--vars", "{reconciliation_tolerance_abs: 0.0001}"
    )
    return s, truth


def test_planted_under_metering_found_exactly(demo: tuple[Settings, dict[str, object]]) -> None:
    s, truth = demo
    planted = truth["undermetered"]
    assert isinstance(planted, dict)
    flagged = query(
        s,
        """select provider, model, usage_date::varchar, status
                          from marts.fct_cost_reconciliation where status <> 'matched'
                          order by usage_date""",
    )
    assert flagged == [
        ("anthropic", "claude-haiku-4-5", day, "under_metered") for day in planted["utc_dates"]
    ]
    assert planted["model"] == "claude-haiku-4-5-20251001"


def test_cogs_invariant_every_provider_day(demo: tuple[Settings, dict[str, object]]) -> None:
    s, _ = demo
    mismatches = query(
        s,
        """
        with billed as (
            select x_provider as provider, x_charge_date as day, round(sum(BilledCost), 2) as b
            from marts.fct_provider_costs group by all),
        cogs as (select provider, cost_date as day, sum(cogs_total) as c
                 from marts.fct_cogs_daily group by all)
        select * from billed full outer join cogs using (provider, day)
        where b is distinct from c""",
    )
    assert mismatches == []
    days = query(
        s,
        """select count(distinct x_provider || x_charge_date)
                       from marts.fct_provider_costs""",
    )
    assert days[0][0] > 20
