"""Which loader, file formats and default raw table each provider source uses."""

from __future__ import annotations

from orchestration.ingest.anthropic import load_anthropic_file
from orchestration.ingest.focus import load_focus_file
from orchestration.ingest.loader import FileLoader
from orchestration.ingest.openai import load_openai_file


def provider_loader(provider: str) -> tuple[FileLoader, list[str], str]:
    """(loader, file formats, table named for skipped files) of ``provider``."""
    if provider == "openai":
        return load_openai_file, ["json", "csv"], "openai_usage"
    if provider == "anthropic":
        return load_anthropic_file, ["json"], "anthropic_usage"
    if provider == "focus":
        return load_focus_file, ["csv", "parquet"], "focus_costs"
    raise ValueError(f"unknown provider {provider!r}")
