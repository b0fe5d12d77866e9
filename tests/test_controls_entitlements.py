"""fct_entitlements and the export the API gateway polls, and alert delivery through the outbox
to a real local HTTP server and a real local SMTP server (aiosmtpd), on the hand-computed
controls data set (tests/support/controls.py) plus one customer with included units, through the
real loader, a real dbt build and the real Dagster assets.

cus_budget (plan flat: 1.00 per 1,000 tokens, no fee) spends 100.00 a day Oct 1 .. 15 against a
1000.00 hard-limit budget: 1000.00 on Oct 10 (not above), 1100.00 on Oct 11 -> limited from
2026-10-11. cus_included (plan incl: 100,000 free tokens a period, then 1.00 per 1,000; images
0.10 each) uses 9,000 tokens a day Oct 1 .. 10 = 90,000 = 90% of its included units -> warning.
"""

from __future__ import annotations

import email
import email.policy
import http.server
import json
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from orchestration.config import Settings, settings
from orchestration.dbt_runner import run_dbt
from orchestration.entitlements import write_entitlements_export
from orchestration.ingest import ingest_all
from orchestration.warehouse import connect
from tests.support.controls import D, Usage, _daily, usage_rows, write_data_dir
from tests.support.ingest import own_dbt_target

INCL_PLAN_YML = """code: incl
version: 1
name: Included
currency: USD
effective_from: 2026-01-01
fee: "0.00"
charges:
  - meter: tokens
    model: per_unit
    price_per: 1000
    prices:
      - unit_price: "1.00"
        free_units: 100000
  - meter: images
    model: per_unit
    prices:
      - unit_price: "0.10"
"""


def write_data(data: Path) -> Path:
    rows: list[Usage] = [
        *usage_rows(),
        *_daily("cus_included", D(2026, 10, 1), D(2026, 10, 10), 9_000),
    ]
    write_data_dir(data, rows)
    ref = data / "reference"
    (ref / "plans" / "incl_v1.yml").write_text(INCL_PLAN_YML)
    with (ref / "customers.csv").open("a") as f:
        f.write("cus_included,Included,USD,UTC,0,startup,,billing@included.test\n")
    with (ref / "subscriptions.csv").open("a") as f:
        f.write("sub_included,cus_included,incl,2026-10-01,\n")
    return data


SELECT = [
    "--select",
    "+fct_entitlements",
    "+fct_spend_alerts",
    "+fct_spend_anomalies",
    "--indirect-selection",
    "cautious",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    s = settings(write_data(tmp_path_factory.mktemp("entitlements") / "data"))
    ingest_all(s)
    run_dbt(s, "build", *SELECT, extra_env=own_dbt_target(s), at_warehouse=True)
    yield s


def rows(s: Settings, customer: str) -> list[dict[str, Any]]:
    with connect(s.warehouse, read_only=True) as con:
        cur = con.execute(
            "select * exclude (entitlement_id, meter_name) from marts.fct_entitlements "
            "where customer_id = ? order by meter_code",
            [customer],
        )
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def rebuilt_as_of(built: Settings, tmp: Path, day: str) -> Settings:
    """A copy of the warehouse (own data dir for the export), controls rebuilt as of ``day``."""
    data = tmp / "data"
    data.mkdir(parents=True)
    s = Settings(data_dir=data, warehouse=data / "warehouse.duckdb")
    shutil.copy(built.warehouse, s.warehouse)
    run_dbt(
        s,
        "run",
        "--select",
        "int_controls_as_of_dates+,+fct_entitlements",
        "--vars",
        f"{{as_of_date: '{day}'}}",
        extra_env=own_dbt_target(s),
        at_warehouse=True,
    )
    return s


def test_hard_limit_customer_is_limited_from_the_day_it_crossed(built: Settings) -> None:
    assert rows(built, "cus_budget") == [
        {
            "customer_id": "cus_budget",
            "meter_code": "tokens",
            "unit": "token",
            "as_of_date": D(2026, 10, 20),
            "period": "2026-10",
            "subscription_id": "sub_budget",
            "plan_code": "flat",
            "plan_version": 1,
            "included_units": Decimal("0"),
            "used_units": Decimal("1500000"),  # 15 days x 100,000
            "remaining_units": Decimal("0"),
            "currency": "USD",
            "monthly_budget": Decimal("1000.00"),
            "hard_limit": True,
            "spend_to_date": Decimal("1500.00"),
            "state": "limited",
            "state_reason": "hard limit: spend to date 1500.00 above the monthly budget 1000.00 "
            "since 2026-10-11",
            "limited_since": D(2026, 10, 11),
        }
    ]


def test_included_units_used_remaining_and_warning(built: Settings) -> None:
    got = rows(built, "cus_included")
    assert [
        (
            r["meter_code"],
            r["included_units"],
            r["used_units"],
            r["remaining_units"],
            r["spend_to_date"],
            r["state"],
            r["state_reason"],
        )
        for r in got
    ] == [
        ("images", Decimal("0"), Decimal("0"), Decimal("0"), Decimal("0.00"), "ok", ""),
        (
            "tokens",
            Decimal("100000"),
            Decimal("90000"),  # 10 days x 9,000
            Decimal("10000"),
            Decimal("0.00"),  # all within the free units
            "warning",
            "used 90,000 of 100,000 included units",
        ),
    ]


def test_budget_without_hard_limit_and_no_budget_stay_ok(built: Settings) -> None:
    # cus_onpace: 100.00 a day Oct 1 .. 20 = 2000.00 of a 10000.00 soft budget: 20% -> ok
    [onpace] = rows(built, "cus_onpace")
    assert (onpace["spend_to_date"], onpace["hard_limit"], onpace["state"]) == (
        Decimal("2000.00"),
        False,
        "ok",
    )
    # cus_tokyo: as-of Oct 21 local; its Oct 22 (local) event is not counted: 30,000 tokens
    [tokyo] = rows(built, "cus_tokyo")
    assert (tokyo["as_of_date"], tokyo["used_units"], tokyo["state"]) == (
        D(2026, 10, 21),
        Decimal("30000"),
        "ok",
    )


def test_the_export_shows_limited_the_day_the_limit_is_crossed(
    built: Settings, tmp_path: Path
) -> None:
    before = rebuilt_as_of(built, tmp_path / "oct10", "2026-10-10")
    write_entitlements_export(before)
    day_of = rebuilt_as_of(built, tmp_path / "oct11", "2026-10-11")
    result = write_entitlements_export(day_of)
    assert result["limited"] == ["cus_budget"]

    def budget(s: Settings) -> dict[str, Any]:
        doc = json.loads((s.exports_dir / "entitlements" / "current.json").read_text())
        assert doc["schema"] == "meterline.entitlements/1"
        return next(c for c in doc["customers"] if c["customer_id"] == "cus_budget")

    # Oct 10: 10 x 100.00 = 1000.00, not above the 1000.00 budget: warning (>= 80%)
    assert budget(before) == {
        "customer_id": "cus_budget",
        "state": "warning",
        "limited_since": None,
        "as_of_date": "2026-10-10",
        "period": "2026-10",
        "plan_code": "flat",
        "plan_version": 1,
        "currency": "USD",
        "monthly_budget": "1000.00",
        "hard_limit": True,
        "spend_to_date": "1000.00",
        "meters": [
            {
                "meter_code": "tokens",
                "unit": "token",
                "included_units": "0",
                "used_units": "1000000",
                "remaining_units": "0",
                "state": "warning",
                "state_reason": "spend to date 1000.00 is at least 80% of the monthly budget "
                "1000.00",
            }
        ],
    }
    # Oct 11: 1100.00 > 1000.00: limited that day
    got = budget(day_of)
    assert (got["state"], got["limited_since"], got["spend_to_date"]) == (
        "limited",
        "2026-10-11",
        "1100.00",
    )
    assert got["meters"][0]["state_reason"] == (
        "hard limit: spend to date 1100.00 above the monthly budget 1000.00 since 2026-10-11"
    )
    csv_lines = (day_of.exports_dir / "entitlements" / "current.csv").read_text().splitlines()
    assert csv_lines[0] == (
        "customer_id,meter_code,unit,as_of_date,period,plan_code,plan_version,included_units,"
        "used_units,remaining_units,currency,monthly_budget,hard_limit,spend_to_date,state,"
        "state_reason,limited_since"
    )
    assert (
        "cus_budget,tokens,token,2026-10-11,2026-10,flat,1,0,1100000,0,USD,1000.00,true,"
        "1100.00,limited,hard limit: spend to date 1100.00 above the monthly budget 1000.00 "
        "since 2026-10-11,2026-10-11"
    ) in csv_lines


def test_export_asset_writes_identical_bytes_on_every_run(built: Settings) -> None:
    from orchestration.defs.controls.assets import ENTITLEMENTS_KEY, build_controls_assets
    from orchestration.defs.resources import MeterlineResource

    assets = build_controls_assets([])
    out = built.exports_dir / "entitlements"
    contents = []
    for _ in range(2):
        result = dg.materialize(
            assets,
            selection=[ENTITLEMENTS_KEY],
            resources={"meterline": MeterlineResource(data_dir=str(built.data_dir))},
        )
        assert result.success
        contents.append(((out / "current.json").read_bytes(), (out / "current.csv").read_bytes()))
    assert contents[0] == contents[1]
    doc = json.loads(contents[0][0])
    states = {c["customer_id"]: c["state"] for c in doc["customers"]}
    assert states == {
        "cus_atrisk": "ok",
        "cus_budget": "limited",
        "cus_included": "warning",
        "cus_onpace": "ok",
        "cus_renewal": "ok",
        "cus_spike": "ok",
        "cus_tokyo": "ok",
        "cus_trailing": "ok",
        "cus_weekly": "ok",
    }
    # one CSV row per customer x meter of its plan (incl has two meters)
    assert len(contents[0][1].decode().splitlines()) == 1 + 10


# --- alert delivery ------------------------------------------------------------------------------
#
# cus_budget (webhook): thresholds of 1000.00 (default 50|80|100|150|200) crossed on Oct 5 (500),
# Oct 8 (800), Oct 10 (1000), Oct 15 (1500); 200% (2000) never; hard limit since Oct 11.
# cus_spike (e-mail): no budget, baseline = September's 600.00 (20.00 x 30 days); October
# 20.00 a day with 200.00 on Oct 14: 460.00 >= 300 (50%) on Oct 14, 480.00 >= 480 (80%) on
# Oct 15, 580.00 < 600 through Oct 20; and the Oct 14 anomaly. Every other customer's alerts go
# nowhere (billing_email off by default in this notifications.yml).


class _Hook(http.server.BaseHTTPRequestHandler):
    fail = True
    received: list[tuple[int, str, str]] = []  # (status answered, Idempotency-Key, body)

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        status = 503 if _Hook.fail else 204
        _Hook.received.append((status, self.headers["Idempotency-Key"], body))
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def servers() -> Iterator[tuple[str, _Mailbox, int]]:
    from aiosmtpd.controller import Controller

    _Hook.fail, _Hook.received = True, []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    mailbox = _Mailbox()
    smtp_port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/meterline", mailbox, smtp_port
    finally:
        controller.stop()
        httpd.shutdown()
        thread.join()


def outbox(s: Settings) -> list[tuple[Any, ...]]:
    with connect(s.warehouse, read_only=True) as con:
        return con.execute(
            "select alert_key, channel, destination, attempts, status from outbox.alert_outbox "
            "order by channel, alert_key"
        ).fetchall()


def test_alerts_delivered_once_and_a_failing_webhook_retried(
    built: Settings, tmp_path: Path, servers: tuple[str, _Mailbox, int]
) -> None:
    from orchestration.alerts import deliver_alerts
    from orchestration.defs.controls.assets import ALERT_DELIVERY_KEY, build_controls_assets
    from orchestration.defs.resources import MeterlineResource

    url, mailbox, smtp_port = servers
    data = tmp_path / "data"
    shutil.copytree(built.data_dir / "reference", data / "reference")
    s = Settings(data_dir=data, warehouse=data / "warehouse.duckdb")
    shutil.copy(built.warehouse, s.warehouse)
    (data / "reference" / "notifications.yml").write_text(
        "defaults: {billing_email: false}\n"
        "customers:\n"
        f"  cus_budget: {{webhook_url: '{url}'}}\n"
        "  cus_spike: {email: [ops@spike.test]}\n"
        "smtp: {host: 127.0.0.1, from: alerts@meterline.test}\n"
    )
    env = {"METERLINE_SMTP_PORT": str(smtp_port)}
    hook = [
        "hard_limit:cus_budget:2026-10",
        "threshold:cus_budget:2026-10:100.00",
        "threshold:cus_budget:2026-10:150.00",
        "threshold:cus_budget:2026-10:50.00",
        "threshold:cus_budget:2026-10:80.00",
    ]
    mail = [
        "anomaly:cus_spike:2026-10-14",
        "threshold:cus_spike:2026-10:50.00",
        "threshold:cus_spike:2026-10:80.00",
    ]

    # run 1: the webhook answers 503 to the first message, the other 4 wait for the next run
    # (the endpoint is down); the e-mails go through
    first = deliver_alerts(s, env)
    assert (first.enqueued, first.delivered, first.failed, first.deferred) == (8, 3, 1, 4)
    assert outbox(s) == [
        *[(k, "email", "ops@spike.test", 1, "delivered") for k in mail],
        (hook[0], "webhook", url, 1, "failed"),
        *[(k, "webhook", url, 0, "pending") for k in hook[1:]],
    ]
    assert [status for status, _, _ in _Hook.received] == [503]
    assert len(mailbox.messages) == 3

    # run 2 (the Dagster asset): the webhook is back; only the 5 failed messages are sent again
    _Hook.fail = False
    os.environ["METERLINE_SMTP_PORT"] = str(smtp_port)
    try:
        result = dg.materialize(
            build_controls_assets([]),
            selection=[ALERT_DELIVERY_KEY],
            resources={"meterline": MeterlineResource(data_dir=str(data))},
        )
    finally:
        del os.environ["METERLINE_SMTP_PORT"]
    assert result.success
    assert outbox(s) == [
        *[(k, "email", "ops@spike.test", 1, "delivered") for k in mail],
        (hook[0], "webhook", url, 2, "delivered"),
        *[(k, "webhook", url, 1, "delivered") for k in hook[1:]],
    ]
    # run 3: nothing new, nothing resent
    third = deliver_alerts(s, env)
    assert (third.enqueued, third.delivered, third.failed) == (0, 0, 0)

    delivered = [(key, body) for status, key, body in _Hook.received if status == 204]
    assert len(_Hook.received) == 6 and len(delivered) == 5
    assert sorted(key for key, _ in delivered) == sorted(f"{k}|webhook|{url}" for k in hook)
    bodies = {json.loads(b)["alert_key"]: json.loads(b) for _, b in delivered}
    assert bodies["hard_limit:cus_budget:2026-10"] == {
        "alert_key": "hard_limit:cus_budget:2026-10",
        "kind": "hard_limit",
        "customer_id": "cus_budget",
        "period": "2026-10",
        "currency": "USD",
        "monthly_budget": "1000.00",
        "limited_since": "2026-10-11",
    }
    assert bodies["threshold:cus_budget:2026-10:80.00"]["crossed_on"] == "2026-10-08"
    assert bodies["threshold:cus_budget:2026-10:80.00"]["threshold_amount"] == "800.00"

    assert len(mailbox.messages) == 3
    mails = [
        email.message_from_bytes(content, policy=email.policy.default)
        for _, content in mailbox.messages
    ]
    assert {tuple(rcpt) for rcpt, _ in mailbox.messages} == {("ops@spike.test",)}
    subjects = sorted(m["Subject"] for m in mails)
    assert subjects == [
        "[meterline] cus_spike: spend reached 50% (300.00 USD) of its trailing average 600.00 "
        "for 2026-10 on 2026-10-14",
        "[meterline] cus_spike: spend reached 80% (480.00 USD) of its trailing average 600.00 "
        "for 2026-10 on 2026-10-15",
        "[meterline] cus_spike: unusual spend on 2026-10-14: 200.00 USD, 10.00x the trailing "
        "median",
    ]
    assert {m["From"] for m in mails} == {"alerts@meterline.test"}
    assert sorted(m["X-Meterline-Idempotency-Key"].strip() for m in mails) == sorted(
        f"{k}|email|ops@spike.test" for k in mail
    )
