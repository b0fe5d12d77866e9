"""Results of Great Expectations validations that stand while their data does not change.

A GE suite re-run on the same rows gives the same answer, and importing Great Expectations alone
costs seconds. So a validation that passed records a fingerprint of what it validated (the rows,
and the code of the suites) in ``<data_dir>/.meterline/validated.json``; the next validation of
identical rows returns "passed" without importing GE. Only passes are recorded: a failure is
validated again every time, and any change of the rows (a new batch, an edited reference file, a
hand-made update) validates again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from orchestration.config import REPO_ROOT, Settings

SUITE_CODE = (
    REPO_ROOT / "orchestration" / "quality" / "gx.py",
    REPO_ROOT / "orchestration" / "quality" / "reference_suites.py",
    REPO_ROOT / "orchestration" / "defs" / "quality" / "ge_checks.py",
)


def _path(s: Settings) -> Path:
    return s.data_dir / ".meterline" / "validated.json"


def fingerprint(df: Any) -> str:
    """The frame to validate (column names and types, every value in row order) and the
    suites' code."""
    import pandas as pd

    h = hashlib.sha256()
    for p in SUITE_CODE:
        if p.exists():
            h.update(hashlib.sha256(p.read_bytes()).digest())
    h.update(repr([(str(c), str(t)) for c, t in df.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(df.astype(str), index=True).to_numpy().tobytes())
    return h.hexdigest()


def _read(s: Settings) -> dict[str, str]:
    try:
        data = json.loads(_path(s).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def already_passed(s: Settings, name: str, fp: str) -> bool:
    return _read(s).get(name) == fp


def record_pass(s: Settings, name: str, fp: str) -> None:
    record_passes(s, {name: fp})


def record_passes(s: Settings, passes: dict[str, str]) -> None:
    if not passes:
        return
    data = _read(s)
    data.update(passes)
    path = _path(s)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
