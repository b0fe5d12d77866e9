"""Every macro of the dbt project is documented (issue 16: "macros are small helpers, documented
in ``macros/*.yml``"), read from the parsed manifest (``dbt_project/target/manifest.json``, parsed
once per session by the ``dbt_manifest`` fixture of conftest.py):

- a macro of the project (package = the ``name`` of dbt_project.yml) has a description, except an
  engine implementation (``duckdb__x``, ``spark__x``, ``default__x``), which is documented by its
  entry macro ``x``: that entry must exist, be documented and name the engine in its description;
- a documented argument is one the macro takes (its ``{% macro name(...) %}`` header in
  ``macro_sql``), with a type dbt accepts and a description, and a documented macro documents
  every argument it takes, so the docs cannot drift from the signatures.

Generic tests are macros too (``test_<name>``, documented in tests/generic/_generic__tests.yml).
The checks are plain functions over the manifest's ``macros``; the ``*_can_fail`` cases run them on
hand-made manifests to show that each one reports what it should."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from dbt.parser.schemas import is_valid_type

from orchestration.config import DBT_PROJECT_DIR

# engine implementation prefix -> the word its entry macro's description must contain
ENGINE_PREFIXES = {"duckdb__": "duckdb", "spark__": "spark", "default__": "default"}
HEADER = re.compile(r"\{%-?\s*(?:macro|test|materialization)\s+(\w+)\s*\((.*?)\)\s*-?%\}", re.S)

Macros = dict[str, dict[str, Any]]


def project_name() -> str:
    doc = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return str(doc["name"])


def project_macros(manifest: dict[str, Any], package: str) -> Macros:
    return {m["name"]: m for m in manifest["macros"].values() if m["package_name"] == package}


def signature(macro_sql: str) -> list[str]:
    """The argument names of the first macro/test header of ``macro_sql``, in order. A Jinja
    signature (``a, b=none, c=['x', 'y']``) is valid Python syntax for a parameter list."""
    m = HEADER.search(macro_sql)
    assert m, f"no macro header in {macro_sql[:80]!r}"
    fn = ast.parse(f"def _({m.group(2)}):\n    pass").body[0]
    assert isinstance(fn, ast.FunctionDef)
    return [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs]


def engine_prefix(name: str) -> str | None:
    return next((p for p in ENGINE_PREFIXES if name.startswith(p)), None)


def documented(macro: dict[str, Any]) -> bool:
    return bool((macro.get("description") or "").strip())


def undocumented(macros: Macros) -> list[str]:
    """One line per macro without docs: a plain macro with no description; an engine
    implementation whose entry macro is missing, undocumented or does not name the engine."""
    problems = []
    for name, macro in sorted(macros.items()):
        prefix = engine_prefix(name)
        if prefix is None:
            if not documented(macro):
                problems.append(f"{name} ({macro['original_file_path']}): no description")
            continue
        if documented(macro):
            continue
        entry_name = name[len(prefix) :]
        entry = macros.get(entry_name)
        word = ENGINE_PREFIXES[prefix]
        if entry is None:
            problems.append(
                f"{name} ({macro['original_file_path']}): no description and no entry macro "
                f"{entry_name} to document it"
            )
        elif not documented(entry):
            problems.append(f"{name}: its entry macro {entry_name} has no description")
        elif not re.search(rf"\b{word}\b", entry["description"], re.I):
            problems.append(
                f"{name}: the description of {entry_name} does not name the {word} implementation"
            )
    return problems


def argument_drift(macros: Macros) -> list[str]:
    """One line per documented argument the macro does not take, argument without a valid type
    or a description, and argument a documented macro takes but does not document."""
    problems = []
    for name, macro in sorted(macros.items()):
        takes = signature(macro["macro_sql"])
        docs = macro.get("arguments") or []
        names = [a["name"] for a in docs]
        for arg in docs:
            where = f"{name} argument {arg['name']!r}"
            if arg["name"] not in takes:
                problems.append(f"{where}: documented, but {name} takes {takes}")
            if not is_valid_type(arg.get("type") or ""):
                problems.append(f"{where}: type {arg.get('type')!r} is not a dbt macro type")
            if not (arg.get("description") or "").strip():
                problems.append(f"{where}: no description")
        if documented(macro):
            problems += [
                f"{name} argument {a!r}: taken by the macro, not documented"
                for a in takes
                if a not in names
            ]
        if len(set(names)) != len(names):
            problems.append(f"{name}: an argument is documented twice: {names}")
    return problems


# ---------------------------------------------------------------- the project


@pytest.fixture(scope="module")
def macros(dbt_manifest: Path) -> Macros:
    manifest = json.loads(dbt_manifest.read_text(encoding="utf-8"))
    assert manifest["metadata"]["project_name"] == project_name() == "meterline"
    found = project_macros(manifest, project_name())
    # the project's own macros are there (not an empty or foreign manifest)
    assert {"round_money", "text_type", "duckdb__safe_divide", "test_unique_key"} <= set(found)
    return found


def test_every_macro_is_documented(macros: Macros) -> None:
    problems = undocumented(macros)
    assert not problems, "macros without docs (add them to a _*__macros.yml):\n" + "\n".join(
        problems
    )


def test_documented_arguments_match_the_signatures(macros: Macros) -> None:
    problems = argument_drift(macros)
    assert not problems, "macro arguments drifted from the docs:\n" + "\n".join(problems)


def test_engine_implementations_are_left_to_their_entry(macros: Macros) -> None:
    # the yml documents the entry macro only: no engine implementation has an entry of its own
    engine = sorted(n for n in macros if engine_prefix(n))
    assert len(engine) > 100
    assert [n for n in engine if documented(macros[n])] == []
    assert "DuckDB" in macros["safe_divide"]["description"]
    assert "Spark" in macros["text_type"]["description"]


# ---------------------------------------------------------------- the checks can fail


def fake(name: str, header: str, description: str = "", arguments: Any = None) -> dict[str, Any]:
    return {
        "name": name,
        "original_file_path": "macros/x.sql",
        "macro_sql": header + "\n    select 1\n{%- endmacro %}",
        "description": description,
        "arguments": arguments or [],
    }


def arg(name: str, type_: str = "string", description: str = "an argument") -> dict[str, str]:
    return {"name": name, "type": type_, "description": description}


def test_signature_reads_jinja_headers() -> None:
    header = "{% macro m(\n    relation, cols=['a', 'b'], scale=2, flag=none, s='x'\n) -%}"
    assert signature(header + " x {%- endmacro %}") == ["relation", "cols", "scale", "flag", "s"]
    assert signature("{% test unique_key(model, columns) %} x {% endtest %}") == [
        "model",
        "columns",
    ]
    assert signature("{%- macro text_type() -%}varchar{%- endmacro %}") == []


def test_undocumented_can_fail() -> None:
    macros = {
        "plain": fake("plain", "{% macro plain(a) %}"),
        "good": fake("good", "{% macro good() %}", "Fine. DuckDB: x; Spark: y."),
        "duckdb__good": fake("duckdb__good", "{% macro duckdb__good() %}"),
        "spark__good": fake("spark__good", "{% macro spark__good() %}"),
        "default__good": fake("default__good", "{% macro default__good() %}"),
        "quiet": fake("quiet", "{% macro quiet() %}"),
        "spark__quiet": fake("spark__quiet", "{% macro spark__quiet() %}"),
        "spark__orphan": fake("spark__orphan", "{% macro spark__orphan() %}"),
        "spark__alone": fake("spark__alone", "{% macro spark__alone() %}", "Spark only: z."),
    }
    problems = undocumented(macros)
    assert problems == [
        "default__good: the description of good does not name the default implementation",
        "plain (macros/x.sql): no description",
        "quiet (macros/x.sql): no description",
        "spark__orphan (macros/x.sql): no description and no entry macro orphan to document it",
        "spark__quiet: its entry macro quiet has no description",
    ]


def test_argument_drift_can_fail() -> None:
    macros = {
        "ok": fake("ok", "{% macro ok(a, b=none) %}", "Fine.", [arg("a"), arg("b", "bool")]),
        "renamed": fake("renamed", "{% macro renamed(expr) %}", "Doc.", [arg("value")]),
        "typo": fake("typo", "{% macro typo(a) %}", "Doc.", [arg("a", "strnig")]),
        "bare": fake("bare", "{% macro bare(a) %}", "Doc.", [arg("a", description=" ")]),
        "twice": fake("twice", "{% macro twice(a) %}", "Doc.", [arg("a"), arg("a")]),
        # undocumented engine implementations take arguments without docs: not drift
        "duckdb__ok": fake("duckdb__ok", "{% macro duckdb__ok(a, b=none) %}"),
    }
    assert argument_drift(macros) == [
        "bare argument 'a': no description",
        "renamed argument 'value': documented, but renamed takes ['expr']",
        "renamed argument 'expr': taken by the macro, not documented",
        "twice: an argument is documented twice: ['a', 'a']",
        "typo argument 'a': type 'strnig' is not a dbt macro type",
    ]
