"""Great Expectations check of a loaded file's batch summary: the counts add up."""

from __future__ import annotations

from typing import Any

from orchestration.quality.gx import validate_frame

COUNT_COLUMNS: tuple[str, ...] = ("raw_rows", "loaded_rows", "duplicate_rows",
                                  "quarantined_rows", "conflict_rows")


def _expectations() -> list[Any]:
    import great_expectations as gx

    ex = gx.expectations
    out: list[Any] = [ex.ExpectColumnValuesToBeBetween(column=c, min_value=0)
                      for c in COUNT_COLUMNS]
    out.append(ex.ExpectColumnPairValuesToBeEqual(column_A="raw_rows", column_B="accounted_rows"))
    out.append(ex.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="duplicate_rows", column_B="conflict_rows", or_equal=True))
    return out


def batch_summary_problems(file_path: str, counts: dict[str, int]) -> list[str]:
    """Problems with one file's batch summary (empty when the counts add up):
    raw = loaded + duplicates + quarantined, conflicts <= duplicates, no negative count."""
    import pandas as pd

    row = {c: int(counts[c]) for c in COUNT_COLUMNS}
    row["accounted_rows"] = row["loaded_rows"] + row["duplicate_rows"] + row["quarantined_rows"]
    row["row_number"] = 1
    failures = validate_frame("batch_summary", pd.DataFrame([row]), _expectations())
    return [f"{file_path}: batch summary {f.expectation} failed "
            f"({', '.join(f'{k}={v}' for k, v in row.items() if k != 'row_number')})"
            for f in failures]
