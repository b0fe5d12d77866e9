"""The Great Expectations suites of ``orchestration/quality`` as blocking Dagster asset checks.

- ``ge_reference_suite`` on each reference CSV table (``raw.customers``, ``raw.subscriptions`` …):
  the suite ingestion validated the file with, re-run on what was stored.
- ``ge_batch_summaries`` on ``raw.load_manifest``: every file's counts are non-negative,
  raw = loaded + duplicates + quarantined, conflicts <= duplicates (all files in one validation).
"""

from typing import Any

import dagster as dg

from orchestration.defs.ingest.assets import raw_key
from orchestration.defs.resources import MeterlineResource
from orchestration.warehouse import connect

COUNT_COLUMNS: tuple[str, ...] = (
    "raw_rows",
    "loaded_rows",
    "duplicate_rows",
    "quarantined_rows",
    "conflict_rows",
)


def _frame(sql: str, meterline: MeterlineResource) -> Any:
    with connect(meterline.settings().warehouse, read_only=True) as con:
        return con.execute(sql).df()


def _result(problems: list[str]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=not problems, metadata={"problems": len(problems), "first": "; ".join(problems[:5])}
    )


def _reference_check(spec: Any) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_key(spec.table),
        name="ge_reference_suite",
        blocking=True,
        description=f"Great Expectations suite of reference/{spec.file}",
    )
    def _check(meterline: MeterlineResource) -> dg.AssetCheckResult:
        from orchestration.quality.reference_suites import validate_reference_csv

        cols = ", ".join(spec.columns)
        df = _frame(
            f"select {cols}, row_number from raw.{spec.table} order by file_path, row_number",
            meterline,
        )
        if df.empty:
            return _result([])
        df = df.astype(object)
        df["row_number"] = df["row_number"].astype(int)
        return _result(
            [f"row {row}: {problem}" for row, problem in validate_reference_csv(spec, df)]
        )

    return _check


@dg.asset_check(
    asset=raw_key("load_manifest"),
    name="ge_batch_summaries",
    blocking=True,
    description="Great Expectations: every file's batch counts add up.",
)
def ge_batch_summaries(meterline: MeterlineResource) -> dg.AssetCheckResult:
    import great_expectations as gx

    from orchestration.quality.gx import validate_frame

    cols = ", ".join(COUNT_COLUMNS)
    df = _frame(
        f"select row_number() over (order by batch_id) as row_number, file_path, {cols}, "
        "loaded_rows + duplicate_rows + quarantined_rows as accounted_rows "
        "from raw.load_manifest order by batch_id",
        meterline,
    )
    if df.empty:
        return _result([])
    ex = gx.expectations
    expectations: list[Any] = [
        ex.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in COUNT_COLUMNS
    ]
    expectations.append(
        ex.ExpectColumnPairValuesToBeEqual(column_A="raw_rows", column_B="accounted_rows")
    )
    expectations.append(
        ex.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="duplicate_rows", column_B="conflict_rows", or_equal=True
        )
    )
    failures = validate_frame("batch_summaries", df, expectations)
    paths = dict(zip(df["row_number"], df["file_path"], strict=True))
    return _result([f"{paths.get(f.row, '?')}: {f.expectation}" for f in failures])


def ge_checks() -> list[dg.AssetChecksDefinition]:
    from orchestration.quality.reference_suites import CSV_SPECS

    return [*(_reference_check(spec) for spec in CSV_SPECS), ge_batch_summaries]
