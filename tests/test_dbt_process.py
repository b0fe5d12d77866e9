"""``DbtProcess``: several dbt invocations in one process. The Spark engine's pricing lab runs its
re-ratings and its marts build in one, so the JVM and the SparkSession start once per run instead
of once per invocation (tests/test_spark_equality.py runs that path). Here, on DuckDB: the
invocations share the process, a failure raises DbtError with dbt's own words and leaves the
process serving, Spark SQL without a SparkSession of dbt's is refused, and the process ends with
its block."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestration.config import settings as make_settings
from orchestration.dbt_runner import DbtError, DbtProcess


def test_invocations_share_one_process_and_a_failure_names_itself(tmp_path: Path) -> None:
    s = make_settings(tmp_path / "data")
    s.warehouse.parent.mkdir(parents=True)
    log = tmp_path / "dbt_process.log"
    target = tmp_path / "target"
    with DbtProcess(s, log) as dbt:
        assert dbt.pid is None  # nothing started before the first invocation
        dbt.into(target, "ls", "--select", "fct_invoices", "--output", "name")
        pid = dbt.pid
        assert pid is not None
        with pytest.raises(DbtError) as failed:
            dbt.into(target, "run-operation", "no_such_macro")
        assert "could not find a macro with the name 'no_such_macro'" in str(failed.value)
        dbt.into(target, "ls", "--select", "fct_credit_ledger", "--output", "name")
        # Spark SQL needs the SparkSession a dbt invocation made with the profile's settings;
        # on DuckDB there is none, and the process does not start a bare one
        with pytest.raises(DbtError) as no_session:
            dbt.spark_sql([("a statement", "select 1")], fetch="select 1")
        assert "no SparkSession in the dbt process" in str(no_session.value)
        assert dbt.pid == pid  # the same process served all four
    assert dbt.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # it ended with the block
    assert (target / "manifest.json").exists()
    output = log.read_text(encoding="utf-8")  # what `dbt ls` listed, once each
    assert output.count("\nfct_invoices\n") == 1 and output.count("\nfct_credit_ledger\n") == 1
    assert "\x1b[" not in output  # no terminal colours in a log file
