"""The cross-cutting money/time macros, rendered by dbt and run by DuckDB: round_money rounds
half away from zero to DECIMAL(38,2) (DuckDB's round() on DECIMAL, checked here on the usual
traps), safe_divide stays exact DECIMAL, ceil_divide, to_local_ts, glob_match."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.config import Settings, settings
from tests.support.rating import dbt_show_inline

ROUNDING = {  # value -> half away from zero, 2 places
    "0.005": "0.01",
    "-0.005": "-0.01",
    "2.675": "2.68",
    "-2.675": "-2.68",
    "0.125": "0.13",
    "-0.125": "-0.13",
    "1.115": "1.12",
    "0.004": "0.00",
    "-0.004": "0.00",
    "0.0049999": "0.00",
    "3.125": "3.13",
    "1000.995": "1001.00",
    "99999999999.994999": "99999999999.99",
}

SQL = """
with v as (
    select * from (values {values}) t(k, x)
)
select
    k,
    cast({{{{ round_money('cast(x as decimal(38, 12))') }}}} as varchar) as rounded,
    typeof({{{{ round_money('cast(x as decimal(38, 12))') }}}}) as rounded_type,
    typeof({{{{ to_money('x') }}}}) as money_type
from v
union all
select 'divide', cast({{{{ safe_divide('cast(99 as decimal(38, 12)) * 20', '31') }}}} as varchar),
    typeof({{{{ safe_divide('cast(99 as decimal(38, 12)) * 20', '31') }}}}), null
union all
select 'divide_neg', cast({{{{ safe_divide('-2', '3') }}}} as varchar), null, null
union all
select 'divide_zero', cast({{{{ safe_divide('1', '0') }}}} as varchar), null, null
union all
select 'divide_big', cast({{{{ safe_divide(
    'cast(123885.90 as decimal(38, 2)) * cast(10000000000 as decimal(38, 9))', '7000000000'
) }}}} as varchar), null, null
union all
select 'divide_big_neg', cast({{{{ safe_divide(
    'cast(-123885.90 as decimal(38, 2)) * cast(10000000000 as decimal(38, 9))', '7000000000'
) }}}} as varchar), null, null
union all
select 'divide_huge', cast({{{{ safe_divide(
    'cast(99999999999999.99 as decimal(38, 2)) * 999999', '3.5'
) }}}} as varchar), null, null
union all
select 'divide_half_up', cast({{{{ safe_divide('0.000000000005', '10') }}}} as varchar)
    || ' ' || cast({{{{ safe_divide('0.000000000015', '-10') }}}} as varchar), null, null
union all
select 'ceil_2001_1000', cast({{{{ ceil_divide('2001', '1000') }}}} as varchar), null, null
union all
select 'ceil_2000_1000', cast({{{{ ceil_divide('2000', '1000') }}}} as varchar), null, null
union all
select 'local_ny', cast({{{{ to_local_ts("timestamp '2026-11-01 02:30:00'",
                                         "'America/New_York'") }}}} as varchar), null, null
union all
select 'local_kathmandu', cast({{{{ to_local_ts("timestamp '2026-10-31 18:20:00'",
                                                "'Asia/Kathmandu'") }}}} as varchar), null, null
union all
select 'glob', cast({{{{ glob_match("'gpt-4o-2024-08-06'", "'gpt-4o*'") }}}} as varchar)
    || cast({{{{ glob_match("'gpt-4o-mini'", "'gpt-4o-m?ni'") }}}} as varchar)
    || cast({{{{ glob_match("'claude'", "'gpt*'") }}}} as varchar)
    || cast({{{{ glob_match('null', "'gpt*'") }}}} as varchar), null, null
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    root: Path = tmp_path_factory.mktemp("macros")
    (root / "data").mkdir()
    s: Settings = settings(root / "data")
    values = ", ".join(f"('{k}', '{k}')" for k in ROUNDING)
    rows = dbt_show_inline(s, SQL.format(values=values))
    return {r["k"]: r for r in rows}


def test_round_money_is_half_away_from_zero(results: dict[str, dict[str, str]]) -> None:
    assert {k: results[k]["rounded"] for k in ROUNDING} == ROUNDING
    assert {results[k]["rounded_type"] for k in ROUNDING} == {"DECIMAL(38,2)"}
    assert {results[k]["money_type"] for k in ROUNDING} == {"DECIMAL(38,12)"}


def test_safe_divide_is_exact_decimal(results: dict[str, dict[str, str]]) -> None:
    assert results["divide"]["rounded"] == "63.870967741935"  # 99 x 20 / 31, 12 places
    assert results["divide"]["rounded_type"] == "DECIMAL(38,12)"
    assert results["divide_neg"]["rounded"] == "-0.666666666667"
    assert results["divide_zero"]["rounded"] is None
    # a line amount times a month of a large customer's tokens (1.2e15) divided by the line's
    # quantity: the numerator x 10^24 would overflow HUGEINT; long division keeps it exact
    # (expected values from Python's Decimal, ROUND_HALF_UP = half away from zero)
    assert results["divide_big"]["rounded"] == "176979.857142857143"
    assert results["divide_big_neg"]["rounded"] == "-176979.857142857143"
    assert results["divide_huge"]["rounded"] == "28571399999999997142.860000000000"
    assert results["divide_half_up"]["rounded"] == "0.000000000001 -0.000000000002"
    assert results["ceil_2001_1000"]["rounded"] == "3"
    assert results["ceil_2000_1000"]["rounded"] == "2"


def test_time_zone_and_glob_macros(results: dict[str, dict[str, str]]) -> None:
    assert results["local_ny"]["rounded"] == "2026-10-31 22:30:00"
    assert results["local_kathmandu"]["rounded"] == "2026-11-01 00:05:00"  # UTC+5:45
    assert results["glob"]["rounded"] == "truetruefalsefalse"
