"""Great Expectations check of batch summaries: per loaded file, the counts add up.

One suite run validates every file loaded by an ingest call (one row per file), so the check
costs one validation per run, not per file. The same rule is also enforced per file, before its
transaction commits, by ``orchestration.ingest.loader`` (a cheap arithmetic guard)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestration.quality.gx import validate_frame

COUNT_COLUMNS: tuple[str, ...] = (
    "raw_rows",
    "loaded_rows",
    "duplicate_rows",
    "quarantined_rows",
    "conflict_rows",
)


def _expectations() -> list[Any]:
    import great_expectations as gx

    ex = gx.expectations
    out: list[Any] = [
        ex.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in COUNT_COLUMNS
    ]
    out.append(ex.ExpectColumnPairValuesToBeEqual(column_A="raw_rows", column_B="accounted_rows"))
    out.append(
        ex.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="duplicate_rows", column_B="conflict_rows", or_equal=True
        )
    )
    out.append(ex.ExpectColumnValuesToBeUnique(column="batch_id"))
    return out


def batch_summary_problems(summaries: Sequence[Mapping[str, Any]]) -> list[str]:
    """Problems with the batch summaries (``file_path``, ``batch_id`` and the count columns),
    one message per failing file and rule; empty when every file's counts add up:
    raw = loaded + duplicates + quarantined, conflicts <= duplicates, no negative count."""
    import pandas as pd

    if not summaries:
        return []
    rows = []
    for i, sm in enumerate(summaries, start=1):
        row = {c: int(sm[c]) for c in COUNT_COLUMNS}
        row["accounted_rows"] = row["loaded_rows"] + row["duplicate_rows"] + row["quarantined_rows"]
        row.update(row_number=i, batch_id=int(sm["batch_id"]), file_path=str(sm["file_path"]))
        rows.append(row)
    failures = validate_frame("batch_summary", pd.DataFrame(rows), _expectations())
    out = []
    for f in failures:
        r = rows[(f.row or 1) - 1]
        counts = ", ".join(f"{k}={r[k]}" for k in (*COUNT_COLUMNS, "accounted_rows"))
        out.append(f"{r['file_path']} (batch {r['batch_id']}): {f.expectation} failed ({counts})")
    return out
