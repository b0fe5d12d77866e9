"""Batch summaries: per loaded file, the counts add up.

Checked twice. The loader (``orchestration.ingest.loader``) checks each file's counts before its
transaction commits, so a file whose counts do not add up leaves nothing behind: plain arithmetic
(a Great Expectations suite of the same rules cost ~2.3 s of every run with a new file, for its
import). The blocking asset check
``rows_conserved`` (``orchestration/defs/quality/checks.py``) checks every row of
``raw.load_manifest`` with the same rules in SQL, and the row tables against it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

COUNT_COLUMNS: tuple[str, ...] = (
    "raw_rows",
    "loaded_rows",
    "duplicate_rows",
    "quarantined_rows",
    "conflict_rows",
)


def batch_summary_problems(summaries: Sequence[Mapping[str, Any]]) -> list[str]:
    """Problems with the batch summaries (``file_path``, ``batch_id`` and the count columns),
    one message per failing file and rule; empty when every file's counts add up: no negative
    count, raw = loaded + duplicates + quarantined, conflicts <= duplicates, batch ids unique."""
    out: list[str] = []
    seen: set[int] = set()
    for sm in summaries:
        c = {k: int(sm[k]) for k in COUNT_COLUMNS}
        accounted = c["loaded_rows"] + c["duplicate_rows"] + c["quarantined_rows"]
        batch = int(sm["batch_id"])
        rules = [
            *(f"{k} is negative" for k in COUNT_COLUMNS if c[k] < 0),
            *(
                ["raw_rows <> loaded + duplicates + quarantined"]
                if c["raw_rows"] != accounted
                else []
            ),
            *(
                ["conflict_rows > duplicate_rows"]
                if c["conflict_rows"] > c["duplicate_rows"]
                else []
            ),
            *(["batch_id is not unique"] if batch in seen else []),
        ]
        seen.add(batch)
        counts = ", ".join(f"{k}={v}" for k, v in (*c.items(), ("accounted_rows", accounted)))
        out += [f"{sm['file_path']} (batch {batch}): {rule} ({counts})" for rule in rules]
    return out
