"""The provider cost ledger and provider usage mart from the real fixture files: the FOCUS
sample and the OpenAI / Anthropic documentation examples give exact totals."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from orchestration.config import Settings, settings
from tests.support.costs import FIXTURES, build_costs, copy_fixture, query


def focus_sample_billed_total() -> Decimal:
    """Sum of the sample's BilledCost computed independently of the warehouse."""
    total = Decimal(0)
    with (FIXTURES / "focus" / "focus_sample.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["BilledCost"] not in ("", "NULL"):
                total += Decimal(row["BilledCost"])
    return total


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("ledger") / "data"
    data.mkdir()
    copy_fixture(data, "focus/focus_sample.csv", "focus")
    for name in (
        "openai_costs.page.json",
        "openai_dashboard_cost_export.csv",
        "openai_usage_completions.page.json",
        "openai_dashboard_completions_export.csv",
    ):
        copy_fixture(data, f"providers/{name}", "openai")
    for name in ("anthropic_cost_report.page.json", "anthropic_usage_report_messages.page.json"):
        copy_fixture(data, f"providers/{name}", "anthropic")
    s = settings(data)
    build_costs(s, "fct_provider_costs", "fct_provider_usage")
    return s


def test_ledger_totals_per_source_are_exact(ledger: Settings) -> None:
    rows = dict(
        query(
            ledger,
            """
        select x_source_system, sum(BilledCost) from marts.fct_provider_costs group by 1""",
        )
    )
    assert rows == {
        "focus": focus_sample_billed_total(),
        "openai_costs_api": Decimal("0.06"),
        # dashboard export: two dollar amounts; the empty-bucket row carries no cost
        "openai_dashboard_csv": Decimal("0.8958740") + Decimal("0.56177125"),
        # Anthropic: "123.78912" cents -> 1.2378912 dollars
        "anthropic_cost_report": Decimal("1.2378912"),
    }
    assert rows["focus"] == Decimal("20.520226728990000")


def test_focus_rows_all_kept_with_their_categories(ledger: Settings) -> None:
    rows = dict(
        query(
            ledger,
            """
        select ChargeCategory, count(*) from marts.fct_provider_costs
        where x_source_system = 'focus' group by 1""",
        )
    )
    assert rows == {"Usage": 997, "Adjustment": 2, "Credit": 1}
    effective = query(
        ledger,
        """select sum(EffectiveCost) from marts.fct_provider_costs
                                 where x_source_system = 'focus'""",
    )[0][0]
    assert Decimal("14.97") < effective < Decimal("14.99")


def test_anthropic_line_in_focus_names(ledger: Settings) -> None:
    row = query(
        ledger,
        """
        select ProviderName, ServiceName, ChargeCategory, BilledCost, BillingCurrency,
               ChargePeriodStart, ChargePeriodEnd, x_model, x_model_key, x_token_type, SkuId
        from marts.fct_provider_costs where x_source_system = 'anthropic_cost_report'""",
    )
    assert len(row) == 1
    (provider, service, category, billed, currency, start, end, model, key, token_type, sku) = row[
        0
    ]
    assert (provider, service, category, currency) == ("Anthropic", "Claude API", "Usage", "USD")
    assert billed == Decimal("1.2378912")
    assert (str(start), str(end)) == ("2025-08-01 00:00:00", "2025-08-02 00:00:00")
    assert (model, key, token_type) == (
        "claude-sonnet-4-20250514",
        "claude-sonnet-4",
        "uncached_input_tokens",
    )
    assert sku == "Claude Sonnet 4 Usage - Input Tokens"


def test_money_columns_are_decimal_never_double(ledger: Settings) -> None:
    types = dict(
        query(
            ledger,
            """
        select column_name, data_type from information_schema.columns
        where table_schema = 'marts' and table_name = 'fct_provider_costs'""",
        )
    )
    for col in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"):
        assert types[col] == "DECIMAL(38,15)"
    doubles = query(
        ledger,
        """
        select table_name, column_name from information_schema.columns
        where table_schema in ('marts', 'intermediate')
          and (table_name like 'fct_provider%' or table_name like 'int_provider%')
          and data_type in ('DOUBLE', 'FLOAT', 'REAL')""",
    )
    assert doubles == []


def test_provider_usage_token_semantics(ledger: Settings) -> None:
    rows = query(
        ledger,
        """
        select provider, model, total_input_tokens, uncached_input_tokens, cached_input_tokens,
               cache_write_tokens, cache_write_1h_tokens, output_tokens, total_tokens
        from marts.fct_provider_usage order by provider, file_path, row_number""",
    )
    assert rows == [
        # Anthropic: input is the sum of its parts (1500 + 200 + 500 + 1000)
        ("anthropic", "claude-sonnet-4-20250514", 3200, 1500, 200, 500, 1000, 500, 3700),
        # dashboard activity export: input includes cached (59200 = 53440 + 5760)
        ("openai", "gpt-4o-2024-08-06", 59200, 53440, 5760, 0, 0, 10646, 69846),
        ("openai", "gpt-5-2025-08-07", 46264, 38072, 8192, 0, 0, 60000, 106264),
        # usage page: 5000 = 3000 + 1800 + 200; the minimal form derives uncached 1000 - 800
        ("openai", "gpt-4o-mini-2024-07-18", 5000, 3000, 1800, 200, 0, 1000, 6000),
        ("openai", None, 1000, 200, 800, 0, 0, 500, 1500),
    ]


def test_fixture_dir_is_the_shared_one() -> None:
    assert (Path(FIXTURES) / "focus" / "focus_sample.csv").exists()


def test_each_provider_staging_model_maps_to_the_same_focus_columns(ledger: Settings) -> None:
    """int_provider_costs_unioned is a plain `union all` of the providers' staging models: it is
    only right if each maps its format to the same FOCUS columns, in the same order, with the
    same types (a union matches columns by position, so a swapped pair would load silently)."""
    shapes = {}
    for model in ("stg_openai__costs", "stg_anthropic__costs", "stg_focus__costs"):
        shapes[model] = query(
            ledger,
            """
            select column_name, data_type from information_schema.columns
            where table_schema = 'staging' and table_name = ?
            order by ordinal_position""",
            [model],
        )
    openai = shapes["stg_openai__costs"]
    assert [c for c, _ in openai][:3] == ["x_cost_line_id", "x_provider", "x_source_system"]
    assert {c for c, _ in openai} >= {
        "BilledCost",
        "ChargePeriodStart",
        "ProviderName",
        "x_batch_id",
    }
    assert shapes["stg_anthropic__costs"] == openai
    assert shapes["stg_focus__costs"] == openai
    # and every provider's rows reach the union, with their source file and row
    per_provider = dict(
        query(
            ledger,
            """
            select split_part(x_cost_line_id, ':', 1), count(*)
            from intermediate.int_provider_costs_unioned group by 1""",
        )
    )
    assert set(per_provider) == {"openai", "anthropic", "focus"}
