"""The Spark target's SQL settings (dbt_project/profiles.yml) are the ones money needs, and
Spark's defaults would give different numbers (issue 21): each case runs under the profile's
settings (exact, as DuckDB) and under Spark's default for that one setting (different)."""

from __future__ import annotations

import shutil
from decimal import Decimal
from typing import Any

import pytest
import yaml

from orchestration.config import DBT_PROJECT_DIR

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings("ignore::Warning")]

PROFILE_SETTINGS = (
    "spark.sql.session.timeZone",
    "spark.sql.ansi.enabled",
    "spark.sql.decimalOperations.allowPrecisionLoss",
    "spark.sql.parser.escapedStringLiterals",
)


def spark_target() -> dict[str, Any]:
    profiles = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    return profiles["meterline"]["outputs"]["spark"]


def test_the_spark_target_sets_decimal_ansi_time_zone_and_literals_explicitly() -> None:
    target = spark_target()
    assert target["type"] == "spark" and target["method"] == "session"
    params = target["server_side_parameters"]
    assert params["spark.sql.session.timeZone"] == "UTC"
    assert params["spark.sql.ansi.enabled"] == "true"
    assert params["spark.sql.decimalOperations.allowPrecisionLoss"] == "false"
    assert params["spark.sql.parser.escapedStringLiterals"] == "true"


@pytest.fixture(scope="module")
def spark() -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        pytest.skip("pyspark is not installed (uv sync --extra spark)")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime (openjdk-17-jre-headless)")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("meterline-settings-test")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    yield session
    session.stop()


def _with(spark: Any, overrides: dict[str, str], sql: str) -> Any:
    params = spark_target()["server_side_parameters"]
    for key in PROFILE_SETTINGS:
        spark.conf.set(key, overrides.get(key, params[key]))
    return spark.sql(sql).collect()[0][0]


# a unit price of 12 places times a quantity, both DECIMAL(38,12) as the models cast them
PRODUCT = "select cast(0.000000123457 as decimal(38, 12)) * cast(3000.5 as decimal(38, 12))"


def test_decimal_products_keep_their_scale(spark: Any) -> None:
    exact = Decimal("0.000000123457") * Decimal("3000.5")
    assert _with(spark, {}, PRODUCT) == exact
    # Spark's default (allowPrecisionLoss=true) cuts the scale to 6: a different amount
    lossy = _with(spark, {"spark.sql.decimalOperations.allowPrecisionLoss": "true"}, PRODUCT)
    assert lossy != exact and lossy == exact.quantize(Decimal("0.000001"))


def test_overflow_fails_instead_of_null(spark: Any) -> None:
    sql = "select cast(cast(999999999999999999999999999 as decimal(38, 0)) as decimal(38, 12))"
    with pytest.raises(Exception, match="NUMERIC_VALUE_OUT_OF_RANGE|CANNOT_CHANGE_DECIMAL"):
        _with(spark, {}, sql)
    assert _with(spark, {"spark.sql.ansi.enabled": "false"}, sql) is None


def test_string_literals_are_taken_as_written(spark: Any) -> None:
    # the usage row keys hash '\x00' (four characters on DuckDB) for a missing dimension
    assert _with(spark, {}, r"select length('\x00')") == 4
    assert (
        _with(spark, {"spark.sql.parser.escapedStringLiterals": "false"}, r"select '\x00'")
        != r"\x00"
    )


def test_local_days_are_utc_based(spark: Any) -> None:
    sql = "select cast(cast('2026-10-31 23:30:00' as timestamp) as date)"
    assert str(_with(spark, {}, sql)) == "2026-10-31"
