"""`meterline close` and `meterline run` never write the warehouse at the same time."""

from __future__ import annotations

from orchestration.close import close_period
from orchestration.config import Settings
from orchestration.run_log import run_lock


def test_close_refuses_while_a_run_holds_the_lock(tmp_settings: Settings) -> None:
    messages: list[str] = []
    with run_lock(tmp_settings) as locked:
        assert locked
        with run_lock(tmp_settings) as second:
            assert not second
        assert not close_period(tmp_settings, "2026-10", [], echo=messages.append)
    assert "a meterline run is in progress" in messages[0]
    assert not tmp_settings.warehouse.exists()  # refused before opening the warehouse
    with run_lock(tmp_settings) as again:  # released
        assert again
