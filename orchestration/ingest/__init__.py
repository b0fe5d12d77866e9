"""Ingestion: every raw source file into the DuckDB ``raw`` schema, exactly once.

Public API (the Dagster assets and the CLI call exactly this):

- ``ingest_reference(s)``: reference files (validated first; ``ReferenceDataError`` if invalid)
- ``ingest_usage(s)``: ``raw/usage/*`` (JSONL, CSV, Parquet)
- ``ingest_provider(s, provider)``: ``raw/costs/<provider>/*`` for openai | anthropic | focus
- ``ingest_all(s)``: all of the above, in that order

Each call opens its own connection, ensures the schema, loads each new file in its own
transaction (rows + quarantine + manifest row commit together) and closes the connection.

Decisions (see each loader's docstring for details):

- A file is (path relative to the data dir, sha256). Seen before -> skipped (``FileLoad.skipped``
  with the earlier batch id, zero counts). Same path, new hash -> a new batch.
- Counting unit of ``raw_rows``: a non-blank JSONL line, a CSV data row, a Parquet row, a JSON
  page's bucket *result*, a reference row (YAML: a meter, a plan version, an allocation rule).
  Empty buckets (``results: []``, or dashboard CSV rows with only time columns) carry no data:
  no row, not a raw row, counted in ``FileLoad.empty_buckets``. A JSON file that cannot be
  parsed is one raw row, quarantined ``unparseable`` with the file's text.
- Always ``raw_rows = loaded_rows + duplicate_rows + quarantined_rows`` per file: checked before
  the file commits, and by a Great Expectations suite over every file of the call.
- Quarantine reason codes. Usage: invalid_encoding, unparseable, missing_id (id or source),
  missing_subject, missing_time, invalid_time, time_out_of_range, invalid_quantity,
  quantity_out_of_range, negative_quantity, future_time, unknown_customer, unknown_event_type;
  unreadable_file for a usage file rejected as a whole (``FileLoad.rejected_reason``, manifest
  ``status = 'rejected'``; the other files load; see docs/design.md). Provider pages/CSVs:
  unparseable, invalid_encoding, malformed_bucket, unknown_object, unexpected_object,
  invalid_time, invalid_amount, excess_precision, invalid_currency, invalid_quantity,
  negative_quantity. FOCUS: unparseable, invalid_encoding, missing_required, invalid_time,
  invalid_decimal, excess_precision, invalid_currency.
- Text is parsed strictly (``sqlexpr``): ``5/1/25`` is an invalid time, ``$10,000.00`` an invalid
  decimal, ``12.5`` an invalid integer count, ``10.0`` the integer 10. Money never goes through
  float arithmetic (JSON numbers are cast from their shortest round-trip text).
"""

from __future__ import annotations

from orchestration.config import Settings
from orchestration.ingest.loader import PROVIDERS, ingest_provider_files, ingest_usage_files
from orchestration.ingest.reference import ingest_reference_files
from orchestration.ingest.results import FileLoad, IngestError, IngestResult, ReferenceDataError
from orchestration.warehouse import connect, connect_for_load, ensure_schema

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
    with connect_for_load(s.warehouse) as con:
        ensure_schema(con)
        return ingest_usage_files(con, s)


def ingest_provider(s: Settings, provider: str) -> list[FileLoad]:
    """Load new files of ``raw/costs/<provider>/``; provider is openai | anthropic | focus."""
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
    with connect_for_load(s.warehouse) as con:
        ensure_schema(con)
        return ingest_provider_files(con, s, provider)


def ingest_all(s: Settings) -> IngestResult:
    """Reference, usage, then every provider source."""
    files = ingest_reference(s) + ingest_usage(s)
    for provider in PROVIDERS:
        files += ingest_provider(s, provider)
    return IngestResult(files)
