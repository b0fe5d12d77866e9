"""The entitlements export the API gateway polls, written from ``marts.fct_entitlements`` on every
``meterline run`` (Dagster asset ``exports/entitlements``):

- ``exports/entitlements/current.json``: one object per customer, its worst state
  (``limited`` > ``warning`` > ``ok``), ``limited_since``, budget and spend, and its meters;
- ``exports/entitlements/current.csv``: the mart's rows (customer × meter), same columns.

Quantities and money are JSON strings (decimal, never floats: ``"1500.00"``, ``"100000"``); no
wall clock anywhere, so the same warehouse gives the same bytes. Each file is written to a temp
file beside it (fsync) and moved in with ``os.replace``, so a poller never reads half a file; an
unchanged file is not rewritten.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from orchestration.config import Settings
from orchestration.exports import render_csv
from orchestration.money import money, plain_decimal
from orchestration.warehouse import connect

COLUMNS: tuple[str, ...] = (
    "customer_id",
    "meter_code",
    "unit",
    "as_of_date",
    "period",
    "plan_code",
    "plan_version",
    "included_units",
    "used_units",
    "remaining_units",
    "currency",
    "monthly_budget",
    "hard_limit",
    "spend_to_date",
    "state",
    "state_reason",
    "limited_since",
)
TEXT_COLUMNS = frozenset(
    {"customer_id", "meter_code", "unit", "period", "plan_code", "currency", "state_reason"}
)
MONEY = frozenset({"monthly_budget", "spend_to_date"})
SEVERITY = {"ok": 0, "warning": 1, "limited": 2}
SCHEMA = "meterline.entitlements/1"


def entitlement_rows(s: Settings) -> list[dict[str, Any]]:
    """The mart's rows in (customer, meter) order; [] before the mart is built."""
    with connect(s.warehouse, read_only=True) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'marts' and table_name = 'fct_entitlements'"
        ).fetchone()
        if not exists or not exists[0]:
            return []
        cur = con.execute(
            f"select {', '.join(COLUMNS)} from marts.fct_entitlements "
            "order by customer_id, meter_code"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _json_value(column: str, value: Any) -> Any:
    if value is None:
        return None
    if column in MONEY:
        return money(Decimal(value))
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, bool | int | str):
        return value
    return str(value)  # dates


def render_json(rows: list[dict[str, Any]]) -> bytes:
    customers: dict[str, dict[str, Any]] = {}
    for r in rows:
        c = customers.get(r["customer_id"])
        if c is None:
            c = customers[r["customer_id"]] = {
                "customer_id": r["customer_id"],
                "state": "ok",
                "limited_since": _json_value("limited_since", r["limited_since"]),
                "as_of_date": _json_value("as_of_date", r["as_of_date"]),
                "period": r["period"],
                "plan_code": r["plan_code"],
                "plan_version": r["plan_version"],
                "currency": r["currency"],
                "monthly_budget": _json_value("monthly_budget", r["monthly_budget"]),
                "hard_limit": r["hard_limit"],
                "spend_to_date": _json_value("spend_to_date", r["spend_to_date"]),
                "meters": [],
            }
        if SEVERITY[r["state"]] > SEVERITY[c["state"]]:
            c["state"] = r["state"]
        c["meters"].append(
            {
                k: _json_value(k, r[k])
                for k in (
                    "meter_code",
                    "unit",
                    "included_units",
                    "used_units",
                    "remaining_units",
                    "state",
                    "state_reason",
                )
            }
        )
    doc = {"schema": SCHEMA, "customers": list(customers.values())}
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def render_entitlements_csv(rows: list[dict[str, Any]]) -> bytes:
    def cell(column: str, value: Any) -> Any:
        if column in MONEY and value is not None:
            return money(Decimal(value))
        if isinstance(value, bool):
            return "true" if value else "false"
        return value

    return render_csv(COLUMNS, [[cell(c, r[c]) for c in COLUMNS] for r in rows], TEXT_COLUMNS)


def _replace_if_changed(path: Path, data: bytes) -> bool:
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return True


def export_dir(s: Settings) -> Path:
    return s.exports_dir / "entitlements"


def write_entitlements_export(s: Settings) -> dict[str, Any]:
    """Write current.json and current.csv; return counts for the asset's metadata."""
    rows = entitlement_rows(s)
    out = export_dir(s)
    written = [
        name
        for name, data in (
            ("current.json", render_json(rows)),
            ("current.csv", render_entitlements_csv(rows)),
        )
        if _replace_if_changed(out / name, data)
    ]
    states: dict[str, int] = {}
    worst: dict[str, str] = {}
    for r in rows:
        if SEVERITY[r["state"]] >= SEVERITY[worst.get(r["customer_id"], "ok")]:
            worst[r["customer_id"]] = r["state"]
    for state in worst.values():
        states[state] = states.get(state, 0) + 1
    return {
        "path": str(out),
        "rows": len(rows),
        "customers": len(worst),
        "limited": sorted(c for c, st in worst.items() if st == "limited"),
        "states": states,
        "files_written": written,
    }
