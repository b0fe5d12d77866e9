"""Currencies (issue 22): reference/fx_rates.csv validation, ISO 4217 minor units (JPY has 0
decimal places), and the refusal of currencies finer than the cent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from orchestration.config import Settings
from orchestration.ingest import ReferenceDataError, ingest_reference
from orchestration.ingest.currencies import MINOR_UNITS_NOT_2, minor_units
from orchestration.money import money
from tests.support.ingest import CUSTOMERS_CSV, PLAN_PRO_V1, query, write_reference

FX_RATES_CSV = """\
date,from_currency,to_currency,rate
2026-10-01,USD,JPY,149.85
2026-10-02,USD,JPY,150.1
2026-10-01,USD,EUR,0.9231
"""


def _error_lines(s: Settings, overrides: dict[str, str | None]) -> list[str]:
    write_reference(s, overrides)
    with pytest.raises(ReferenceDataError) as exc:
        ingest_reference(s)
    lines = str(exc.value).splitlines()
    assert lines[0] == "invalid reference data:"
    return lines[1:]


def test_fx_rates_load_as_text_and_stage_as_decimal(tmp_settings: Settings) -> None:
    s = tmp_settings
    write_reference(s, {"fx_rates.csv": FX_RATES_CSV})
    loads = {f.file_path: (f.table_name, f.raw_rows, f.loaded_rows) for f in ingest_reference(s)}
    assert loads["reference/fx_rates.csv"] == ("fx_rates", 3, 3)
    assert query(
        s,
        "select row_number, date, from_currency, to_currency, rate from raw.fx_rates "
        "order by row_number",
    ) == [
        (1, "2026-10-01", "USD", "JPY", "149.85"),
        (2, "2026-10-02", "USD", "JPY", "150.1"),
        (3, "2026-10-01", "USD", "EUR", "0.9231"),
    ]


def test_bad_fx_rate_rows_name_file_row_and_problem(tmp_settings: Settings) -> None:
    bad = """\
    date,from_currency,to_currency,rate
    2026-10-01,USD,JPY,149.85
    2026-10-01,USD,JPY,150.00
    2026-13-01,USD,JPY,150
    2026-10-03,usd,JPY,150
    2026-10-03,USD,XYZ,150
    2026-10-04,USD,USD,1
    2026-10-05,USD,JPY,0
    2026-10-06,USD,JPY,-150
    2026-10-07,USD,JPY,149.1234567890123
    2026-10-08,USD,JPY,
    """
    assert sorted(_error_lines(tmp_settings, {"fx_rates.csv": bad})) == sorted(
        [
            "reference/fx_rates.csv: row 1: duplicate date/from_currency/to_currency "
            "'2026-10-01/USD/JPY'",
            "reference/fx_rates.csv: row 2: duplicate date/from_currency/to_currency "
            "'2026-10-01/USD/JPY'",
            "reference/fx_rates.csv: row 3: column 'date': '2026-13-01' is not a valid "
            "calendar date",
            "reference/fx_rates.csv: row 4: column 'from_currency': 'usd' is not an "
            "upper-case ISO 4217 currency code",
            "reference/fx_rates.csv: row 5: column 'to_currency': 'XYZ' is not an ISO 4217 "
            "currency code",
            "reference/fx_rates.csv: row 6: column 'to_currency': 'USD' is the from_currency "
            "(a rate converts between two currencies)",
            "reference/fx_rates.csv: row 7: column 'rate': must be greater than 0",
            "reference/fx_rates.csv: row 8: column 'rate': '-150' is negative",
            "reference/fx_rates.csv: row 9: column 'rate': '149.1234567890123' has 13 decimal "
            "places; at most 12 are kept, so it would be rounded (PRICING.md)",
            "reference/fx_rates.csv: row 10: column 'rate': a value is required",
        ]
    )


def test_a_currency_finer_than_the_cent_is_refused(tmp_settings: Settings) -> None:
    customers = CUSTOMERS_CSV + "cus_manama,Manama WLL,BHD,Asia/Bahrain,0,smb,,\n"
    plan = PLAN_PRO_V1.replace("currency: USD", "currency: KWD").replace("code: pro", "code: kw")
    assert _error_lines(tmp_settings, {"customers.csv": customers, "plans/kw_v1.yml": plan}) == [
        "reference/customers.csv: row 4: column 'currency': 'BHD' has 3 decimal places "
        "(ISO 4217 minor unit); meterline bills currencies with at most 2 (amounts are stored "
        "to the cent), so it is not supported yet",
        "reference/plans/kw_v1.yml: currency: 'KWD' has 3 decimal places (ISO 4217 minor "
        "unit); meterline bills currencies with at most 2 (amounts are stored to the cent), so "
        "it is not supported yet",
    ]


def test_minor_units_follow_iso_4217() -> None:
    assert (minor_units("JPY"), minor_units("USD"), minor_units("EUR")) == (0, 2, 2)
    assert (minor_units("KRW"), minor_units("BHD"), minor_units("CLF")) == (0, 3, 4)


def test_the_dbt_var_is_the_python_table() -> None:
    project = Path(__file__).resolve().parent.parent / "dbt_project" / "dbt_project.yml"
    dbt_vars = yaml.safe_load(project.read_text())["vars"]
    assert dbt_vars["currency_minor_units"] == MINOR_UNITS_NOT_2


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("1234.00", "JPY", "1234"),
        ("-70.00", "JPY", "-70"),
        ("0.00", "JPY", "0"),
        ("12.30", "USD", "12.30"),
        ("12.3", None, "12.30"),
        ("5.00", "EUR", "5.00"),
    ],
)
def test_money_text_has_the_currency_minor_units(
    amount: str, currency: str | None, text: str
) -> None:
    from decimal import Decimal

    assert money(Decimal(amount), currency) == text


def test_money_text_refuses_an_amount_that_is_not_in_minor_units() -> None:
    from decimal import Decimal

    with pytest.raises(ValueError, match=re.escape("12.50 JPY")):
        money(Decimal("12.50"), "JPY")


def test_a_customer_amount_finer_than_its_currency_is_refused(tmp_settings: Settings) -> None:
    customers = CUSTOMERS_CSV + "cus_sakura,Sakura KK,JPY,Asia/Tokyo,0.1,startup,,\n"
    grants = (
        "grant_id,customer_id,amount,granted_at,expires_at,priority,kind\n"
        "gr_1,cus_acme,100.50,2026-09-01,,1,promotional\n"
        "gr_2,cus_sakura,5000,2026-09-01,,1,promotional\n"
        "gr_3,cus_sakura,5000.50,2026-09-01,,1,promotional\n"
        "gr_4,cus_sakura,5000.000,2026-09-01,,1,promotional\n"
    )
    assert _error_lines(
        tmp_settings, {"customers.csv": customers, "credit_grants.csv": grants}
    ) == [
        "reference/credit_grants.csv: row 3: column 'amount': '5000.50' is not a whole number "
        "of JPY's minor unit (0 decimal places in ISO 4217): customer 'cus_sakura' is billed "
        "in JPY"
    ]
