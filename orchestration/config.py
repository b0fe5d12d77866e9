"""Runtime configuration: every setting from an environment variable, defaults that make
`make demo` work from the repository root."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    warehouse: Path

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def reference_dir(self) -> Path:
        return self.data_dir / "reference"

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / "exports"

    @property
    def published_warehouse(self) -> Path:
        """The read-only snapshot readers (dashboard, analysts) open."""
        return self.warehouse.parent / "published" / "warehouse.duckdb"

    def dbt_env(self) -> dict[str, str]:
        """Environment for a dbt subprocess bound to this warehouse."""
        env = dict(os.environ)
        env["METERLINE_DATA_DIR"] = str(self.data_dir)
        env["METERLINE_WAREHOUSE"] = str(self.warehouse)
        env.setdefault("DBT_PROFILES_DIR", str(DBT_PROJECT_DIR))
        return env


def settings(data_dir: str | os.PathLike[str] | None = None) -> Settings:
    """Resolve settings: explicit ``data_dir``, else ``$METERLINE_DATA_DIR``, else ``./data``.
    The warehouse is ``$METERLINE_WAREHOUSE`` if set, else ``<data_dir>/warehouse.duckdb``."""
    base = Path(data_dir or os.environ.get("METERLINE_DATA_DIR") or "data").resolve()
    wh = os.environ.get("METERLINE_WAREHOUSE")
    warehouse = Path(wh).resolve() if wh else base / "warehouse.duckdb"
    return Settings(data_dir=base, warehouse=warehouse)
