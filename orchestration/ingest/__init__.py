"""Ingestion: every raw source file into the DuckDB ``raw`` schema, exactly once.

Public API (the Dagster assets and the CLI call exactly this):

- ``ingest_reference(s)``: reference files (validated first; ``ReferenceDataError`` if invalid)
- ``ingest_usage(s)``: ``raw/usage/*`` (JSONL, CSV, Parquet)
- ``ingest_provider(s, provider)``: ``raw/costs/<provider>/*`` for openai | anthropic | focus
- ``ingest_all(s)``: all of the above, in that order

Each call opens its own connection, ensures the schema, loads each new file in its own
transaction (rows + quarantine + manifest row commit together) and closes the connection.
"""

from __future__ import annotations

from orchestration.config import Settings
from orchestration.ingest.loader import PROVIDERS, ingest_provider_files, ingest_usage_files
from orchestration.ingest.reference import ingest_reference_files
from orchestration.ingest.results import FileLoad, IngestError, IngestResult, ReferenceDataError
from orchestration.warehouse import connect, ensure_schema

__all__ = [
    "PROVIDERS",
    "FileLoad",
    "IngestError",
    "IngestResult",
    "ReferenceDataError",
    "ingest_all",
    "ingest_provider",
    "ingest_reference",
    "ingest_usage",
]


def ingest_reference(s: Settings) -> list[FileLoad]:
    """Validate and load ``reference/`` (meters, plans, customers, subscriptions, contracts,
    credit grants, budgets, provider prices, cost allocation). Raises ``ReferenceDataError``
    (nothing written) when any reference file is invalid."""
    with connect(s.warehouse) as con:
        ensure_schema(con)
        return ingest_reference_files(con, s)


def ingest_usage(s: Settings) -> list[FileLoad]:
    """Load new files of ``raw/usage/`` (needs customers and meters loaded first)."""
    with connect(s.warehouse) as con:
        ensure_schema(con)
        return ingest_usage_files(con, s)


def ingest_provider(s: Settings, provider: str) -> list[FileLoad]:
    """Load new files of ``raw/costs/<provider>/``; provider is openai | anthropic | focus."""
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
    with connect(s.warehouse) as con:
        ensure_schema(con)
        return ingest_provider_files(con, s, provider)


def ingest_all(s: Settings) -> IngestResult:
    """Reference, usage, then every provider source."""
    files = ingest_reference(s) + ingest_usage(s)
    for provider in PROVIDERS:
        files += ingest_provider(s, provider)
    return IngestResult(files)
