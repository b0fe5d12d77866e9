"""One definition of the typed usage fields: ``orchestration/warehouse.py``
(``USAGE_DIMENSION_FIELDS`` / ``USAGE_QUANTITY_FIELDS``: the columns of ``raw.usage_events``).
The dbt side repeats the names where Jinja needs them (``macros/billing/usage_fields.sql``) and
where they are documented (``stg_usage__events`` in ``_usage__models.yml``); this test fails when
one of them drifts from the definition."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import duckdb
import yaml

from orchestration.config import DBT_PROJECT_DIR
from orchestration.warehouse import USAGE_DIMENSION_FIELDS, USAGE_QUANTITY_FIELDS, ensure_schema

MACROS = DBT_PROJECT_DIR / "macros" / "billing" / "usage_fields.sql"
STAGING_DOCS = DBT_PROJECT_DIR / "models" / "staging" / "usage" / "_usage__models.yml"
STAGING_SQL = DBT_PROJECT_DIR / "models" / "staging" / "usage" / "stg_usage__events.sql"
# derived in stg_usage__events (input - cached - cache writes), not a field of the raw event
DERIVED_QUANTITIES = ["uncached_input_tokens"]


def macro_list(name: str) -> list[str]:
    text = MACROS.read_text(encoding="utf-8")
    m = re.search(r"macro " + name + r"\(\)\s*-?%}\s*{{\s*return\((\[.*?\])\)\s*}}", text, re.S)
    assert m, f"{name} not found in {MACROS}"
    return list(ast.literal_eval(m.group(1)))


def text_dimensions() -> list[str]:
    return [k for k, typ in USAGE_DIMENSION_FIELDS.items() if typ == "VARCHAR"]


def test_dbt_macros_list_the_warehouse_fields() -> None:
    # the text dimensions a meter may group on / filter by; latency_ms is a number, not one
    assert macro_list("usage_dimension_fields") == text_dimensions()
    assert [f for f in macro_list("usage_quantity_fields") if f not in DERIVED_QUANTITIES] == list(
        USAGE_QUANTITY_FIELDS
    )
    assert set(DERIVED_QUANTITIES) <= set(macro_list("usage_quantity_fields"))


def test_raw_table_has_exactly_the_defined_fields(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        ensure_schema(con)
        rows = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'usage_events'"
        ).fetchall()
    finally:
        con.close()
    types = dict(rows)
    for name, typ in {**USAGE_DIMENSION_FIELDS, **USAGE_QUANTITY_FIELDS}.items():
        assert types.get(name) == typ, name


def test_staging_model_selects_and_documents_every_field() -> None:
    docs = yaml.safe_load(STAGING_DOCS.read_text(encoding="utf-8"))
    model = next(m for m in docs["models"] if m["name"] == "stg_usage__events")
    documented = [c["name"] for c in model["columns"]]
    sql = STAGING_SQL.read_text(encoding="utf-8")
    for name in [*USAGE_DIMENSION_FIELDS, *USAGE_QUANTITY_FIELDS, *DERIVED_QUANTITIES]:
        assert name in documented, f"{name} not documented in {STAGING_DOCS.name}"
        assert re.search(rf"\b{name}\b", sql), f"{name} not selected by {STAGING_SQL.name}"
