"""The dbt project as the pipeline sees it (no Dagster here): its parsed manifest, the per-data-
directory target, the fingerprints that decide a full refresh and a no-op run, and the stage of
every dbt node (by folder: ``models/<layer>/<area>/``).

``orchestration/defs/dbt`` builds the Dagster assets from this; ``orchestration/pipeline.py`` uses
it to parse the project when it changed and to split dbt's time into stages."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from orchestration.config import DBT_PROJECT_DIR, Settings

DBT_MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
# dbt's parse of the project, shared by every data directory's first build (partial_parse_seed)
PARSE_SEEDS = DBT_PROJECT_DIR / "target" / "parse_seeds"
PARTIAL_PARSE = "partial_parse.msgpack"
INCREMENTAL_STATE = "incremental_state.json"
# what the dbt build of a run reads besides the data: a change to any of these is not a no-op
PROJECT_DIRS: tuple[str, ...] = ("models", "macros", "tests", "seeds", "snapshots", "analyses")
PROJECT_FILES: tuple[str, ...] = ("dbt_project.yml", "profiles.yml", "packages.yml")
PROJECT_SUFFIXES: tuple[str, ...] = (".sql", ".yml", ".yaml", ".csv", ".md")

# dbt sub-stages of `meterline run`, in order (names the benchmark reads)
STAGING = "dbt staging+dedupe"
RATING = "rating"
INVOICES = "invoices"
COSTS = "costs and margin"
CONTROLS = "controls"
DBT_STAGES: tuple[str, ...] = (STAGING, RATING, INVOICES, COSTS, CONTROLS)


def dbt_target_path(s: Settings) -> Path:
    """dbt's target directory of one data directory (artifacts and partial parsing per
    warehouse)."""
    return s.data_dir / ".meterline" / "dbt_target"


@contextmanager
def manifest_lock(exclusive: bool = False) -> Iterator[None]:
    """Readers of the shared ``target/manifest.json`` hold it shared; whoever re-parses the
    project holds it exclusive (pipeline.ensure_manifest), so no process reads the file while
    ``dbt parse`` rewrites it (dbt writes it in place: another data directory's run read a
    torn manifest once). A lock file beside it; flock is released when the process dies."""
    DBT_MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    with open(DBT_MANIFEST.parent / ".manifest.lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_manifest() -> dict[str, Any]:
    """The manifest as it is on disk: callers hold ``manifest_lock``."""
    return json.loads(DBT_MANIFEST.read_text(encoding="utf-8"))


def load_manifest() -> dict[str, Any]:
    with manifest_lock():
        return read_manifest()


def project_files() -> list[Path]:
    files = [DBT_PROJECT_DIR / name for name in PROJECT_FILES]
    for sub in PROJECT_DIRS:
        root = DBT_PROJECT_DIR / sub
        if root.is_dir():
            files += [p for p in root.rglob("*") if p.suffix in PROJECT_SUFFIXES and p.is_file()]
    return sorted(p for p in files if p.exists())


def project_fingerprint() -> str:
    """sha256 over the path and bytes of every file of the dbt project a build reads."""
    h = hashlib.sha256()
    for p in project_files():
        h.update(p.relative_to(DBT_PROJECT_DIR).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def manifest_is_stale() -> bool:
    """True when target/manifest.json is missing or older than a project file, or names a file
    that no longer exists (a deleted model changes no modification time). Callers hold
    ``manifest_lock``."""
    if not DBT_MANIFEST.exists():
        return True
    built = DBT_MANIFEST.stat().st_mtime
    if any(p.stat().st_mtime > built for p in project_files()):
        return True
    manifest = read_manifest()
    known = {
        node.get("original_file_path")
        for kind in ("nodes", "macros")
        for node in manifest.get(kind, {}).values()
        if node.get("package_name") == manifest.get("metadata", {}).get("project_name", "meterline")
    }
    return any(rel and not (DBT_PROJECT_DIR / rel).exists() for rel in known)


# ---------------------------------------------------------------- incremental models


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


def dbt_build_args(
    target: Path, current: Mapping[str, str], *, warehouse: Path | None = None, full: bool = False
) -> list[str]:
    """``dbt build`` of the whole project. The warehouse goes to dbt's profile as the var
    ``meterline_warehouse`` (profiles.yml), so nothing is passed through the environment."""
    # dbt unit tests check the SQL logic on fixed inputs, not the data: they run in `make test`
    # (tests/test_rating_*), not in every production build (8 of them cost ~10% of a build)
    args = ["build", "--exclude-resource-type", "unit_test"]
    if warehouse is not None:
        args += ["--vars", warehouse_vars(warehouse)]
    if full or needs_full_refresh(target, current):
        args.append("--full-refresh")
    return args


def warehouse_vars(warehouse: Path) -> str:
    """The ``--vars`` of a build of ``warehouse`` (as dbt's profile names it: on DuckDB the file
    name, dbt running in its directory), and of the project parse that seeds such builds."""
    return json.dumps({"meterline_warehouse": str(warehouse)})


def parse_seed_path(warehouse: Path, cli_vars: str = "") -> Path:
    """Where ``partial_parse_seed`` keeps the parse for this warehouse name and these vars."""
    key = hashlib.sha256(f"{warehouse}\0{cli_vars}".encode()).hexdigest()[:16]
    return PARSE_SEEDS / f"{key}.msgpack"


@contextmanager
def partial_parse_seed(target: Path, warehouse: Path, cli_vars: str = "") -> Iterator[None]:
    """Around one dbt invocation with ``--target-path target``: a target with no parse of its
    own starts from the last parse an invocation of the same kind left in another target
    (``PARSE_SEEDS``, keyed by the warehouse path as dbt's profile names it and the command
    line's vars); afterwards the target's parse becomes that seed.

    dbt keys partial parsing on the vars and on the profile's values (the DuckDB path among
    them), so a seed serves another data directory only when dbt names the warehouse the same
    way: ``run_dbt(..., at_warehouse=True)`` runs dbt beside the warehouse, naming it by its
    file name. dbt checks a seed like its own partial_parse.msgpack (dbt version, vars, profile,
    every file's checksum) and re-parses what differs, or the whole project when it cannot use
    it, so a stale or torn seed costs a parse, never a wrong build. Without it each new target
    parsed the whole project (~3.5 s per dbt invocation)."""
    seed = parse_seed_path(warehouse, cli_vars)
    own = target / PARTIAL_PARSE
    target.mkdir(parents=True, exist_ok=True)
    if not own.exists() and seed.exists():
        shutil.copy2(seed, own)  # its mtime too: unchanged by dbt, it is not copied back
    yield
    if own.exists() and (not seed.exists() or seed.stat().st_mtime < own.stat().st_mtime):
        PARSE_SEEDS.mkdir(parents=True, exist_ok=True)
        tmp = seed.with_name(f"{seed.name}.{os.getpid()}.tmp")
        shutil.copyfile(own, tmp)
        os.replace(tmp, seed)  # atomic: a concurrent reader sees the old seed or the new one


# ---------------------------------------------------------------- stages of dbt nodes


def dbt_group(fqn: list[str]) -> str:
    """models/staging/* -> staging; models/{intermediate,marts}/<area>/* -> <area>."""
    parts = fqn[1:-1]  # drop the project name and the model name
    if not parts:
        return "dbt"
    if parts[0] == "staging" or len(parts) == 1:
        return parts[0]
    return parts[1]


def folder_stage(fqn: list[str]) -> str:
    """The stage of a model by its folder: staging/* -> staging; intermediate/billing -> rating;
    marts/billing -> invoices; */costs -> costs and margin; anything else -> controls."""
    parts = fqn[1:-1]
    layer = parts[0] if parts else ""
    area = parts[1] if len(parts) > 1 else ""
    if layer == "staging":
        return STAGING
    if area == "billing":
        return INVOICES if layer == "marts" else RATING
    if area == "costs":
        return COSTS
    return CONTROLS


def dbt_node_stages(manifest: Mapping[str, Any]) -> dict[str, str]:
    """Sub-stage of every dbt model and test (unique_id -> stage name): the latest of its own
    folder's stage and its parents' stages; a test goes with its latest parent."""
    nodes: Mapping[str, Any] = manifest.get("nodes", {})
    order = {name: i for i, name in enumerate(DBT_STAGES)}
    memo: dict[str, str] = {}

    def stage(uid: str) -> str:
        if uid in memo:
            return memo[uid]
        node = nodes[uid]
        parents = [p for p in node.get("depends_on", {}).get("nodes", []) if p in nodes]
        if node.get("resource_type") == "test":
            best = STAGING
        else:
            best = folder_stage(list(node.get("fqn") or []))
        memo[uid] = best  # cycle guard (dbt graphs are acyclic)
        for parent in parents:
            ps = stage(parent)
            if order[ps] > order[best]:
                best = ps
        memo[uid] = best
        return best

    return {uid: stage(uid) for uid in nodes}
