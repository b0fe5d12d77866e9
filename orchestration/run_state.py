"""What the last successful run was built from: ``<data_dir>/.meterline/run_state.json``.

``meterline run`` answers "is there anything to do?" before it starts Dagster, dbt or Great
Expectations: nothing is to do when

- the last run log says ``succeeded`` (a failed or killed run leaves ``failed`` / ``running``);
- every input file under ``raw/`` and ``reference/`` has the content (sha256) it had when that
  run started: same paths, same hashes. A file whose size and modification time are unchanged is
  not read again (its hash is the recorded one), any other file is hashed;
- the dbt project (every file a build reads), the Python code of ``orchestration/``, ``uv.lock``
  and the ``METERLINE_*`` environment are the ones that run used;
- what the run wrote is as it left it: the warehouse file (and no WAL), the published snapshot
  and every file under ``exports/`` have the size and modification time recorded at its end (so
  a ``meterline close``, which writes the ledger, or a deleted snapshot is never a no-op).

The inputs are snapshotted when a run starts (``begin``) and recorded only when it succeeds
(``commit``): a file that arrives while a run is under way is new for the next one. Any doubt
(no state, unreadable state) means "run".
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.config import REPO_ROOT, Settings
from orchestration.run_log import read_run_log

STATE_VERSION = 1


def sha256_file(path: Path) -> str:
    """As the load manifest hashes a file (``ingest.manifest.sha256_file``; not imported: that
    package loads DuckDB and the loaders)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def state_path(s: Settings) -> Path:
    return s.data_dir / ".meterline" / "run_state.json"


def _files(root: Path, base: Path) -> dict[str, os.stat_result]:
    out: dict[str, os.stat_result] = {}
    if not root.is_dir():
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith("."):
                continue
            p = Path(dirpath) / name
            out[p.relative_to(base).as_posix()] = p.stat()
    return out


def input_hashes(s: Settings, known: dict[str, list[Any]] | None = None) -> dict[str, list[Any]]:
    """``{rel_path: [size, mtime_ns, sha256]}`` of every input file; a file whose size and
    mtime match ``known`` keeps the known hash (not read again)."""
    known = known or {}
    out: dict[str, list[Any]] = {}
    for root in (s.raw_dir, s.reference_dir):
        for rel, st in sorted(_files(root, s.data_dir).items()):
            prev = known.get(rel)
            if prev and prev[0] == st.st_size and prev[1] == st.st_mtime_ns:
                digest = prev[2]
            else:
                digest = sha256_file(s.data_dir / rel)
            out[rel] = [st.st_size, st.st_mtime_ns, digest]
    return out


def output_stats(s: Settings) -> dict[str, list[int] | None]:
    """``{path: [size, mtime_ns]}`` of what a run writes (None: absent)."""
    paths = [
        s.warehouse,
        s.warehouse.with_name(s.warehouse.name + ".wal"),
        s.published_warehouse,
    ]
    out: dict[str, list[int] | None] = {}
    for p in paths:
        try:
            st = p.stat()
            out[str(p)] = [st.st_size, st.st_mtime_ns]
        except FileNotFoundError:
            out[str(p)] = None
    for rel, st in sorted(_files(s.exports_dir, s.data_dir).items()):
        out[rel] = [st.st_size, st.st_mtime_ns]
    return out


def code_fingerprint() -> str:
    """The dbt project, the pipeline's Python code, the locked environment and the METERLINE_*
    settings of the environment."""
    from orchestration.dbt_project import project_fingerprint

    h = hashlib.sha256(project_fingerprint().encode())
    code = sorted((REPO_ROOT / "orchestration").rglob("*.py"))
    lock = REPO_ROOT / "uv.lock"
    for p in [*code, *([lock] if lock.exists() else [])]:
        h.update(p.relative_to(REPO_ROOT).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    for k, v in sorted(os.environ.items()):
        if k.startswith("METERLINE_") and k not in ("METERLINE_DATA_DIR", "METERLINE_WAREHOUSE"):
            h.update(f"{k}={v}\n".encode())
    return h.hexdigest()


def _read(s: Settings) -> dict[str, Any] | None:
    try:
        data = json.loads(state_path(s).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == STATE_VERSION else None


@dataclass
class Pending:
    """The inputs and code a run started from (recorded if it succeeds)."""

    inputs: dict[str, list[Any]]
    code: str
    settings: str


def _settings_key(s: Settings) -> str:
    return f"{s.data_dir}\n{s.warehouse}"


def begin(s: Settings) -> Pending:
    """Snapshot the inputs and code at the start of a run, and forget the previous state (a run
    that does not finish must not leave a state that says there is nothing to do)."""
    previous = _read(s)
    pending = Pending(
        inputs=input_hashes(s, (previous or {}).get("inputs")),
        code=code_fingerprint(),
        settings=_settings_key(s),
    )
    state_path(s).unlink(missing_ok=True)
    return pending


def commit(s: Settings, pending: Pending) -> None:
    """Record a successful run: what it started from and what it left."""
    path = state_path(s)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "version": STATE_VERSION,
        "settings": pending.settings,
        "code": pending.code,
        "inputs": pending.inputs,
        "outputs": output_stats(s),
    }
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


@dataclass(frozen=True)
class Unchanged:
    files: int
    hashed: int  # files read again (size or mtime changed, content the same)


def nothing_to_do(s: Settings) -> Unchanged | str:
    """``Unchanged`` when the last successful run's inputs, code and outputs all stand; else
    the first reason to run (for the log)."""
    state = _read(s)
    if state is None:
        return "no record of a successful run"
    log = read_run_log(s)
    if log is None or log.status != "succeeded" or log.failed_checks:
        return f"last run {log.status if log else 'missing'}"
    if state.get("settings") != _settings_key(s):
        return "other settings"
    if output_stats(s) != state.get("outputs"):
        return "the warehouse, snapshot or exports changed since the last run"
    if code_fingerprint() != state.get("code"):
        return "the dbt project or the code changed"
    known: dict[str, list[Any]] = state.get("inputs") or {}
    current = input_hashes(s, known)
    if current.keys() != known.keys():
        return "files added or removed"
    changed = [rel for rel, v in current.items() if v[2] != known[rel][2]]
    if changed:
        return f"{len(changed)} file(s) changed"
    hashed = sum(1 for rel, v in current.items() if v[:2] != known[rel][:2])
    return Unchanged(files=len(current), hashed=hashed)
