"""The project's generic dbt tests for composite keys (``dbt_project/tests/generic``), rendered
with plain Jinja and run on DuckDB: they return exactly the offending rows."""

from __future__ import annotations

import re

import duckdb
import jinja2

from orchestration.config import REPO_ROOT

GENERIC = REPO_ROOT / "dbt_project" / "tests" / "generic"


def _render(name: str, model: str, columns: list[str]) -> str:
    src = (GENERIC / f"{name}.sql").read_text(encoding="utf-8")
    # a `{% test %}` block is a macro named after the test
    src = re.sub(r"{%\s*test\s+", "{% macro ", src)
    src = re.sub(r"{%\s*endtest\s*%}", "{% endmacro %}", src)
    tpl = jinja2.Environment().from_string(src + "{{ " + name + "(model, columns) }}")
    return tpl.render(model=model, columns=columns)


def _con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        """
        create table t as select * from (values
            ('a', 'b|c', 1),   -- as a concatenated key these two rows collide: 'a|b|c'
            ('a|b', 'c', 1),
            ('x', 'y', 2),     -- a real duplicate of (k1, k2)
            ('x', 'y', 3),
            (null, 'y', 4),    -- rows with a NULL part are not keys for unique_key
            (null, 'y', 5)
        ) v(k1, k2, n)
        """
    )
    return con


def test_unique_key_reports_real_duplicates_only() -> None:
    con = _con()
    rows = con.execute(_render("unique_key", "t", ["k1", "k2"]) + " order by 1").fetchall()
    assert rows == [("x", "y", 2)]
    # one column alone
    assert con.execute(_render("unique_key", "t", ["n"])).fetchall() == [(1, 2)]


def test_not_null_key_reports_rows_with_a_null_part() -> None:
    con = _con()
    rows = con.execute(_render("not_null_key", "t", ["k1", "k2"])).fetchall()
    assert rows == [(None, "y"), (None, "y")]
    assert con.execute(_render("not_null_key", "t", ["k2", "n"])).fetchall() == []
