"""Pricing lab (issue 20): backtest a price change on real history.

A scenario is reference data, ``reference/scenarios/<scenario>.yml``::

    name: Flagship output price -20%          # display name (default: the file name)
    description: what the scenario asks
    periods: {from: 2026-09, to: 2026-10}      # the past billing months it re-rates
    plans: [plans/pro_v2_flagship_cut.yml]     # plan versions (reference/plans/*.yml format),
                                               # relative to reference/scenarios/; a version
                                               # with the code and number of a current one
                                               # replaces it, any other is added
    customers: all                             # all | {segment: self_serve} | {ids: [cus_a]}
    move_to_plan: growth                       # optional: the customers' subscriptions move
    cost_changes:                              # optional provider cost changes (COGS)
      - {provider: openai, model: "gpt-4o*", component: input, change_pct: -50,
         from: 2026-10-01}

Re-rating uses the SAME dbt models as the real invoices: the loader writes the scenario-keyed
reference tables ``raw.scenario_<plans|plan_charges|plan_prices|plan_price_tiers|subscriptions>``
(the current reference, plus for each scenario the current reference with its changes applied,
scenario ``current`` being the unchanged baseline); each scenario is then one build of the
billing chain in scenario mode (``macros/scenario_sources.sql``) in the working schema
``scenario_work``; its invoices, lines and margin rows are copied into ``scenarios.*`` keyed by
scenario, and the working schema is dropped. On DuckDB dbt compiles the chain once per run
(``compile_chain``: the scenario is a row of ``raw.scenario_active``, not part of the SQL) and each
re-rating executes the compiled models in one transaction; on Spark each re-rating is a
``dbt run``. The marts ``fct_scenario_*`` compare each scenario
with the baseline. Issued invoices, the ledger and the real marts are never written.

A scenario (or the baseline) is re-rated only when what its re-rating reads changed: its kept
rows carry the fingerprint of its inputs (``scenarios.rerated``): the content of every relation
the chain reads from outside itself (``chain_inputs``: the tables under the views, the usage,
the reference, the ledger), its own rows of the scenario-keyed reference, its periods, the dbt
project and the code (``run_state.code_fingerprint``). Same fingerprint, same rows (the models
are deterministic): the kept rows stand and the dbt run is skipped.

How a scenario's changes are applied (rows of reference size; usage is never read in Python):

- every plan code a scenario's files name gets a shadow code ``<code>@<scenario>`` holding the
  current versions of that code with the scenario's versions replacing or added to them;
- the in-scope customers' subscriptions are split at the scenario's first and last period
  boundaries; the part inside moves to the shadow code (or to ``move_to_plan``), the rest is
  unchanged, and every part keeps its subscription id (so line keys match the baseline's; the
  marts compare fee lines with the ``@<scenario>`` suffix removed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import graphlib
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import yaml

from orchestration.build_plan import relation_hash, scenario_nodes
from orchestration.config import Settings
from orchestration.dbt_runner import DbtError, DbtProcess, dbt_into
from orchestration.ingest.reference_yaml import YamlRows, parse_plan
from orchestration.ingest.results import ReferenceDataError
from orchestration.money import money_places
from orchestration.warehouse import SCENARIO_DDL

BASELINE = "current"
WORK_SCHEMA = "scenario_work"
PLAN_TABLES = ("plans", "plan_charges", "plan_prices", "plan_price_tiers")
REFERENCE_TABLES = (*PLAN_TABLES, "subscriptions")
COMPONENTS = (
    "input",
    "cached_input",
    "cache_write",
    "output",
    "image",
    "audio_second",
    "character",
    "gpu_second",
    "all",
)
# the models a scenario changes (their sources), and the marts whose rows a scenario keeps
CHAIN_ROOTS = (
    "stg_reference__plans",
    "stg_reference__plan_charges",
    "stg_reference__plan_prices",
    "stg_reference__plan_price_conditions",
    "stg_reference__plan_price_tiers",
    "stg_reference__subscriptions",
    "stg_ledger__issued_invoices",
    "stg_ledger__issued_invoice_lines",
)
CHAIN_TARGETS = ("fct_invoices", "fct_invoice_lines", "fct_customer_margin_breakdown")
MART_SELECTOR = "tag:scenarios"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_KEYS = {"name", "description", "periods", "plans", "customers", "move_to_plan", "cost_changes"}


def on_duckdb(s: Settings) -> Settings:
    """The same settings on the DuckDB warehouse: the pricing lab's DuckDB-side dbt runs (the
    staging views over its copies of the Spark results)."""
    return dataclasses.replace(s, engine="duckdb")


def _executemany(con: duckdb.DuckDBPyConnection, sql: str, rows: list[Any]) -> None:
    if rows:
        con.executemany(sql, rows)


def ensure_scenario_schema(con: duckdb.DuckDBPyConnection) -> None:
    """The tables the scenario marts read (empty until scenarios run). Idempotent."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for stmt in SCENARIO_DDL:
        con.execute(stmt)


@dataclass(frozen=True)
class CostChange:
    provider: str
    model: str
    component: str
    change_pct: Decimal
    effective_from: str | None
    effective_to: str | None


@dataclass
class Scenario:
    scenario: str
    name: str
    description: str
    file_path: str
    period_from: str
    period_to: str
    scope: str  # all | segment:<s> | ids:<a,b>
    segment: str | None = None
    customer_ids: tuple[str, ...] = ()
    move_to_plan: str | None = None
    plan_files: tuple[str, ...] = ()
    plan_rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    cost_changes: tuple[CostChange, ...] = ()

    @property
    def range_start(self) -> str:
        return f"{self.period_from}-01"

    @property
    def range_end(self) -> str:
        y, m = (int(x) for x in self.period_to.split("-"))
        return dt.date(y + m // 12, m % 12 + 1, 1).isoformat()

    def periods(self) -> list[str]:
        y, m = (int(x) for x in self.period_from.split("-"))
        out = []
        while f"{y:04d}-{m:02d}" <= self.period_to:
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out


# --- loading and validation -----------------------------------------------------------------


def scenario_files(s: Settings) -> list[Path]:
    root = s.reference_dir / "scenarios"
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_file() and p.suffix in (".yml", ".yaml"))


def _rel(s: Settings, p: Path) -> str:
    try:
        return p.resolve().relative_to(s.data_dir.resolve()).as_posix()
    except ValueError:
        return p.as_posix()


def _month(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text if _MONTH_RE.match(text) else None


def _date(value: Any) -> str | None:
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        return None


def _reference_state(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    def col(sql: str) -> set[str]:
        return {str(r[0]) for r in con.execute(sql).fetchall() if r[0] is not None}

    return {
        "plans": col("select distinct trim(plan_code) from raw.plans"),
        "meters": col("select distinct meter_code from raw.meters"),
        "customers": col("select distinct trim(customer_id) from raw.customers"),
        "segments": col("select distinct trim(segment) from raw.customers where segment <> ''"),
    }


def load_scenarios(s: Settings, con: duckdb.DuckDBPyConnection) -> list[Scenario]:
    """Every scenario file, validated against the loaded reference data. Any problem raises
    ReferenceDataError naming the file, the key and the problem (all problems at once)."""
    state = _reference_state(con)
    problems: list[str] = []
    out: list[Scenario] = []
    for path in scenario_files(s):
        rel = _rel(s, path)
        before = len(problems)

        def bad(key: str, problem: str, file: str = rel) -> None:
            problems.append(f"{file}: {key}: {problem}")

        stem = path.stem
        if not _NAME_RE.match(stem) or stem == BASELINE:
            bad(
                "file",
                f"scenario name {stem!r} must be lower-case letters, digits and _ "
                f"(and not {BASELINE!r})",
            )
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            bad("file", f"cannot be parsed as YAML: {str(exc).splitlines()[0]}")
            continue
        if not isinstance(doc, dict):
            bad("(document)", "a scenario must be a mapping")
            continue
        for key in sorted(set(doc) - _KEYS):
            bad(str(key), f"unknown key (expected one of {', '.join(sorted(_KEYS))})")
        periods = doc.get("periods")
        p_from = p_to = None
        if not isinstance(periods, dict):
            bad("periods", "a mapping {from: YYYY-MM, to: YYYY-MM} is required")
        else:
            p_from, p_to = _month(periods.get("from")), _month(periods.get("to"))
            if p_from is None:
                bad("periods.from", f"{periods.get('from')!r} is not a month (YYYY-MM)")
            if p_to is None:
                bad("periods.to", f"{periods.get('to')!r} is not a month (YYYY-MM)")
            if p_from and p_to and p_to < p_from:
                bad("periods", f"'to' {p_to} is before 'from' {p_from}")
        sc = Scenario(
            scenario=stem,
            name=str(doc.get("name") or stem),
            description=str(doc.get("description") or "").strip(),
            file_path=rel,
            period_from=p_from or "",
            period_to=p_to or "",
            scope="all",
        )
        customers = doc.get("customers", "all")
        if customers == "all":
            pass
        elif isinstance(customers, dict) and set(customers) == {"segment"}:
            seg = str(customers["segment"])
            if seg not in state["segments"]:
                bad("customers.segment", f"unknown segment {seg!r} (not in customers.csv)")
            sc.segment, sc.scope = seg, f"segment:{seg}"
        elif (
            isinstance(customers, dict)
            and set(customers) == {"ids"}
            and isinstance(customers["ids"], list)
            and customers["ids"]
        ):
            ids = tuple(str(c) for c in customers["ids"])
            for i, cid in enumerate(ids):
                if cid not in state["customers"]:
                    bad(f"customers.ids[{i}]", f"unknown customer {cid!r} (not in customers.csv)")
            sc.customer_ids, sc.scope = ids, "ids:" + ",".join(ids)
        else:
            bad("customers", "must be 'all', {segment: <segment>} or {ids: [<customer_id>, ...]}")
        plans = doc.get("plans") or []
        if not isinstance(plans, list):
            bad("plans", "must be a list of plan files (relative to reference/scenarios/)")
            plans = []
        seen: dict[tuple[str, int], str] = {}
        for i, name in enumerate(plans):
            plan_path = (path.parent / str(name)).resolve()
            if not plan_path.is_file():
                bad(f"plans[{i}]", f"plan file {name!r} not found under reference/scenarios/")
                continue
            plan_rel = _rel(s, plan_path)
            try:
                pdoc = yaml.safe_load(plan_path.read_text(encoding="utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                bad("file", f"cannot be parsed as YAML: {str(exc).splitlines()[0]}", plan_rel)
                continue
            parsed: YamlRows = parse_plan(pdoc, state["meters"])
            for where, problem in parsed.problems:
                bad(where, problem, plan_rel)
            for code, version, *_ in parsed.tables.get("plans", []):
                if code is not None and version is not None:
                    if (code, version) in seen:
                        bad(
                            f"plans[{i}]",
                            f"plan version {code} v{version} also in {seen[(code, version)]}",
                        )
                    seen[(code, version)] = plan_rel
            sc.plan_files += (plan_rel,)
            for table, rows in parsed.tables.items():
                sc.plan_rows.setdefault(table, []).extend(
                    (0, plan_rel, n, *row) for n, row in enumerate(rows, start=1)
                )
        move = doc.get("move_to_plan")
        if move is not None:
            move = str(move)
            if move not in state["plans"] and move not in {c for c, _ in seen}:
                bad(
                    "move_to_plan",
                    f"unknown plan {move!r} (not in reference/plans nor in this scenario's plans)",
                )
            sc.move_to_plan = move
        changes = doc.get("cost_changes") or []
        if not isinstance(changes, list):
            bad("cost_changes", "must be a list")
            changes = []
        parsed_changes = []
        for i, ch in enumerate(changes):
            key = f"cost_changes[{i}]"
            if not isinstance(ch, dict):
                bad(key, "a cost change must be a mapping")
                continue
            for k in sorted(
                set(ch) - {"provider", "model", "component", "change_pct", "from", "to"}
            ):
                bad(f"{key}.{k}", "unknown key")
            provider, model = ch.get("provider"), ch.get("model")
            if not provider:
                bad(f"{key}.provider", "a value is required")
            if not model:
                bad(f"{key}.model", "a value is required (a glob on the model, e.g. gpt-4o*)")
            component = str(ch.get("component", "all"))
            if component not in COMPONENTS:
                bad(f"{key}.component", f"{component!r} is not one of {', '.join(COMPONENTS)}")
            pct_raw = ch.get("change_pct")
            try:
                pct = Decimal(str(pct_raw).strip())
                if not pct.is_finite() or pct < -100:
                    raise ValueError
            except Exception:
                bad(f"{key}.change_pct", f"{pct_raw!r} is not a percentage >= -100")
                pct = Decimal(0)
            start = end = None
            if ch.get("from") is not None:
                start = _date(ch.get("from"))
                if start is None:
                    bad(f"{key}.from", f"{ch.get('from')!r} is not a date (YYYY-MM-DD)")
            if ch.get("to") is not None:
                end = _date(ch.get("to"))
                if end is None:
                    bad(f"{key}.to", f"{ch.get('to')!r} is not a date (YYYY-MM-DD)")
            parsed_changes.append(
                CostChange(str(provider or ""), str(model or ""), component, pct, start, end)
            )
        sc.cost_changes = tuple(parsed_changes)
        if len(problems) == before:
            out.append(sc)
    if problems:
        shown = problems[:25] + (
            [f"... and {len(problems) - 25} more"] if len(problems) > 25 else []
        )
        raise ReferenceDataError("invalid scenario:\n" + "\n".join(shown))
    return out


# --- the scenario-keyed reference tables -----------------------------------------------------


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cur = con.execute(f"select * from raw.{table} order by all")
    cols = [d[0] for d in cur.description]
    return cols, cur.fetchall()


def _shadow(code: str, scenario: str) -> str:
    return f"{code}@{scenario}"


def scenario_reference(
    con: duckdb.DuckDBPyConnection, sc: Scenario
) -> dict[str, list[tuple[Any, ...]]]:
    """The reference rows of plans and subscriptions as the scenario sees them."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    plan_rows = {t: _rows(con, t) for t in REFERENCE_TABLES}
    # positions: lineage (batch_id, file_path, row_number), then plan_code, plan_version, ...
    touched = {row[3] for row in sc.plan_rows.get("plans", [])}
    replaced = {(row[3], row[4]) for row in sc.plan_rows.get("plans", [])}
    for table in PLAN_TABLES:
        cols, rows = plan_rows[table]
        code_i, version_i = cols.index("plan_code"), cols.index("plan_version")
        kept = list(rows)
        for row in rows:
            code = str(row[code_i]).strip()
            if code in touched and (code, row[version_i]) not in replaced:
                kept.append((*row[:code_i], _shadow(code, sc.scenario), *row[code_i + 1 :]))
        for row in sc.plan_rows.get(table, []):
            kept.append((*row[:3], _shadow(row[3], sc.scenario), *row[4:]))
        out[table] = kept
    cols, rows = plan_rows["subscriptions"]
    ci, pi = cols.index("customer_id"), cols.index("plan_code")
    si, ei = cols.index("start_date"), cols.index("end_date")
    in_scope = set(scope_customers(con, sc))
    subs: list[tuple[Any, ...]] = []
    r0, r1 = sc.range_start, sc.range_end
    for row in rows:
        code = str(row[pi]).strip()
        target = sc.move_to_plan or code
        new_code = _shadow(target, sc.scenario) if target in touched else target
        if str(row[ci]).strip() not in in_scope or new_code == code:
            subs.append(row)
            continue
        start = str(row[si]).strip()
        end = (str(row[ei]).strip() if row[ei] is not None else "") or None
        pieces = [
            (start, min(end, r0) if end else r0, code),
            (max(start, r0), min(end, r1) if end else r1, new_code),
            (max(start, r1), end, code),
        ]
        for a, b, c in pieces:
            if b is None or a < b:
                piece = list(row)
                piece[si], piece[ei], piece[pi] = a, b, c
                subs.append(tuple(piece))
    out["subscriptions"] = subs
    return out


def scope_customers(con: duckdb.DuckDBPyConnection, sc: Scenario) -> list[str]:
    rows = con.execute(
        "select trim(customer_id), trim(segment) from raw.customers order by 1"
    ).fetchall()
    if sc.segment is not None:
        return [c for c, seg in rows if seg == sc.segment]
    if sc.customer_ids:
        return [c for c, _ in rows if c in set(sc.customer_ids)]
    return [c for c, _ in rows]


def write_scenario_reference(con: duckdb.DuckDBPyConnection, scenarios: list[Scenario]) -> None:
    """Replace every scenario-keyed table (one transaction): the baseline and each scenario."""
    ensure_scenario_schema(con)
    con.begin()
    try:
        for table in REFERENCE_TABLES:
            con.execute(
                f"create or replace table raw.scenario_{table} as "
                f"select cast(null as varchar) as scenario, * from raw.{table} limit 0"
            )
            con.execute(f"insert into raw.scenario_{table} select '{BASELINE}', * from raw.{table}")
        for sc in scenarios:
            for table, rows in scenario_reference(con, sc).items():
                if rows:
                    marks = ", ".join(["?"] * (len(rows[0]) + 1))
                    _executemany(
                        con,
                        f"insert into raw.scenario_{table} values ({marks})",
                        [[sc.scenario, *r] for r in rows],
                    )
        con.execute("create or replace table raw.scenario_active (scenario varchar)")
        for table in ("scenarios", "scenario_customers", "scenario_cost_changes"):
            con.execute(f"delete from raw.{table}")
        for sc in scenarios:
            con.execute(
                "insert into raw.scenarios values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    sc.scenario,
                    sc.name,
                    sc.description,
                    sc.file_path,
                    sc.period_from,
                    sc.period_to,
                    sc.scope,
                    sc.move_to_plan,
                    ", ".join(sc.plan_files),
                ],
            )
            _executemany(
                con,
                "insert into raw.scenario_customers values (?, ?)",
                [[sc.scenario, c] for c in scope_customers(con, sc)],
            )
            _executemany(
                con,
                "insert into raw.scenario_cost_changes values (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [
                        sc.scenario,
                        i,
                        c.provider,
                        c.model,
                        c.component,
                        c.change_pct,
                        c.effective_from,
                        c.effective_to,
                    ]
                    for i, c in enumerate(sc.cost_changes)
                ],
            )
        # results of scenarios whose file is gone (and the baseline's, when none is left)
        known = [BASELINE, *(sc.scenario for sc in scenarios)] if scenarios else [""]
        for table in ("invoices", "invoice_lines", "margin_rows", "rerated"):
            con.execute(
                f"delete from scenarios.{table} where scenario not in "
                f"({', '.join('?' for _ in known)})",
                known,
            )
        con.commit()
    except BaseException:
        con.rollback()
        raise


# --- re-rating with the dbt models ----------------------------------------------------------


def chain_models(manifest: dict[str, Any]) -> list[str]:
    """The models a scenario re-runs: downstream of the reference models it changes and upstream
    of the marts it keeps (so every ref inside the chain is to a chain model or to a real table
    the scenario does not change)."""
    nodes = {uid: n for uid, n in manifest["nodes"].items() if n.get("resource_type") == "model"}
    by_name = {n["name"]: uid for uid, n in nodes.items()}
    children: dict[str, set[str]] = {}
    for uid, n in nodes.items():
        for parent in n.get("depends_on", {}).get("nodes", []):
            children.setdefault(parent, set()).add(uid)

    def closure(start: list[str], step: Any) -> set[str]:
        seen: set[str] = set()
        todo = [by_name[x] for x in start]
        while todo:
            uid = todo.pop()
            if uid in seen:
                continue
            seen.add(uid)
            todo += [x for x in step(uid) if x in nodes]
        return seen

    down = closure(list(CHAIN_ROOTS), lambda u: children.get(u, set()))
    up = closure(list(CHAIN_TARGETS), lambda u: nodes[u].get("depends_on", {}).get("nodes", []))
    return sorted(nodes[u]["name"] for u in down & up)


def chain_inputs(manifest: dict[str, Any], models: list[str]) -> list[str]:
    """Every stored relation (``schema.table``) the chain reads from outside itself: the parents
    of its models that are not in it, through views to the tables and sources under them."""
    nodes = {**manifest["nodes"], **manifest.get("sources", {})}
    chain = set(models)
    out: set[str] = set()
    seen: set[str] = set()
    todo = [
        p
        for n in manifest["nodes"].values()
        if n.get("resource_type") == "model" and n["name"] in chain
        for p in n.get("depends_on", {}).get("nodes", [])
    ]
    while todo:
        uid = todo.pop()
        node = nodes.get(uid)
        if uid in seen or node is None:
            continue
        seen.add(uid)
        if node.get("resource_type") == "model" and node["name"] in chain:
            continue
        if node.get("resource_type") == "model" and node["config"]["materialized"] == "view":
            todo += node.get("depends_on", {}).get("nodes", [])
        elif node.get("resource_type") == "source":
            out.add(f"{node['schema']}.{node['identifier']}")
        else:
            out.add(f"{node['schema']}.{node.get('alias') or node['name']}")
    return sorted(out)


def inputs_fingerprint(
    con: duckdb.DuckDBPyConnection, manifest: dict[str, Any], models: list[str]
) -> str:
    """What every re-rating of the chain reads whatever the scenario: the chain's models, the
    content of its inputs, the dbt project and the code."""
    from orchestration.run_state import code_fingerprint

    h = hashlib.sha256(code_fingerprint().encode())
    h.update(("\n".join(models) + "\n").encode())
    for relation in chain_inputs(manifest, models):
        h.update((relation_hash(con, relation) + "\n").encode())
    return h.hexdigest()


def scenario_fingerprint(
    con: duckdb.DuckDBPyConnection, inputs: str, scenario: str, periods: list[str]
) -> str:
    """``inputs`` plus the scenario's own rows of the scenario-keyed reference and its periods."""
    h = hashlib.sha256(f"{inputs}\n{scenario}\n{','.join(periods)}\n".encode())
    quoted = scenario.replace("'", "''")
    for table in REFERENCE_TABLES:
        h.update(
            (
                relation_hash(con, f"raw.scenario_{table}", f"where scenario = '{quoted}'") + "\n"
            ).encode()
        )
    return h.hexdigest()


def _manifest() -> dict[str, Any]:
    from orchestration.dbt_project import load_manifest

    return load_manifest()


def build_marts_on_spark(s: Settings, target: Path, spark: DbtProcess) -> None:
    """The scenario marts on the Spark engine (issue 21). The re-rated rows (``scenarios.*``,
    written on DuckDB) go to the lake; dbt builds the ``tag:scenarios`` models and their tests on
    Spark; the marts come back into the DuckDB warehouse like the main build's, and the
    ``tag:scenarios`` views (staging, which the dashboard's pricing lab page reads) are made on
    DuckDB over its copy of the same rows."""
    from orchestration.lake import export_lake, import_spark_relations

    manifest = _manifest()
    nodes = manifest["nodes"]
    tagged = [nodes[u] for u in sorted(scenario_nodes(manifest)) if u.startswith("model.")]
    tables = frozenset(n["name"] for n in tagged if n["config"].get("materialized") != "view")
    # what the run wrote since the main build's export: the scenario inputs and results
    read = {uid for n in tagged for uid in n["depends_on"]["nodes"] if uid.startswith("source.")}
    sources = manifest["sources"]
    export_lake(s, frozenset((sources[u]["schema"], sources[u]["identifier"]) for u in read))
    spark_target = target.with_name(f"{target.name}_spark")
    spark.into(spark_target, "build", "--quiet", "--select", MART_SELECTOR)
    import_spark_relations(s, ("marts",), only=tables)
    dbt_into(
        on_duckdb(s),
        target,
        "run",
        "--quiet",
        "--select",
        f"{MART_SELECTOR},config.materialized:view",
        "--vars",
        marts_vars(s),
    )


def scenario_target_path(s: Settings) -> Path:
    return s.data_dir / ".meterline" / "dbt_scenario_target"


def scenario_variables(models: list[str]) -> dict[str, object]:
    """The dbt vars of a re-rating: scenario mode, the working schema the chain `models` are built
    in, and the scenario-keyed tables (which the Spark engine registers from the lake)."""
    return {
        "scenario_mode": True,
        "scenario_schema": WORK_SCHEMA,
        "scenario_models": models,
        "scenario_tables": list(REFERENCE_TABLES),
    }


@dataclass(frozen=True)
class ChainModel:
    """One model of the re-rated chain as dbt compiled it: its relation, table or view, its SQL."""

    relation: str
    kind: str
    sql: str


@dataclass(frozen=True)
class Chain:
    """The chain compiled once per run (``compile_chain``), executed per re-rating (``_rerate``).
    On Spark also the unrolled depth of the credit recursion it was compiled with and the lake
    tables it reads (registered before each execution)."""

    models: tuple[ChainModel, ...]
    depth: int | None = None
    reads: tuple[tuple[str, str], ...] = ()


class ChainTooShallow(DbtError):
    """A re-rating on Spark reached a period index beyond the depth its chain was compiled with:
    ``run_scenarios`` compiles the chain again with ``depth`` and re-rates once more."""

    def __init__(self, scenario: str, depth: int, compiled: int) -> None:
        super().__init__(
            f"re-rating scenario {scenario!r}: period index {depth} is beyond the compiled "
            f"credit recursion depth {compiled}"
        )
        self.depth = depth


def compile_chain(
    s: Settings, models: list[str], spark: DbtProcess, depth: int | None = None
) -> Chain:
    """The chain ``models`` in scenario mode, compiled by one ``dbt compile``, in build order
    (every model after the models it refs).

    The compiled SQL is the same for every scenario (the active scenario is the row of
    ``raw.scenario_active`` the scenario sources read), so a run compiles once and each
    re-rating executes it (``_rerate``): the ~9 s of a ``dbt run`` of 36 models on DuckDB, most
    of it dbt's own per-model work, become ~1 s of SQL (on Spark ~55 s of dbt per re-rating).
    The chain compiles as its first build (DuckDB: the working schema is dropped first; Spark:
    ``--full-refresh``), which is what ``dbt run`` built there too.

    DuckDB: no chain model queries the warehouse while it compiles. Spark compiles in the run's
    dbt process (``spark``): the credit recursion is unrolled to ``depth`` (var
    ``credit_recursion_depth``; default the largest period index of the main build's
    int_billing_periods) instead of querying the chain's own periods, which differ per scenario;
    each re-rating checks its periods against it. tests/test_rating_pricing_lab.py and
    tests/test_spark_equality.py check that the executed chain gives ``dbt run``'s rows."""
    from orchestration.warehouse import connect

    on_spark = s.engine == "spark"
    with connect(s.warehouse) as con:
        con.execute(f"drop schema if exists {WORK_SCHEMA} cascade")
        if on_spark and depth is None:
            (depth,) = con.execute(
                "select coalesce(max(period_index), 0) from intermediate.int_billing_periods"
            ).fetchone() or (0,)
    target = scenario_target_path(s)
    args = ["compile", "--quiet", "--select", *models]
    args += ["--indirect-selection", "empty"]  # the models only: a re-rating runs no test
    if on_spark:
        target = target.with_name(f"{target.name}_spark")
        spark.into(target, *args, "--full-refresh", "--vars", chain_vars(models, depth))
    else:
        dbt_into(s, target, *args, "--vars", chain_vars(models))
    nodes = json.loads((target / "manifest.json").read_text(encoding="utf-8"))["nodes"]
    chosen = set(models)
    chain = {
        uid: n for uid, n in nodes.items() if n["resource_type"] == "model" and n["name"] in chosen
    }
    if {n["name"] for n in chain.values()} != chosen:
        raise DbtError(f"dbt compile did not compile every chain model: {sorted(chosen)}")
    order = graphlib.TopologicalSorter(
        {uid: sorted(d for d in n["depends_on"]["nodes"] if d in chain) for uid, n in chain.items()}
    )
    order.prepare()
    built: list[ChainModel] = []
    while order.is_active():
        ready = sorted(order.get_ready())  # deterministic: the same order every run
        for uid in ready:
            n = chain[uid]
            kind = n["config"]["materialized"]
            if kind not in ("table", "view", "incremental"):
                raise DbtError(f"{n['name']}: a chain model materialized as {kind}")
            view = kind == "view"
            built.append(
                ChainModel(n["relation_name"], "view" if view else "table", n["compiled_code"])
            )
        order.done(*ready)
    if not on_spark:
        return Chain(tuple(built))
    # the lake tables the chain reads, as register_lake_sources picks them for a dbt run of it:
    # its sources, the scenario-keyed reference and the active scenario
    sources = json.loads((target / "manifest.json").read_text(encoding="utf-8"))["sources"]
    read = {d for n in chain.values() for d in n["depends_on"]["nodes"] if d in sources}
    reads = {(sources[u]["schema"], sources[u]["identifier"]) for u in read}
    reads |= {("raw", f"scenario_{table}") for table in (*REFERENCE_TABLES, "active")}
    return Chain(tuple(built), depth, tuple(sorted(reads)))


def chain_vars(models: list[str], depth: int | None = None) -> str:
    """The ``--vars`` of the chain's compile, as ``project_parse.parse_project`` seeds its parse;
    on Spark with the credit recursion's depth (``compile_chain``)."""
    variables = scenario_variables(models)
    if depth is not None:
        variables["credit_recursion_depth"] = depth
    return json.dumps(variables)


def seed_chain_parse(s: Settings) -> None:
    """Parse the project as the chain's compile parses it (``chain_vars``), beside the warehouse
    of ``s``, so that every data directory's first re-rating starts from that parse
    (``dbt_project.partial_parse_seed``) instead of parsing the whole project (~8 s): dbt keys a
    parse on the vars. ``project_parse.parse_project`` runs it after the project parse."""
    from orchestration.dbt_project import DBT_MANIFEST, read_manifest

    target = DBT_MANIFEST.parent / "chain_parse"
    dbt_into(
        s,
        target,
        "parse",
        "--quiet",
        "--vars",
        chain_vars(chain_models(read_manifest())),  # the manifest the project parse just wrote
    )


def marts_vars(s: Settings) -> str:
    """The ``--vars`` of the scenario marts' DuckDB runs: the main build's (``warehouse_vars``), so
    they start from the parse that build left rather than a parse of their own."""
    from orchestration.dbt_project import warehouse_vars

    return warehouse_vars(Path(s.warehouse.name))


def _rerate(
    s: Settings,
    scenario: str,
    models: list[str],
    chain: Chain,
    spark: DbtProcess,
) -> float:
    """One build of the compiled ``chain`` (``compile_chain``) in scenario mode for ``scenario``
    (the active one), on the engine of ``s``; the three marts the lab keeps end in the DuckDB
    schema WORK_SCHEMA. A model that fails raises ``DbtError`` naming the scenario and the model,
    as a failed ``dbt run`` did.

    On DuckDB the chain runs in one transaction; a failure rolls it back. On Spark (issue 21) the
    scenario-keyed reference and the active scenario go to the lake first, the run's dbt process
    (``spark``) registers the lake tables the chain reads (register_lake_tables) and executes the
    chain in its SparkSession into the Spark database WORK_SCHEMA, dropped first, over the main
    build's Spark tables (as dbt-spark materializes: ``create table ... as``, ``create view``);
    the marts come back into the DuckDB schema of that name. A scenario whose periods reach
    beyond the compiled credit recursion depth raises ``ChainTooShallow`` as soon as its
    int_billing_periods is built, before the models that unroll it. On DuckDB ``spark`` is never
    used (so never started)."""
    from orchestration.lake import export_lake, import_spark_relations
    from orchestration.warehouse import connect

    started = time.perf_counter()
    with connect(s.warehouse) as con:
        con.begin()
        con.execute("delete from raw.scenario_active")
        con.execute("insert into raw.scenario_active values (?)", [scenario])
        con.execute(f"drop schema if exists {WORK_SCHEMA} cascade")
        if s.engine != "spark":
            con.execute(f"create schema {WORK_SCHEMA}")
            for model in chain.models:
                try:
                    con.execute(f"create {model.kind} {model.relation} as (\n{model.sql}\n)")
                except duckdb.Error as exc:  # rolled back: the last kept rows stand
                    raise DbtError(
                        f"re-rating scenario {scenario!r}: model {model.relation} failed: {exc}"
                    ) from exc
        con.commit()
    if s.engine != "spark":
        return time.perf_counter() - started
    assert chain.depth is not None, "a chain compiled on Spark"
    target = scenario_target_path(s)
    target = target.with_name(f"{target.name}_spark")
    export_lake(s, frozenset(("raw", f"scenario_{t}") for t in (*REFERENCE_TABLES, "active")))
    tables = json.dumps({"tables": [list(pair) for pair in chain.reads]})
    spark.into(
        target,
        "run-operation",
        "register_lake_tables",
        "--args",
        tables,
        "--vars",
        chain_vars(models, chain.depth),  # the compile's: its parse stands
    )
    statements = [
        (
            f"re-rating scenario {scenario!r}: dropping {WORK_SCHEMA}",
            f"drop database if exists {WORK_SCHEMA} cascade",
        ),
        (
            f"re-rating scenario {scenario!r}: creating {WORK_SCHEMA}",
            f"create database {WORK_SCHEMA}",
        ),
    ]
    statements += [
        (
            f"re-rating scenario {scenario!r}: model {m.relation}",
            f"create {m.kind} {m.relation} as\n{m.sql}",
        )
        for m in chain.models
    ]
    # the models up to the scenario's periods first: their depth is checked before the rest
    periods = f"{WORK_SCHEMA}.int_billing_periods"
    (split,) = [i for i, m in enumerate(chain.models, start=3) if m.relation == periods]
    row = spark.spark_sql(
        statements[:split], fetch=f"select coalesce(max(period_index), 0) from {periods}"
    )
    deepest = int(row[0]) if row else 0
    if deepest > chain.depth:
        raise ChainTooShallow(scenario, deepest, chain.depth)
    spark.spark_sql(statements[split:])
    import_spark_relations(s, (WORK_SCHEMA,), only=frozenset(CHAIN_TARGETS))
    return time.perf_counter() - started


def _keep_results(s: Settings, scenario: str, periods: list[str], fingerprint: str) -> None:
    from orchestration.warehouse import connect

    marks = ", ".join("?" for _ in periods)
    w = WORK_SCHEMA
    with connect(s.warehouse) as con:
        con.begin()
        for table in ("invoices", "invoice_lines", "margin_rows", "rerated"):
            con.execute(f"delete from scenarios.{table} where scenario = ?", [scenario])
        con.execute("insert into scenarios.rerated values (?, ?)", [scenario, fingerprint])
        con.execute(
            f"""insert into scenarios.invoices
            select ?, invoice_id, customer_id, period, period_start, period_end, currency,
                fees_total, usage_total, discount_total, minimum_commitment_total, subtotal,
                credit_total, promotional_credit_total, tax_total, total, is_blocked,
                blocked_reason
            from {w}.fct_invoices where period in ({marks})""",
            [scenario, *periods],
        )
        con.execute(
            f"""insert into scenarios.invoice_lines
            select ?, invoice_id, customer_id, period, line_key, line_type, description,
                meter_code, dimensions, quantity, unit_price, amount, plan_code, plan_version
            from {w}.fct_invoice_lines where period in ({marks})""",
            [scenario, *periods],
        )
        con.execute(
            f"""insert into scenarios.margin_rows
            select ?, customer_id, period, provider, model, feature, revenue, cogs_direct,
                cogs_allocated
            from {w}.fct_customer_margin_breakdown where period in ({marks})""",
            [scenario, *periods],
        )
        con.execute(f"drop schema if exists {w} cascade")
        con.commit()


@dataclass
class ScenarioRun:
    scenarios: list[str]
    seconds: dict[str, float]  # per re-rated scenario (baseline included): chain + keeping
    marts_seconds: float
    total_seconds: float
    reused: list[str] = field(default_factory=list)  # kept rows stand: inputs unchanged
    fingerprint_seconds: float = 0.0
    compile_seconds: float = 0.0  # dbt compile of the chain (when anything is re-rated)


def run_scenarios(s: Settings, only: list[str] | None = None) -> ScenarioRun:
    """Load and validate every scenario file, write the scenario-keyed reference, re-rate the
    baseline and the scenarios (all, or ``only``), then build the scenario marts. Needs a built
    warehouse (the real models); writes nothing the real marts read."""
    from orchestration.warehouse import connect

    started = time.perf_counter()
    with connect(s.warehouse) as con:
        scenarios = load_scenarios(s, con)
        ensure_scenario_schema(con)
        (had_results,) = con.execute("select count(*) > 0 from scenarios.invoices").fetchone() or (
            False,
        )
        write_scenario_reference(con, scenarios)
    names = {sc.scenario for sc in scenarios}
    for name in only or []:
        if name not in names:
            known = ", ".join(sorted(names)) or "none"
            raise ReferenceDataError(
                f"unknown scenario {name!r}: no reference/scenarios/{name}.yml (known: {known})"
            )
    chosen = [sc for sc in scenarios if not only or sc.scenario in only]
    seconds: dict[str, float] = {}
    reused: list[str] = []
    fingerprint_seconds = compile_seconds = 0.0
    todo: list[tuple[str, list[str]]] = []  # (scenario, its periods) to re-rate or keep
    models: list[str] = []
    chain = Chain(())
    prints: dict[str, str] = {}
    if chosen:
        manifest = _manifest()
        models = chain_models(manifest)
        # the baseline's rows serve every scenario, run now or before
        all_periods = sorted({p for sc in scenarios for p in sc.periods()})
        todo = [(BASELINE, all_periods), *((sc.scenario, sc.periods()) for sc in chosen)]
        t0 = time.perf_counter()
        with connect(s.warehouse) as con:
            inputs = inputs_fingerprint(con, manifest, models)
            prints = {name: scenario_fingerprint(con, inputs, name, p) for name, p in todo}
            kept = dict(
                con.execute("select scenario, fingerprint from scenarios.rerated").fetchall()
            )
        fingerprint_seconds = time.perf_counter() - t0
        reused = [name for name, _ in todo if kept.get(name) == prints[name]]
    # Spark: the run's dbt invocations and the chain's SQL share one process (one JVM, one
    # SparkSession); on DuckDB it never starts (the compile, the re-ratings and the marts build
    # run dbt_into and the warehouse's own connection)
    with DbtProcess(s, s.data_dir / ".meterline" / "dbt_spark_process.log") as spark:
        if len(reused) < len(todo):
            t0 = time.perf_counter()
            chain = compile_chain(s, models, spark)
            compile_seconds = time.perf_counter() - t0
        for name, periods in todo:
            if name in reused:
                continue
            t0 = time.perf_counter()
            try:
                _rerate(s, name, models, chain, spark)
            except ChainTooShallow as short:  # this scenario has more periods: compile deeper
                chain = compile_chain(s, models, spark, short.depth)
                _rerate(s, name, models, chain, spark)
            _keep_results(s, name, periods, prints[name])
            seconds[name] = time.perf_counter() - t0
        marts_started = time.perf_counter()
        if scenarios or had_results:  # no scenario now nor before: nothing to build (a run's cost)
            # its own target dir: the main build's run_results.json (stage times) stays as it is
            target = s.data_dir / ".meterline" / "dbt_scenario_marts_target"
            if s.engine == "spark":
                build_marts_on_spark(s, target, spark)
            else:
                dbt_into(
                    on_duckdb(s),
                    target,
                    "build",
                    "--quiet",
                    "--select",
                    MART_SELECTOR,
                    "--vars",
                    marts_vars(s),
                )
    return ScenarioRun(
        scenarios=[sc.scenario for sc in chosen],
        seconds={k: round(v, 3) for k, v in seconds.items()},
        marts_seconds=round(time.perf_counter() - marts_started, 3),
        total_seconds=round(time.perf_counter() - started, 3),
        reused=reused,
        fingerprint_seconds=round(fingerprint_seconds, 3),
        compile_seconds=round(compile_seconds, 3),
    )


# --- reporting: the CSV per scenario and the headline ---------------------------------------

CSV_COLUMNS = (
    "scenario",
    "customer_id",
    "period",
    "segment",
    "is_in_scope",
    "currency",
    "current_total",
    "simulated_total",
    "total_difference",
    "total_difference_pct",
    "is_bill_shock",
    "current_fees_total",
    "simulated_fees_total",
    "current_usage_total",
    "simulated_usage_total",
    "current_discount_total",
    "simulated_discount_total",
    "current_minimum_commitment_total",
    "simulated_minimum_commitment_total",
    "current_credit_total",
    "simulated_credit_total",
    "current_tax_total",
    "simulated_tax_total",
    "current_revenue",
    "simulated_revenue",
    "current_cogs",
    "simulated_cogs",
    "current_gross_margin",
    "simulated_gross_margin",
    "current_margin_pct",
    "simulated_margin_pct",
    "margin_target_pct",
    "simulated_margin_flag",
    "falls_below_target",
)
_CSV_TEXT = frozenset(
    {"scenario", "customer_id", "period", "segment", "currency", "simulated_margin_flag"}
)


def scenario_rows(
    con: duckdb.DuckDBPyConnection, scenario: str, periods: list[str] | None = None
) -> list[tuple[Any, ...]]:
    """One row per customer x period of the scenario (CSV_COLUMNS), by customer then period."""
    where = "i.scenario = ?"
    params: list[Any] = [scenario]
    if periods:
        where += f" and i.period in ({', '.join('?' for _ in periods)})"
        params += periods
    cols = ", ".join(
        f"m.{c}"
        if c
        in {
            "current_revenue",
            "simulated_revenue",
            "current_cogs",
            "simulated_cogs",
            "current_gross_margin",
            "simulated_gross_margin",
            "current_margin_pct",
            "simulated_margin_pct",
            "margin_target_pct",
            "simulated_margin_flag",
            "falls_below_target",
        }
        else f"i.{c}"
        for c in CSV_COLUMNS
    )
    return con.execute(
        f"""select {cols}
        from marts.fct_scenario_invoices as i
        left join marts.fct_scenario_customer_margin as m
            on i.scenario = m.scenario and i.customer_id = m.customer_id
            and i.period = m.period
        where {where}
        order by i.customer_id, i.period""",
        params,
    ).fetchall()


def write_scenario_csv(
    s: Settings, con: duckdb.DuckDBPyConnection, scenario: str, periods: list[str] | None = None
) -> Path:
    """exports/scenarios/<scenario>.csv (or <scenario>_<periods>.csv for a period selection)."""
    from orchestration.exports import render_csv

    rows = [
        [
            format(v.quantize(Decimal("0.01")), "f")
            if isinstance(v, Decimal)  # money and percentages: 2 places
            else ("true" if v else "false")
            if isinstance(v, bool)
            else v
            for v in row
        ]
        for row in scenario_rows(con, scenario, periods)
    ]
    data = render_csv(CSV_COLUMNS, rows, _CSV_TEXT)
    out_dir = s.exports_dir / "scenarios"
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = "" if not periods else "_" + "_".join(sorted(periods))
    path = out_dir / f"{scenario}{suffix}.csv"
    if not path.exists() or path.read_bytes() != data:
        tmp = path.with_suffix(".csv.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def _money(v: Any, currency: str | None = None) -> str:
    """An amount with its currency's minor units (JPY 78,650; USD 12.30)."""
    return f"{Decimal(v or 0):,.{money_places(currency)}f}"


def _signed(v: Any, currency: str | None = None) -> str:
    d = Decimal(v or 0)
    return ("+" if d > 0 else "") + _money(d, currency)


def _pct(v: Any) -> str:
    return "n/a" if v is None else ("+" if Decimal(v) > 0 else "") + f"{Decimal(v):.2f}%"


# the scenario margin marts are in each customer's invoice currency (COGS converted): the
# marts carry that currency, and every total groups by it, so that none adds yen to dollars
def headline(
    con: duckdb.DuckDBPyConnection, scenario: str, periods: list[str] | None = None, top: int = 5
) -> str:
    """The text `meterline simulate` prints, from the scenario marts."""
    meta = con.execute(
        "select scenario_name, description, period_from, period_to, customer_scope, "
        "move_to_plan, plan_files from raw.scenarios where scenario = ?",
        [scenario],
    ).fetchone()
    if meta is None:
        return f"unknown scenario {scenario!r}"
    name, description, p_from, p_to, scope, move, plan_files = meta
    chosen = periods or [
        p
        for (p,) in con.execute(
            "select distinct period from marts.fct_scenario_invoices where scenario = ? order by 1",
            [scenario],
        ).fetchall()
    ]
    marks = ", ".join("?" for _ in chosen) or "''"
    lines = [
        f"Scenario {scenario}: {name}",
        *([f"  {description}"] if description else []),
        f"  periods {p_from} .. {p_to}; customers: {scope}"
        + (f"; moved to plan {move}" if move else "")
        + (f"; plans: {plan_files}" if plan_files else ""),
        "",
        f"{'period':<8} {'cur':<3} {'revenue now':>13} {'simulated':>13} {'change':>12} "
        f"{'margin now':>13} {'simulated':>13} {'margin %':>17}",
    ]
    # amounts are never added across currencies: one line per period and invoice currency
    rows = con.execute(
        f"""select period, currency, sum(current_revenue), sum(simulated_revenue),
            sum(current_gross_margin), sum(simulated_gross_margin)
        from marts.fct_scenario_customer_margin
        where scenario = ? and period in ({marks})
        group by period, currency
        union all
        select 'all', currency, sum(current_revenue), sum(simulated_revenue),
            sum(current_gross_margin), sum(simulated_gross_margin)
        from marts.fct_scenario_customer_margin
        where scenario = ? and period in ({marks})
        group by currency
        order by period = 'all', period, currency""",
        [scenario, *chosen, scenario, *chosen],
    ).fetchall()
    for period, ccy, rev, srev, mar, smar in rows:
        rev, srev, mar, smar = (Decimal(x or 0) for x in (rev, srev, mar, smar))
        pct_now = f"{mar * 100 / rev:.1f}" if rev else "n/a"
        pct_sim = f"{smar * 100 / srev:.1f}" if srev else "n/a"
        lines.append(
            f"{period:<8} {ccy:<3} {_money(rev, ccy):>13} {_money(srev, ccy):>13} "
            f"{_signed(srev - rev, ccy):>12} {_money(mar, ccy):>13} {_money(smar, ccy):>13} "
            f"{pct_now + '% -> ' + pct_sim + '%':>17}"
        )
    worse, better, same, shocks, threshold = con.execute(
        f"""select count(*) filter (where impact = 'increase'),
            count(*) filter (where impact = 'decrease'),
            count(*) filter (where impact = 'unchanged'),
            count(*) filter (where is_bill_shock),
            max(bill_shock_threshold_pct)
        from marts.fct_scenario_invoices where scenario = ? and period in ({marks})""",
        [scenario, *chosen],
    ).fetchone() or (0, 0, 0, 0, None)
    lines += [
        "",
        f"invoices (customer x period): {worse} pay more, {better} pay less, {same} unchanged; "
        f"bill shocks (> {Decimal(threshold or 20):.0f}%): {shocks}",
    ]
    # the largest changes are ranked within each currency (a yen and a dollar are not compared)
    increases = con.execute(
        f"""select customer_id, period, segment, currency, current_total, simulated_total,
            total_difference, total_difference_pct, is_bill_shock
        from marts.fct_scenario_invoices
        where scenario = ? and period in ({marks}) and total_difference > 0
        qualify row_number() over (
            partition by currency order by total_difference desc, customer_id, period
        ) <= {int(top)}
        order by currency, total_difference desc, customer_id, period""",
        [scenario, *chosen],
    ).fetchall()
    if increases:
        lines.append("largest increases (per currency):")
        for cid, period, seg, ccy, cur, sim, diff, pct, shock in increases:
            lines.append(
                f"  {cid:<22} {period} {str(seg or ''):<11} {ccy:<3} {_money(cur, ccy):>11} -> "
                f"{_money(sim, ccy):>11} {_signed(diff, ccy):>11} ({_pct(pct)})"
                + ("  BILL SHOCK" if shock else "")
            )
    shocks = con.execute(
        f"""select customer_id, period, segment, currency, current_total, simulated_total,
            total_difference, total_difference_pct
        from marts.fct_scenario_invoices
        where scenario = ? and period in ({marks}) and is_bill_shock
        order by total_difference_pct desc nulls first, customer_id, period""",
        [scenario, *chosen],
    ).fetchall()
    if shocks:
        lines.append("bill shocks:")
        for cid, period, seg, ccy, cur, sim, diff, pct in shocks:
            lines.append(
                f"  {cid:<22} {period} {str(seg or ''):<11} {ccy:<3} {_money(cur, ccy):>11} -> "
                f"{_money(sim, ccy):>11} {_signed(diff, ccy):>11} ({_pct(pct)})"
            )
    decreases = con.execute(
        f"""select customer_id, period, segment, currency, current_total, simulated_total,
            total_difference, total_difference_pct
        from marts.fct_scenario_invoices
        where scenario = ? and period in ({marks}) and total_difference < 0
        qualify row_number() over (
            partition by currency order by total_difference, customer_id, period
        ) <= {int(top)}
        order by currency, total_difference, customer_id, period""",
        [scenario, *chosen],
    ).fetchall()
    if decreases:
        lines.append("largest decreases (per currency):")
        for cid, period, seg, ccy, cur, sim, diff, pct in decreases:
            lines.append(
                f"  {cid:<22} {period} {str(seg or ''):<11} {ccy:<3} {_money(cur, ccy):>11} -> "
                f"{_money(sim, ccy):>11} {_signed(diff, ccy):>11} ({_pct(pct)})"
            )
    models = con.execute(
        f"""select model, currency, sum(current_revenue), sum(simulated_revenue),
            sum(current_cogs), sum(simulated_cogs)
        from marts.fct_scenario_margin
        where scenario = ? and period in ({marks})
        group by model, currency
        having sum(simulated_revenue) <> sum(current_revenue)
            or sum(simulated_cogs) <> sum(current_cogs)
        qualify row_number() over (
            partition by currency
            order by abs(sum(simulated_revenue - simulated_cogs)
                - sum(current_revenue - current_cogs)) desc, model
        ) <= {int(top)}
        order by currency, abs(sum(simulated_revenue - simulated_cogs)
            - sum(current_revenue - current_cogs)) desc, model""",
        [scenario, *chosen],
    ).fetchall()
    if models:
        lines.append("margin by model (revenue, margin %; non-usage = fees and commitments):")
        for model, ccy, rev, srev, cogs, scogs in models:
            rev, srev, cogs, scogs = (Decimal(x or 0) for x in (rev, srev, cogs, scogs))
            now = f"{(rev - cogs) * 100 / rev:.1f}%" if rev else "n/a"
            sim = f"{(srev - scogs) * 100 / srev:.1f}%" if srev else "n/a"
            lines.append(
                f"  {model:<22} {ccy:<3} revenue {_money(rev, ccy):>11} -> "
                f"{_money(srev, ccy):>11}  margin {now:>7} -> {sim:>7}"
            )
    below = con.execute(
        f"""select customer_id, period, segment, current_margin_pct, simulated_margin_pct,
            margin_target_pct, simulated_margin_flag
        from marts.fct_scenario_customer_margin
        where scenario = ? and period in ({marks}) and falls_below_target
        order by customer_id, period""",
        [scenario, *chosen],
    ).fetchall()
    already = con.execute(
        f"""select count(distinct customer_id) from marts.fct_scenario_customer_margin
        where scenario = ? and period in ({marks}) and current_margin_flag <> 'ok'""",
        [scenario, *chosen],
    ).fetchone()
    lines.append(
        f"customers falling below their segment's margin target: {len(below)} "
        f"(already below it now: {already[0] if already else 0})"
    )
    for cid, period, seg, cur, sim, target, flag in below:
        lines.append(
            f"  {cid:<22} {period} {str(seg or ''):<11} margin {_pct(cur)} -> {_pct(sim)} "
            f"(target {Decimal(target):.0f}%, {flag})"
        )
    return "\n".join(lines)


def simulate(
    s: Settings, scenario: str, periods: list[str] | None = None
) -> tuple[str, Path, ScenarioRun]:
    """`meterline simulate`: re-rate the baseline and ``scenario``, build the scenario marts,
    write its CSV, republish the snapshot; the headline text, the CSV path and the timings."""
    from orchestration.publish import publish
    from orchestration.warehouse import connect

    for p in periods or []:
        if not _MONTH_RE.match(p):
            raise ReferenceDataError(f"--period {p!r} is not a month (YYYY-MM)")
    run = run_scenarios(s, only=[scenario])
    with connect(s.warehouse, read_only=True) as con:
        (p_from, p_to) = con.execute(
            "select period_from, period_to from raw.scenarios where scenario = ?", [scenario]
        ).fetchone() or ("", "")
        outside = [p for p in periods or [] if not p_from <= p <= p_to]
        if outside:
            raise ReferenceDataError(
                f"--period {', '.join(outside)} is outside scenario {scenario!r}'s periods "
                f"{p_from} .. {p_to}"
            )
        text = headline(con, scenario, periods)
        path = write_scenario_csv(s, con, scenario, periods)
    publish(s)
    return text, path, run
