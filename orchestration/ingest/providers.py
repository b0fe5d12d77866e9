"""Which loader, file formats and default raw table each provider source uses.

Imports the per-format loaders only (``loader.py`` imports this module, never the reverse)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import duckdb

from orchestration.ingest.anthropic import load_anthropic_file
from orchestration.ingest.focus import load_focus_file
from orchestration.ingest.manifest import Counts, RawFile
from orchestration.ingest.openai import load_openai_file

PROVIDERS: tuple[str, ...] = ("openai", "anthropic", "focus")

# (connection, file, batch_id, arrival) -> (raw table written, counts, empty buckets)
FileLoader = Callable[
    [duckdb.DuckDBPyConnection, RawFile, int, dt.datetime], tuple[str, Counts, int]
]


def provider_loader(provider: str) -> tuple[FileLoader, list[str], str]:
    """(loader, file formats, table named for skipped files) of ``provider``."""
    if provider == "openai":
        return load_openai_file, ["json", "csv"], "openai_usage"
    if provider == "anthropic":
        return load_anthropic_file, ["json"], "anthropic_usage"
    if provider == "focus":
        return load_focus_file, ["csv", "parquet"], "focus_costs"
    raise ValueError(f"unknown provider {provider!r}")
