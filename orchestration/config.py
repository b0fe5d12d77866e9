"""Runtime configuration: every setting from an environment variable, defaults that make
`make demo` work from the repository root."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


ENGINES = ("duckdb", "spark")


def engine_from_env() -> str:
    """``METERLINE_ENGINE``: ``duckdb`` (the embedded default) or ``spark`` (dbt-spark, session
    method: PySpark in this machine's JVM, ``local[*]`` unless ``METERLINE_SPARK_MASTER`` names a
    cluster; on a Spark Connect server when ``SPARK_REMOTE`` is set)."""
    engine = (os.environ.get("METERLINE_ENGINE") or "duckdb").strip().lower()
    if engine not in ENGINES:
        raise ValueError(f"METERLINE_ENGINE={engine!r}: expected one of {', '.join(ENGINES)}")
    return engine


def spark_master() -> str:
    """``METERLINE_SPARK_MASTER`` (a cluster, e.g. ``spark://host:7077``), else ``local[*]``."""
    return os.environ.get("METERLINE_SPARK_MASTER") or "local[*]"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    warehouse: Path
    engine: str = "duckdb"

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
    def lake_dir(self) -> Path:
        """Parquet copies of the raw and ledger tables: what the Spark engine reads (lake.py)."""
        return self.data_dir / "lake"

    @property
    def spark_dir(self) -> Path:
        """The Spark engine's warehouse directory and metastore (dbt's models on Spark)."""
        return self.data_dir / "spark"

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
        env["METERLINE_ENGINE"] = self.engine
        if self.engine == "spark":
            env["METERLINE_DBT_TARGET"] = "spark"
            env["METERLINE_LAKE_DIR"] = str(self.lake_dir)
            env["METERLINE_SPARK_DIR"] = str(self.spark_dir)
            env["METERLINE_DBT_PROJECT_DIR"] = str(DBT_PROJECT_DIR)
            # the Spark master, or Spark Connect when SPARK_REMOTE is set (PySpark takes one)
            if env.get("SPARK_REMOTE"):
                env.pop("MASTER", None)
            else:
                env["MASTER"] = spark_master()
        return env


def settings(data_dir: str | os.PathLike[str] | None = None, engine: str | None = None) -> Settings:
    """Resolve settings: explicit ``data_dir``, else ``$METERLINE_DATA_DIR``, else ``./data``.
    The warehouse is ``$METERLINE_WAREHOUSE`` if set, else ``<data_dir>/warehouse.duckdb``; the
    engine ``engine`` if given, else ``$METERLINE_ENGINE`` (default duckdb)."""
    base = Path(data_dir or os.environ.get("METERLINE_DATA_DIR") or "data").resolve()
    wh = os.environ.get("METERLINE_WAREHOUSE")
    warehouse = Path(wh).resolve() if wh else base / "warehouse.duckdb"
    if engine is not None and engine not in ENGINES:
        raise ValueError(f"engine {engine!r}: expected one of {', '.join(ENGINES)}")
    return Settings(data_dir=base, warehouse=warehouse, engine=engine or engine_from_env())
