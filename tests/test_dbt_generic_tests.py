"""The project's generic dbt tests for keys (``dbt_project/tests/generic``), rendered with plain
Jinja and run on DuckDB: they return exactly the offending rows."""

from __future__ import annotations

import re

import duckdb
import jinja2

from orchestration.config import REPO_ROOT

GENERIC = REPO_ROOT / "dbt_project" / "tests" / "generic"


def _render(name: str, model: str, columns: list[str] | str, arg: str = "columns") -> str:
    """The test's SQL; ``columns``: a key's column list, or the column of a column's test;
    ``arg``: the argument it is passed as (``column_name`` for a column's test)."""
    src = (GENERIC / f"{name}.sql").read_text(encoding="utf-8")
    # a `{% test %}` block is a macro named after the test
    src = re.sub(r"{%\s*test\s+", "{% macro ", src)
    src = re.sub(r"{%\s*endtest\s*%}", "{% endmacro %}", src)
    tpl = jinja2.Environment().from_string(src + "{{ " + name + "(model, " + arg + "=columns) }}")
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


def test_primary_key_reports_nulls_and_repeated_values() -> None:
    con = _con()
    # k1: 'x' twice, NULL twice; the other values once
    rows = con.execute(
        _render("primary_key", "t", "k1", "column_name") + " order by 1 nulls first"
    ).fetchall()
    assert rows == [(None, 2), ("x", 2)]
    # one NULL is enough; a column without either passes
    con.execute("insert into t values ('z', null, 6)")
    k2 = con.execute(
        _render("primary_key", "t", "k2", "column_name") + " order by 1 nulls first"
    ).fetchall()
    assert k2 == [(None, 1), ("y", 4)]
    assert con.execute(
        _render("primary_key", "t", "n", "column_name") + " order by 1"
    ).fetchall() == [(1, 2)]
    con.execute("delete from t where n in (1, 2, 3, 4, 5)")
    con.execute("insert into t values ('p', 'q', 7)")
    assert con.execute(_render("primary_key", "t", "n", "column_name")).fetchall() == []


def test_a_composite_primary_key_reports_keys_with_a_null_part_and_repeated_keys() -> None:
    con = _con()
    rows = con.execute(_render("primary_key", "t", ["k1", "k2"]) + " order by 1 nulls first")
    # the concatenation collision ('a|b|c') is two keys; (x, y) is repeated; (NULL, y) has a
    # NULL part (both of its rows, grouped)
    assert rows.fetchall() == [(None, "y", 2), ("x", "y", 2)]
    # a NULL in the second part alone is found too
    con.execute("insert into t values ('m', null, 8)")
    rows = con.execute(_render("primary_key", "t", ["k1", "k2"]) + " order by 1 nulls first")
    assert rows.fetchall() == [(None, "y", 2), ("m", None, 1), ("x", "y", 2)]
    assert con.execute(_render("primary_key", "t", ["k2", "n"])).fetchall() == [(None, 8, 1)]
    con.execute("delete from t where k2 is null or k1 is null or n = 3")
    assert con.execute(_render("primary_key", "t", ["k1", "k2"])).fetchall() == []
