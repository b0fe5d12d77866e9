"""Incremental runs: usage events are aggregated once, per load batch (int_usage_batches_daily,
an incremental dbt model). A run on a warehouse that already holds earlier batches must end in
exactly the state of a clean run over the same files: after new files arrive, after a customer's
time zone changes (its batches are re-aggregated), and after the model's logic changes (full
refresh)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestration.config import Settings
from orchestration.defs.dbt.assets import (
    INCREMENTAL_STATE,
    dbt_build_args,
    dbt_target_path,
    incremental_fingerprints,
    needs_full_refresh,
)
from orchestration.pipeline import run_pipeline
from tests.support.pipeline import add_late_event, make_data_dir, mart_checksums, query

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning")]

HUB = "int_usage_batches_daily"
PRICED = "intermediate.int_billing_usage_priced"
NOVEMBER_FILE = "raw/usage/usage_2026-11-10.jsonl"
BATCHES_SQL = (
    f"select batch_id, count(*), sum(event_count) from intermediate.{HUB} group by all order by 1"
)


def settings(data: Path) -> Settings:
    return Settings(data_dir=data, warehouse=data / "warehouse.duckdb")


def hub_run_sql(s: Settings, model: str = HUB) -> str:
    """The SQL dbt last ran for a model (an incremental run deletes and inserts)."""
    paths = list(dbt_target_path(s).joinpath("run").rglob(f"{model}.sql"))
    assert len(paths) == 1, paths
    return paths[0].read_text(encoding="utf-8")


def assert_same_warehouse(got: Settings, want: Settings) -> None:
    for schema in ("marts", "intermediate"):
        g, w = mart_checksums(got, schema), mart_checksums(want, schema)
        assert g.keys() == w.keys(), schema
        assert g == w, (schema, {k: (g[k], w[k]) for k in g if g[k] != w[k]})


def set_timezone(data: Path, customer: str, tz: str) -> None:
    path = data / "reference" / "customers.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        if cells[0] == customer:
            cells[3] = tz
        out.append(",".join(cells))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def test_new_files_are_aggregated_incrementally_and_equal_a_clean_run(tmp_path: Path) -> None:
    inc = settings(make_data_dir(tmp_path / "inc"))
    held = tmp_path / "held.jsonl"
    shutil.move(inc.data_dir / NOVEMBER_FILE, held)
    assert run_pipeline(inc, progress=False)
    first = query(
        inc,
        BATCHES_SQL,
    )
    assert "delete from" not in hub_run_sql(inc)  # the first build creates the table

    priced_days = query(inc, f"select count(distinct customer_id || usage_date) from {PRICED}")
    shutil.move(held, inc.data_dir / NOVEMBER_FILE)
    add_late_event(inc.data_dir)
    assert run_pipeline(inc, progress=False)
    assert "delete from" in hub_run_sql(inc)  # incremental: only the new batches
    assert "delete from" in hub_run_sql(inc, "int_billing_usage_priced")  # only their days
    # the days of the new batches were priced again, not all of them
    repriced = query(
        inc,
        f"select count(distinct customer_id || usage_date) from {PRICED} "
        f"where max_batch_id > (select min(batch_id) from raw.load_manifest "
        f"where file_path = '{NOVEMBER_FILE}')",
    )
    assert 0 < repriced[0][0] < priced_days[0][0]
    after = query(
        inc,
        BATCHES_SQL,
    )
    assert after[: len(first)] == first and len(after) == len(first) + 2

    clean = settings(make_data_dir(tmp_path / "clean"))
    add_late_event(clean.data_dir)
    assert run_pipeline(clean, progress=False)
    assert_same_warehouse(inc, clean)
    # the late event (October, after October's usage was aggregated) is on October's lines
    assert (
        query(inc, "select count(*) from marts.fct_invoice_lines where period = '2026-10'")[0][0]
        > 0
    )


def test_a_time_zone_change_reaggregates_that_customers_batches(tmp_path: Path) -> None:
    inc = settings(make_data_dir(tmp_path / "inc"))
    assert run_pipeline(inc, progress=False)
    set_timezone(inc.data_dir, "cus_globex", "America/New_York")
    assert run_pipeline(inc, progress=False)
    tzs = query(
        inc, f"select distinct timezone from intermediate.{HUB} where customer_id = 'cus_globex'"
    )
    assert tzs == [("America/New_York",)]

    clean = settings(make_data_dir(tmp_path / "clean"))
    set_timezone(clean.data_dir, "cus_globex", "America/New_York")
    assert run_pipeline(clean, progress=False)
    assert_same_warehouse(inc, clean)


def test_a_price_change_reprices_every_day(tmp_path: Path) -> None:
    """Priced rows carry the fingerprint of the reference data they were priced with: a plan
    change deletes them all (pre-hook) and the incremental run prices every day again."""

    def drop_mini_price(data: Path) -> None:
        # gpt-4o-mini input tokens then match the gpt-4o price row (with its free units)
        plan = data / "reference" / "plans" / "pro_v1.yml"
        text = plan.read_text(encoding="utf-8")
        row = '      - when: {model: "gpt-4o-mini*"}\n        unit_price: "0.15"\n'
        assert row in text
        plan.write_text(text.replace(row, ""), encoding="utf-8")

    inc = settings(make_data_dir(tmp_path / "inc"))
    assert run_pipeline(inc, progress=False)
    before = query(inc, f"select distinct reference_fingerprint from {PRICED}")
    drop_mini_price(inc.data_dir)
    assert run_pipeline(inc, progress=False)
    # an incremental run (a full refresh would create the table, not delete from it)
    assert "delete from" in hub_run_sql(inc, "int_billing_usage_priced")
    after = query(inc, f"select distinct reference_fingerprint from {PRICED}")
    assert len(before) == len(after) == 1 and before != after

    clean = settings(make_data_dir(tmp_path / "clean"))
    drop_mini_price(clean.data_dir)
    assert run_pipeline(clean, progress=False)
    assert_same_warehouse(inc, clean)


def test_full_refresh_when_the_incremental_logic_changes(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    manifest = {
        "nodes": {
            "model.meterline.hub": {
                "resource_type": "model",
                "config": {"materialized": "incremental"},
                "checksum": {"checksum": "a"},
                "depends_on": {"macros": ["macro.meterline.m"]},
            },
            "model.meterline.table": {
                "resource_type": "model",
                "config": {"materialized": "table"},
                "checksum": {"checksum": "b"},
            },
        },
        "macros": {"macro.meterline.m": {"checksum": {"checksum": "m1"}}},
    }
    current = incremental_fingerprints(manifest)
    assert list(current) == ["model.meterline.hub"]
    # no record of the logic that built the rows: rebuild
    assert needs_full_refresh(target, current)
    assert "--full-refresh" in dbt_build_args(target, current)
    (target / INCREMENTAL_STATE).write_text(__import__("json").dumps(current))
    assert not needs_full_refresh(target, current)
    assert "--full-refresh" not in dbt_build_args(target, current)
    # the model's SQL or a macro it calls changed: rebuild
    manifest["macros"]["macro.meterline.m"]["checksum"]["checksum"] = "m2"
    assert needs_full_refresh(target, incremental_fingerprints(manifest))
    manifest["macros"]["macro.meterline.m"]["checksum"]["checksum"] = "m1"
    manifest["nodes"]["model.meterline.hub"]["checksum"]["checksum"] = "a2"
    assert needs_full_refresh(target, incremental_fingerprints(manifest))
    manifest["nodes"]["model.meterline.hub"]["checksum"]["checksum"] = "a"
    assert not needs_full_refresh(target, incremental_fingerprints(manifest))
    # a model upstream of it, or a macro that a macro it calls calls, changed: rebuild
    manifest["nodes"]["model.meterline.hub"]["depends_on"]["nodes"] = ["model.meterline.up"]
    manifest["nodes"]["model.meterline.up"] = {
        "resource_type": "model",
        "config": {"materialized": "view"},
        "checksum": {"checksum": "u1"},
        "depends_on": {"macros": ["macro.meterline.outer"]},
    }
    manifest["macros"]["macro.meterline.outer"] = {
        "checksum": {"checksum": "o1"},
        "depends_on": {"macros": ["macro.meterline.inner"]},
    }
    manifest["macros"]["macro.meterline.inner"] = {"checksum": {"checksum": "i1"}}
    current = incremental_fingerprints(manifest)
    (target / INCREMENTAL_STATE).write_text(__import__("json").dumps(current))
    for entry, changed in (
        (manifest["nodes"]["model.meterline.up"], "u2"),
        (manifest["macros"]["macro.meterline.inner"], "i2"),
    ):
        old = entry["checksum"]["checksum"]
        entry["checksum"]["checksum"] = changed
        assert needs_full_refresh(target, incremental_fingerprints(manifest))
        entry["checksum"]["checksum"] = old
    assert not needs_full_refresh(target, incremental_fingerprints(manifest))


@pytest.mark.serial
def test_a_model_added_or_removed_between_runs_is_picked_up(tmp_path: Path) -> None:
    """After a `git pull` that adds a model, the next run parses the project and builds it (it
    failed with a KeyError: dagster-dbt cached the old manifest by path); after the model is
    removed the manifest is stale again (no file got newer) and the next run drops it."""
    from orchestration.config import DBT_PROJECT_DIR
    from orchestration.pipeline import manifest_is_stale

    s = settings(make_data_dir(tmp_path / "data"))
    assert run_pipeline(s, progress=False)
    model = DBT_PROJECT_DIR / "models" / "marts" / "billing" / "zz_test_added_model.sql"
    try:
        model.write_text("-- added by a test, removed at its end\nselect 1 as x\n")
        assert manifest_is_stale()
        assert run_pipeline(s, progress=False)
        assert query(s, "select x from marts.zz_test_added_model") == [(1,)]
    finally:
        model.unlink(missing_ok=True)
    assert manifest_is_stale()
    assert run_pipeline(s, progress=False)
    assert not manifest_is_stale()
