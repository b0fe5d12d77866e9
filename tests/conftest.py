"""Shared fixtures. Real components: a DuckDB file in a temp dir, real dbt, real Dagster.

Area-specific helpers live in tests/support/<area>.py, owned by the area's tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestration.config import DBT_PROJECT_DIR, Settings, settings
from orchestration.dbt_project import manifest_is_stale, manifest_lock
from orchestration.project_parse import parse_project

REPO_ROOT = Path(__file__).resolve().parent.parent
# copies of ../shared/fixtures (the official FOCUS sample, provider API examples) and the FOCUS
# column list, so the suite needs nothing outside the repository
FIXTURES = REPO_ROOT / "tests" / "fixtures"


def _parsed_here(manifest: Path) -> bool:
    """True when another worker of this pytest run already parsed (xdist sets the run's id)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    stamp = manifest.parent / ".pytest-parse.run"
    if run and stamp.exists() and stamp.read_text() == run:
        return True
    if run:
        stamp.write_text(run)
    return False


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`@dbt_assets` needs target/manifest.json at import: parse once per session. Under xdist
    the first worker parses and the others find the manifest fresh (a second parse rewriting
    target/ while the first worker's tests read it would race)."""
    s = settings(tmp_path_factory.mktemp("parse"))
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    manifest.parent.mkdir(exist_ok=True)
    with manifest_lock(exclusive=True):  # the pipeline's lock: no reader sees a torn file
        if not _parsed_here(manifest) or manifest_is_stale():
            parse_project(s)  # as the pipeline parses: it seeds every data directory's build
    assert manifest.exists()
    return manifest


@pytest.fixture
def tmp_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for an empty data directory in a temp dir (env vars point at it too)."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("METERLINE_DATA_DIR", str(data))
    monkeypatch.delenv("METERLINE_WAREHOUSE", raising=False)
    return settings(data)


# Scheduling hint for `make test` (two xdist workers, --dist loadfile --no-loadscope-reorder: a
# module is a unit of work, handed out in collection order). The longest modules start first,
# so the workers finish together instead of one running the Spark module alone at the end
# (longest-processing-time first). Measured with --durations; a module not listed keeps its
# place after these. Only the order changes, never what runs.
LONGEST_FIRST = (  # session 10's --durations (a make test on three workers)
    "test_spark_equality.py",
    "test_pipeline_incremental.py",
    "test_dashboard_demo_browser.py",
    "test_pipeline_follows_data.py",
    "test_rating_pricing_lab.py",
    "test_spark_connect.py",
    "test_invoice_documents.py",
    "test_bench.py",
    "test_lifecycle_ledger.py",
    "test_pipeline_no_new_data.py",
    "test_pipeline_poison.py",
    "test_rating_close.py",
    "test_close_period.py",
    "test_dashboard_pipeline.py",
    "test_orchestration_kill.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest in order
