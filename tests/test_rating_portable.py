"""Portable SQL (ARCHITECTURE.md): the rating models use dbt's cross-database macros and the
dispatched macros of macros/portable.sql; DuckDB-only functions appear only in duckdb__ macros.
`qualify`, `any_value`, `with recursive` and `nulls last` stay in models (Snowflake, Databricks
and BigQuery support them)."""

from __future__ import annotations

import re

from orchestration.config import DBT_PROJECT_DIR

RATING_MODEL_DIRS = (
    "models/staging/usage",
    "models/staging/reference",
    "models/intermediate/billing",
    "models/marts/billing",
    "tests/billing",
    "analyses",
)

DUCKDB_ONLY = re.compile(
    r"(?<![.\w])(list_distinct|list_transform|flatten|arg_max|arg_min|struct_pack|json_keys|from_json|"
    r"json_extract_string|json_extract|string_agg|range|generate_series|datediff|"
    r"unnest|array_to_string|map_from_entries|to_json|hugeint)\s*\(|\bby\s+name\b|"
    r"\bgroup\s+by\s+all\b|\binterval\s+1\s+month\b|::",
    re.IGNORECASE,
)


def test_rating_models_have_no_duckdb_only_sql() -> None:
    found = []
    for d in RATING_MODEL_DIRS:
        for path in sorted((DBT_PROJECT_DIR / d).rglob("*.sql")):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("--", 1)[0]
                if DUCKDB_ONLY.search(code):
                    found.append(f"{path.relative_to(DBT_PROJECT_DIR)}:{n}: {line.strip()}")
    assert found == []


def test_every_portable_macro_has_a_duckdb_implementation() -> None:
    """Every dispatched macro has a default__; where the default only stops with an error (no
    portable form), a duckdb__ implementation exists."""
    text = (DBT_PROJECT_DIR / "macros" / "portable.sql").read_text()
    bodies = {
        m.group(1): m.group(2)
        for m in re.finditer(r"{% macro (\w+)\(.*?%}(.*?){%- endmacro %}", text, re.DOTALL)
    }
    dispatched = set(re.findall(r"adapter\.dispatch\('(\w+)'", text))
    assert len(dispatched) >= 10
    for name in dispatched:
        assert f"default__{name}" in bodies, name
        if "raise_compiler_error" in bodies[f"default__{name}"]:
            assert f"duckdb__{name}" in bodies, name


def test_scenario_mode_sql_is_portable_and_keys_the_tables_the_lab_writes() -> None:
    """Scenario mode (the pricing lab's re-rating) runs on Spark too: its macro says `* exclude`
    through star_except, and the scenario-keyed tables the Spark engine registers are the ones
    orchestration/scenarios.py writes."""
    from orchestration.scenarios import REFERENCE_TABLES, scenario_variables

    text = (DBT_PROJECT_DIR / "macros" / "scenario_sources.sql").read_text()
    code = re.sub(r"{#.*?#}", "", text, flags=re.DOTALL)
    assert not re.search(r"\*\s*exclude", code, re.IGNORECASE)
    assert not DUCKDB_ONLY.search(code)
    lake = (DBT_PROJECT_DIR / "macros" / "lake_sources.sql").read_text()
    assert "var('scenario_tables', [])" in lake
    assert scenario_variables(["fct_invoices"])["scenario_tables"] == list(REFERENCE_TABLES)


def test_no_string_aggregation_whose_order_an_engine_drops() -> None:
    """dbt's cross-database listagg ignores its ORDER BY on Spark (dbt-spark logs 'order_by_clause
    is not supported'): a text aggregated with it (tier texts, dimension lists, the blocked
    reason) could come out in another order there. Ordered texts use ordered_string_agg."""
    found = []
    for sub in ("models", "macros", "tests", "analyses"):
        for path in sorted((DBT_PROJECT_DIR / sub).rglob("*.sql")):
            if re.search(r"dbt\.listagg\s*\(", path.read_text()):
                found.append(str(path.relative_to(DBT_PROJECT_DIR)))
    assert found == []
