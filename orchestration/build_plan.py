"""Which dbt nodes a run rebuilds: the ones downstream of a source whose rows changed since the
last successful build (issue 16, "work that follows the data"). No Dagster here:
``orchestration/defs/dbt/assets.py`` asks for a plan before ``dbt build`` and records the state
after it.

After every successful build, ``<dbt target>/build_state.json`` records

- the content of every dbt source (``relation_hash``: row count and the order-free sum of the
  row hashes of its table), taken just before the build, when no writer can change it;
- the dbt project and code fingerprints the build ran with;
- the last result of every dbt test (pass / warn, with its message).

The next build compares its sources with that record. Unless something forces a full build (no
record, another project or code fingerprint, a full refresh, an incremental model whose logic
changed, the Spark engine), it runs only the models and tests downstream of a changed source, and
the rest stand: their tables are the ones the recorded build wrote from the same rows, and their
tests' recorded results are reported again as this run's check results (so a publish is still
gated by every test). The state file is deleted when a build starts and written only when it
succeeded: a failed or killed build always leads to a full one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

BUILD_STATE = "build_state.json"
STATE_VERSION = 1


def relation_hash(con: duckdb.DuckDBPyConnection, relation: str, where: str = "") -> str:
    """Row count and the sum of the row hashes (order-free) of a relation; 'missing' if none."""
    schema, name = relation.split(".", 1)
    (exists,) = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone() or (0,)
    if not exists:
        return f"{relation}:missing"
    count, total = con.execute(
        f"select count(*), coalesce(sum(hash(t)::hugeint), 0) from {schema}.{name} as t {where}"
    ).fetchone() or (0, 0)
    return f"{relation}:{count}:{total}"


def source_relations(manifest: Mapping[str, Any]) -> dict[str, str]:
    """unique_id -> ``schema.table`` of every dbt source."""
    return {
        uid: f"{src['schema']}.{src.get('identifier') or src['name']}"
        for uid, src in manifest.get("sources", {}).items()
    }


def source_hashes(warehouse: Path, manifest: Mapping[str, Any]) -> dict[str, str]:
    """The content hash of every dbt source in the warehouse (read-only; closed before dbt runs)."""
    from orchestration.warehouse import connect

    relations = source_relations(manifest)
    with connect(warehouse, read_only=True) as con:
        return {uid: relation_hash(con, rel) for uid, rel in sorted(relations.items())}


def read_state(target: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((target / BUILD_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and state.get("version") == STATE_VERSION else None


def write_state(
    target: Path,
    *,
    sources: Mapping[str, str],
    project: str,
    code: str,
    tests: Mapping[str, Mapping[str, Any]],
    plan: str = "",
) -> None:
    state = {
        "version": STATE_VERSION,
        "plan": plan,  # what this build was (BuildPlan.summary), for the run's stage line
        "project": project,
        "code": code,
        "sources": dict(sorted(sources.items())),
        "tests": {uid: dict(r) for uid, r in sorted(tests.items())},
    }
    tmp = target / f".{BUILD_STATE}.tmp"
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(target / BUILD_STATE)


def test_results(run_results: Path) -> dict[str, dict[str, Any]]:
    """unique_id -> {status, message, failures} of every test in a ``run_results.json``."""
    try:
        results = json.loads(run_results.read_text(encoding="utf-8")).get("results", [])
    except (OSError, ValueError):
        return {}
    return {
        r["unique_id"]: {
            "status": r.get("status"),
            "message": r.get("message"),
            "failures": r.get("failures"),
        }
        for r in results
        if str(r.get("unique_id", "")).startswith("test.")
    }


@dataclass(frozen=True)
class BuildPlan:
    """``full``: build everything (``reason`` says why). Otherwise ``changed`` sources, the
    ``skipped`` models and tests (they stand from the last build) and the carried test results."""

    full: bool
    reason: str
    changed: tuple[str, ...] = ()
    skipped: frozenset[str] = field(default_factory=frozenset)
    carried: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for people: ``full build: <why>`` or what changed and what stands."""
        return f"full build: {self.reason}" if self.full else self.reason

    def dbt_args(self, manifest: Mapping[str, Any]) -> list[str]:
        """Arguments that leave the skipped nodes out of ``dbt build``. Tests are listed one by
        one (no indirect selection): a test between a rebuilt and a standing model runs."""
        if self.full:
            return []
        nodes = manifest.get("nodes", {})
        left_out = self.skipped | {u for u in scenario_nodes(manifest) if u.startswith("test.")}
        # each node by its whole fqn: a bare name could also be a folder's and take it all
        names = sorted("fqn:" + ".".join(nodes[uid]["fqn"]) for uid in left_out if uid in nodes)
        args = ["--indirect-selection", "empty"]
        return [*args, "--exclude", " ".join(names)] if names else args


def scenario_nodes(manifest: Mapping[str, Any]) -> set[str]:
    """The models tagged ``scenarios`` (built by the scenarios asset) and every test on them."""
    nodes = manifest.get("nodes", {})
    models = {
        uid
        for uid, node in nodes.items()
        if node.get("resource_type") == "model" and "scenarios" in (node.get("tags") or [])
    }
    tests = {
        uid
        for uid, node in nodes.items()
        if node.get("resource_type") == "test"
        and models & set((node.get("depends_on") or {}).get("nodes", []))
    }
    return models | tests


def topological_order(manifest: Mapping[str, Any]) -> dict[str, int]:
    """A position for every node such that each comes after the nodes it depends on."""
    nodes = manifest.get("nodes", {})
    order: dict[str, int] = {}

    def visit(uid: str, path: frozenset[str]) -> int:
        if uid in order:
            return order[uid]
        parents = [p for p in (nodes[uid].get("depends_on") or {}).get("nodes", []) if p in nodes]
        depth = 1 + max((visit(p, path | {uid}) for p in parents if p not in path), default=-1)
        order[uid] = depth
        return depth

    for uid in sorted(nodes):
        visit(uid, frozenset())
    return order


def _children(manifest: Mapping[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for uid, node in manifest.get("nodes", {}).items():
        for parent in (node.get("depends_on") or {}).get("nodes", []):
            out.setdefault(parent, set()).add(uid)
    return out


def downstream(manifest: Mapping[str, Any], roots: Iterable[str]) -> set[str]:
    """Every node downstream of ``roots`` (the roots excluded)."""
    children = _children(manifest)
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def plan_build(
    manifest: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    hashes: Mapping[str, str],
    *,
    project: str,
    code: str,
    full_reason: str | None = None,
) -> BuildPlan:
    """What to build, given the last successful build's state and the sources now."""
    if full_reason:
        return BuildPlan(True, full_reason)
    if previous is None:
        return BuildPlan(True, "no record of a successful build")
    if previous.get("project") != project:
        return BuildPlan(True, "the dbt project changed")
    if previous.get("code") != code:
        return BuildPlan(True, "the code changed")
    before = previous.get("sources") or {}
    if set(before) != set(hashes):
        return BuildPlan(True, "the dbt sources changed")
    changed = tuple(sorted(uid for uid, h in hashes.items() if before.get(uid) != h))
    rebuilt = downstream(manifest, changed)
    nodes = manifest.get("nodes", {})
    # the pricing lab's models are built by the scenarios asset, not by this build: neither they
    # nor their tests are planned here (dbt_args leaves their tests out explicitly)
    outside = scenario_nodes(manifest)
    buildable = {
        uid
        for uid, node in nodes.items()
        if node.get("resource_type") in ("model", "test", "seed", "snapshot") and uid not in outside
    }
    skipped = frozenset(buildable - rebuilt)
    tests = previous.get("tests") or {}
    missing = sorted(uid for uid in skipped if uid.startswith("test.") and uid not in tests)
    if missing:
        return BuildPlan(True, f"no recorded result for {len(missing)} test(s)")
    carried = {uid: tests[uid] for uid in skipped if uid.startswith("test.")}
    reason = (
        f"{len(changed)} source(s) changed: {len(rebuilt & buildable)} node(s) to build, "
        f"{len(skipped)} standing"
    )
    return BuildPlan(False, reason, changed, skipped, carried)


def project_and_code() -> tuple[str, str]:
    """The fingerprints a build state is valid for (the dbt project's files, the Python code)."""
    from orchestration.dbt_project import project_fingerprint
    from orchestration.run_state import code_fingerprint

    return project_fingerprint(), code_fingerprint()
