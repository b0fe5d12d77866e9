"""The dashboard's fixture marts (the columns its queries read) against the dbt models' YAML: a
column the dashboard reads must be a documented column of the real mart, so a renamed mart column
fails here before it turns a dashboard section into "not available"."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration.config import DBT_PROJECT_DIR
from tests.support.dashboard import ALL_MARTS, DERIVED_MARTS, write_contract_fixture

MARTS = (*ALL_MARTS, *DERIVED_MARTS)


def _documented() -> dict[str, set[str]]:
    models: dict[str, set[str]] = {}
    for path in (DBT_PROJECT_DIR / "models" / "marts").rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            models[model["name"]] = {c["name"] for c in model.get("columns", [])}
    return models


@pytest.fixture(scope="module")
def fixture_columns(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    path = write_contract_fixture(tmp_path_factory.mktemp("contract") / "w.duckdb")
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'marts'"
        ).fetchall()
    finally:
        con.close()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    return columns


@pytest.mark.parametrize("mart", MARTS)
def test_dashboard_reads_documented_columns(
    mart: str, fixture_columns: dict[str, set[str]]
) -> None:
    documented = _documented()
    if mart not in documented:
        pytest.skip(f"{mart} is not in the dbt project yet (the dashboard says 'not available')")
    assert fixture_columns[mart] <= documented[mart], sorted(
        fixture_columns[mart] - documented[mart]
    )


def test_every_fixture_mart_is_listed(fixture_columns: dict[str, set[str]]) -> None:
    assert set(fixture_columns) == set(MARTS)
    assert Path(DBT_PROJECT_DIR / "models" / "marts").is_dir()
