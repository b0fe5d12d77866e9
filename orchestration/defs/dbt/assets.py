"""The dbt project as Dagster assets. ``dbt build`` runs models and their tests; dbt tests are
asset checks (error severity = blocking), so a failing test stops everything downstream
(publishing and the exports). Needs ``dbt_project/target/manifest.json`` (``make manifest``).

dbt's target directory is per data directory (``<data_dir>/.meterline/dbt_target``): runs on
different warehouses never share artifacts, partial parsing is reused from one run to the next,
and ``meterline run`` reads the per-model timings of ``run_results.json`` from there."""

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.config import DBT_PROJECT_DIR, Settings
from orchestration.defs.dbt.translator import MeterlineTranslator
from orchestration.defs.resources import DUCKDB_WRITER_POOL, MeterlineResource

DBT_MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
# the manifest version these assets were built from (the pipeline reloads them when it changes)
MANIFEST_MTIME = DBT_MANIFEST.stat().st_mtime_ns if DBT_MANIFEST.exists() else None
# read here, not by path: dagster-dbt caches a manifest per path for the process's lifetime, so a
# reload after `dbt parse` would otherwise get the old nodes (and fail on a new model's events)
MANIFEST: dict[str, Any] | Path = (
    json.loads(DBT_MANIFEST.read_text(encoding="utf-8")) if DBT_MANIFEST.exists() else DBT_MANIFEST
)


def dbt_target_path(s: Settings) -> Path:
    return s.data_dir / ".meterline" / "dbt_target"


INCREMENTAL_STATE = "incremental_state.json"


def incremental_fingerprints(manifest: Mapping[str, Any]) -> dict[str, str]:
    """Fingerprint of every incremental model's logic: the SQL checksum of the model and of every
    model upstream of it, and the checksums of the macros they call (and the macros those call).
    A change means the rows it kept from earlier runs may be stale."""
    nodes = manifest.get("nodes", {})
    macros = manifest.get("macros", {})

    def checksum(entry: Mapping[str, Any]) -> str:
        return str((entry.get("checksum") or {}).get("checksum", ""))

    def depends(entry: Mapping[str, Any], kind: str) -> list[str]:
        return list((entry.get("depends_on") or {}).get(kind, []))

    out: dict[str, str] = {}
    for uid, node in sorted(nodes.items()):
        if node.get("resource_type") != "model":
            continue
        if (node.get("config") or {}).get("materialized") != "incremental":
            continue
        models: set[str] = set()
        todo = [uid]
        while todo:
            m = todo.pop()
            if m in models or m not in nodes:
                continue
            models.add(m)
            todo.extend(depends(nodes[m], "nodes"))
        used: set[str] = set()
        todo = [macro for m in models for macro in depends(nodes[m], "macros")]
        while todo:
            macro = todo.pop()
            if macro in used:
                continue
            used.add(macro)
            todo.extend(depends(macros.get(macro, {}), "macros"))
        parts = [f"{m}={checksum(nodes[m])}" for m in sorted(models)]
        parts += [f"{m}={checksum(macros.get(m, {}))}" for m in sorted(used)]
        out[uid] = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return out


def needs_full_refresh(target: Path, current: Mapping[str, str]) -> bool:
    """True when an incremental model's logic differs from the one that built its rows (or the
    state of the last build is unknown)."""
    path = target / INCREMENTAL_STATE
    if not current:
        return False
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        return True
    return any(previous.get(uid) != fp for uid, fp in current.items())


def dbt_build_args(target: Path, current: Mapping[str, str]) -> list[str]:
    # dbt unit tests check the SQL logic on fixed inputs, not the data: they run in `make test`
    # (tests/test_rating_*), not in every production build (8 of them cost ~10% of a build)
    args = ["build", "--exclude-resource-type", "unit_test"]
    if needs_full_refresh(target, current):
        args.append("--full-refresh")
    return args


@dbt_assets(
    manifest=MANIFEST,
    dagster_dbt_translator=MeterlineTranslator(),
    name="meterline_dbt",
    pool=DUCKDB_WRITER_POOL,
    # the pricing lab's models read scenario re-ratings: built by the scenarios asset after this
    exclude="tag:scenarios",
)
def meterline_dbt_assets(
    context: AssetExecutionContext, dbt: DbtCliResource, meterline: MeterlineResource
) -> Iterator[Any]:
    target = dbt_target_path(meterline.settings())
    target.mkdir(parents=True, exist_ok=True)
    (target / "run_results.json").unlink(missing_ok=True)
    manifest = json.loads(DBT_MANIFEST.read_text())
    current = incremental_fingerprints(manifest)
    yield from dbt.cli(
        dbt_build_args(target, current), context=context, target_path=target
    ).stream()
    # reached only when the build succeeded (a failed build raises): the incremental models'
    # rows now come from this logic
    (target / INCREMENTAL_STATE).write_text(json.dumps(current, indent=1, sort_keys=True))


DBT_ASSETS: list[dg.AssetsDefinition] = [meterline_dbt_assets]
