"""The Great Expectations suites of ``orchestration/quality`` as blocking Dagster asset checks:
``ge_reference_suite`` on each reference CSV table (``raw.customers``, ``raw.subscriptions`` …),
the suite ingestion validated the file with, re-run on what was stored. (The batch summaries'
counts are checked in SQL by ``rows_conserved``, checks.py.)

Each check fetches its rows with DuckDB first; when exactly these rows passed the same suite
before (``orchestration.quality.validated``), the pass stands and Great Expectations is not
imported (seconds of every run otherwise). Ingestion records the pass of each file it validated,
so a check on rows stored as they were validated does not validate them a second time. Failures
are validated again every time.
"""

from typing import Any

import dagster as dg

from orchestration.defs.ingest.assets import raw_key
from orchestration.defs.resources import MeterlineResource
from orchestration.warehouse import connect


def _records(sql: str, meterline: MeterlineResource) -> list[tuple[Any, ...]]:
    with connect(meterline.settings().warehouse, read_only=True) as con:
        return con.execute(sql).fetchall()


def _result(problems: list[str], **extra: Any) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={"problems": len(problems), "first": "; ".join(problems[:5]), **extra},
    )


def _validated(meterline: MeterlineResource, name: str, df: Any) -> tuple[bool, str]:
    from orchestration.quality.validated import already_passed, fingerprint

    fp = fingerprint(df)
    return already_passed(meterline.settings(), name, fp), fp


def _record(meterline: MeterlineResource, name: str, fp: str, problems: list[str]) -> None:
    from orchestration.quality.validated import record_pass

    if not problems:
        record_pass(meterline.settings(), name, fp)


def _reference_check(spec: Any) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_key(spec.table),
        name="ge_reference_suite",
        blocking=True,
        description=f"Great Expectations suite of reference/{spec.file}",
    )
    def _check(meterline: MeterlineResource) -> dg.AssetCheckResult:
        from orchestration.quality.reference_suites import (
            suite_frame,
            suite_key,
            validate_reference_csv,
        )

        cols = ", ".join(spec.columns)
        records = _records(
            f"select {cols}, row_number from raw.{spec.table} order by file_path, row_number",
            meterline,
        )
        if not records:
            return _result([])
        df = suite_frame(spec, records)
        key = suite_key(spec.table)
        passed_before, fp = _validated(meterline, key, df)
        if passed_before:
            return _result([], validated="these rows passed this suite before")
        problems = [f"row {row}: {problem}" for row, problem in validate_reference_csv(spec, df)]
        _record(meterline, key, fp, problems)
        return _result(problems)

    return _check


def ge_checks() -> list[dg.AssetChecksDefinition]:
    from orchestration.quality.reference_suites import CSV_SPECS

    return [_reference_check(spec) for spec in CSV_SPECS]
