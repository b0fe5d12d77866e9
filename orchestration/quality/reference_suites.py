"""Great Expectations suites for the tabular reference files (``reference/*.csv``).

Each CSV has a spec (columns, required values, keys, formats, enums); the suite is built from it
and validated against the file's rows (all text, ``row_number`` = 1-based data row). Failures
come back as readable problems; cross-file rules live in ``orchestration.ingest.reference``."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from orchestration.quality.gx import Failure, validate_frame

if TYPE_CHECKING:
    import pandas as pd

DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
DATETIME_RE = (
    r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"
    r"(?:Z|[+-]\d{2}:\d{2})?)?$"
)
NONNEG_DEC_RE = r"^\d+(?:\.\d+)?$"
NONNEG_INT_RE = r"^\d+$"
CURRENCY_RE = r"^[A-Z]{3}$"
THRESHOLDS_RE = r"^\d+(?:\.\d+)?(?:\|\d+(?:\.\d+)?)*$"
BOOL_RE = r"^(?i:true|false)$"

_FORMATS: dict[str, tuple[str, str]] = {
    "date": (DATE_RE, "is not a date (YYYY-MM-DD)"),
    "datetime": (DATETIME_RE, "is not a date or ISO 8601 date-time"),
    "decimal": (NONNEG_DEC_RE, "is not a non-negative decimal"),
    "int": (NONNEG_INT_RE, "is not a non-negative integer"),
    "currency": (CURRENCY_RE, "is not an upper-case ISO 4217 currency code"),
    "thresholds": (THRESHOLDS_RE, "is not a |-separated list of percentages (e.g. 50|80|100)"),
    "bool": (BOOL_RE, "is not true or false"),
}


@dataclass(frozen=True)
class CsvSpec:
    file: str  # path relative to reference/
    table: str  # raw table
    columns: tuple[str, ...]  # every column of the raw table, in order
    required_columns: tuple[str, ...]
    not_null: tuple[str, ...] = ()
    key: tuple[str, ...] = ()  # unique (compound when several)
    formats: dict[str, str] = field(default_factory=dict)  # column -> _FORMATS key
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    timezones: tuple[str, ...] = ()


CSV_SPECS: tuple[CsvSpec, ...] = (
    CsvSpec(
        file="customers.csv",
        table="customers",
        columns=(
            "customer_id",
            "name",
            "currency",
            "timezone",
            "tax_rate",
            "segment",
            "parent_customer_id",
            "billing_email",
            "payment_terms_days",  # optional: days from issue to due date, default 30
            # optional: true = the customer's usage is billed on its parent's invoice (accounts)
            "bill_to_parent",
        ),
        required_columns=("customer_id", "name", "currency", "timezone", "tax_rate"),
        not_null=("customer_id", "name"),
        key=("customer_id",),
        formats={"currency": "currency", "tax_rate": "decimal", "payment_terms_days": "int"},
        enums={"bill_to_parent": ("true", "false")},
        timezones=("timezone",),
    ),
    CsvSpec(
        file="subscriptions.csv",
        table="subscriptions",
        # plan_version (optional column): pins the subscription to that version of its plan
        # (grandfathering); empty = the version in effect at each period's start
        columns=(
            "subscription_id",
            "customer_id",
            "plan_code",
            "start_date",
            "end_date",
            "plan_version",
        ),
        required_columns=("subscription_id", "customer_id", "plan_code", "start_date", "end_date"),
        not_null=("subscription_id", "customer_id", "plan_code", "start_date"),
        key=("subscription_id",),
        formats={"start_date": "date", "end_date": "date", "plan_version": "int"},
    ),
    CsvSpec(
        file="contracts.csv",
        table="contracts",
        columns=(
            "contract_id",
            "customer_id",
            "start_date",
            "end_date",
            "commit_amount",
            "commit_period",
            "usage_discount_pct",
            "renewal_notice_days",
        ),
        required_columns=(
            "contract_id",
            "customer_id",
            "start_date",
            "end_date",
            "commit_amount",
            "commit_period",
            "usage_discount_pct",
            "renewal_notice_days",
        ),
        not_null=("contract_id", "customer_id", "start_date"),
        key=("contract_id",),
        formats={
            "start_date": "date",
            "end_date": "date",
            "commit_amount": "decimal",
            "usage_discount_pct": "decimal",
            "renewal_notice_days": "int",
        },
        enums={"commit_period": ("month", "term")},
    ),
    CsvSpec(
        file="credit_grants.csv",
        table="credit_grants",
        # unit (optional column, issue 22): money (default) | credits, a credit pack whose amount
        # is credit units; price_paid (optional): what the customer paid for the pack
        columns=(
            "grant_id",
            "customer_id",
            "amount",
            "granted_at",
            "expires_at",
            "priority",
            "kind",
            "unit",
            "price_paid",
        ),
        required_columns=(
            "grant_id",
            "customer_id",
            "amount",
            "granted_at",
            "expires_at",
            "priority",
            "kind",
        ),
        not_null=("grant_id", "customer_id", "amount", "granted_at", "kind"),
        key=("grant_id",),
        formats={
            "amount": "decimal",
            "granted_at": "datetime",
            "expires_at": "datetime",
            "priority": "int",
            "price_paid": "decimal",
        },
        enums={"kind": ("paid", "promotional"), "unit": ("money", "credits")},
    ),
    CsvSpec(
        file="budgets.csv",
        table="budgets",
        columns=("customer_id", "monthly_budget", "alert_thresholds_pct", "hard_limit"),
        required_columns=("customer_id", "monthly_budget", "alert_thresholds_pct", "hard_limit"),
        not_null=("customer_id", "monthly_budget"),
        key=("customer_id",),
        formats={
            "monthly_budget": "decimal",
            "alert_thresholds_pct": "thresholds",
            "hard_limit": "bool",
        },
    ),
    CsvSpec(
        file="provider_prices.csv",
        table="provider_prices",
        columns=(
            "provider",
            "model",
            "price_component",
            "unit_price",
            "price_per",
            "effective_from",
            "effective_to",
        ),
        required_columns=(
            "provider",
            "model",
            "price_component",
            "unit_price",
            "price_per",
            "effective_from",
            "effective_to",
        ),
        not_null=("provider", "model", "price_component", "unit_price", "effective_from"),
        key=("provider", "model", "price_component", "effective_from"),
        formats={
            "unit_price": "decimal",
            "price_per": "decimal",
            "effective_from": "date",
            "effective_to": "date",
        },
    ),
    CsvSpec(
        file="fx_rates.csv",
        table="fx_rates",
        # one exchange rate per day and currency pair: 1 from_currency = rate to_currency
        # (2026-10-05,USD,JPY,149.85: one US dollar is 149.85 yen on that day)
        columns=("date", "from_currency", "to_currency", "rate"),
        required_columns=("date", "from_currency", "to_currency", "rate"),
        not_null=("date", "from_currency", "to_currency", "rate"),
        key=("date", "from_currency", "to_currency"),
        formats={
            "date": "date",
            "from_currency": "currency",
            "to_currency": "currency",
            "rate": "decimal",
        },
    ),
)


@lru_cache(maxsize=1)
def _timezones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones() | {"UTC"}))


def _expectations(spec: CsvSpec) -> list[Any]:
    import great_expectations as gx

    ex = gx.expectations
    out: list[Any] = []
    for col in spec.not_null:
        out.append(ex.ExpectColumnValuesToNotBeNull(column=col))
    if len(spec.key) == 1:
        out.append(ex.ExpectColumnValuesToBeUnique(column=spec.key[0]))
    elif spec.key:
        out.append(ex.ExpectCompoundColumnsToBeUnique(column_list=list(spec.key)))
    for col, fmt in spec.formats.items():
        out.append(ex.ExpectColumnValuesToMatchRegex(column=col, regex=_FORMATS[fmt][0]))
    for col, allowed in spec.enums.items():
        out.append(ex.ExpectColumnValuesToBeInSet(column=col, value_set=list(allowed)))
    for col in spec.timezones:
        out.append(ex.ExpectColumnValuesToBeInSet(column=col, value_set=list(_timezones())))
    return out


def _problem(spec: CsvSpec, f: Failure) -> str:
    col = f.column
    if f.expectation == "expect_column_values_to_not_be_null":
        return f"column '{col}': a value is required"
    if f.expectation in (
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
    ):
        return (
            f"duplicate {'/'.join(spec.key)} {f.value!r}"
            if col
            else f"duplicate key ({', '.join(spec.key)})"
        )
    if f.expectation == "expect_column_values_to_match_regex" and col:
        fmt = spec.formats[col]
        value = str(f.value)
        if fmt in ("decimal", "int") and value.strip().startswith("-"):
            return f"column '{col}': {value!r} is negative"
        return f"column '{col}': {value!r} {_FORMATS[fmt][1]}"
    if f.expectation == "expect_column_values_to_be_in_set" and col:
        if col in spec.timezones:
            return f"column '{col}': {f.value!r} is not an IANA time zone name"
        return f"column '{col}': {f.value!r} is not one of {', '.join(spec.enums[col])}"
    return f"{f.expectation} failed ({f.kwargs})"


def suite_key(table: str) -> str:
    """The name a pass of the suite of ``raw.<table>`` is recorded under
    (``orchestration.quality.validated``); its asset check ``ge_reference_suite`` reads it."""
    return f"ge_reference_suite/{table}"


def suite_frame(spec: CsvSpec, records: list[tuple[Any, ...]]) -> pd.DataFrame:
    """The frame the suite validates: the spec's columns as text (``None`` where empty), then
    ``row_number``. ``records`` are tuples in that order. Ingestion (rows of the file) and the
    asset check (rows of the raw table) build it here, so identical rows give an identical frame
    and fingerprint."""
    import pandas as pd

    df = pd.DataFrame(records, columns=[*spec.columns, "row_number"]).astype(object)
    df["row_number"] = df["row_number"].astype(int)
    return df


def validate_reference_csv(spec: CsvSpec, df: pd.DataFrame) -> list[tuple[int | None, str]]:
    """Run the spec's suite on ``df`` (text columns + ``row_number``); return (row, problem)."""
    failures = validate_frame(spec.table, df, _expectations(spec))
    if any(f.expectation == "expect_compound_columns_to_be_unique" for f in failures):
        # the compound-unique result names the row but not the key value: add it
        keyed = []
        for f in failures:
            if f.expectation == "expect_compound_columns_to_be_unique" and f.row is not None:
                rec = df.loc[df["row_number"] == f.row, list(spec.key)].iloc[0]
                value = "/".join(str(v) for v in rec.tolist())
                f = Failure(f.expectation, "/".join(spec.key), f.row, value, f.kwargs)
            keyed.append(f)
        failures = keyed
    return [(f.row, _problem(spec, f)) for f in failures]
