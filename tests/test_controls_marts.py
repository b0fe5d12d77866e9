"""Controls marts on a tiny hand-computed data set (tests/support/controls.py), built once through
the real loader and a real dbt build. Every figure is worked out by hand in the comments.

All customers are UTC; the last event is on 2026-10-21, so the as-of day is 2026-10-20.
Plan ``flat``: 1.00 per 1,000 input tokens, no fee. Plan ``tiered``: fee 31.00 a month (1.00 a
day in October), images graduated (first 1,000 of the period at 0.10, then 0.05).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from orchestration.config import Settings, settings
from orchestration.dbt_runner import run_dbt
from orchestration.ingest import ingest_all
from orchestration.summaries import write_weekly_summaries
from orchestration.warehouse import connect
from tests.support.controls import write_data_dir
from tests.support.ingest import own_dbt_target

D = dt.date
MARTS = (
    "fct_contract_progress",
    "fct_credit_balances",
    "fct_spend_alerts",
    "fct_spend_anomalies",
    "fct_weekly_usage_summary",
)


def _select() -> list[str]:
    # + the invoices, so that the singular tests tying daily spend to invoices run too
    return [
        "--select",
        *(f"+{m}" for m in (*MARTS, "fct_invoices", "fct_invoice_lines")),
        "--indirect-selection",
        "cautious",
    ]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    data = write_data_dir(tmp_path_factory.mktemp("controls") / "data")
    s = settings(data)
    ingest_all(s)
    run_dbt(s, "build", *_select(), extra_env=own_dbt_target(s), at_warehouse=True)
    yield s


def rows(s: Settings, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    with connect(s.warehouse, read_only=True) as con:
        cur = con.execute(sql, params or [])
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def one(s: Settings, sql: str, params: list[Any] | None = None) -> dict[str, Any]:
    found = rows(s, sql, params)
    assert len(found) == 1, found
    return found[0]


def money(text: str) -> Decimal:
    return Decimal(text)


# --- as of, daily spend -------------------------------------------------------------------------


def test_as_of_is_the_day_before_the_last_event(built: Settings) -> None:
    # the last event is 2026-10-21T16:00Z: Oct 21 in UTC, Oct 22 in Tokyo
    got = rows(
        built,
        """select as_of_date, count(distinct customer_id) as customers
                         from marts.fct_customer_daily_spend group by 1 order by 1""",
    )
    assert got == [
        {"as_of_date": D(2026, 10, 20), "customers": 7},
        {"as_of_date": D(2026, 10, 21), "customers": 1},
    ]
    # cus_onpace used 100,000 tokens on Oct 21 too: after the as-of day, never counted
    assert (
        rows(built, "select * from marts.fct_customer_daily_spend where spend_date > as_of_date")
        == []
    )


def test_days_are_local_days(built: Settings) -> None:
    # cus_tokyo: 30,000 tokens at 2026-09-30T20:00Z = Oct 1 05:00 in Tokyo -> October spend
    got = rows(
        built,
        """select spend_date, spend from marts.fct_customer_daily_spend
                         where customer_id = 'cus_tokyo' and spend <> 0""",
    )
    assert got == [{"spend_date": D(2026, 10, 1), "spend": money("30.00")}]
    assert one(
        built,
        """select max(spend_date) as last_day from marts.fct_customer_daily_spend
                         where customer_id = 'cus_tokyo'""",
    ) == {"last_day": D(2026, 10, 21)}


def test_daily_spend_is_the_increase_of_the_tiered_amount(built: Settings) -> None:
    # cus_weekly images in October: 100 a day Oct 5-11 (700 at 0.10), 200 on Oct 12 (900),
    # 300 on Oct 13 -> 100 at 0.10 + 200 at 0.05 = 20.00 (not 300 x 0.10 = 30.00),
    # 800 on Oct 14 at 0.05 = 40.00; plus the fee accrual of 1.00 a day. The first tier's 5.00
    # flat fee is due at quantity 0: charged on the subscription's first day, Oct 1.
    got = rows(
        built,
        """
        select spend_date, fees, usage_spend, spend, spend_to_date
        from marts.fct_customer_daily_spend
        where customer_id = 'cus_weekly' and spend_date in (
            '2026-10-01', '2026-10-12', '2026-10-13', '2026-10-14', '2026-10-15')
        order by spend_date""",
    )
    assert [(r["fees"], r["usage_spend"], r["spend"], r["spend_to_date"]) for r in got] == [
        (money("1.00"), money("5.00"), money("6.00"), money("6.00")),
        (money("1.00"), money("20.00"), money("21.00"), money("107.00")),
        (money("1.00"), money("20.00"), money("21.00"), money("128.00")),
        (money("1.00"), money("40.00"), money("41.00"), money("169.00")),
        (money("1.00"), money("5.00"), money("6.00"), money("175.00")),
    ]


def test_contract_discount_applies_to_usage_to_date(built: Settings) -> None:
    # cus_renewal: usage 50.00 a day, 20% contract discount -> -10.00 a day, spend 40.00
    got = one(
        built,
        """
        select fees, usage_spend, discount, spend, spend_to_date
        from marts.fct_customer_daily_spend
        where customer_id = 'cus_renewal' and spend_date = '2026-10-20'""",
    )
    assert got == {
        "fees": money("0.00"),
        "usage_spend": money("50.00"),
        "discount": money("-10.00"),
        "spend": money("40.00"),
        "spend_to_date": money("800.00"),
    }


# --- contract progress --------------------------------------------------------------------------

CONTRACT_SQL = """
    select committed_amount, consumed_to_date, straight_line_to_date, pace_pct,
           remaining_days, projected_spend, projected_shortfall, at_risk, days_to_end,
           renewal_due
    from marts.fct_contract_progress
    where contract_id = ? and is_current"""


def test_contract_on_pace(built: Settings) -> None:
    # term Sep 1 - Dec 1 (91 days), 9100.00; 100.00 a day for 50 days -> 5000.00, the straight
    # line is 9100 x 50 / 91 = 5000.00 (100%); run-rate 3000 / 30 = 100/day x 41 days left
    # -> 9100.00, no shortfall; Dec 1 is 42 days away, beyond the 30-day notice.
    assert one(built, CONTRACT_SQL, ["ctr_onpace"]) == {
        "committed_amount": money("9100.00"),
        "consumed_to_date": money("5000.00"),
        "straight_line_to_date": money("5000.00"),
        "pace_pct": money("100.00"),
        "remaining_days": 41,
        "projected_spend": money("9100.00"),
        "projected_shortfall": money("0.00"),
        "at_risk": False,
        "days_to_end": 42,
        "renewal_due": False,
    }


def test_contract_at_risk_with_known_shortfall(built: Settings) -> None:
    # same term, 50.00 a day: 2500.00 consumed (50%), projected 2500 + 41 x 50 = 4550.00,
    # true-up 9100 - 4550 = 4550.00
    assert one(built, CONTRACT_SQL, ["ctr_atrisk"]) == {
        "committed_amount": money("9100.00"),
        "consumed_to_date": money("2500.00"),
        "straight_line_to_date": money("5000.00"),
        "pace_pct": money("50.00"),
        "remaining_days": 41,
        "projected_spend": money("4550.00"),
        "projected_shortfall": money("4550.00"),
        "at_risk": True,
        "days_to_end": 42,
        "renewal_due": False,
    }


def test_month_contract_inside_its_renewal_window(built: Settings) -> None:
    # monthly 1000.00 commitment, Sep 1 - Nov 1, notice 30 days; October to date 20 x 40.00 =
    # 800.00; straight line 1000 x 20 / 31 = 645.16; pace 800 / 645.16 = 124.00%;
    # projected 800 + 11 x 40 = 1240.00; Nov 1 is 12 days away -> renewal due.
    assert one(built, CONTRACT_SQL, ["ctr_renewal"]) == {
        "committed_amount": money("1000.00"),
        "consumed_to_date": money("800.00"),
        "straight_line_to_date": money("645.16"),
        "pace_pct": money("124.00"),
        "remaining_days": 11,
        "projected_spend": money("1240.00"),
        "projected_shortfall": money("0.00"),
        "at_risk": False,
        "days_to_end": 12,
        "renewal_due": True,
    }
    # September is a finished window: 30 x 40.00 = 1200.00, nothing left to project
    sep = one(
        built,
        """select consumed_to_date, projected_spend, at_risk, is_current
                        from marts.fct_contract_progress where contract_period_id = ?""",
        ["ctr_renewal:2026-09"],
    )
    assert sep == {
        "consumed_to_date": money("1200.00"),
        "projected_spend": money("1200.00"),
        "at_risk": False,
        "is_current": False,
    }


# --- credit balances ----------------------------------------------------------------------------


def test_credit_balance_follows_the_ledger_and_projects_exhaustion(built: Settings) -> None:
    # cus_atrisk: 5000.00 paid grant Sep 1; September's invoice burns 1500.00 at Oct 1.
    got = rows(
        built,
        """
        select balance_date, balance, customer_balance from marts.fct_credit_balances
        where grant_id = 'gr_atrisk' and balance_date in ('2026-09-30', '2026-10-01')
        order by balance_date""",
    )
    assert [(r["balance"], r["customer_balance"]) for r in got] == [
        (money("5000.00"), money("5000.00")),
        (money("3500.00"), money("3500.00")),
    ]
    # As of Oct 20: October's 1000.00 spent so far is pending -> 2500.00 available; burn rate
    # 50.00 a day -> 2500 / 50 = 50 days after Oct 20 = Dec 9.
    assert one(
        built,
        """
        select balance, pending_burn, available_balance, burn_rate_daily,
               projected_exhaustion_date, expires_within_horizon, expiring_unused_amount
        from marts.fct_credit_balances where grant_id = 'gr_atrisk' and is_as_of""",
    ) == {
        "balance": money("3500.00"),
        "pending_burn": money("1000.00"),
        "available_balance": money("2500.00"),
        "burn_rate_daily": money("50.00"),
        "projected_exhaustion_date": D(2026, 12, 9),
        "expires_within_horizon": False,
        "expiring_unused_amount": None,
    }


def test_credits_expiring_unused_within_30_days(built: Settings) -> None:
    # cus_spike: 2000.00 promotional, granted Oct 1, expires Nov 10 (21 days after Oct 20).
    # October spend to date 19 x 20 + 200 = 580.00 is pending -> 1420.00 available. Burn rate:
    # Sep 21 - Oct 20 = 29 x 20 + 200 = 780 / 30 = 26.00 a day; drawable Oct 21 - Nov 9 = 20
    # days = 520.00 -> 900.00 expires unused; no exhaustion date.
    assert one(
        built,
        """
        select available_balance, burn_rate_daily, projected_exhaustion_date,
               expires_within_horizon, expiring_unused_amount
        from marts.fct_credit_balances where grant_id = 'gr_spike_promo' and is_as_of""",
    ) == {
        "available_balance": money("1420.00"),
        "burn_rate_daily": money("26.00"),
        "projected_exhaustion_date": None,
        "expires_within_horizon": True,
        "expiring_unused_amount": money("900.00"),
    }


# --- spend alerts -------------------------------------------------------------------------------

ALERT_SQL = """
    select threshold_pct, threshold_amount, is_crossed, crossed_on
    from marts.fct_spend_alerts where customer_id = ? and period = '2026-10'
    order by threshold_pct"""


def test_budget_thresholds_crossed_exactly_at_80_and_150(built: Settings) -> None:
    # cus_budget: budget 1000.00 (default thresholds), 100.00 a day Oct 1-15: exactly 500 on
    # Oct 5, 800 on Oct 8, 1000 on Oct 10, 1500 on Oct 15; 2000 never reached.
    got = rows(built, ALERT_SQL, ["cus_budget"])
    assert [
        (r["threshold_pct"], r["threshold_amount"], r["is_crossed"], r["crossed_on"]) for r in got
    ] == [
        (money("50"), money("500.00"), True, D(2026, 10, 5)),
        (money("80"), money("800.00"), True, D(2026, 10, 8)),
        (money("100"), money("1000.00"), True, D(2026, 10, 10)),
        (money("150"), money("1500.00"), True, D(2026, 10, 15)),
        (money("200"), money("2000.00"), False, None),
    ]
    head = one(
        built,
        """
        select spend_to_date, projected_period_spend, last_period_spend, baseline_source,
               hard_limit_breached, hard_limit_breached_on, is_projected_to_cross
        from marts.fct_spend_alerts where alert_id = 'cus_budget:2026-10:200.00'""",
    )
    # projection 1500 x 31 / 20 = 2325.00 (>= 2000: projected to cross 200%); the hard limit is
    # breached on Oct 11 (1100.00 > 1000.00); no September invoice.
    assert head == {
        "spend_to_date": money("1500.00"),
        "projected_period_spend": money("2325.00"),
        "last_period_spend": None,
        "baseline_source": "budget",
        "hard_limit_breached": True,
        "hard_limit_breached_on": D(2026, 10, 11),
        "is_projected_to_cross": True,
    }


def test_thresholds_on_the_trailing_three_period_average(built: Settings) -> None:
    # cus_trailing: no budget; Jul, Aug, Sep 300.00 each -> baseline 300.00; October 12.00 a day:
    # 156.00 on Oct 13 (>= 150), exactly 240.00 (80%) on Oct 20.
    got = rows(built, ALERT_SQL, ["cus_trailing"])
    assert [(r["threshold_amount"], r["is_crossed"], r["crossed_on"]) for r in got] == [
        (money("150.00"), True, D(2026, 10, 13)),
        (money("240.00"), True, D(2026, 10, 20)),
        (money("300.00"), False, None),
        (money("450.00"), False, None),
        (money("600.00"), False, None),
    ]
    head = one(
        built,
        """
        select baseline_source, baseline_amount, last_period_spend, projected_period_spend,
               hard_limit_breached
        from marts.fct_spend_alerts where alert_id = 'cus_trailing:2026-10:80.00'""",
    )
    assert head == {
        "baseline_source": "trailing_average",
        "baseline_amount": money("300.00"),
        "last_period_spend": money("300.00"),
        "projected_period_spend": money("372.00"),
        "hard_limit_breached": False,
    }


def test_custom_thresholds_and_no_baseline(built: Settings) -> None:
    # cus_onpace: budget 10000.00 with thresholds 80|150, 2000.00 spent: nothing crossed
    got = rows(built, ALERT_SQL, ["cus_onpace"])
    assert [(r["threshold_pct"], r["is_crossed"]) for r in got] == [
        (money("80"), False),
        (money("150"), False),
    ]
    # cus_weekly: no budget, no earlier period: thresholds listed, never crossed
    got = rows(
        built,
        """select distinct baseline_source, is_crossed from marts.fct_spend_alerts
                         where customer_id = 'cus_weekly'""",
    )
    assert got == [{"baseline_source": "none", "is_crossed": False}]


# --- anomalies ----------------------------------------------------------------------------------


def test_only_the_planted_spike_is_an_anomaly(built: Settings) -> None:
    # cus_spike: 20.00 a day, 200.00 on Oct 14 = 10x the trailing median 20.00 (> 5 x 20 = 100
    # and >= 50.00). Flat customers (100.00 and 50.00 a day) are never flagged.
    assert rows(
        built,
        """
        select anomaly_id, spend, anomaly_basis, trailing_median_basis, anomaly_threshold,
               basis_to_median_ratio
        from marts.fct_spend_anomalies""",
    ) == [
        {
            "anomaly_id": "cus_spike:2026-10-14",
            "spend": money("200.00"),
            "anomaly_basis": money("200.00"),
            "trailing_median_basis": money("20"),
            "anomaly_threshold": money("100.00"),
            "basis_to_median_ratio": money("10.00"),
        }
    ]
    assert one(
        built,
        """select anomaly_days from marts.fct_spend_alerts
                         where alert_id = 'cus_spike:2026-10:50.00'""",
    ) == {"anomaly_days": 1}


# --- weekly summary -----------------------------------------------------------------------------


def test_weekly_summary_figures(built: Settings) -> None:
    # cus_weekly, ISO week 2026-W42 (Oct 12-18): fees 7 x 1.00; usage 20 + 20 + 40 + 5 = 85.00;
    # spend 92.00 vs W41 77.00 (7.00 fees + 7 x 10.00) -> +15.00, +19.48%; img-pro 20 + 40 =
    # 60.00 beats img-fast 20 + 5 = 25.00; peak day Oct 14 (41.00).
    assert one(
        built,
        """
        select spend, fees, usage_spend, previous_week_spend, spend_change, spend_change_pct,
               top_model, top_model_spend, peak_day, peak_day_spend, is_complete_week
        from marts.fct_weekly_usage_summary where weekly_summary_id = 'cus_weekly:2026-W42'""",
    ) == {
        "spend": money("92.00"),
        "fees": money("7.00"),
        "usage_spend": money("85.00"),
        "previous_week_spend": money("77.00"),
        "spend_change": money("15.00"),
        "spend_change_pct": money("19.48"),
        "top_model": "img-pro",
        "top_model_spend": money("60.00"),
        "peak_day": D(2026, 10, 14),
        "peak_day_spend": money("41.00"),
        "is_complete_week": True,
    }
    # the week sums match the daily mart exactly, for every customer and week
    assert (
        rows(
            built,
            """
        select w.weekly_summary_id
        from marts.fct_weekly_usage_summary as w
        left join (
            select customer_id, strftime(spend_date, '%G-W%V') as iso_week, sum(spend) as spend
            from marts.fct_customer_daily_spend group by all
        ) as d using (customer_id, iso_week)
        where d.spend is distinct from w.spend""",
        )
        == []
    )


WEEKLY_MD = """# Weekly usage summary: Weekly

Customer `cus_weekly`, week 2026-W42 (2026-10-12 to 2026-10-18, complete week).

| | |
|---|---:|
| Spend this week | 92.00 USD |
| Subscription fees | 7.00 USD |
| Usage | 85.00 USD |
| Discounts | 0.00 USD |
| Spend last week | 77.00 USD |
| Change | +15.00 USD (+19.48%) |
| Top model | img-pro (60.00 USD) |
| Peak day | 2026-10-14 (41.00 USD) |

Spend = subscription fees + usage after discounts, as rated to date; credits and tax are not \
deducted.
"""


def test_weekly_markdown_export(built: Settings) -> None:
    paths = write_weekly_summaries(built)  # default: the latest complete week, 2026-W42
    base = built.exports_dir / "summaries" / "2026-W42"
    assert paths == sorted(
        base / f"{c}.md"
        for c in (
            "cus_atrisk",
            "cus_budget",
            "cus_onpace",
            "cus_renewal",
            "cus_spike",
            "cus_tokyo",
            "cus_trailing",
            "cus_weekly",
        )
    )
    assert (base / "cus_weekly.md").read_text() == WEEKLY_MD
    before = {p: p.read_bytes() for p in paths}
    assert write_weekly_summaries(built, "2026-W42") == paths
    assert {p: p.read_bytes() for p in paths} == before  # deterministic
    assert not list(base.glob(".*"))  # no temp files left behind
    assert write_weekly_summaries(built, "2025-W01") == []


# --- determinism and the as_of_date var ---------------------------------------------------------


def test_as_of_var_overrides_the_data(built: Settings, tmp_path: Path) -> None:
    # A copy of the warehouse, controls models rebuilt as of Oct 10: cus_budget has spent
    # 10 x 100.00 = 1000.00, so 100% is crossed on Oct 10 and 150% is not.
    wh = tmp_path / "warehouse.duckdb"
    shutil.copy(built.warehouse, wh)
    s = Settings(data_dir=built.data_dir, warehouse=wh)
    run_dbt(
        s,
        "run",
        "--select",
        "int_controls_as_of_dates+",
        "--vars",
        "{as_of_date: '2026-10-10'}",
        extra_env=own_dbt_target(s),
        at_warehouse=True,
    )
    got = rows(s, ALERT_SQL, ["cus_budget"])
    assert [(r["is_crossed"], r["crossed_on"]) for r in got] == [
        (True, D(2026, 10, 5)),
        (True, D(2026, 10, 8)),
        (True, D(2026, 10, 10)),
        (False, None),
        (False, None),
    ]
    # projected 1000 x 31 / 10 = 3100.00
    assert one(
        s,
        """select distinct projected_period_spend, as_of_date
                     from marts.fct_spend_alerts where customer_id = 'cus_budget'
                     and period = '2026-10'""",
    ) == {"projected_period_spend": money("3100.00"), "as_of_date": D(2026, 10, 10)}
