"""The Spark engine through a Spark Connect server (issue 21: "Spark Connect from the
environment"; orchestration/spark_connect.py).

A real server (the PySpark wheel's Spark Connect, started by ``spark_connect.start_server`` with
the profile's Spark settings) serves one data directory. dbt builds PRICING.md's worked invoice on
it with ``SPARK_REMOTE`` set and *no Java* in the client's environment, so nothing can run in an
in-process JVM; the invoice and its lines are compared row by row with the DuckDB build of the
same data (``engine_compare``), and the total is PRICING.md's 1080.00."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from decimal import Decimal

import duckdb
import pytest

from orchestration.config import Settings
from orchestration.dbt_runner import run_dbt
from orchestration.engine_compare import compare_marts, spark_table_dir

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings("ignore::Warning")]

INVOICE_MARTS = ("fct_invoices", "fct_invoice_lines")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Settings, str]]:
    if shutil.which("java") is None:
        pytest.skip("no Java runtime (openjdk-17-jre-headless)")
    from orchestration import spark_connect
    from orchestration.lake import export_lake
    from tests.support.rating import build_from_scenario, load, northwind, write_data_dir

    root = tmp_path_factory.mktemp("connect")
    duck = build_from_scenario(root / "duckdb", northwind(), "+marts.billing")
    data = root / "spark" / "data"
    data.mkdir(parents=True)
    spark = Settings(data_dir=data, warehouse=data / "warehouse.duckdb", engine="spark")
    write_data_dir(data, northwind())
    load(spark)  # ingest on DuckDB, as for the in-process engine
    export_lake(spark)
    port = _free_port()
    server = spark_connect.start_server(spark, port)
    try:
        spark_connect.wait_until_serving(port, server)
        yield duck, spark, spark_connect.remote_url(port)
    finally:
        server.terminate()
        try:
            server.wait(60)
        except Exception:
            server.kill()


def _client_env(spark: Settings, name: str) -> dict[str, str]:
    work = spark.data_dir.parent / name
    return {
        # no JVM can start in the client: every statement has to run on the server
        "JAVA_HOME": str(spark.data_dir / "no-java"),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
    }


def test_the_worked_invoice_built_through_spark_connect_equals_duckdb(
    engines: tuple[Settings, Settings, str],
) -> None:
    duck, spark, url = engines
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPARK_REMOTE", url)  # as a user points meterline at a Spark Connect server
        proc = run_dbt(
            spark,
            "build",
            "--select",
            "+marts.billing",
            "--exclude-resource-type",
            "unit_test",
            "--indirect-selection",
            "cautious",
            extra_env=_client_env(spark, "dbt"),
        )
    assert "Completed successfully" in proc.stdout
    results = {r.table: r for r in compare_marts(duck, spark) if r.table in INVOICE_MARTS}
    assert set(results) == set(INVOICE_MARTS)
    for r in results.values():
        assert r.equal, (r.table, r.duckdb_rows, r.spark_rows, r.detail)
        assert r.duckdb_rows > 0
    files = f"{spark_table_dir(spark, 'marts', 'fct_invoices')}/*.parquet"
    with duckdb.connect() as con:
        total = con.execute(
            f"select total from read_parquet('{files}') "
            "where customer_id = 'cus_northwind' and period = '2026-10'"
        ).fetchall()
    assert total == [(Decimal("1080.00"),)]


def test_without_spark_remote_the_same_client_cannot_build(
    engines: tuple[Settings, Settings, str],
) -> None:
    """The client environment above really has no Java: without ``SPARK_REMOTE`` dbt-spark's
    session method would start a JVM in the client, and fails."""
    _, spark, _ = engines
    proc = run_dbt(
        spark,
        "run",
        "--select",
        "stg_reference__customers",
        check=False,
        extra_env=_client_env(spark, "dbt-local"),
    )
    assert proc.returncode != 0
    assert "no-java" in proc.stdout + proc.stderr


def test_the_server_holds_the_profiles_spark_settings(
    engines: tuple[Settings, Settings, str],
) -> None:
    from orchestration.spark_connect import profile_spark_parameters, server_settings

    _, spark, _ = engines
    conf = server_settings(spark, 15002)
    params = profile_spark_parameters(spark)
    for key in (
        "spark.sql.ansi.enabled",
        "spark.sql.decimalOperations.allowPrecisionLoss",
        "spark.sql.session.timeZone",
        "spark.sql.parser.escapedStringLiterals",
    ):
        assert conf[key] == params[key]
    assert conf["spark.sql.warehouse.dir"] == f"{spark.spark_dir}/warehouse"
    assert conf["spark.sql.catalogImplementation"] == "hive"
    assert conf["spark.connect.grpc.binding.port"] == "15002"
