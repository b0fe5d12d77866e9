"""FOCUS 1.0-1.2 cost exports (``raw/costs/focus/*.csv|*.parquet``) -> ``raw.focus_costs``.

Read as text (CSV: ``nullstr = ['NULL', '']``, a UTF-8 BOM is dropped; Parquet: every column cast
to text) and typed strictly: timestamps with ``T``/``Z`` or without (``2024-09-01 00:00:00``
is UTC), decimals in plain or E-notation. ``ServiceProviderName`` / ``HostProviderName`` (drafts
after 1.2) fill ``ProviderName`` / ``PublisherName`` when those are absent. Columns outside the
spec (the sample's ``Id``, ``x_*``) go to ``extra_columns`` as a JSON object of their text.
Values are kept as received (``Usage-based`` stays as spelled; negative quantities load).

Quarantine reasons (one per row, first failing): ``missing_required`` (BilledCost,
BillingCurrency, ChargePeriodStart or ChargePeriodEnd empty), ``invalid_time`` (e.g. ``5/1/25``),
``invalid_decimal`` (e.g. ``$10,000.00``), ``excess_precision`` (a decimal with more places than
its column keeps, 15: refused, never rounded; a Parquet FLOAT/DOUBLE column is binary floating
point, inexact already, and is read through its shortest text), ``invalid_currency``
(``BillingCurrency`` / ``PricingCurrency`` not an ISO 4217 code). A file DuckDB cannot read as
CSV is one ``unparseable`` row.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from orchestration.ingest.currencies import sql_invalid_currency
from orchestration.ingest.manifest import Counts, RawFile
from orchestration.ingest.pages import (
    finish,
    finish_csv_rejects,
    probe_error,
    quarantine_unparseable_file,
    read_csv_rows,
)
from orchestration.ingest.sqlexpr import excess_scale, ident, lit, type_scale, typed_parse
from orchestration.warehouse import FOCUS_COLUMNS

SINCE_1_1 = frozenset(
    {
        "CapacityReservationId",
        "CapacityReservationStatus",
        "CommitmentDiscountQuantity",
        "CommitmentDiscountUnit",
        "ServiceSubcategory",
        "SkuMeter",
        "SkuPriceDetails",
    }
)
SINCE_1_2 = frozenset(
    {
        "BillingAccountType",
        "InvoiceId",
        "PricingCurrency",
        "PricingCurrencyContractedUnitPrice",
        "PricingCurrencyEffectiveCost",
        "PricingCurrencyListUnitPrice",
        "SubAccountType",
    }
)
ALIASES = {"ServiceProviderName": "ProviderName", "HostProviderName": "PublisherName"}
REQUIRED = ("BilledCost", "BillingCurrency", "ChargePeriodStart", "ChargePeriodEnd")
CURRENCY_COLUMNS = ("BillingCurrency", "PricingCurrency")
STAGED = "_focus_staged"
_TEXT = "_focus_text"


def focus_version(columns: set[str]) -> str:
    if columns & SINCE_1_2:
        return "1.2"
    if columns & SINCE_1_1:
        return "1.1"
    return "1.0"


def _read_text_table(con: duckdb.DuckDBPyConnection, f: RawFile) -> tuple[str | None, set[str]]:
    """(why the file cannot be read or None, the Parquet columns stored as binary floating
    point)."""
    con.execute(f"drop table if exists {_TEXT}")
    path = lit(str(f.path))
    floats: set[str] = set()
    if f.file_format == "parquet":
        problem = probe_error(con, f"select count(*) from read_parquet({path})")
        if problem is not None:
            return problem, floats
    try:
        if f.file_format == "parquet":
            described = con.execute(f"describe select * from read_parquet({path})").fetchall()
            cols = [str(r[0]) for r in described]
            floats = {str(r[0]) for r in described if str(r[1]) in ("FLOAT", "DOUBLE")}
            casts = ", ".join(f"cast({ident(c)} as varchar) as {ident(c)}" for c in cols)
            con.execute(
                f"create temp table {_TEXT} as select row_number() over () as __row, "
                f"{casts} from read_parquet({path})"
            )
        else:
            read_csv_rows(con, f, _TEXT, "nullstr = ['NULL', ''], ")
    except duckdb.Error as exc:
        return str(exc).strip().splitlines()[0], floats
    return None, floats


def load_focus_file(
    con: duckdb.DuckDBPyConnection, f: RawFile, batch_id: int, arrival: dt.datetime
) -> tuple[str, Counts, int]:
    del arrival
    problem, floats = _read_text_table(con, f)
    if problem is not None:
        detail = f"not a readable FOCUS CSV/Parquet file: {problem}"
        counts = quarantine_unparseable_file(con, f, batch_id, "focus", detail)
        return "focus_costs", counts, 0
    names = [str(r[0]) for r in con.execute(f"describe {_TEXT}").fetchall() if r[0] != "__row"]
    by_name: dict[str, str] = {}
    extras: list[str] = []
    lower_spec = {c.lower(): c for c in FOCUS_COLUMNS}
    for n in names:
        clean = n.strip().lstrip("\ufeff")
        spec = lower_spec.get(clean.lower())
        if spec is not None:
            by_name[spec] = n
        elif clean in ALIASES:
            continue
        else:
            extras.append(n)
    for alias, target in ALIASES.items():
        src = next((n for n in names if n.strip().lstrip("\ufeff") == alias), None)
        if src is not None and target not in by_name:
            by_name[target] = src
        elif src is not None:
            extras.append(src)
    version = focus_version(set(by_name))

    def txt(col: str) -> str:
        return ident(by_name[col]) if col in by_name else "null::varchar"

    typed = {c: typed_parse(txt(c), t) for c, t in FOCUS_COLUMNS.items()}
    missing = " or ".join(f"nullif(trim({txt(c)}), '') is null" for c in REQUIRED)
    time_preds: list[str] = []
    dec_preds: list[str] = []
    details: list[str] = []
    for c, t in FOCUS_COLUMNS.items():
        if t == "VARCHAR" or c not in by_name:
            continue
        pred = f"({txt(c)} is not null and {typed[c]} is null)"
        (time_preds if t == "TIMESTAMP" else dec_preds).append(pred)
        details.append(f"case when {pred} then '{c} = ' || {txt(c)} end")
    precision_preds: list[str] = []
    for c, t in FOCUS_COLUMNS.items():
        scale = type_scale(t)
        if scale is None or c not in by_name or by_name[c] in floats:
            continue
        pred = excess_scale(txt(c), scale)
        precision_preds.append(pred)
        details.append(
            f"case when {pred} then '{c} ' || {txt(c)} || ' has more than {scale} decimal "
            "places; refused rather than rounded' end"
        )
    currency_preds: list[str] = []
    for c in CURRENCY_COLUMNS:
        if c in by_name:
            pred = sql_invalid_currency(txt(c))
            currency_preds.append(pred)
            details.append(f"case when {pred} then '{c} is not an ISO 4217 code: ' || {txt(c)} end")
    bad_precision = " or ".join(precision_preds) or "false"
    bad_currency = " or ".join(currency_preds) or "false"
    bad_time = " or ".join(time_preds) or "false"
    bad_dec = " or ".join(dec_preds) or "false"
    bad_detail = "concat_ws('; ', " + (", ".join(details) or "null") + ")"
    missing_detail = (
        "'required value missing: ' || concat_ws(', ', "
        + ", ".join(
            f"case when nullif(trim({txt(c)}), '') is null then '{c}' end" for c in REQUIRED
        )
        + ")"
    )
    extra_pack = ", ".join(f"{ident(e.strip())} := {ident(e)}" for e in extras)
    extra = f"to_json(struct_pack({extra_pack}))" if extras else "null::json"
    pack = ", ".join(f"{ident(n.strip().lstrip(chr(0xFEFF)))} := {ident(n)}" for n in names)
    typed_cols = ",\n    ".join(f"{typed[c]} as {ident(c)}" for c in FOCUS_COLUMNS)
    con.execute(f"drop table if exists {STAGED}")
    con.execute(f"""
create temp table {STAGED} as
with checked as (
    select *,
        case
            when {missing} then 'missing_required'
            when {bad_time} then 'invalid_time'
            when {bad_dec} then 'invalid_decimal'
            when {bad_precision} then 'excess_precision'
            when {bad_currency} then 'invalid_currency'
        end as reason_code
    from {_TEXT}
)
select
    __row as row_number, reason_code,
    case when reason_code = 'missing_required' then {missing_detail}
         else {bad_detail} end as reason_detail,
    to_json(struct_pack({pack}))::varchar as raw_record,
    {lit(version)} as focus_version,
    {typed_cols},
    {extra} as extra_columns
from checked
""")
    con.execute(f"drop table if exists {_TEXT}")
    columns = ["focus_version", *FOCUS_COLUMNS, "extra_columns"]
    counts = finish(con, STAGED, "focus_costs", columns, batch_id, f, "focus")
    if f.file_format == "csv":
        counts = finish_csv_rejects(con, f, batch_id, "focus", counts)
    return "focus_costs", counts, 0
