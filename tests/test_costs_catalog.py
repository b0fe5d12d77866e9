"""The catalog step: each distinct (provider, model) resolved once at its first date, again at
later month starts only when a price changed; unknown models reported; deterministic."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb

from orchestration.catalog import CatalogPrice, list_prices
from orchestration.costs.catalog_prices import month_starts_after, resolve_into
from orchestration.warehouse import ensure_schema

lookups_made: list[tuple[str, str, dt.date]] = []


def fake_lookup(provider: str, model: str, on: dt.date) -> CatalogPrice | None:
    lookups_made.append((provider, model, on))
    if model == "mystery-model":
        return None
    output = Decimal("0.00001") if on < dt.date(2026, 10, 1) else Decimal("0.000008")
    prices = {"input": Decimal("0.0000025"), "output": output}
    if model.startswith("claude"):
        prices = {"input": Decimal("0.000001"), "output": Decimal("0.000005")}
    return CatalogPrice(
        provider=provider, model=model, catalog_model_id=model.split("-20")[0], prices=prices
    )


def _warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    ensure_schema(con)
    con.execute("""
        insert into raw.usage_events (batch_id, file_path, row_number, event_source, event_id,
            event_type, customer_id, event_time, provider, model, payload_hash, is_duplicate)
        values
            (1, 'u.jsonl', 1, 'gw', 'e1', 'llm.completion', 'c1', '2026-09-10 10:00', 'openai',
             'gpt-4o-2024-08-06', 1, false),
            (1, 'u.jsonl', 2, 'gw', 'e2', 'llm.completion', 'c1', '2026-11-02 10:00', 'openai',
             'gpt-4o-2024-08-06', 2, false),
            (1, 'u.jsonl', 3, 'gw', 'e3', 'llm.completion', 'c1', '2026-09-15 10:00', 'openai',
             'mystery-model', 3, false),
            (1, 'u.jsonl', 4, 'gw', 'e4', 'llm.completion', 'c1', '2026-08-01 10:00', 'openai',
             'duplicate-only', 4, true)""")
    con.execute("""
        insert into raw.anthropic_costs (batch_id, file_path, row_number, bucket_start,
            bucket_end, amount_cents, model)
        values (2, 'c.json', 1, '2026-10-05', '2026-10-06', 1.5, 'claude-haiku-4-5-20251001')""")
    return con


def test_month_starts_after() -> None:
    assert month_starts_after(dt.date(2026, 9, 10), dt.date(2026, 11, 2)) == [
        dt.date(2026, 10, 1),
        dt.date(2026, 11, 1),
    ]
    assert month_starts_after(dt.date(2026, 12, 5), dt.date(2027, 1, 1)) == [dt.date(2027, 1, 1)]
    assert month_starts_after(dt.date(2026, 9, 10), dt.date(2026, 9, 30)) == []


def test_resolves_once_and_versions_on_price_change(tmp_path: Path) -> None:
    lookups_made.clear()
    con = _warehouse(tmp_path / "w.duckdb")
    result = resolve_into(con, fake_lookup)
    assert (result.models_seen, result.models_resolved) == (3, 2)
    assert result.unknown_models == [("openai", "mystery-model")]
    # first date, then each later month start up to the last date; duplicates ignored
    assert lookups_made == [
        ("anthropic", "claude-haiku-4-5-20251001", dt.date(2026, 10, 5)),
        ("openai", "gpt-4o-2024-08-06", dt.date(2026, 9, 10)),
        ("openai", "gpt-4o-2024-08-06", dt.date(2026, 10, 1)),
        ("openai", "gpt-4o-2024-08-06", dt.date(2026, 11, 1)),
        ("openai", "mystery-model", dt.date(2026, 9, 15)),
    ]
    rows = con.execute("""
        select provider, model, catalog_model_id, price_component, unit_price,
               effective_from::varchar, resolved_for::varchar
        from raw.catalog_prices order by all""").fetchall()
    assert rows == [
        (
            "anthropic",
            "claude-haiku-4-5-20251001",
            "claude-haiku-4-5",
            "input",
            Decimal("0.000001"),
            "2026-10-05",
            "2026-10-05",
        ),
        (
            "anthropic",
            "claude-haiku-4-5-20251001",
            "claude-haiku-4-5",
            "output",
            Decimal("0.000005"),
            "2026-10-05",
            "2026-10-05",
        ),
        (
            "openai",
            "gpt-4o-2024-08-06",
            "gpt-4o",
            "input",
            Decimal("0.0000025"),
            "2026-09-10",
            "2026-09-10",
        ),
        (
            "openai",
            "gpt-4o-2024-08-06",
            "gpt-4o",
            "input",
            Decimal("0.0000025"),
            "2026-10-01",
            "2026-10-01",
        ),
        (
            "openai",
            "gpt-4o-2024-08-06",
            "gpt-4o",
            "output",
            Decimal("0.000008"),
            "2026-10-01",
            "2026-10-01",
        ),
        (
            "openai",
            "gpt-4o-2024-08-06",
            "gpt-4o",
            "output",
            Decimal("0.00001"),
            "2026-09-10",
            "2026-09-10",
        ),
    ]
    unknown = con.execute("""select provider, model, first_seen::varchar, last_seen::varchar
                             from raw.catalog_unknown_models""").fetchall()
    assert unknown == [("openai", "mystery-model", "2026-09-15", "2026-09-15")]
    con.close()


def test_rerun_replaces_and_is_deterministic(tmp_path: Path) -> None:
    con = _warehouse(tmp_path / "w.duckdb")
    resolve_into(con, fake_lookup)
    first = con.execute("select * from raw.catalog_prices order by all").fetchall()
    resolve_into(con, fake_lookup)
    second = con.execute("select * from raw.catalog_prices order by all").fetchall()
    assert first == second and len(first) == 6
    con.close()


def test_real_catalog_prices_are_exact_decimals() -> None:
    gpt = list_prices("openai", "gpt-4o-2024-08-06", dt.date(2026, 10, 1))
    assert gpt is not None
    assert gpt.prices["input"] == Decimal("0.0000025")
    assert gpt.prices["output"] == Decimal("0.00001")
    haiku = list_prices("anthropic", "claude-haiku-4-5-20251001", dt.date(2026, 10, 1))
    assert haiku is not None
    assert (haiku.prices["cached_input"], haiku.prices["cache_write"]) == (
        Decimal("0.0000001"),
        Decimal("0.00000125"),
    )
    assert list_prices("openai", "no-such-model-xyz", dt.date(2026, 10, 1)) is None
