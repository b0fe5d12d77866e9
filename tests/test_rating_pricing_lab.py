"""Pricing lab (issue 20): scenarios re-rated by the billing models themselves, through the real
pipeline (`meterline run`: ingest, checks, catalog, dbt build, the scenarios asset, publish).

The data: PRICING.md's worked customer cus_northwind (contract discount, minimum commitment,
promotional credit, tax; known provider costs: gpt-4o billed 6.30 on Oct 3 and Oct 17, of which
input 4.25) plus three small customers on Pro v1, October 2026, UTC:

- cus_a (startup, tax 0.2): gpt-4o input 2,000,000, output 500,000 -> 99.00 + 2.50 + 5.00,
  tax 21.30, total 127.80;
- cus_b (startup, tax 0): gpt-4o output 1,234,567 -> 99.00 + 12.35 = 111.35;
- cus_c (self_serve, tax 0): gpt-4o output 100,000 -> 99.00 + 1.00 = 100.00.

Scenarios (reference/scenarios/):

- ``identical``: a copy of Pro v1, every customer: zero difference on every line;
- ``startup_cut``: Pro v1 with fee 79.00 and gpt-4o output 8.00, startup segment only:
  cus_a 79.00 + 2.50 + 4.00 = 85.50, tax 17.10, total 102.60 (-25.20, -19.72%);
  cus_b 79.00 + 1,234,567 x 8 / 1M (9.876536 -> 9.88) = 88.88 (-22.47, -20.18%); cus_c 0;
- ``move_c``: cus_c moved to Plus (fee 149.00, 1,000,000 output tokens included): 149.00,
  +49.00 (+49.00%): a bill shock (threshold 20%);
- ``gpt4o_input_half``: OpenAI gpt-4o input -50% from 2026-10-10: the Oct 17 day's direct COGS
  6.30 is input 4.25 / 6.30 of it: change 6.30 x 4.25 x -50 / (6.30 x 100) = -2.125 -> -2.13;
  cus_northwind COGS 318.60 -> 316.47, margin 581.40 -> 583.53, 64.60% -> 64.84%.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestration.config import Settings, settings
from orchestration.ingest.results import ReferenceDataError
from tests.support.costs import query
from tests.support.rating import PRO_V1, _yaml, event, write_data_dir
from tests.test_costs_margin import northwind_with_providers, write_northwind_costs

PERIODS = {"from": "2026-10", "to": "2026-10"}


def _customer(cid: str, segment: str, tax: str) -> dict[str, str]:
    return {
        "customer_id": cid,
        "name": cid,
        "currency": "USD",
        "timezone": "UTC",
        "tax_rate": tax,
        "segment": segment,
        "billing_email": f"{cid}@example.com",
    }


def _llm(eid: str, cid: str, day: str, **tokens: int) -> dict[str, Any]:
    return event(
        eid,
        cid,
        "llm.completion",
        f"2026-10-{day}T12:00:00Z",
        model="gpt-4o",
        provider="openai",
        **tokens,
    )


def _plan(**changes: Any) -> dict[str, Any]:
    plan = copy.deepcopy(PRO_V1)
    output_price = changes.pop("gpt4o_output", None)
    plan.update(changes)
    if output_price is not None:
        for charge in plan["charges"]:
            if charge["meter"] == "llm_output_tokens":
                for row in charge["prices"]:
                    if row.get("when") == {"model": "gpt-4o*"}:
                        row["unit_price"] = output_price
    return plan


def write_scenarios(ref: Path) -> None:
    root = ref / "scenarios"
    (root / "plans").mkdir(parents=True)
    plus = _plan(code="plus", name="Plus", fee="149.00")
    for charge in plus["charges"]:
        if charge["meter"] == "llm_output_tokens":
            for row in charge["prices"]:
                row["free_units"] = 1_000_000
    plans = {
        "pro_v1_copy": _plan(),
        "pro_v1_startup": _plan(fee="79.00", gpt4o_output="8.00"),
        "plus_v1": plus,
    }
    for name, plan in plans.items():
        (root / "plans" / f"{name}.yml").write_text(_yaml(plan) + "\n")
    docs = {
        "identical": {"periods": PERIODS, "plans": ["plans/pro_v1_copy.yml"], "customers": "all"},
        "startup_cut": {
            "name": "Startup price cut",
            "periods": PERIODS,
            "plans": ["plans/pro_v1_startup.yml"],
            "customers": {"segment": "startup"},
        },
        "move_c": {
            "periods": PERIODS,
            "plans": ["plans/plus_v1.yml"],
            "customers": {"ids": ["cus_c"]},
            "move_to_plan": "plus",
        },
        "gpt4o_input_half": {
            "periods": PERIODS,
            "customers": "all",
            "cost_changes": [
                {
                    "provider": "openai",
                    "model": "gpt-4o",
                    "component": "input",
                    "change_pct": -50,
                    "from": "2026-10-10",
                }
            ],
        },
    }
    for name, doc in docs.items():
        (root / f"{name}.yml").write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from orchestration.pipeline import run_pipeline

    data = tmp_path_factory.mktemp("lab") / "data"
    data.mkdir()
    sc = northwind_with_providers()
    sc.customers += [
        _customer("cus_a", "startup", "0.2"),
        _customer("cus_b", "startup", "0"),
        _customer("cus_c", "self_serve", "0"),
    ]
    sc.subscriptions += [
        {
            "subscription_id": f"sub_{c}",
            "customer_id": f"cus_{c}",
            "plan_code": "pro",
            "start_date": "2026-10-01",
            "end_date": "",
        }
        for c in "abc"
    ]
    sc.events += [
        _llm("a1", "cus_a", "05", input_tokens=2_000_000, output_tokens=500_000),
        _llm("b1", "cus_b", "06", input_tokens=0, output_tokens=1_234_567),
        _llm("c1", "cus_c", "07", input_tokens=0, output_tokens=100_000),
    ]
    write_data_dir(data, sc)
    write_northwind_costs(data)
    write_scenarios(data / "reference")
    s = settings(data)
    assert run_pipeline(s, progress=False), (data / ".meterline" / "last_run.json").read_text()
    return s


def test_identical_scenario_changes_no_line_of_any_customer(lab: Settings) -> None:
    lines = query(
        lab,
        """select customer_id, line_type, line_change, current_amount, amount_difference
        from marts.fct_scenario_invoice_lines where scenario = 'identical'
        order by customer_id, line_key""",
    )
    assert {r[0] for r in lines} == {"cus_a", "cus_b", "cus_c", "cus_northwind"}
    # every line type of the worked invoice is compared (fees, usage, discount, commitment,
    # credit, tax) and none moved
    assert {r[1] for r in lines} == {
        "subscription",
        "usage",
        "discount",
        "minimum_commitment",
        "credit",
        "tax",
    }
    assert all(r[2] == "unchanged" and r[4] == 0 for r in lines), lines
    invoices = query(
        lab,
        """select customer_id, current_total, simulated_total, total_difference, impact,
            is_bill_shock
        from marts.fct_scenario_invoices where scenario = 'identical' order by customer_id""",
    )
    assert invoices == [
        ("cus_a", D("127.80"), D("127.80"), D("0.00"), "unchanged", False),
        ("cus_b", D("111.35"), D("111.35"), D("0.00"), "unchanged", False),
        ("cus_c", D("100.00"), D("100.00"), D("0.00"), "unchanged", False),
        ("cus_northwind", D("1080.00"), D("1080.00"), D("0.00"), "unchanged", False),
    ]
    margin = query(
        lab,
        """select count(*), sum(abs(revenue_difference)), sum(abs(simulated_cogs - current_cogs))
        from marts.fct_scenario_margin where scenario = 'identical'""",
    )
    assert margin[0][0] > 0 and margin[0][1:] == (D("0.00"), D("0.00"))


def test_hand_computed_scenario_three_customers(lab: Settings) -> None:
    rows = query(
        lab,
        """select customer_id, is_in_scope, current_fees_total, simulated_fees_total,
            current_usage_total, simulated_usage_total, current_tax_total, simulated_tax_total,
            current_total, simulated_total, total_difference, total_difference_pct, impact,
            is_bill_shock
        from marts.fct_scenario_invoices
        where scenario = 'startup_cut' and customer_id in ('cus_a', 'cus_b', 'cus_c')
        order by customer_id""",
    )
    assert rows == [
        (
            "cus_a",
            True,
            D("99.00"),
            D("79.00"),
            D("7.50"),
            D("6.50"),
            D("21.30"),
            D("17.10"),
            D("127.80"),
            D("102.60"),
            D("-25.20"),
            D("-19.72"),
            "decrease",
            False,
        ),
        (
            "cus_b",
            True,
            D("99.00"),
            D("79.00"),
            D("12.35"),
            D("9.88"),
            D("0.00"),
            D("0.00"),
            D("111.35"),
            D("88.88"),
            D("-22.47"),
            D("-20.18"),
            "decrease",
            False,
        ),
        (
            "cus_c",
            False,
            D("99.00"),
            D("99.00"),
            D("1.00"),
            D("1.00"),
            D("0.00"),
            D("0.00"),
            D("100.00"),
            D("100.00"),
            D("0.00"),
            D("0.00"),
            "unchanged",
            False,
        ),
    ]
    changed = query(
        lab,
        """select customer_id, line_type, current_amount, simulated_amount, amount_difference
        from marts.fct_scenario_invoice_lines
        where scenario = 'startup_cut' and line_change <> 'unchanged'
        order by customer_id, line_type""",
    )
    assert changed == [
        ("cus_a", "subscription", D("99.00"), D("79.00"), D("-20.00")),
        ("cus_a", "tax", D("21.30"), D("17.10"), D("-4.20")),
        ("cus_a", "usage", D("5.00"), D("4.00"), D("-1.00")),
        ("cus_b", "subscription", D("99.00"), D("79.00"), D("-20.00")),
        ("cus_b", "usage", D("12.35"), D("9.88"), D("-2.47")),
    ]
    # the worked customer is enterprise: out of scope, unchanged
    assert query(
        lab,
        """select total_difference from marts.fct_scenario_invoices
        where scenario = 'startup_cut' and customer_id = 'cus_northwind'""",
    ) == [(D("0.00"),)]


def test_moving_a_customer_to_a_plan_with_a_fee_is_a_bill_shock(lab: Settings) -> None:
    assert query(
        lab,
        """select customer_id, current_total, simulated_total, total_difference,
            total_difference_pct, bill_shock_threshold_pct, shock_rank
        from marts.fct_scenario_bill_shocks where scenario = 'move_c'""",
    ) == [("cus_c", D("100.00"), D("149.00"), D("49.00"), D("49.00"), D("20.00"), 1)]
    lines = query(
        lab,
        """select line_key, line_change, current_amount, simulated_amount
        from marts.fct_scenario_invoice_lines
        where scenario = 'move_c' and customer_id = 'cus_c' and line_type <> 'tax'
        order by line_key""",
    )
    # the subscription keeps its id; the fee line names the new plan, the output line now has
    # 1,000,000 tokens included (0.00); the input line (0 tokens) stays 0.00
    assert lines == [
        ("subscription:sub_c:plus:v1", "added", None, D("149.00")),
        ("subscription:sub_c:pro:v1", "removed", D("99.00"), None),
        ("usage:sub_c:llm_input_tokens:0:1", "unchanged", D("0.00"), D("0.00")),
        ("usage:sub_c:llm_output_tokens:1:0", "changed", D("1.00"), D("0.00")),
    ]
    # nobody else moves
    assert query(
        lab,
        """select count(*) from marts.fct_scenario_invoices
        where scenario = 'move_c' and total_difference <> 0""",
    ) == [(1,)]


def test_cost_change_scenario_moves_cogs_and_margin_not_revenue(lab: Settings) -> None:
    assert query(
        lab,
        """select customer_id, provider, model, revenue_difference, current_cogs,
            simulated_cogs, cogs_change
        from marts.fct_scenario_margin
        where scenario = 'gpt4o_input_half' and cogs_change <> 0""",
    ) == [
        ("cus_northwind", "openai", "gpt-4o", D("0.00"), D("12.60"), D("10.47"), D("-2.13")),
    ]
    assert query(
        lab,
        """select current_revenue, simulated_revenue, current_cogs, simulated_cogs,
            current_gross_margin, simulated_gross_margin, current_margin_pct,
            simulated_margin_pct, margin_target_pct, simulated_margin_flag
        from marts.fct_scenario_customer_margin
        where scenario = 'gpt4o_input_half' and customer_id = 'cus_northwind'""",
    ) == [
        (
            D("900.00"),
            D("900.00"),
            D("318.60"),
            D("316.47"),
            D("581.40"),
            D("583.53"),
            D("64.60"),
            D("64.84"),
            D("30.00"),
            "ok",
        ),
    ]
    # a cost change leaves every invoice as it is
    assert query(
        lab,
        """select count(*) from marts.fct_scenario_invoices
        where scenario = 'gpt4o_input_half' and total_difference <> 0""",
    ) == [(0,)]


def test_real_marts_and_ledger_are_untouched(lab: Settings) -> None:
    """The real invoices are those of the worked example, the scenario working schema is gone
    and the published snapshot has the scenario marts."""
    assert query(lab, "select customer_id, total from marts.fct_invoices order by customer_id") == [
        ("cus_a", D("127.80")),
        ("cus_b", D("111.35")),
        ("cus_c", D("100.00")),
        ("cus_northwind", D("1080.00")),
    ]
    schemas = {r[0] for r in query(lab, "select schema_name from information_schema.schemata")}
    assert "scenario_work" not in schemas
    assert query(lab, "select count(*) from raw.plans where plan_code like '%@%'") == [(0,)]
    from orchestration.warehouse import connect

    with connect(lab.published_warehouse, read_only=True) as con:
        published = con.execute(
            "select scenario, count(*) from marts.fct_scenario_invoices group by 1 order by 1"
        ).fetchall()
    assert published == [
        ("gpt4o_input_half", 4),
        ("identical", 4),
        ("move_c", 4),
        ("startup_cut", 4),
    ]


def test_simulate_cli_prints_the_headline_and_writes_the_csv(lab: Settings) -> None:
    from click.testing import CliRunner

    from orchestration.cli import main

    result = CliRunner().invoke(
        main, ["simulate", "startup_cut", "--period", "2026-10", "--data-dir", str(lab.data_dir)]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Scenario startup_cut: Startup price cut" in out
    assert "customers: segment:startup" in out
    assert "invoices (customer x period): 0 pay more, 2 pay less, 2 unchanged" in out
    # one headline line per period and currency (amounts are never added across currencies)
    assert "\n2026-10  USD " in out and "\nall      USD " in out
    assert "cus_a                  2026-10 startup     USD      127.80 ->      102.60" in out
    assert "wrote exports/scenarios/startup_cut_2026-10.csv" in out
    csv_text = (lab.exports_dir / "scenarios" / "startup_cut_2026-10.csv").read_text()
    header, *rows = csv_text.splitlines()
    assert header.startswith("scenario,customer_id,period,segment,is_in_scope,currency,")
    assert rows[0] == (
        "startup_cut,cus_a,2026-10,startup,true,USD,127.80,102.60,-25.20,-19.72,false,"
        "99.00,79.00,7.50,6.50,0.00,0.00,0.00,0.00,0.00,0.00,21.30,17.10,"
        "106.50,85.50,0.00,0.00,106.50,85.50,100.00,100.00,40.00,ok,false"
    )
    assert len(rows) == 4
    bad = CliRunner().invoke(main, ["simulate", "nope", "--data-dir", str(lab.data_dir)])
    assert bad.exit_code == 1
    assert "unknown scenario 'nope'" in bad.output


def test_unchanged_inputs_keep_the_rows_a_changed_scenario_is_rerated(lab: Settings) -> None:
    """The pipeline's run re-rated every scenario; with nothing changed since, a re-run keeps
    every kept row (no dbt run). A changed plan file re-rates its scenario only (the baseline's
    inputs did not change): startup_cut with fee 69.00 instead of 79.00: cus_a 69.00 + 2.50 +
    4.00 = 75.50, tax 20% 15.10, total 90.60; cus_b 69.00 + 9.88 = 78.88."""
    from orchestration.scenarios import run_scenarios

    def totals() -> list[tuple[Any, ...]]:
        return query(
            lab,
            "select scenario, customer_id, total from scenarios.invoices "
            "where scenario in ('current', 'startup_cut') and customer_id in ('cus_a', 'cus_b') "
            "order by all",
        )

    before = totals()
    assert before == [
        ("current", "cus_a", D("127.80")),
        ("current", "cus_b", D("111.35")),
        ("startup_cut", "cus_a", D("102.60")),
        ("startup_cut", "cus_b", D("88.88")),
    ]
    run = run_scenarios(lab, only=["startup_cut"])
    assert run.seconds == {}
    assert run.reused == ["current", "startup_cut"]
    assert totals() == before
    plan_file = lab.reference_dir / "scenarios" / "plans" / "pro_v1_startup.yml"
    original = plan_file.read_text()
    try:
        plan_file.write_text(original.replace("79.00", "69.00"))
        run = run_scenarios(lab, only=["startup_cut"])
        assert list(run.seconds) == ["startup_cut"]
        assert run.reused == ["current"]
        assert totals() == [
            ("current", "cus_a", D("127.80")),
            ("current", "cus_b", D("111.35")),
            ("startup_cut", "cus_a", D("90.60")),
            ("startup_cut", "cus_b", D("78.88")),
        ]
    finally:
        plan_file.write_text(original)
        run = run_scenarios(lab, only=["startup_cut"])
    assert list(run.seconds) == ["startup_cut"]
    assert totals() == before


def test_the_compiled_chain_builds_what_dbt_run_builds(lab: Settings) -> None:
    """On DuckDB the lab compiles the chain once (dbt compile) and executes the compiled models
    per scenario (scenarios.compile_chain). For every scenario, and the baseline, the three
    tables it keeps (every row, every column type) equal a ``dbt run`` of the same chain."""
    from orchestration.build_plan import relation_hash
    from orchestration.dbt_runner import DbtProcess, dbt_into
    from orchestration.scenarios import (
        BASELINE,
        CHAIN_TARGETS,
        WORK_SCHEMA,
        _manifest,
        _rerate,
        chain_models,
        chain_vars,
        compile_chain,
        scenario_target_path,
    )
    from orchestration.warehouse import connect

    def kept() -> dict[str, tuple[str, list[Any]]]:
        with connect(lab.warehouse, read_only=True) as con:
            return {
                t: (
                    relation_hash(con, f"{WORK_SCHEMA}.{t}"),
                    con.execute(
                        "select column_name, data_type from information_schema.columns "
                        "where table_schema = ? and table_name = ? order by ordinal_position",
                        [WORK_SCHEMA, t],
                    ).fetchall(),
                )
                for t in CHAIN_TARGETS
            }

    with connect(lab.warehouse, read_only=True) as con:
        active = con.execute("select * from raw.scenario_active").fetchall()
    models = chain_models(_manifest())
    target = scenario_target_path(lab).with_name("dbt_run_of_the_chain")
    with DbtProcess(lab, target / "unused.log") as unused:  # DuckDB: never started
        chain = compile_chain(lab, models, unused)
    assert unused.pid is None
    assert len(chain.models) == len(models)
    assert {m.kind for m in chain.models} == {"table", "view"}
    assert chain.depth is None and chain.reads == ()  # Spark's
    invoices: dict[str, str] = {}
    try:
        for scenario in (BASELINE, "startup_cut", "move_c", "gpt4o_input_half"):
            with DbtProcess(lab, target / "unused.log") as unused:
                _rerate(lab, scenario, models, chain, unused)
            assert unused.pid is None
            executed = kept()
            assert all(int(h.split(":")[-2]) > 0 for h, _ in executed.values()), executed
            with connect(lab.warehouse) as con:
                con.execute(f"drop schema {WORK_SCHEMA} cascade")
                con.execute("delete from raw.scenario_active")
                con.execute("insert into raw.scenario_active values (?)", [scenario])
            dbt_into(lab, target, "run", "--select", *models, "--vars", chain_vars(models))
            assert kept() == executed, scenario
            invoices[scenario] = executed["fct_invoices"][0]
        # each scenario bills differently from the baseline (startup_cut and move_c: revenue;
        # gpt4o_input_half: COGS only, so its invoices are the baseline's)
        assert invoices["startup_cut"] != invoices[BASELINE] != invoices["move_c"]
        assert invoices["gpt4o_input_half"] == invoices[BASELINE]
    finally:
        with connect(lab.warehouse) as con:
            con.execute(f"drop schema if exists {WORK_SCHEMA} cascade")
            con.execute("delete from raw.scenario_active")
            for row in active:
                con.execute("insert into raw.scenario_active values (?)", list(row))


def test_a_failing_chain_model_names_itself_and_changes_nothing(
    lab: Settings, tmp_path: Path
) -> None:
    """A compiled chain model that fails (here one reading a table that does not exist) raises
    the error `meterline simulate` reports (DbtError), naming the scenario and the model; the
    re-rating's transaction is rolled back: the active scenario and the working schema are as
    they were."""
    from orchestration.dbt_runner import DbtError, DbtProcess
    from orchestration.scenarios import (
        WORK_SCHEMA,
        Chain,
        ChainModel,
        _manifest,
        _rerate,
        chain_models,
    )

    def state() -> list[Any]:
        return [
            query(lab, "select * from raw.scenario_active order by all"),
            query(
                lab,
                "select table_name from information_schema.tables "
                f"where table_schema = '{WORK_SCHEMA}' order by all",
            ),
        ]

    before = state()
    # a scenario other than the active one, so a commit would show in raw.scenario_active
    other = next(name for name in ("move_c", "startup_cut") if (name,) not in before[0])
    broken = Chain(
        (
            ChainModel(f"{WORK_SCHEMA}.first_step", "table", "select 1 as one"),
            ChainModel(f"{WORK_SCHEMA}.second_step", "table", "select * from raw.no_such_table"),
        )
    )
    with (
        DbtProcess(lab, tmp_path / "unused.log") as unused,  # DuckDB: never started
        pytest.raises(DbtError) as failed,
    ):
        _rerate(lab, other, chain_models(_manifest()), broken, unused)
    message = str(failed.value)
    assert f"'{other}'" in message and f"{WORK_SCHEMA}.second_step" in message
    assert "no_such_table" in message
    assert state() == before


def test_invalid_scenario_names_the_file_and_key(tmp_path: Path) -> None:
    from orchestration.scenarios import load_scenarios
    from orchestration.warehouse import connect, ensure_schema

    s = settings(tmp_path)
    root = s.reference_dir / "scenarios"
    root.mkdir(parents=True)
    (root / "broken.yml").write_text(
        json.dumps(
            {
                "periods": {"from": "2026-13", "to": "2026-10"},
                "plans": ["plans/missing.yml"],
                "customers": {"segment": "nobody"},
                "move_to_plan": "gold",
                "cost_changes": [
                    {
                        "provider": "openai",
                        "model": "gpt-4o",
                        "component": "x",
                        "change_pct": "-150",
                    }
                ],
                "colour": "blue",
            }
        )
    )
    with connect(s.warehouse) as con:
        ensure_schema(con)
        con.execute(
            "insert into raw.customers (batch_id, file_path, row_number, customer_id, segment) "
            "values (1, 'reference/customers.csv', 1, 'cus_a', 'startup')"
        )
        with pytest.raises(ReferenceDataError) as err:
            load_scenarios(s, con)
    msg = str(err.value)
    for expected in (
        "reference/scenarios/broken.yml: colour: unknown key",
        "reference/scenarios/broken.yml: periods.from: '2026-13' is not a month (YYYY-MM)",
        "reference/scenarios/broken.yml: plans[0]: plan file 'plans/missing.yml' not found",
        "reference/scenarios/broken.yml: customers.segment: unknown segment 'nobody'",
        "reference/scenarios/broken.yml: move_to_plan: unknown plan 'gold'",
        "reference/scenarios/broken.yml: cost_changes[0].component: 'x' is not one of",
        "reference/scenarios/broken.yml: cost_changes[0].change_pct: '-150' is not a percentage",
    ):
        assert expected in msg, msg


@pytest.mark.browser
def test_pricing_lab_page_in_chromium(lab: Settings) -> None:
    """The Pricing lab page on the lab's published snapshot, in headless Chromium: pick a
    scenario, see its headline, customers and bill shocks (screenshots in
    tests/artifacts/pricing_lab/)."""
    from tests.test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import expect, sync_playwright

    from tests.support.dashboard import streamlit_server

    artifacts = Path(__file__).resolve().parent / "artifacts" / "pricing_lab"
    artifacts.mkdir(parents=True, exist_ok=True)
    timeout = 60_000

    def see(page: Any, *texts: str) -> None:
        for text in texts:
            expect(page.get_by_text(text).filter(visible=True).first).to_be_visible(timeout=timeout)
        # the headline shows while the rest of the page is still the last scenario's (Streamlit
        # marks those elements data-stale until the run reaches them): wait for the whole page
        expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=timeout)
        expect(page.locator('[data-stale="true"]')).to_have_count(0, timeout=timeout)
        assert page.get_by_test_id("stException").count() == 0

    with streamlit_server(lab, timeout=120) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1800})
            page.goto(f"{base}/pricing_lab", timeout=timeout)
            see(page, "Pricing lab", "Customers by impact")
            box = page.get_by_test_id("stSelectbox").filter(has_text="Scenario").first
            box.click()
            page.get_by_role("option", name="Startup price cut (startup_cut)").first.click()
            # revenue 900.00 + 106.50 + 111.35 + 100.00 = 1,217.85 -> 1,217.85 - 20.00 - 1.00
            # - 20.00 - 2.47 = 1,174.38
            see(
                page,
                "customers: segment:startup",
                "$1,174.38",
                "-$43.47",
                "Invoices: 0 pay more, 2 pay less, 2 unchanged",
                "No customer's bill rises by more than the bill-shock threshold.",
            )
            page.screenshot(path=str(artifacts / "startup_cut.png"), full_page=True)
            box.click()
            page.get_by_role("option", name="move_c (move_c)").first.click()
            # cus_c 100.00 -> 149.00: revenue 1,217.85 -> 1,266.85, one bill shock
            see(page, "moved to plan plus", "$1,266.85", "+$49.00", "Invoices: 1 pay more")
            # the bill-shock section is this scenario's too (cus_c's bill +49 %), not the last one's
            expect(page.get_by_text("No customer's bill rises")).to_have_count(0, timeout=timeout)
            page.screenshot(path=str(artifacts / "move_c.png"), full_page=True)
        finally:
            browser.close()
