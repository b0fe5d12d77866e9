"""A thin runner for Great Expectations 1.x on in-memory frames: an ephemeral context, one
pandas data source, a suite validated against a DataFrame, failures as plain records."""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Failure:
    expectation: str  # e.g. expect_column_values_to_match_regex
    column: str | None
    row: int | None  # the frame's `row_number` of an offending row (None: not row-level)
    value: Any
    kwargs: dict[str, Any]


@lru_cache(maxsize=1)
def _context() -> Any:
    """One ephemeral context per process (each context creates a temporary docs directory)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


def validate_frame(name: str, df: pd.DataFrame, expectations: list[Any]) -> list[Failure]:
    """Validate ``df`` (which must have a ``row_number`` column) against ``expectations``
    (``gx.expectations.*`` instances); return every failure, row by row, in row order."""
    import great_expectations as gx

    ctx = _context()
    source_name = f"{name}_{uuid.uuid4().hex}"
    source = ctx.data_sources.add_pandas(source_name)
    try:
        return _run(gx, source, name, df, expectations)
    finally:
        ctx.data_sources.delete(source_name)


def _run(
    gx: Any, source: Any, name: str, df: pd.DataFrame, expectations: list[Any]
) -> list[Failure]:
    asset = source.add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe(f"{name}_batch").get_batch(
        batch_parameters={"dataframe": df}
    )
    suite = gx.ExpectationSuite(name=f"{name}_suite")
    for e in expectations:
        suite.add_expectation(e)
    result = batch.validate(
        suite,
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": ["row_number"],
        },
    )
    failures: list[Failure] = []
    for r in result.results:
        if r.success:
            continue
        cfg = r.expectation_config
        kwargs = dict(cfg.kwargs)
        column = kwargs.get("column")
        index = (r.result or {}).get("unexpected_index_list") or []
        if not index:
            failures.append(Failure(cfg.type, column, None, None, kwargs))
            continue
        for item in index:
            row = item.get("row_number") if isinstance(item, dict) else None
            value = item.get(column) if isinstance(item, dict) and column else None
            failures.append(
                Failure(cfg.type, column, None if row is None else int(row), value, kwargs)
            )
    return sorted(failures, key=lambda f: (f.row if f.row is not None else 0, f.column or ""))
