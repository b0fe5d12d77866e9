"""Provider cost/usage exports: the real examples load with their quirks, to the last decimal;
malformed rows are quarantined with a reason while the good rows of the same file load."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

from orchestration.config import Settings
from orchestration.ingest import FileLoad, ingest_all, ingest_provider
from tests.support.costs import focus_row, write_focus_csv
from tests.support.ingest import FIXTURES, query, table_fingerprint, write_reference

FOCUS_SAMPLE = FIXTURES / "focus" / "focus_sample.csv"


def _copy_provider_examples(s: Settings) -> None:
    for f in sorted((FIXTURES / "providers").iterdir()):
        provider = f.name.split("_")[0]
        dest = s.raw_dir / "costs" / provider / f.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest)


def _copy_focus(s: Settings, *, with_spec_examples: bool = True) -> None:
    dest = s.raw_dir / "costs" / "focus"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FOCUS_SAMPLE, dest / "focus_sample.csv")
    if with_spec_examples:
        shutil.copytree(FIXTURES / "focus" / "spec_examples_v1.2", dest / "spec_examples_v1.2")


def _sample_rows() -> list[dict[str, str]]:
    with FOCUS_SAMPLE.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _dsum(rows: list[dict[str, str]], col: str) -> Decimal:
    return sum((Decimal(r[col]) for r in rows if r[col] not in ("NULL", "")), Decimal(0))


def test_focus_sample_totals_match_an_independent_decimal_sum(tmp_settings: Settings) -> None:
    s = tmp_settings
    _copy_focus(s, with_spec_examples=False)
    (load,) = ingest_provider(s, "focus")
    rows = _sample_rows()
    assert len(rows) == 1000
    assert (load.raw_rows, load.loaded_rows, load.quarantined_rows) == (1000, 1000, 0)

    billed, effective, listed = (
        _dsum(rows, "BilledCost"),
        _dsum(rows, "EffectiveCost"),
        _dsum(rows, "ListCost"),
    )
    assert billed == Decimal("20.52022672899")
    assert effective == Decimal("14.97651418586")
    ((n, db_billed, db_effective, db_list, db_consumed),) = query(
        s,
        "select count(*), sum(BilledCost), sum(EffectiveCost), sum(ListCost), "
        "sum(ConsumedQuantity) from raw.focus_costs",
    )
    assert (n, db_billed, db_effective, db_list) == (1000, billed, effective, listed)
    assert db_consumed == _dsum(rows, "ConsumedQuantity")

    # quirks: bare NULL and "" are NULL, timestamps without T/Z are UTC, Id kept as extra
    az_null = sum(1 for r in rows if r["AvailabilityZone"] in ("NULL", ""))
    usage_based_lower = sum(1 for r in rows if r["ChargeFrequency"] == "Usage-based")
    assert usage_based_lower > 0
    first_start = min(dt.datetime.fromisoformat(r["ChargePeriodStart"]) for r in rows)
    assert query(
        s,
        """
        select count(*) filter (where AvailabilityZone is null),
               count(*) filter (where ChargeFrequency = 'Usage-based'),
               min(ChargePeriodStart),
               count(distinct extra_columns->>'$.Id'),
               min(focus_version), max(focus_version),
               count(*) filter (where ConsumedQuantity < 0),
               count(*) filter (where BilledCost < 0)
        from raw.focus_costs""",
    ) == [
        (
            az_null,
            usage_based_lower,
            first_start,
            1000,
            "1.0",
            "1.0",
            sum(
                1
                for r in rows
                if r["ConsumedQuantity"] not in ("NULL", "") and Decimal(r["ConsumedQuantity"]) < 0
            ),
            sum(1 for r in rows if Decimal(r["BilledCost"]) < 0),
        )
    ]
    # a row read back field by field (line 2 of the file)
    assert query(
        s,
        """
        select BilledCost, BillingAccountId, ChargePeriodStart, ChargePeriodEnd, ListUnitPrice,
               ProviderName, ServiceName, Tags, extra_columns::varchar
        from raw.focus_costs where row_number = 2""",
    ) == [
        (
            Decimal("0.000016059900000"),
            "1234567890123",
            dt.datetime(2024, 9, 30, 22),
            dt.datetime(2024, 9, 30, 23),
            Decimal("0.008000000000000"),
            "AWS",
            "Elastic Load Balancing",
            '{"application": "BrightLensMatrix", "environment": "dev", '
            '"business_unit": "ViennaAI"}',
            '{"Id":"19384"}',
        )
    ]


def test_focus_spec_examples_with_us_dates_are_quarantined_not_misread(
    tmp_settings: Settings,
) -> None:
    s = tmp_settings
    _copy_focus(s)
    loads = {f.file_path.rsplit("/", 1)[-1]: f for f in ingest_provider(s, "focus")}
    expected = {"a1": 1, "a2": 3, "b1": 1, "b2": 3, "b3": 3, "c": 2}
    for name, n in expected.items():
        f = loads[f"virtual_currency_pricing_model_{name}.csv"]
        assert (f.raw_rows, f.loaded_rows, f.quarantined_rows) == (n, 0, n)
        assert f.quarantine_reasons == {"invalid_time": n}
    assert query(s, "select reason_detail from raw.quarantine where file_path like '%a1.csv'") == [
        (
            "BillingPeriodEnd = 5/1/25; BillingPeriodStart = 4/1/25; "
            "ChargePeriodEnd = 4/1/26; ChargePeriodStart = 4/1/25",
        )
    ]
    # the BOM-prefixed first header is the real BilledCost column in the kept original text
    (rec,) = query(s, "select raw_record from raw.quarantine where file_path like '%a1.csv'")
    assert rec[0].startswith('{"BilledCost":"200000.00",')
    assert query(s, "select count(*) from raw.focus_costs") == [(1000,)]


def test_openai_and_anthropic_examples_load_exactly(tmp_settings: Settings) -> None:
    s = tmp_settings
    _copy_provider_examples(s)
    loads = {
        f.file_path.rsplit("/", 1)[-1]: f
        for p in ("openai", "anthropic")
        for f in ingest_provider(s, p)
    }
    summary = {
        k: (v.table_name, v.raw_rows, v.loaded_rows, v.quarantined_rows, v.empty_buckets)
        for k, v in loads.items()
    }
    assert summary == {
        "openai_costs.page.json": ("openai_costs", 1, 1, 0, 0),
        "openai_usage_completions.page.json": ("openai_usage", 2, 2, 0, 1),
        "openai_dashboard_cost_export.csv": ("openai_costs", 2, 2, 0, 1),
        "openai_dashboard_completions_export.csv": ("openai_usage", 2, 2, 0, 1),
        "anthropic_cost_report.page.json": ("anthropic_costs", 1, 1, 0, 0),
        "anthropic_usage_report_messages.page.json": ("anthropic_usage", 1, 1, 0, 0),
    }
    assert query(
        s,
        """
        select source_format, bucket_start, bucket_end, amount_value, amount_currency,
               organization_id
        from raw.openai_costs order by file_path, row_number""",
    ) == [
        (
            "api_page",
            dt.datetime(2024, 11, 1),
            dt.datetime(2024, 11, 2),
            Decimal("0.0600000000000000"),
            "USD",
            None,
        ),
        (
            "dashboard_csv",
            dt.datetime(2025, 10, 5),
            dt.datetime(2025, 10, 6),
            Decimal("0.8958740000000000"),
            "USD",
            "org-XXXXXXXXXXXXXXXXXXXXXXXX",
        ),
        (
            "dashboard_csv",
            dt.datetime(2025, 10, 6),
            dt.datetime(2025, 10, 7),
            Decimal("0.5617712500000000"),
            "USD",
            "org-XXXXXXXXXXXXXXXXXXXXXXXX",
        ),
    ]
    assert query(s, "select sum(amount_value) from raw.openai_costs") == [
        (Decimal("1.5176452500000000"),)
    ]
    assert query(
        s,
        """
        select source_format, row_number, group_by, model, batch, input_tokens,
               input_cached_tokens, input_cache_write_tokens, input_uncached_tokens,
               output_tokens, num_model_requests
        from raw.openai_usage order by file_path, row_number""",
    ) == [
        (
            "dashboard_csv",
            1,
            "api_key_id,batch,model,project_id,service_tier,user_id",
            "gpt-4o-2024-08-06",
            False,
            59200,
            5760,
            None,
            53440,
            10646,
            10,
        ),
        (
            "dashboard_csv",
            2,
            "api_key_id,batch,model,project_id,service_tier,user_id",
            "gpt-5-2025-08-07",
            False,
            46264,
            8192,
            None,
            38072,
            60000,
            8,
        ),
        (
            "api_page",
            1,
            "api_key_id,batch,model,project_id,service_tier,user_id",
            "gpt-4o-mini-2024-07-18",
            False,
            5000,
            1800,
            200,
            3000,
            1000,
            5,
        ),
        (
            "api_page",
            2,
            "api_key_id,batch,model,project_id,service_tier,user_id",
            None,
            None,
            1000,
            800,
            None,
            None,
            500,
            5,
        ),
    ]
    assert query(
        s,
        """
        select bucket_start, amount_cents, currency, cost_type, token_type, model
        from raw.anthropic_costs""",
    ) == [
        (
            dt.datetime(2025, 8, 1),
            Decimal("123.789120000"),
            "USD",
            "tokens",
            "uncached_input_tokens",
            "claude-sonnet-4-20250514",
        )
    ]
    assert query(
        s,
        """
        select group_by, uncached_input_tokens, cache_creation_5m_input_tokens,
               cache_creation_1h_input_tokens, cache_read_input_tokens, output_tokens,
               web_search_requests, context_window
        from raw.anthropic_usage""",
    ) == [
        (
            "api_key_id,context_window,model,service_tier,workspace_id",
            1500,
            500,
            1000,
            200,
            500,
            10,
            "0-200k",
        )
    ]


MALFORMED = FIXTURES / "malformed"


def _copy_malformed(s: Settings) -> None:
    for f in sorted(MALFORMED.iterdir()):
        provider = f.name.split("_")[0]
        dest = s.raw_dir / "costs" / provider / f.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest)


def test_malformed_provider_rows_are_quarantined_and_good_rows_load(tmp_settings: Settings) -> None:
    s = tmp_settings
    _copy_malformed(s)
    loads = {
        f.file_path.rsplit("/", 1)[-1]: f
        for p in ("openai", "anthropic", "focus")
        for f in ingest_provider(s, p)
    }
    for f in loads.values():
        assert f.raw_rows == f.loaded_rows + f.duplicate_rows + f.quarantined_rows
    got = query(
        s,
        "select split_part(file_path, '/', -1), row_number, reason_code "
        "from raw.quarantine order by 1, 2",
    )
    assert got == [
        ("anthropic_cost_malformed.page.json", 3, "invalid_amount"),
        ("anthropic_cost_malformed.page.json", 4, "unexpected_object"),
        ("anthropic_cost_malformed.page.json", 5, "unknown_object"),
        ("anthropic_cost_malformed.page.json", 6, "invalid_time"),
        ("anthropic_truncated.page.json", 1, "unparseable"),
        ("anthropic_usage_malformed.page.json", 2, "invalid_quantity"),
        ("anthropic_usage_malformed.page.json", 3, "negative_quantity"),
        ("focus_malformed.csv", 3, "missing_required"),
        ("focus_malformed.csv", 4, "invalid_time"),
        ("focus_malformed.csv", 5, "invalid_decimal"),
        ("openai_costs_malformed.page.json", 3, "invalid_amount"),
        ("openai_costs_malformed.page.json", 4, "invalid_amount"),
        ("openai_costs_malformed.page.json", 5, "invalid_quantity"),
        ("openai_costs_malformed.page.json", 6, "unexpected_object"),
        ("openai_costs_malformed.page.json", 7, "unknown_object"),
        ("openai_costs_malformed.page.json", 8, "invalid_time"),
        ("openai_usage_malformed.page.json", 2, "invalid_quantity"),
        ("openai_usage_malformed.page.json", 3, "negative_quantity"),
    ]
    assert loads["openai_costs_malformed.page.json"].empty_buckets == 1
    assert loads["anthropic_cost_malformed.page.json"].empty_buckets == 1
    # good rows: amounts exact, strings and numbers alike, never via float arithmetic
    assert query(s, "select amount_value from raw.openai_costs order by row_number") == [
        (Decimal("0.1234567890123456"),),
        (Decimal("2.5000000000000001"),),
    ]
    assert query(s, "select amount_cents from raw.anthropic_costs order by row_number") == [
        (Decimal("123.789120000"),),
        (Decimal("0.000000001"),),
    ]
    assert query(s, "select input_tokens, batch from raw.openai_usage order by row_number") == [
        (100, True),
        (20, None),
    ]
    assert query(
        s,
        """
        select row_number, BilledCost, ConsumedQuantity, ProviderName, PublisherName,
               ChargePeriodStart, Tags, extra_columns::varchar
        from raw.focus_costs order by row_number""",
    ) == [
        (
            1,
            Decimal("12.345678901000000"),
            Decimal("0.000003520000000"),
            "LambdaLabs",
            "LambdaLabs",
            dt.datetime(2025, 9, 1),
            '{"customer_id": "cus_acme"}',
            '{"x_InputTokens":"120000"}',
        ),
        (
            2,
            Decimal("-1.500000000000000"),
            Decimal("-3.000000000000000"),
            "LambdaLabs",
            "LambdaLabs",
            dt.datetime(2025, 9, 2),
            None,
            '{"x_InputTokens":null}',
        ),
    ]
    details = dict(
        query(
            s,
            "select reason_code, reason_detail from raw.quarantine "
            "where file_path like '%focus_malformed.csv'",
        )
    )
    assert details == {
        "missing_required": "required value missing: BilledCost",
        "invalid_time": "BillingPeriodEnd = 5/1/25; BillingPeriodStart = 4/1/25; "
        "ChargePeriodEnd = 4/2/25; ChargePeriodStart = 4/1/25",
        "invalid_decimal": "BilledCost = $10,000.00 ",
    }
    (truncated,) = query(
        s, "select raw_record from raw.quarantine where reason_code = 'unparseable'"
    )
    assert truncated[0] == (MALFORMED / "anthropic_truncated.page.json").read_text()


ALL_RAW = [
    "raw.load_manifest",
    "raw.usage_events",
    "raw.usage_conflicts",
    "raw.quarantine",
    "raw.openai_costs",
    "raw.openai_usage",
    "raw.anthropic_costs",
    "raw.anthropic_usage",
    "raw.focus_costs",
    "raw.customers",
    "raw.meters",
    "raw.plans",
    "raw.plan_prices",
]


def test_ingest_all_twice_changes_nothing(tmp_settings: Settings) -> None:
    s = tmp_settings
    write_reference(s)
    _copy_provider_examples(s)
    _copy_malformed(s)
    _copy_focus(s)
    usage = s.raw_dir / "usage"
    usage.mkdir(parents=True)
    shutil.copyfile(
        FIXTURES / "usage" / "malformed_2026-10-04.jsonl", usage / "malformed_2026-10-04.jsonl"
    )
    first = ingest_all(s)
    assert not any(f.skipped for f in first.files)
    before = table_fingerprint(s, ALL_RAW)
    second = ingest_all(s)
    assert all(f.skipped for f in second.files)
    assert len(second.files) == len(first.files)
    assert table_fingerprint(s, ALL_RAW) == before
    text = str(first)
    assert "focus_costs" in text and "invalid_time: 17" in text


def test_an_empty_page_is_one_unparseable_row_and_an_empty_csv_has_no_rows(
    tmp_settings: Settings,
) -> None:
    s = tmp_settings
    for rel in ("raw/costs/openai/x.json", "raw/costs/focus/x.csv"):
        p: Path = s.data_dir / rel
        p.parent.mkdir(parents=True)
        p.write_text("")
    (page,) = ingest_provider(s, "openai")
    assert (page.raw_rows, page.quarantined_rows, page.quarantine_reasons) == (
        1,
        1,
        {"unparseable": 1},
    )
    (empty_csv,) = ingest_provider(s, "focus")
    assert (empty_csv.skipped, empty_csv.raw_rows, empty_csv.loaded_rows) == (False, 0, 0)


# --- poison values and malformed buckets: quarantined with a reason, never dropped --------------

BOM = "\ufeff"


def _page(path: Path, body: object, *, bom: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((BOM if bom else "") + json.dumps(body), encoding="utf-8")


def _conserved(s: Settings, loads: list[FileLoad]) -> None:
    """raw = loaded + duplicates + quarantined per file, in the result and in the manifest."""
    for f in loads:
        assert f.raw_rows == f.loaded_rows + f.duplicate_rows + f.quarantined_rows, f
    assert query(
        s,
        "select count(*) from raw.load_manifest "
        "where raw_rows <> loaded_rows + duplicate_rows + quarantined_rows",
    ) == [(0,)]


def _quarantine(s: Settings) -> list[tuple[object, ...]]:
    return query(
        s,
        "select split_part(file_path, '/', -1), row_number, reason_code, reason_detail "
        "from raw.quarantine order by 1, 2",
    )


ANTHROPIC_DAY = {"starting_at": "2025-09-01T00:00:00Z", "ending_at": "2025-09-02T00:00:00Z"}


def test_anthropic_malformed_buckets_and_poison_values_are_quarantined(
    tmp_settings: Settings,
) -> None:
    s = tmp_settings
    good = {"amount": "123.45", "currency": "USD", "model": "claude-haiku-4-5"}
    _page(
        s.raw_dir / "costs" / "anthropic" / "cost_report_2025-09-01.json",
        {
            "data": [
                {**ANTHROPIC_DAY, "results": "notalist"},
                {**ANTHROPIC_DAY, "results": [good]},
                {
                    # RFC 3339 lower-case 't' / 'z'
                    "starting_at": "2025-09-02t00:00:00z",
                    "ending_at": "2025-09-03t00:00:00z",
                    "results": [
                        {**good, "amount": "0.5"},
                        {**good, "currency": 7},
                        {**good, "currency": "XYZ"},
                        {**good, "amount": "0.0000000001"},  # 10 places of cents
                        {**good, "amount": "1.000000001", "currency": "usd"},  # 9 places: kept
                    ],
                },
                7,
                {**ANTHROPIC_DAY},
                {**ANTHROPIC_DAY, "results": []},
            ],
            "has_more": False,
        },
    )
    # a byte-order mark in front of a page is not content: every result loads
    _page(
        s.raw_dir / "costs" / "anthropic" / "bom_2025-09-04.json",
        {"data": [{**ANTHROPIC_DAY, "results": [{**good, "amount": "7"}]}]},
        bom=True,
    )
    loads = ingest_provider(s, "anthropic")
    _conserved(s, loads)
    counts = {
        f.file_path.rsplit("/", 1)[-1]: (
            f.raw_rows,
            f.loaded_rows,
            f.quarantined_rows,
            f.empty_buckets,
        )
        for f in loads
    }
    assert counts == {
        "bom_2025-09-04.json": (1, 1, 0, 0),
        "cost_report_2025-09-01.json": (9, 3, 6, 1),
    }
    assert _quarantine(s) == [
        (
            "cost_report_2025-09-01.json",
            1,
            "malformed_bucket",
            'bucket results is not a list: "notalist"',
        ),
        (
            "cost_report_2025-09-01.json",
            4,
            "invalid_currency",
            "currency is not an ISO 4217 code: 7",
        ),
        (
            "cost_report_2025-09-01.json",
            5,
            "invalid_currency",
            'currency is not an ISO 4217 code: "XYZ"',
        ),
        (
            "cost_report_2025-09-01.json",
            6,
            "excess_precision",
            "amount 0.0000000001 has more than 9 decimal places (cents); "
            "refused rather than rounded",
        ),
        ("cost_report_2025-09-01.json", 8, "malformed_bucket", "bucket is not an object: UBIGINT"),
        ("cost_report_2025-09-01.json", 9, "malformed_bucket", "bucket has no results list"),
    ]
    # the malformed bucket is kept whole, as received
    assert query(
        s,
        "select raw_record from raw.quarantine "
        "where row_number = 1 and file_path like '%cost_report%'",
    ) == [(json.dumps({**ANTHROPIC_DAY, "results": "notalist"}, separators=(",", ":")),)]
    assert query(
        s,
        "select split_part(file_path, '/', -1), row_number, bucket_start, amount_cents, currency "
        "from raw.anthropic_costs order by 1, 2",
    ) == [
        ("bom_2025-09-04.json", 1, dt.datetime(2025, 9, 1), Decimal("7.000000000"), "USD"),
        (
            "cost_report_2025-09-01.json",
            2,
            dt.datetime(2025, 9, 1),
            Decimal("123.450000000"),
            "USD",
        ),
        ("cost_report_2025-09-01.json", 3, dt.datetime(2025, 9, 2), Decimal("0.500000000"), "USD"),
        ("cost_report_2025-09-01.json", 7, dt.datetime(2025, 9, 2), Decimal("1.000000001"), "usd"),
    ]


OPENAI_DAY = {"object": "bucket", "start_time": 1756684800, "end_time": 1756771200}


def _openai_cost(value: object, currency: object = "usd", **extra: object) -> dict[str, object]:
    return {
        "object": "organization.costs.result",
        "amount": {"value": value, "currency": currency},
        "line_item": "gpt-4o, input",
        "project_id": "proj_1",
        **extra,
    }


def test_openai_malformed_buckets_and_poison_values_are_quarantined(
    tmp_settings: Settings,
) -> None:
    s = tmp_settings
    _page(
        s.raw_dir / "costs" / "openai" / "costs_2025-09-01.json",
        {
            "object": "page",
            "data": [
                {**OPENAI_DAY, "results": [_openai_cost("1.25")]},
                {**OPENAI_DAY, "results": {"object": "organization.costs.result"}},
                {**OPENAI_DAY},
                "bucket",
                {
                    **OPENAI_DAY,
                    "results": [
                        _openai_cost("0.12345678901234567"),  # 17 places
                        _openai_cost("0.1234567890123456"),  # 16 places: kept exactly
                        _openai_cost("2", currency="xyz"),
                        _openai_cost("2", currency=7),
                        _openai_cost("2", quantity="0.0000000000001"),  # 13 places
                        _openai_cost("3", currency="EUR", quantity="1.5e-11"),
                    ],
                },
            ],
        },
        bom=True,
    )
    loads = ingest_provider(s, "openai")
    _conserved(s, loads)
    ((name, raw, loaded, quarantined),) = [
        (f.file_path.rsplit("/", 1)[-1], f.raw_rows, f.loaded_rows, f.quarantined_rows)
        for f in loads
    ]
    assert (name, raw, loaded, quarantined) == ("costs_2025-09-01.json", 10, 3, 7)
    assert _quarantine(s) == [
        (
            name,
            2,
            "malformed_bucket",
            'bucket results is not a list: {"object":"organization.costs.result"}',
        ),
        (name, 3, "malformed_bucket", "bucket has no results list"),
        (name, 4, "malformed_bucket", "bucket is not an object: VARCHAR"),
        (
            name,
            5,
            "excess_precision",
            "amount.value 0.12345678901234567 has more than 16 decimal places; "
            "refused rather than rounded",
        ),
        (name, 7, "invalid_currency", 'currency is not an ISO 4217 code: "xyz"'),
        (name, 8, "invalid_currency", "currency is not an ISO 4217 code: 7"),
        (
            name,
            9,
            "excess_precision",
            "quantity 0.0000000000001 has more than 12 decimal places; refused rather than rounded",
        ),
    ]
    assert query(
        s,
        "select row_number, amount_value, amount_currency, quantity from raw.openai_costs "
        "order by row_number",
    ) == [
        (1, Decimal("1.2500000000000000"), "USD", None),
        (6, Decimal("0.1234567890123456"), "USD", None),
        (10, Decimal("3.0000000000000000"), "EUR", Decimal("0.000000000015")),
    ]


def test_focus_rows_with_poison_values_are_quarantined_and_good_rows_load(
    tmp_settings: Settings,
) -> None:
    s = tmp_settings
    rows = [
        focus_row("2025-09-01", "10.5", "Compute", "GPU"),
        focus_row("2025-09-02", "0.1234567890123456", "Compute", "GPU"),  # 16 places
        {**focus_row("2025-09-03", "4", "Compute", "GPU"), "BillingCurrency": "XYZ"},
        {
            **focus_row("2025-09-04", "0.123456789012345", "Compute", "GPU"),  # 15: kept
            "ChargePeriodStart": "2025-09-04t00:00:00z",
            "ChargePeriodEnd": "2025-09-05t00:00:00z",
        },
    ]
    path = write_focus_csv(s.data_dir, "focus_2025-09.csv", rows)
    path.write_text(BOM + path.read_text(encoding="utf-8"), encoding="utf-8")
    loads = ingest_provider(s, "focus")
    _conserved(s, loads)
    assert [(f.raw_rows, f.loaded_rows, f.quarantined_rows) for f in loads] == [(4, 2, 2)]
    assert [(r[1], r[2], r[3]) for r in _quarantine(s)] == [
        (
            2,
            "excess_precision",
            "; ".join(
                f"{c} 0.1234567890123456 has more than 15 decimal places; refused rather than "
                "rounded"
                for c in (
                    "BilledCost",
                    "ContractedCost",
                    "ContractedUnitPrice",
                    "EffectiveCost",
                    "ListCost",
                    "ListUnitPrice",
                )
            ),
        ),
        (3, "invalid_currency", "BillingCurrency is not an ISO 4217 code: XYZ"),
    ]
    assert query(
        s, "select row_number, BilledCost, ChargePeriodStart from raw.focus_costs order by 1"
    ) == [
        (1, Decimal("10.500000000000000"), dt.datetime(2025, 9, 1)),
        (4, Decimal("0.123456789012345"), dt.datetime(2025, 9, 4)),
    ]


def test_ragged_and_badly_encoded_csv_rows_are_one_quarantined_row_each(
    tmp_settings: Settings,
) -> None:
    """A FOCUS or OpenAI dashboard CSV row with too few or too many fields, or invalid UTF-8, is
    one quarantined row (not one per missing column, not the whole file); its neighbours load
    with their data-row numbers."""
    s = tmp_settings
    path = write_focus_csv(
        s.data_dir,
        "focus_2025-09.csv",
        [focus_row(f"2025-09-0{d}", f"{d}.25", "Compute", "GPU") for d in range(1, 6)],
    )
    lines = path.read_bytes().split(b"\n")
    lines[2] = b",".join(lines[2].split(b",")[:5])  # row 2: 5 of 36 fields
    lines[3] = lines[3] + b",extra"  # row 3: one too many
    lines[4] = lines[4].replace(b"GPU usage", b"GPU \xff usage")  # row 4: invalid UTF-8
    path.write_bytes(b"\n".join(lines))
    openai_csv = s.raw_dir / "costs" / "openai" / "cost_export_2025-09.csv"
    openai_csv.parent.mkdir(parents=True, exist_ok=True)
    openai_csv.write_text(  # with a byte-order mark
        BOM + "start_time,end_time,amount_value,amount_currency,line_item,project_id\n"
        '1756684800,1756771200,1.50,usd,"gpt-4o, input",proj_1\n'
        "1756684800,1756771200,2.50\n"
        '1756684800,1756771200,3.50,usd,"gpt-4o, output",proj_1\n',
        encoding="utf-8",
    )
    loads = ingest_provider(s, "focus") + ingest_provider(s, "openai")
    _conserved(s, loads)
    assert [(f.raw_rows, f.loaded_rows, f.quarantined_rows) for f in loads] == [
        (5, 2, 3),
        (3, 2, 1),
    ]
    assert [(r[0], r[1], r[2], str(r[3]).split(":")[0]) for r in _quarantine(s)] == [
        ("cost_export_2025-09.csv", 2, "unparseable", "line 3"),
        ("focus_2025-09.csv", 2, "unparseable", "line 3"),
        ("focus_2025-09.csv", 3, "unparseable", "line 4"),
        ("focus_2025-09.csv", 4, "unparseable", "line 5"),
    ]
    assert query(s, "select row_number, BilledCost from raw.focus_costs order by 1") == [
        (1, Decimal("1.250000000000000")),
        (5, Decimal("5.250000000000000")),
    ]
    assert query(s, "select row_number, amount_value from raw.openai_costs order by 1") == [
        (1, Decimal("1.5000000000000000")),
        (3, Decimal("3.5000000000000000")),
    ]


def test_a_page_that_is_not_utf8_and_a_broken_parquet_do_not_stop_the_good_files(
    tmp_settings: Settings,
) -> None:
    s = tmp_settings
    anthropic = s.raw_dir / "costs" / "anthropic"
    good = {"amount": "250", "currency": "USD", "model": "claude-haiku-4-5"}
    _page(anthropic / "a_2025-09-01.json", {"data": [{**ANTHROPIC_DAY, "results": [good]}]})
    text = json.dumps({"data": [{**ANTHROPIC_DAY, "results": [{**good, "description": "X"}]}]})
    bad = text.encode().replace(b'"X"', b'"\xff"')
    (anthropic / "b_2025-09-02.json").write_bytes(bad)
    _page(anthropic / "c_2025-09-03.json", {"data": [{**ANTHROPIC_DAY, "results": [good]}]})
    focus = s.raw_dir / "costs" / "focus"
    focus.mkdir(parents=True)
    (focus / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    write_focus_csv(s.data_dir, "ok.csv", [focus_row("2025-09-01", "1.5", "Compute", "GPU")])
    loads = ingest_provider(s, "anthropic") + ingest_provider(s, "focus")
    _conserved(s, loads)
    assert [
        (f.file_path.rsplit("/", 1)[-1], f.raw_rows, f.loaded_rows, f.quarantined_rows)
        for f in loads
    ] == [
        ("a_2025-09-01.json", 1, 1, 0),
        ("b_2025-09-02.json", 1, 0, 1),
        ("c_2025-09-03.json", 1, 1, 0),
        ("broken.parquet", 1, 0, 1),
        ("ok.csv", 1, 1, 0),
    ]
    offset = bad.index(b"\xff")
    assert query(
        s,
        "select split_part(file_path, '/', -1), reason_code, reason_detail, "
        "raw_record is not null from raw.quarantine order by 1",
    ) == [
        (
            "b_2025-09-02.json",
            "invalid_encoding",
            f"not UTF-8 text: invalid byte at offset {offset}",
            True,
        ),
        (
            "broken.parquet",
            "unparseable",
            "not a readable FOCUS CSV/Parquet file: Invalid Input Error: No magic bytes found "
            f"at end of file '{focus / 'broken.parquet'}'",
            False,
        ),
    ]
    assert query(s, "select sum(amount_cents) from raw.anthropic_costs") == [(Decimal("500"),)]
    assert query(s, "select sum(BilledCost) from raw.focus_costs") == [(Decimal("1.5"),)]
