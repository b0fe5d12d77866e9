"""Reference files: validated before anything is written; every error names the file, the row
(1-based data row) or YAML key path, and the problem."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orchestration.config import Settings
from orchestration.ingest import ReferenceDataError, ingest_reference
from tests.support.ingest import (
    CONTRACTS_CSV,
    CREDIT_GRANTS_CSV,
    CUSTOMERS_CSV,
    METERS_YML,
    PLAN_PRO_V1,
    SUBSCRIPTIONS_CSV,
    query,
    table_fingerprint,
    write_reference,
)

REFERENCE_TABLES = [
    "raw.customers",
    "raw.subscriptions",
    "raw.contracts",
    "raw.credit_grants",
    "raw.budgets",
    "raw.provider_prices",
    "raw.meters",
    "raw.plans",
    "raw.plan_charges",
    "raw.plan_prices",
    "raw.plan_price_tiers",
    "raw.cost_allocation_rules",
    "raw.load_manifest",
]


def _error_lines(s: Settings, overrides: dict[str, str | None]) -> list[str]:
    write_reference(s, overrides)
    with pytest.raises(ReferenceDataError) as exc:
        ingest_reference(s)
    lines = str(exc.value).splitlines()
    assert lines[0] == "invalid reference data:"
    return lines[1:]


def test_the_valid_reference_set_loads(tmp_settings: Settings) -> None:
    s = tmp_settings
    write_reference(s)
    loads = {f.file_path: (f.table_name, f.raw_rows, f.loaded_rows) for f in ingest_reference(s)}
    assert loads == {
        "reference/customers.csv": ("customers", 3, 3),
        "reference/subscriptions.csv": ("subscriptions", 2, 2),
        "reference/contracts.csv": ("contracts", 1, 1),
        "reference/credit_grants.csv": ("credit_grants", 1, 1),
        "reference/budgets.csv": ("budgets", 1, 1),
        "reference/provider_prices.csv": ("provider_prices", 1, 1),
        "reference/meters.yml": ("meters", 4, 4),
        "reference/cost_allocation.yml": ("cost_allocation", 2, 2),
        "reference/plans/pro_v1.yml": ("plans", 1, 1),
    }
    assert query(
        s,
        "select row_number, customer_id, currency, timezone, tax_rate, "
        "parent_customer_id from raw.customers order by row_number",
    ) == [
        (1, "cus_acme", "USD", "America/New_York", "0.2", None),
        (2, "cus_beta", "USD", "UTC", "0", None),
        (3, "cus_euro", "EUR", "Europe/Berlin", "0.19", None),
    ]
    assert query(
        s,
        "select meter_code, event_type, aggregation, field, dimensions::varchar, "
        "include_failed from raw.meters order by row_number",
    ) == [
        ("llm_input_tokens", "llm.completion", "sum", "input_tokens", '["model"]', False),
        ("llm_output_tokens", "llm.completion", "sum", "output_tokens", '["model"]', False),
        ("images", "image.generation", "sum", "images", "[]", False),
        ("gpu_seconds", "gpu.job", "sum", "gpu_seconds", '["gpu_type"]', False),
    ]
    assert query(
        s, "select plan_code, plan_version, currency, effective_from, fee from raw.plans"
    ) == [("pro", 1, "USD", "2026-01-01", "99.00")]
    assert query(
        s,
        "select charge_index, meter_code, charge_model, price_per "
        "from raw.plan_charges order by charge_index",
    ) == [(0, "llm_input_tokens", "per_unit", "1000000"), (1, "images", "graduated", None)]
    assert query(
        s,
        "select charge_index, price_index, when_json::varchar, unit_price, "
        "free_units from raw.plan_prices order by charge_index, price_index",
    ) == [
        (0, 0, '{"model": "gpt-4o*"}', "2.50", "1000000"),
        (0, 1, None, "1.00", None),
        (1, 0, None, None, None),
    ]
    assert query(
        s,
        "select tier_index, up_to, unit_price, flat_fee from raw.plan_price_tiers "
        "order by tier_index",
    ) == [(0, "1000", "0.05", None), (1, "5000", "0.04", "2.00"), (2, None, "0.03", None)]
    assert query(
        s,
        "select rule_index, tag_key, match_json::varchar, driver "
        "from raw.cost_allocation_rules order by rule_index",
    ) == [
        (0, "customer_id", '{"ServiceCategory": "Compute"}', "gpu_seconds"),
        (1, "customer_id", "{}", "requests"),
    ]


def test_unknown_meter_in_a_plan(tmp_settings: Settings) -> None:
    plan = PLAN_PRO_V1.replace("- meter: images", "- meter: imagez")
    assert _error_lines(tmp_settings, {"plans/pro_v1.yml": plan}) == [
        "reference/plans/pro_v1.yml: charges[1].meter: unknown meter 'imagez' (not in meters.yml)"
    ]


def test_tiers_not_ascending(tmp_settings: Settings) -> None:
    plan = PLAN_PRO_V1.replace("{up_to: 5000,", "{up_to: 900,")
    assert _error_lines(tmp_settings, {"plans/pro_v1.yml": plan}) == [
        "reference/plans/pro_v1.yml: charges[1].prices[0].tiers: tiers not ascending: "
        "up_to 900 after 1000"
    ]


def test_plan_currency_differs_from_the_customers(tmp_settings: Settings) -> None:
    subs = SUBSCRIPTIONS_CSV + "sub_3,cus_euro,pro,2026-09-01,\n"
    assert _error_lines(tmp_settings, {"subscriptions.csv": subs}) == [
        "reference/subscriptions.csv: row 3: plan 'pro' is priced in USD but customer "
        "'cus_euro' is billed in EUR (a plan bills in its own currency: give the customer a "
        "plan priced in its currency)"
    ]


def test_overlapping_subscriptions_for_one_customer(tmp_settings: Settings) -> None:
    subs = SUBSCRIPTIONS_CSV + "sub_3,cus_beta,pro,2026-10-19,2026-12-01\n"
    assert _error_lines(tmp_settings, {"subscriptions.csv": subs}) == [
        "reference/subscriptions.csv: row 3: subscription 'sub_3' of customer 'cus_beta' "
        "overlaps subscription 'sub_2' (row 2)"
    ]


def test_back_to_back_subscriptions_do_not_overlap(tmp_settings: Settings) -> None:
    s = tmp_settings
    write_reference(
        s, {"subscriptions.csv": SUBSCRIPTIONS_CSV + "sub_3,cus_beta,pro,2026-10-20,\n"}
    )
    ingest_reference(s)
    assert query(s, "select count(*) from raw.subscriptions") == [(3,)]


def test_negative_prices(tmp_settings: Settings) -> None:
    plan = PLAN_PRO_V1.replace('unit_price: "1.00"', 'unit_price: "-1.00"').replace(
        '{unit_price: "0.03"}', '{unit_price: "-0.03"}'
    )
    assert _error_lines(tmp_settings, {"plans/pro_v1.yml": plan}) == [
        "reference/plans/pro_v1.yml: charges[0].prices[1].unit_price: '-1.00' is negative",
        "reference/plans/pro_v1.yml: charges[1].prices[0].tiers[2].unit_price: '-0.03' is negative",
    ]


def test_negative_amount_in_a_csv(tmp_settings: Settings) -> None:
    grants = CREDIT_GRANTS_CSV.replace("100.00", "-100.00")
    prices = (
        "provider,model,price_component,unit_price,price_per,effective_from,"
        "effective_to\nopenai,gpt-4o,input,-2.00,1000000,2026-01-01,\n"
    )
    assert _error_lines(
        tmp_settings, {"credit_grants.csv": grants, "provider_prices.csv": prices}
    ) == [
        "reference/credit_grants.csv: row 1: column 'amount': '-100.00' is negative",
        "reference/provider_prices.csv: row 1: column 'unit_price': '-2.00' is negative",
    ]


def test_missing_required_columns(tmp_settings: Settings) -> None:
    customers = "customer_id,name,timezone,tax_rate\ncus_acme,Acme,UTC,0\n"
    assert _error_lines(tmp_settings, {"customers.csv": customers}) == [
        "reference/customers.csv: header: missing required column(s): currency"
    ]


def test_unparseable_dates(tmp_settings: Settings) -> None:
    subs = SUBSCRIPTIONS_CSV.replace("2026-09-01,2026-10-20", "09/01/2026,2026-02-30")
    lines = _error_lines(tmp_settings, {"subscriptions.csv": subs})
    assert lines == [
        "reference/subscriptions.csv: row 2: column 'start_date': '09/01/2026' is not a date "
        "(YYYY-MM-DD)",
        "reference/subscriptions.csv: row 2: column 'end_date': '2026-02-30' is not a valid "
        "calendar date",
    ]


def test_unparseable_decimals(tmp_settings: Settings) -> None:
    contracts = CONTRACTS_CSV.replace("1000.00", '"1,000.00"').replace(",10,30", ",ten,30")
    assert _error_lines(tmp_settings, {"contracts.csv": contracts}) == [
        "reference/contracts.csv: row 1: column 'commit_amount': '1,000.00' is not a "
        "non-negative decimal",
        "reference/contracts.csv: row 1: column 'usage_discount_pct': 'ten' is not a "
        "non-negative decimal",
    ]


def test_unknown_plan_code_in_subscriptions(tmp_settings: Settings) -> None:
    subs = SUBSCRIPTIONS_CSV.replace("sub_2,cus_beta,pro", "sub_2,cus_beta,scale")
    assert _error_lines(tmp_settings, {"subscriptions.csv": subs}) == [
        "reference/subscriptions.csv: row 2: column 'plan_code': unknown plan 'scale' "
        "(no plans/*.yml with this code)"
    ]


@pytest.mark.parametrize(
    ("file", "text", "row"),
    [
        ("subscriptions.csv", SUBSCRIPTIONS_CSV + "sub_9,cus_nobody,pro,2026-09-01,\n", 3),
        ("contracts.csv", CONTRACTS_CSV + "con_9,cus_nobody,2026-01-01,,,,,\n", 2),
        ("credit_grants.csv", CREDIT_GRANTS_CSV + "gr_9,cus_nobody,5,2026-09-01,,1,paid\n", 2),
        (
            "budgets.csv",
            "customer_id,monthly_budget,alert_thresholds_pct,hard_limit\n"
            "cus_nobody,10,50|100,true\n",
            1,
        ),
    ],
)
def test_unknown_customer(tmp_settings: Settings, file: str, text: str, row: int) -> None:
    assert _error_lines(tmp_settings, {file: text}) == [
        f"reference/{file}: row {row}: column 'customer_id': unknown customer 'cus_nobody' "
        "(not in customers.csv)"
    ]


def test_bad_enum_values(tmp_settings: Settings) -> None:
    contracts = CONTRACTS_CSV.replace(",month,", ",year,")
    grants = CREDIT_GRANTS_CSV.replace("promotional", "gift")
    meters = METERS_YML.replace(
        "aggregation: sum\n    field: images", "aggregation: average\n    field: images"
    )
    plan = PLAN_PRO_V1.replace("model: graduated", "model: tiered")
    assert _error_lines(
        tmp_settings,
        {
            "contracts.csv": contracts,
            "credit_grants.csv": grants,
            "meters.yml": meters,
            "plans/pro_v1.yml": plan,
        },
    ) == [
        "reference/contracts.csv: row 1: column 'commit_period': 'year' is not one of month, term",
        "reference/credit_grants.csv: row 1: column 'kind': 'gift' is not one of paid, promotional",
        "reference/meters.yml: meters[2].aggregation: 'average' is not one of sum, count, "
        "count_unique, max, latest",
        "reference/plans/pro_v1.yml: charges[1].model: 'tiered' is not one of per_unit, "
        "graduated, volume, package",
    ]


def test_duplicate_ids(tmp_settings: Settings) -> None:
    customers = CUSTOMERS_CSV + "cus_beta,Beta again,USD,UTC,0,,,\n"
    meters = (
        METERS_YML + "  - code: images\n    event_type: image.generation\n"
        "    aggregation: count\n    unit: image\n"
    )
    lines = _error_lines(
        tmp_settings,
        {"customers.csv": customers, "meters.yml": meters, "plans/pro_v1_copy.yml": PLAN_PRO_V1},
    )
    assert lines == [
        "reference/customers.csv: row 2: duplicate customer_id 'cus_beta'",
        "reference/customers.csv: row 4: duplicate customer_id 'cus_beta'",
        "reference/meters.yml: meters[4].code: duplicate meter code 'images'",
        "reference/plans/pro_v1_copy.yml: version: duplicate plan version pro v1 "
        "(also in reference/plans/pro_v1.yml)",
    ]


def test_bad_time_zone_name(tmp_settings: Settings) -> None:
    customers = CUSTOMERS_CSV.replace("Europe/Berlin", "Mars/Olympus_Mons")
    assert _error_lines(tmp_settings, {"customers.csv": customers}) == [
        "reference/customers.csv: row 3: column 'timezone': 'Mars/Olympus_Mons' is not an "
        "IANA time zone name"
    ]


def test_a_ragged_csv_row_names_the_line(tmp_settings: Settings) -> None:
    lines = _error_lines(
        tmp_settings, {"contracts.csv": CONTRACTS_CSV.replace("1000.00", "1,000.00")}
    )
    assert lines == [
        "reference/contracts.csv: row 1: cannot be parsed as CSV (line 2): "
        "Expected Number of Columns: 8 Found: 9"
    ]


def test_unparseable_yaml_names_the_file(tmp_settings: Settings) -> None:
    lines = _error_lines(tmp_settings, {"meters.yml": "meters: [\n  - code: x\n"})
    assert len(lines) == 1
    assert lines[0].startswith("reference/meters.yml: file: cannot be parsed as YAML: ")


def test_an_invalid_reference_file_leaves_the_warehouse_as_it_was(tmp_settings: Settings) -> None:
    s = tmp_settings
    write_reference(s)
    ingest_reference(s)
    before = table_fingerprint(s, REFERENCE_TABLES)
    bad = CUSTOMERS_CSV.replace("cus_beta,Beta,USD", "cus_beta,Beta,usd")
    lines = _error_lines(
        s, {"customers.csv": bad, "subscriptions.csv": SUBSCRIPTIONS_CSV + "sub_3,cus_x,pro,,\n"}
    )
    assert lines == [
        "reference/customers.csv: row 2: column 'currency': 'usd' is not an upper-case "
        "ISO 4217 currency code",
        "reference/subscriptions.csv: row 3: column 'start_date': a value is required",
        "reference/subscriptions.csv: row 3: column 'customer_id': unknown customer 'cus_x' "
        "(not in customers.csv)",
    ]
    assert table_fingerprint(s, REFERENCE_TABLES) == before


def test_a_changed_file_replaces_its_rows_and_a_removed_file_its_rows_go(
    tmp_settings: Settings,
) -> None:
    s = tmp_settings
    write_reference(s)
    first = {f.file_path: f.batch_id for f in ingest_reference(s)}
    again = ingest_reference(s)
    assert all(f.skipped for f in again)
    write_reference(
        s, {"customers.csv": CUSTOMERS_CSV + "cus_new,New,USD,UTC,0,,,\n", "budgets.csv": None}
    )
    second = {f.file_path: f for f in ingest_reference(s)}
    assert "reference/budgets.csv" not in second
    changed = second["reference/customers.csv"]
    assert not changed.skipped and changed.batch_id != first["reference/customers.csv"]
    assert second["reference/meters.yml"].skipped
    assert query(s, "select distinct batch_id, count(*) over () from raw.customers") == [
        (changed.batch_id, 4)
    ]
    assert query(s, "select count(*) from raw.budgets") == [(0,)]


# --- prices that would be rounded, currencies outside ISO 4217, BOMs, RFC 3339 lower case -------

P13 = "0.0000000000001"  # 13 decimal places: DECIMAL(38,12) would make it 0
P12 = "0.000000000001"  # 12: kept exactly


def test_a_price_with_more_than_12_decimals_names_the_file_and_key(
    tmp_settings: Settings,
) -> None:
    plan = (
        PLAN_PRO_V1.replace('unit_price: "1.00"', f'unit_price: "{P13}"')
        .replace(
            '{up_to: 5000, unit_price: "0.04", flat_fee: "2.00"}',
            '{up_to: 5000, unit_price: "0.04", flat_fee: "2.0000000000001"}',
        )
        .replace('fee: "99.00"', "fee: 1.0e-13")  # a YAML float is read through its text
        .replace("free_units: 1000000", "free_units: 0.0000000001")  # 10 places: keeps 9
    )
    grants = CREDIT_GRANTS_CSV.replace("100.00", f"1{P13[1:]}")
    prices = (
        "provider,model,price_component,unit_price,price_per,effective_from,effective_to\n"
        f"openai,gpt-4o,input,{P13},1000000,2026-01-01,\n"
        f"openai,gpt-4o,output,{P12},1000000,2026-01-01,\n"
    )
    customers = CUSTOMERS_CSV.replace("0.19", "0.1900001")  # a tax rate keeps 6 places
    assert _error_lines(
        tmp_settings,
        {
            "plans/pro_v1.yml": plan,
            "credit_grants.csv": grants,
            "provider_prices.csv": prices,
            "customers.csv": customers,
        },
    ) == [
        "reference/customers.csv: row 3: column 'tax_rate': '0.1900001' has 7 decimal places; "
        "at most 6 are kept, so it would be rounded (PRICING.md)",
        "reference/credit_grants.csv: row 1: column 'amount': '1.0000000000001' has 13 decimal "
        "places; at most 12 are kept, so it would be rounded (PRICING.md)",
        f"reference/provider_prices.csv: row 1: column 'unit_price': '{P13}' has 13 decimal "
        "places; at most 12 are kept, so it would be rounded (PRICING.md)",
        "reference/plans/pro_v1.yml: fee: '1e-13' has 13 decimal places; at most 12 are kept, "
        "so it would be rounded (PRICING.md)",
        "reference/plans/pro_v1.yml: charges[0].prices[0].free_units: '1e-10' has 10 decimal "
        "places; at most 9 are kept, so it would be rounded (PRICING.md)",
        f"reference/plans/pro_v1.yml: charges[0].prices[1].unit_price: '{P13}' has 13 decimal "
        "places; at most 12 are kept, so it would be rounded (PRICING.md)",
        "reference/plans/pro_v1.yml: charges[1].prices[0].tiers[1].flat_fee: '2.0000000000001' "
        "has 13 decimal places; at most 12 are kept, so it would be rounded (PRICING.md)",
    ]
    assert not tmp_settings.warehouse.exists() or query(
        tmp_settings, "select count(*) from raw.load_manifest"
    ) == [(0,)]


def test_prices_with_12_decimals_and_trailing_zeros_load_exactly(tmp_settings: Settings) -> None:
    s = tmp_settings
    plan = PLAN_PRO_V1.replace('unit_price: "1.00"', f'unit_price: "{P12}"').replace(
        '{unit_price: "0.03"}',
        '{unit_price: "0.030000000000000000"}',  # zeros are not places
    )
    prices = (
        "provider,model,price_component,unit_price,price_per,effective_from,effective_to\n"
        f"openai,gpt-4o,input,{P12},1000000,2026-01-01,\n"
    )
    write_reference(s, {"plans/pro_v1.yml": plan, "provider_prices.csv": prices})
    ingest_reference(s)
    assert query(
        s,
        "select unit_price, cast(unit_price as decimal(38, 12)) from raw.plan_prices "
        "where unit_price is not null order by row_number",
    ) == [("2.50", Decimal("2.500000000000")), (P12, Decimal(P12))]
    assert query(s, "select cast(unit_price as decimal(38, 12)) from raw.provider_prices") == [
        (Decimal(P12),)
    ]
    assert query(s, "select unit_price from raw.plan_price_tiers order by tier_index") == [
        ("0.05",),
        ("0.04",),
        ("0.030000000000000000",),
    ]


def test_currencies_are_checked_against_iso_4217(tmp_settings: Settings) -> None:
    # used consistently (customer and plan alike), an unknown code is still refused
    customers = CUSTOMERS_CSV.replace("USD,America", "XYZ,America").replace(
        "cus_euro,Euro GmbH,EUR", "cus_euro,Euro GmbH,XTS"
    )
    plan = PLAN_PRO_V1.replace("currency: USD", "currency: XYZ")
    euro_plan = PLAN_PRO_V1.replace("code: pro", "code: old").replace(
        "currency: USD", "currency: 7"
    )
    assert _error_lines(
        tmp_settings,
        {"customers.csv": customers, "plans/pro_v1.yml": plan, "plans/old_v1.yml": euro_plan},
    )[:4] == [
        "reference/customers.csv: row 1: column 'currency': 'XYZ' is not an ISO 4217 currency code",
        "reference/customers.csv: row 3: column 'currency': 'XTS' is not an ISO 4217 currency code",
        "reference/plans/old_v1.yml: currency: 7 is not a currency code (an ISO 4217 code such "
        "as 'USD', as text)",
        "reference/plans/pro_v1.yml: currency: 'XYZ' is not an ISO 4217 currency code",
    ]


def test_reference_files_with_a_byte_order_mark_load_as_without(tmp_settings: Settings) -> None:
    s = tmp_settings
    write_reference(s)
    ingest_reference(s)
    tables = [t for t in REFERENCE_TABLES if t != "raw.load_manifest"]
    plain = table_fingerprint(s, tables)
    s.warehouse.unlink()
    for p in sorted(s.reference_dir.rglob("*")):
        if p.is_file():
            p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    ingest_reference(s)
    assert table_fingerprint(s, tables) == plain
    assert query(s, "select customer_id from raw.customers order by row_number") == [
        ("cus_acme",),
        ("cus_beta",),
        ("cus_euro",),
    ]


def test_rfc3339_lower_case_t_and_z_in_reference_times(tmp_settings: Settings) -> None:
    s = tmp_settings
    grants = CREDIT_GRANTS_CSV.replace(
        "2026-09-01,,", "2026-09-01t08:30:00z,2026-12-01t00:00:00+01:00,"
    )
    write_reference(s, {"credit_grants.csv": grants})
    ingest_reference(s)
    assert query(s, "select granted_at, expires_at from raw.credit_grants") == [
        ("2026-09-01T08:30:00Z", "2026-12-01T00:00:00+01:00")
    ]


def test_a_reference_csv_row_that_is_not_utf8_is_named(tmp_settings: Settings) -> None:
    s = tmp_settings
    write_reference(s)
    path = s.reference_dir / "customers.csv"
    path.write_bytes(path.read_bytes().replace(b"Beta", b"B\xffta"))
    with pytest.raises(ReferenceDataError) as exc:
        ingest_reference(s)
    assert str(exc.value).splitlines()[1:] == [
        "reference/customers.csv: row 2: cannot be parsed as CSV (line 3): Invalid unicode "
        "(byte sequence mismatch) detected. This file is not utf-8 encoded."
    ]


def test_the_asset_check_does_not_validate_rows_stored_as_they_were_validated(
    tmp_settings: Settings,
) -> None:
    """Ingestion records each CSV's suite pass; the blocking asset check on the stored rows finds
    the same frame and stands on it. A stored row changed afterwards is validated again and
    fails, naming the row."""
    import duckdb

    from orchestration.defs.quality.ge_checks import ge_checks
    from orchestration.defs.resources import MeterlineResource
    from orchestration.quality.validated import _read

    s = tmp_settings
    write_reference(s)
    ingest_reference(s)
    recorded = _read(s)
    assert {
        "ge_reference_suite/customers",
        "ge_reference_suite/subscriptions",
        "ge_reference_suite/contracts",
    } <= set(recorded), recorded
    checks = {next(iter(c.check_keys)).asset_key.path[-1]: c for c in ge_checks()}
    resource = MeterlineResource.for_settings(s)

    def run(table: str) -> dict[str, object]:
        result = checks[table](meterline=resource)
        return {"passed": result.passed, **{k: v.value for k, v in result.metadata.items()}}

    assert run("customers")["validated"] == "these rows passed this suite before"
    assert run("subscriptions")["validated"] == "these rows passed this suite before"

    with duckdb.connect(str(s.warehouse)) as con:
        con.execute("update raw.customers set currency = 'usd' where row_number = 2")
    changed = run("customers")
    assert changed["passed"] is False
    assert "validated" not in changed
    assert "row 2: column 'currency': 'usd'" in str(changed["first"]), changed
