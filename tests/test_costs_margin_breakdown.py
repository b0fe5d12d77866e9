"""Gross margin per provider x model x feature (fct_customer_margin_breakdown, fct_model_margin,
fct_feature_margin), real dbt builds.

1. PRICING.md's worked customer (cus_northwind, October 2026, revenue 900.00) with the known
   costs of tests/test_costs_margin.py: gpt-4o 12.60 (OpenAI, Oct 3 + Oct 17), claude-sonnet-4-5
   6.00 (Anthropic, Oct 21), a FOCUS GPU row of 300.00 tagged cus_northwind. Every expected
   figure below is worked out by hand from PRICING.md's worked invoice (comments).
2. cus_split: one Pro price row (gpt-4o*) covering two features of one model, split by quantity
   with the remainder cent placed deterministically (larger remainder; on a tie, feature order).
3. The invariant against fct_customer_margin on a generated data set.
4. The allocation macro is exact where the DOUBLE version was off by a cent.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import duckdb
import pytest

from orchestration.config import Settings, settings
from tests.support.costs import (
    REPO_ROOT,
    build_costs,
    query,
    write_events,
)
from tests.support.rating import event, issue_period, write_data_dir
from tests.test_costs_margin import (
    northwind_with_providers,
    write_northwind_costs,
)

D = Decimal
BREAKDOWN_MARTS = (
    "fct_customer_margin",
    "fct_customer_margin_breakdown",
    "fct_model_margin",
    "fct_feature_margin",
)


def _split_customer_events() -> list[dict[str, object]]:
    """cus_split, Pro all October, gpt-4o on Oct 10 (no provider cost billed that day: COGS 0)."""
    c, llm = "cus_split", "llm.completion"
    common = {"model": "gpt-4o", "provider": "openai"}
    return [
        event(
            "s1",
            c,
            llm,
            "2026-10-10T09:00:00Z",
            feature="chat",
            input_tokens=1_400_000,
            output_tokens=50_250,
            **common,
        ),  # fmt: skip
        event(
            "s2",
            c,
            llm,
            "2026-10-10T10:00:00Z",
            feature="search",
            input_tokens=700_000,
            output_tokens=50_250,
            **common,
        ),  # fmt: skip
    ]


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("margin_breakdown") / "data"
    data.mkdir()
    scenario = northwind_with_providers()
    scenario.events.extend(_split_customer_events())
    split_customer = dict(scenario.customers[0])
    split_customer.update(customer_id="cus_split", name="Split", tax_rate="0", segment="startup")
    scenario.customers.append(split_customer)
    scenario.subscriptions.append(
        {
            "subscription_id": "sub_split",
            "customer_id": "cus_split",
            "plan_code": "pro",
            "start_date": "2026-10-01",
            "end_date": "",
        }
    )
    write_data_dir(data, scenario)
    write_northwind_costs(data)
    s = settings(data)
    build_costs(s, *BREAKDOWN_MARTS)
    return s


# Worked invoice (PRICING.md), line by line, onto provider | model | feature rows:
#   subscription Pro 99.00                      -> (none) | (non-usage) | subscription
#   input gpt-4o* 6.00 (e1 gpt-4o-2024-08-06 and e2 gpt-4o: both model key gpt-4o, one row)
#   output gpt-4o* 4.10                          -> openai | gpt-4o | (none): usage 10.10
#   input claude 3.00 + output claude 3.00       -> anthropic | claude-sonnet-4-5 | (none): 6.00
#   images 242.00 + API requests 1.50 (no provider, model, feature on those events)
#                                                -> (none) | (none) | (none): 243.50
#   minimum commitment 667.36                    -> (none) | (non-usage) | minimum_commitment
# Discount -25.96 (10 % of usage 259.60) over the usage rows by usage revenue, in cents:
#   -2596 x 1010/25960 = -101 exactly, -2596 x 600/25960 = -60, -2596 x 24350/25960 = -2435
#   (10 % of each row exactly, no remainder): -1.01, -0.60, -24.35; sum -25.96.
# Before credit: subscription 99.00, gpt-4o 9.09, claude 5.40, (none) 219.15, commitment 667.36;
#   sum 1000.00 = the subtotal.
# Promotional credit 100.00 = 10000 cents over those weights (total 100000 cents):
#   10000 x w / 100000 = w / 10 -> 990.0, 90.9, 54.0, 2191.5, 6673.6; floors 990 + 90 + 54 +
#   2191 + 6673 = 9998, 2 cents left -> the largest remainders .9 (gpt-4o) and .6 (commitment):
#   9.90, 0.91, 0.54, 21.91, 66.74; sum 100.00.
# Revenue: 89.10, 8.18, 4.86, 197.24, 600.62; sum 900.00.
# COGS: gpt-4o 12.60 direct, claude 6.00 direct, GPU Instances 300.00 shared (no revenue).
# Margin: gpt-4o 8.18 - 12.60 = -4.42 -> -4.42/8.18 = -54.03 %, markup -4.42/12.60 = -35.08 %;
#   claude 4.86 - 6.00 = -1.14 -> -23.46 %, markup -19.00 %; GPU -300.00, markup -100.00 %.
WORKED_ROWS = [
    # provider, model, feature, row_kind, usage, non-usage, discount, credit, revenue,
    # cogs direct, cogs allocated, margin, margin %, markup %
    ("(none)", "(non-usage)", "minimum_commitment", "non_usage", "0.00", "667.36", "0.00",
     "66.74", "600.62", "0.00", "0.00", "600.62", "100.00", None),
    ("(none)", "(none)", "(none)", "usage", "243.50", "0.00", "-24.35",
     "21.91", "197.24", "0.00", "0.00", "197.24", "100.00", None),
    ("(none)", "(non-usage)", "subscription", "non_usage", "0.00", "99.00", "0.00",
     "9.90", "89.10", "0.00", "0.00", "89.10", "100.00", None),
    ("openai", "gpt-4o", "(none)", "usage", "10.10", "0.00", "-1.01",
     "0.91", "8.18", "12.60", "0.00", "-4.42", "-54.03", "-35.08"),
    ("anthropic", "claude-sonnet-4-5", "(none)", "usage", "6.00", "0.00", "-0.60",
     "0.54", "4.86", "6.00", "0.00", "-1.14", "-23.46", "-19.00"),
    ("cloudgpu", "GPU Instances", "(shared)", "shared_cost", "0.00", "0.00", "0.00",
     "0.00", "0.00", "0.00", "300.00", "-300.00", None, "-100.00"),
]  # fmt: skip


def _dec(row: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(D(v) if isinstance(v, str) and v[-3:-2] == "." else v for v in row)


def test_worked_customer_rows(worked: Settings) -> None:
    rows = query(
        worked,
        """
        select provider, model, feature, row_kind, usage_revenue, non_usage_revenue,
               discount_allocated, promotional_credit_allocated, revenue, cogs_direct,
               cogs_allocated, gross_margin, margin_pct, markup_pct
        from marts.fct_customer_margin_breakdown
        where customer_id = 'cus_northwind' and period = '2026-10'
        order by revenue desc, gross_margin desc""",
    )
    assert rows == [_dec(r) for r in WORKED_ROWS]
    assert query(
        worked,
        """select breakdown_id, adjustment_revenue from marts.fct_customer_margin_breakdown
           where customer_id = 'cus_northwind' and model = 'gpt-4o'""",
    ) == [("cus_northwind:2026-10|openai|gpt-4o|(none)", D("0.00"))]


def test_worked_customer_sums_to_its_margin(worked: Settings) -> None:
    totals = query(
        worked,
        """
        select sum(usage_revenue), sum(non_usage_revenue), sum(discount_allocated),
               sum(promotional_credit_allocated), sum(revenue), sum(cogs_direct),
               sum(cogs_allocated), sum(gross_margin)
        from marts.fct_customer_margin_breakdown where customer_id = 'cus_northwind'""",
    )
    # usage lines 259.60, fee 99.00 + commitment 667.36, discount -25.96, credit 100.00:
    # revenue 900.00; COGS 18.60 + 300.00; margin 581.40 (fct_customer_margin's figures)
    assert totals == [
        (
            D("259.60"),
            D("766.36"),
            D("-25.96"),
            D("100.00"),
            D("900.00"),
            D("18.60"),
            D("300.00"),
            D("581.40"),
        )
    ]
    margin = query(
        worked,
        """select revenue, cogs_direct, cogs_allocated, gross_margin
           from marts.fct_customer_margin where customer_id = 'cus_northwind'""",
    )
    assert margin == [(D("900.00"), D("18.60"), D("300.00"), D("581.40"))]


def test_model_margin_one_query(worked: Settings) -> None:
    """'Margin of gpt-4o for cus_northwind in October' is one row of fct_model_margin."""
    rows = query(
        worked,
        """
        select model_margin_id, revenue, cogs_total, gross_margin, margin_pct, markup_pct
        from marts.fct_model_margin
        where customer_id = 'cus_northwind' and period = '2026-10' and model = 'gpt-4o'""",
    )
    assert rows == [
        ("cus_northwind:2026-10|gpt-4o", D("8.18"), D("12.60"), D("-4.42"), D("-54.03"),
         D("-35.08")),
    ]  # fmt: skip
    # '(non-usage)' sums the two non-usage rows: 89.10 + 600.62 = 689.72 (100.00 %)
    assert query(
        worked,
        """select revenue, margin_pct, breakdown_rows from marts.fct_model_margin
           where customer_id = 'cus_northwind' and model = '(non-usage)'""",
    ) == [(D("689.72"), D("100.00"), 2)]


# cus_split, Pro, October: one price row gpt-4o* for both features of gpt-4o.
#   input: chat 1,400,000 + search 700,000 = 2,100,000 tokens, 1,000,000 free ->
#     1,100,000 x 2.50 / 1M = 2.75 (275 cents); by quantity: chat 275 x 2/3 = 183.33 -> 183
#     (remainder 1/3), search 275 x 1/3 = 91.67 -> 91 (remainder 2/3); 274 + 1 cent left ->
#     search (larger remainder): chat 1.83, search 0.92.
#   output: 50,250 + 50,250 = 100,500 tokens x 10.00 / 1M = 1.005 -> 1.01 (half away from 0);
#     50.5 cents each: floors 50 + 50, 1 cent left, equal remainders -> tie broken by
#     (provider, model, feature): chat 0.51, search 0.50.
#   chat 1.83 + 0.51 = 2.34; search 0.92 + 0.50 = 1.42; fee 99.00; no discount, no credit.
def test_line_split_by_quantity_with_deterministic_remainder(worked: Settings) -> None:
    lines = query(
        worked,
        """
        select meter_code, feature, allocation_basis, quantity, line_amount, usage_revenue
        from intermediate.int_revenue_usage_lines_allocated
        where customer_id = 'cus_split' order by meter_code, feature""",
    )
    assert lines == [
        ("llm_input_tokens", "chat", "quantity", D("1400000"), D("2.75"), D("1.83")),
        ("llm_input_tokens", "search", "quantity", D("700000"), D("2.75"), D("0.92")),
        ("llm_output_tokens", "chat", "quantity", D("50250"), D("1.01"), D("0.51")),
        ("llm_output_tokens", "search", "quantity", D("50250"), D("1.01"), D("0.50")),
    ]
    rows = query(
        worked,
        """
        select provider, model, feature, usage_revenue, revenue, cogs_total, margin_pct
        from marts.fct_customer_margin_breakdown
        where customer_id = 'cus_split' order by breakdown_id""",
    )
    assert rows == [
        ("(none)", "(non-usage)", "subscription", D("0.00"), D("99.00"), D("0.00"), D("100.00")),
        ("openai", "gpt-4o", "chat", D("2.34"), D("2.34"), D("0.00"), D("100.00")),
        ("openai", "gpt-4o", "search", D("1.42"), D("1.42"), D("0.00"), D("100.00")),
    ]
    features = query(
        worked,
        """select feature, revenue from marts.fct_feature_margin
           where customer_id = 'cus_split' order by feature""",
    )
    assert features == [
        ("chat", D("2.34")),
        ("search", D("1.42")),
        ("subscription", D("99.00")),
    ]


INVARIANT_SQL = """
    with b as (
        select customer_id, period, sum(revenue) as revenue, sum(cogs_direct) as cd,
               sum(cogs_allocated) as ca, sum(gross_margin) as gm
        from marts.{mart} group by all)
    select * from marts.fct_customer_margin m full outer join b using (customer_id, period)
    where b.revenue is distinct from m.revenue or b.cd is distinct from m.cogs_direct
       or b.ca is distinct from m.cogs_allocated or b.gm is distinct from m.gross_margin"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Generated demo data (small), built once with drafts only; then October is issued (as
    `meterline close` writes the ledger), one October event arrives late and the marts are
    rebuilt: issued invoices come from the ledger and November drafts carry adjustment lines.
    Each dbt build runs the singular invariant tests (a failing test fails the build)."""
    from meterline_dev.generator import generate

    data = tmp_path_factory.mktemp("gen_breakdown") / "data"
    generate(
        data, customers=8, events=4000, start=dt.date(2026, 10, 1), days=40, seed=11, progress=False
    )
    s = settings(data)
    build_costs(s, *BREAKDOWN_MARTS)
    assert query(s, INVARIANT_SQL.format(mart="fct_customer_margin_breakdown")) == []
    issue_period(s, "2026-10")
    ((customer, provider, model, feature),) = query(
        s,
        """select customer_id, provider, model, feature from staging.stg_usage__events
           where event_type = 'llm.completion' and status = 'success' and model like 'gpt-4o%'
             and event_time < '2026-10-28' order by event_id limit 1""",
    )
    late = {
        "subject": customer,
        "time": "2026-10-15T12:00:00Z",
        "type": "llm.completion",
        "id": "evt_late_breakdown_1",
        "provider": provider,
        "model": model,
        "feature": feature,
        "status": "success",
        "input_tokens": 5_000_000,
        "output_tokens": 250_000,
    }
    write_events(data, "late_2026-11-10.jsonl", [late])
    build_costs(s, *BREAKDOWN_MARTS)
    return s


@pytest.mark.parametrize(
    "mart", ["fct_customer_margin_breakdown", "fct_model_margin", "fct_feature_margin"]
)
def test_invariant_against_customer_margin(generated: Settings, mart: str) -> None:
    assert query(generated, INVARIANT_SQL.format(mart=mart)) == []


def test_generated_breakdown_is_not_trivial(generated: Settings) -> None:
    """The generated data exercises the interesting parts: several models and features per
    customer, discounts and non-usage rows, direct and shared COGS, usage lines split by
    quantity across more than one row."""
    (stats,) = query(
        generated,
        """
        select count(distinct model) filter (where row_kind = 'usage' and model <> '(none)'),
               count(distinct feature) filter (where row_kind = 'usage' and feature <> '(none)'),
               count(*) filter (where discount_allocated <> 0),
               count(*) filter (where row_kind = 'non_usage'),
               count(*) filter (where cogs_direct <> 0),
               count(*) filter (where cogs_allocated <> 0),
               (select count(*) from (
                    select invoice_id, line_key from intermediate.int_revenue_usage_lines_allocated
                    where allocation_basis = 'quantity' group by all having count(*) > 1))
        from marts.fct_customer_margin_breakdown""",
    )
    assert all(n > 1 for n in stats), stats
    # every usage line's parts sum exactly to the line
    assert (
        query(
            generated,
            """
        select l.invoice_id, l.line_key from marts.fct_invoice_lines l
        left join (select invoice_id, line_key, sum(usage_revenue) as s
                   from intermediate.int_revenue_usage_lines_allocated group by all) a
          using (invoice_id, line_key)
        where l.line_type = 'usage' and a.s is distinct from l.amount""",
        )
        == []
    )


def test_issued_period_and_late_usage_adjustments(generated: Settings) -> None:
    """October issued (ledger lines split by today's quantities), the late event's difference on
    November drafts as '(adjustment)' rows: the invariant above holds on this state too."""
    issued = query(
        generated,
        """select count(*) from marts.fct_customer_margin_breakdown b
           join marts.fct_invoices i on i.invoice_id = b.customer_id || ':' || b.period
           where i.status = 'issued' and b.usage_revenue <> 0""",
    )
    assert issued[0][0] > 0
    adjustments = query(
        generated,
        """select period, model, feature, sum(adjustment_revenue)
           from marts.fct_customer_margin_breakdown
           where row_kind = 'adjustment' group by all order by all""",
    )
    # the late gpt-4o event corrects October's input and output lines (and the discount when
    # the customer has one): rows '(adjustment)' x meter on the November draft
    assert {(p, m) for p, m, _, _ in adjustments} == {("2026-11", "(adjustment)")}
    assert {"llm_input_tokens", "llm_output_tokens"} <= {f for _, _, f, _ in adjustments}
    on_invoices = query(
        generated,
        "select sum(adjustment_total) from marts.fct_invoices where adjustment_total <> 0",
    )
    assert sum(a for *_, a in adjustments) == on_invoices[0][0] != 0


# --- the allocation macro: exact integer arithmetic --------------------------------------


def _render_allocation(weight_scale: int) -> str:
    from tests.test_costs_allocation import render_cost_helpers

    return render_cost_helpers(
        "{{ allocate_largest_remainder('t', ['pool'], 'amount', 'w', 'rid', 2, "
        f"{weight_scale}) }}}}"
    )


def _exact_allocation(cents: int, weights: list[Fraction]) -> list[int]:
    """Largest remainder by hand, in fractions: floors, then one cent each to the largest
    remainders (ties by position = rid order)."""
    total = sum(weights)
    shares = [Fraction(cents) * w / total for w in weights]
    floors = [s.numerator // s.denominator for s in shares]
    order = sorted(range(len(weights)), key=lambda i: (-(shares[i] - floors[i]), i))
    for i in order[: cents - sum(floors)]:
        floors[i] += 1
    return floors


def _allocate(sql: str, amount: str, weights: list[str], weight_type: str) -> list[Decimal]:
    con = duckdb.connect()
    con.execute(f"create table t (pool int, rid varchar, amount decimal(38,2), w {weight_type})")
    con.executemany(
        "insert into t values (1, ?, ?, ?)",
        [(f"r{i:02d}", D(amount), D(w)) for i, w in enumerate(weights)],
    )
    rows = con.execute(f"select allocated_amount from ({sql}) order by rid").fetchall()
    con.close()
    return [r[0] for r in rows]


def test_allocation_exact_where_double_was_off() -> None:
    # 60,495,363,820.64 over weights 502434186.867 : 251377480.981 : 627934400.002. With DOUBLE
    # shares the old macro gave 21997485382.93 / 11005764750.92 / 27492113686.79. In exact
    # fractions the cent floors are 2199748538292 / 1100576475091 / 2749211368679 (sum 2 short)
    # with remainders 0.65332 / 0.69332 / 0.65336: rows 2 and 3 get the 2 cents (rows 1 and 3
    # differ by 0.00004 cent, below a DOUBLE's resolution at 10^12):
    # 21997485382.92 / 11005764750.92 / 27492113686.80.
    weights = ["502434186.867", "251377480.981", "627934400.002"]
    got = _allocate(_render_allocation(15), "60495363820.64", weights, "decimal(38,15)")
    expected = _exact_allocation(6049536382064, [Fraction(w) for w in weights])
    assert [int(a * 100) for a in got] == expected
    assert got == [D("21997485382.92"), D("11005764750.92"), D("27492113686.80")]
    assert sum(got) == D("60495363820.64")


def test_allocation_quantity_weights_and_edge_cases() -> None:
    sql = _render_allocation(9)
    # token quantities (DECIMAL(38,9)), a negative amount (a discount), a zero weight
    got = _allocate(sql, "-25.97", ["3400000", "1000000.5", "0"], "decimal(38,9)")
    expected = _exact_allocation(-2597, [Fraction(3400000), Fraction("1000000.5"), Fraction(0)])
    assert [int(a * 100) for a in got] == expected
    assert sum(got) == D("-25.97")
    # all weights 0: split evenly, the remainder cent by rid
    assert _allocate(sql, "1.00", ["0", "0", "0"], "decimal(38,9)") == [
        D("0.34"),
        D("0.33"),
        D("0.33"),
    ]


def test_breakdown_marts_documented(worked: Settings) -> None:
    """The mart contract: the columns documented in the marts yml (each with a description) are
    exactly the columns of the built marts, in both directions."""
    import yaml

    costs_dir = REPO_ROOT / "dbt_project" / "models" / "marts" / "costs"
    doc = yaml.safe_load((costs_dir / "_costs__models.yml").read_text())
    models = {m["name"]: m for m in doc["models"]}
    for mart in BREAKDOWN_MARTS[1:]:
        cols = models[mart]["columns"]
        assert all(c.get("description") for c in cols), mart
        built = [
            r[0]
            for r in query(
                worked,
                "select column_name from information_schema.columns "
                "where table_schema = 'marts' and table_name = ? order by ordinal_position",
                [mart],
            )
        ]
        assert built, mart
        assert sorted(c["name"] for c in cols) == sorted(built), mart


def test_dashboard_model_margin_on_the_real_build(worked: Settings, tmp_settings: Settings) -> None:
    from dashboards import data_access as da
    from tests.support.dashboard import publish

    publish(worked.warehouse, tmp_settings)
    df = da.model_margin(da.snapshot(), "cus_northwind", "2026-10")
    assert df.select("model", "revenue", "cogs_total", "gross_margin", "margin_pct").rows() == [
        ("(non-usage)", D("689.72"), D("0.00"), D("689.72"), D("100.00")),
        ("(none)", D("197.24"), D("0.00"), D("197.24"), D("100.00")),
        ("gpt-4o", D("8.18"), D("12.60"), D("-4.42"), D("-54.03")),
        ("claude-sonnet-4-5", D("4.86"), D("6.00"), D("-1.14"), D("-23.46")),
        ("GPU Instances", D("0.00"), D("300.00"), D("-300.00"), None),
    ]


def test_dashboard_cogs_page_shows_margin_per_model(tmp_settings: Settings) -> None:
    from tests.test_dashboard_app import _fixture, frame, open_page, pick, texts

    _fixture(tmp_settings)
    at = pick(open_page("cogs"), "Customer", "cus_northwind")
    assert "Margin per model" in "\n".join(str(h.value) for h in at.subheader)
    table = frame(at, "Model", "Gross margin", "Margin %")  # the page shows column labels
    assert list(table["Model"]) == ["(non-usage)", "(none)", "gpt-4o", "claude-sonnet-4-5"]
    # numbers stay numbers in the table (sortable); the column format writes the currency
    assert list(table["Revenue"]) == [689.72, 197.24, 8.18, 4.86]
    assert list(table["Gross margin"]) == [689.72, 197.24, -4.42, -1.14]
    assert list(table["Margin %"])[2] == -54.03
    assert "shared costs under their service name" in texts(at)
