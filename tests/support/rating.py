"""Build helpers for the rating tests: scenarios (the worked invoice of PRICING.md, ...)
written as a data directory in the documented formats, loaded by the real loader, and a dbt
build bound to a temp warehouse with its own target/log dirs (other engineers run dbt on the
same project concurrently)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from orchestration.config import Settings
from orchestration.dbt_runner import run_dbt
from orchestration.warehouse import connect

MARTS = (
    "fct_usage_daily",
    "fct_invoice_lines",
    "fct_invoices",
    "fct_credit_ledger",
    "fct_unpriced_usage",
)

METERS: list[dict[str, Any]] = [
    {
        "code": "llm_input_tokens",
        "name": "LLM input tokens",
        "event_type": "llm.completion",
        "aggregation": "sum",
        "field": "input_tokens",
        "unit": "token",
        "dimensions": ["model"],
    },
    {
        "code": "llm_output_tokens",
        "name": "LLM output tokens",
        "event_type": "llm.completion",
        "aggregation": "sum",
        "field": "output_tokens",
        "unit": "token",
        "dimensions": ["model"],
    },
    {
        "code": "images",
        "name": "Images",
        "event_type": "image.generation",
        "aggregation": "sum",
        "field": "images",
        "unit": "image",
    },
    {
        "code": "api_requests",
        "name": "API requests",
        "event_type": "embedding",
        "aggregation": "sum",
        "field": "requests",
        "unit": "request",
    },
    {
        "code": "resolved_tickets",
        "name": "Resolved tickets",
        "event_type": "agent.task",
        "aggregation": "count",
        "filter": {"outcome": "resolved"},
        "unit": "ticket",
    },
]

PRO_V1: dict[str, Any] = {
    "code": "pro",
    "version": 1,
    "name": "Pro",
    "currency": "USD",
    "effective_from": "2026-01-01",
    "fee": "99.00",
    "charges": [
        {
            "meter": "llm_input_tokens",
            "model": "per_unit",
            "price_per": 1000000,
            "prices": [
                {"when": {"model": "gpt-4o-mini*"}, "unit_price": "0.15"},
                {"when": {"model": "gpt-4o*"}, "unit_price": "2.50", "free_units": 1000000},
                {"when": {"model": "claude-sonnet-4-5*"}, "unit_price": "3.00"},
            ],
        },
        {
            "meter": "llm_output_tokens",
            "model": "per_unit",
            "price_per": 1000000,
            "prices": [
                {"when": {"model": "gpt-4o*"}, "unit_price": "10.00"},
                {"when": {"model": "claude-sonnet-4-5*"}, "unit_price": "15.00"},
            ],
        },
        {
            "meter": "images",
            "model": "graduated",
            "prices": [
                {
                    "tiers": [
                        {"up_to": 1000, "unit_price": "0.05"},
                        {"up_to": 5000, "unit_price": "0.04", "flat_fee": "2.00"},
                        {"unit_price": "0.03"},
                    ]
                },
            ],
        },
        {
            "meter": "api_requests",
            "model": "package",
            "prices": [
                {"package_size": 1000, "package_price": "0.50"},
            ],
        },
    ],
}


@dataclass
class Scenario:
    """Reference data + events of one test data directory."""

    customers: list[dict[str, str]]
    subscriptions: list[dict[str, str]]
    events: list[dict[str, Any]]
    plans: list[dict[str, Any]] = field(default_factory=lambda: [PRO_V1])
    meters: list[dict[str, Any]] = field(default_factory=lambda: list(METERS))
    contracts: list[dict[str, str]] = field(default_factory=list)
    credit_grants: list[dict[str, str]] = field(default_factory=list)
    usage_file: str = "raw/usage/usage_2026-11-03.jsonl"


def event(
    eid: str, customer: str, etype: str, time: str, source: str = "gw-1", **data: Any
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": eid,
        "source": source,
        "type": etype,
        "subject": customer,
        "time": time,
        "data": data,
    }


def northwind() -> Scenario:
    """PRICING.md's worked invoice: cus_northwind, October 2026, total 1080.00. Includes one
    duplicate delivery and one failed request, neither of which may be billed."""
    c = "cus_northwind"
    llm = "llm.completion"
    events = [
        event(
            "e1",
            c,
            llm,
            "2026-10-03T10:00:00Z",
            model="gpt-4o-2024-08-06",
            input_tokens=1_700_000,
            output_tokens=205_000,
            status="success",
        ),
        event(
            "e2",
            c,
            llm,
            "2026-10-17T23:59:59Z",
            model="gpt-4o",
            input_tokens=1_700_000,
            output_tokens=205_000,
        ),
        event(
            "e1",
            c,
            llm,
            "2026-10-03T10:00:00Z",
            model="gpt-4o-2024-08-06",
            input_tokens=1_700_000,
            output_tokens=205_000,
            status="success",
        ),  # duplicate
        event(
            "e3",
            c,
            llm,
            "2026-10-20T08:00:00Z",
            model="gpt-4o",
            input_tokens=9_000_000,
            output_tokens=1,
            status="error",
        ),  # failed
        event(
            "e4",
            c,
            llm,
            "2026-10-21T08:00:00Z",
            model="claude-sonnet-4-5-20250929",
            input_tokens=1_000_000,
            output_tokens=200_000,
        ),
        event("e5", c, "image.generation", "2026-10-05T12:00:00Z", images=2500),
        event("e6", c, "image.generation", "2026-10-25T12:00:00Z", images=3500),
        event("e7", c, "embedding", "2026-10-01T00:00:00Z", requests=1000),
        event("e8", c, "embedding", "2026-10-31T23:59:59Z", requests=1001),
    ]
    return Scenario(
        customers=[
            {
                "customer_id": c,
                "name": "Northwind",
                "currency": "USD",
                "timezone": "UTC",
                "tax_rate": "0.2",
                "segment": "enterprise",
                "parent_customer_id": "",
                "billing_email": "billing@northwind.example",
            }
        ],
        subscriptions=[
            {
                "subscription_id": "sub_nw_1",
                "customer_id": c,
                "plan_code": "pro",
                "start_date": "2026-10-01",
                "end_date": "",
            }
        ],
        contracts=[
            {
                "contract_id": "ctr_nw",
                "customer_id": c,
                "start_date": "2026-01-01",
                "end_date": "2027-01-01",
                "commit_amount": "1000.00",
                "commit_period": "month",
                "usage_discount_pct": "10",
                "renewal_notice_days": "60",
            }
        ],
        credit_grants=[
            {
                "grant_id": "grant_nw_promo",
                "customer_id": c,
                "amount": "100.00",
                "granted_at": "2026-09-01",
                "expires_at": "",
                "priority": "1",
                "kind": "promotional",
            }
        ],
        events=events,
    )


EXTRA_METERS: list[dict[str, Any]] = [
    {
        "code": "gpu_seconds",
        "name": "GPU seconds",
        "event_type": "gpu.job",
        "aggregation": "sum",
        "field": "gpu_seconds",
        "unit": "gpu_second",
        "dimensions": ["gpu_type"],
    },
    {
        "code": "storage_gb",
        "name": "Storage",
        "event_type": "storage.snapshot",
        "aggregation": "latest",
        "field": "gb_stored",
        "unit": "gb",
    },
    {
        "code": "agent_workspaces",
        "name": "Active agent workspaces",
        "event_type": "agent.task",
        "aggregation": "count_unique",
        "field": "workspace_id",
        "unit": "workspace",
    },
]

SCALE_V1: dict[str, Any] = {
    "code": "scale",
    "version": 1,
    "name": "Scale",
    "currency": "USD",
    "effective_from": "2026-01-01",
    "fee": "499.00",
    "charges": [
        {"meter": "images", "model": "per_unit", "prices": [{"unit_price": "0.01"}]},
        {"meter": "resolved_tickets", "model": "per_unit", "prices": [{"unit_price": "0.50"}]},
        {"meter": "agent_workspaces", "model": "per_unit", "prices": [{"unit_price": "2.00"}]},
        {
            "meter": "storage_gb",
            "model": "volume",
            "prices": [
                {"tiers": [{"up_to": 100, "unit_price": "0.10"}, {"unit_price": "0.05"}]},
            ],
        },
        # a first tier with a flat fee: charged every period, even without usage
        {
            "meter": "gpu_seconds",
            "model": "graduated",
            "prices": [
                {
                    "tiers": [
                        {"up_to": 3600, "unit_price": "0", "flat_fee": "5.00"},
                        {"unit_price": "0.001"},
                    ]
                },
            ],
        },
    ],
}


def _customer(cid: str, tz: str, tax: str) -> dict[str, str]:
    return {
        "customer_id": cid,
        "name": cid,
        "currency": "USD",
        "timezone": tz,
        "tax_rate": tax,
        "segment": "startup",
        "parent_customer_id": "",
        "billing_email": "",
    }


def mixed() -> Scenario:
    """Three customers exercising the time zone boundary, proration, a mid-period plan change
    (separately tiered usage), count/count_unique/latest meters, unpriced usage of each kind,
    and credit burn order with expiry. Expected figures are worked out in the tests."""
    ny, sw, cr = "cus_ny", "cus_switch", "cus_credit"
    llm = "llm.completion"
    events = [
        # cus_ny (America/New_York): 02:30Z on Nov 1 is Oct 31 locally -> October usage
        event(
            "ny1",
            ny,
            llm,
            "2026-11-01T02:30:00Z",
            model="gpt-4o-mini",
            input_tokens=2_000_000,
            output_tokens=0,
        ),
        # local 2026-10-11 23:00, the day before the subscription starts -> unpriced
        event("ny2", ny, "image.generation", "2026-10-12T03:00:00Z", images=10),
        # gpu_seconds is not priced by Pro -> unpriced (no charge for the meter)
        event("ny3", ny, "gpu.job", "2026-10-20T12:00:00Z", gpu_seconds=3600, gpu_type="h100"),
        # no price row matches llama -> unpriced (input 500; output 0 does not block)
        event(
            "ny4",
            ny,
            llm,
            "2026-10-25T12:00:00Z",
            model="llama-3-70b",
            input_tokens=500,
            output_tokens=0,
        ),
        # cus_switch (UTC): Pro until 2026-10-20, Scale from then on
        event("sw1", sw, "image.generation", "2026-10-05T10:00:00Z", images=100),
        event("sw2", sw, "image.generation", "2026-10-25T10:00:00Z", images=200),
        event(
            "sw3", sw, "agent.task", "2026-10-21T10:00:00Z", outcome="resolved", workspace_id="ws_a"
        ),
        event(
            "sw4", sw, "agent.task", "2026-10-22T10:00:00Z", outcome="resolved", workspace_id="ws_b"
        ),
        event(
            "sw5",
            sw,
            "agent.task",
            "2026-10-23T10:00:00Z",
            outcome="escalated",
            workspace_id="ws_a",
        ),
        event(
            "sw6", sw, "agent.task", "2026-10-24T10:00:00Z", outcome="resolved", workspace_id="ws_a"
        ),
        event("sw7", sw, "storage.snapshot", "2026-10-21T00:00:00Z", gb_stored=120),
        event("sw8", sw, "storage.snapshot", "2026-10-28T00:00:00Z", gb_stored=80),
    ]
    return Scenario(
        customers=[
            _customer(ny, "America/New_York", "0.1"),
            _customer(sw, "UTC", "0"),
            _customer(cr, "UTC", "0.1"),
        ],
        subscriptions=[
            {
                "subscription_id": "sub_ny",
                "customer_id": ny,
                "plan_code": "pro",
                "start_date": "2026-10-12",
                "end_date": "",
            },
            {
                "subscription_id": "sub_sw_pro",
                "customer_id": sw,
                "plan_code": "pro",
                "start_date": "2026-09-15",
                "end_date": "2026-10-20",
            },
            {
                "subscription_id": "sub_sw_scale",
                "customer_id": sw,
                "plan_code": "scale",
                "start_date": "2026-10-20",
                "end_date": "",
            },
            {
                "subscription_id": "sub_cr",
                "customer_id": cr,
                "plan_code": "pro",
                "start_date": "2026-09-01",
                "end_date": "",
            },
        ],
        credit_grants=[
            {
                "grant_id": "g1_promo",
                "customer_id": cr,
                "amount": "120.00",
                "granted_at": "2026-09-01",
                "expires_at": "2026-10-15",
                "priority": "1",
                "kind": "promotional",
            },
            {
                "grant_id": "g2_paid",
                "customer_id": cr,
                "amount": "30.00",
                "granted_at": "2026-09-01",
                "expires_at": "",
                "priority": "5",
                "kind": "paid",
            },
        ],
        plans=[PRO_V1, SCALE_V1],
        meters=METERS + EXTRA_METERS,
        events=events,
    )


# --------------------------------------------------------------------------- data directory


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(header), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in header})


def _yaml_scalar(v: Any) -> str:
    return json.dumps(v)  # JSON scalars are valid YAML flow scalars


def _yaml(obj: Any, indent: int = 0) -> str:
    """Minimal YAML emitter (block style, JSON-quoted scalars): no extra dependency."""
    pad = " " * indent
    if isinstance(obj, dict):
        out = []
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{k}:\n{_yaml(v, indent + 2)}")
            else:
                out.append(f"{pad}{k}: {_yaml_scalar(v)}")
        return "\n".join(out)
    if isinstance(obj, list):
        out = []
        for v in obj:
            if isinstance(v, dict) and v:
                inner = _yaml(v, indent + 2)
                out.append(f"{pad}- {inner.lstrip()}")
            else:
                out.append(f"{pad}- {_yaml_scalar(v)}")
        return "\n".join(out)
    return pad + _yaml_scalar(obj)


CUSTOMER_COLS = (
    "customer_id",
    "name",
    "currency",
    "timezone",
    "tax_rate",
    "segment",
    "parent_customer_id",
    "billing_email",
)
SUBSCRIPTION_COLS = ("subscription_id", "customer_id", "plan_code", "start_date", "end_date")
CONTRACT_COLS = (
    "contract_id",
    "customer_id",
    "start_date",
    "end_date",
    "commit_amount",
    "commit_period",
    "usage_discount_pct",
    "renewal_notice_days",
)
GRANT_COLS = ("grant_id", "customer_id", "amount", "granted_at", "expires_at", "priority", "kind")


def write_data_dir(data_dir: Path, sc: Scenario) -> None:
    """Write the scenario as a data directory in the formats of ARCHITECTURE.md/PRICING.md."""
    ref = data_dir / "reference"
    (ref / "plans").mkdir(parents=True, exist_ok=True)
    (ref / "meters.yml").write_text(_yaml({"meters": sc.meters}) + "\n")
    for plan in sc.plans:
        (ref / "plans" / f"{plan['code']}_v{plan['version']}.yml").write_text(_yaml(plan) + "\n")
    _write_csv(ref / "customers.csv", CUSTOMER_COLS, sc.customers)
    _write_csv(ref / "subscriptions.csv", SUBSCRIPTION_COLS, sc.subscriptions)
    _write_csv(ref / "contracts.csv", CONTRACT_COLS, sc.contracts)
    _write_csv(ref / "credit_grants.csv", GRANT_COLS, sc.credit_grants)
    usage = data_dir / sc.usage_file
    usage.parent.mkdir(parents=True, exist_ok=True)
    usage.write_text("".join(json.dumps(e) + "\n" for e in sc.events))


# --------------------------------------------------------------------------- dbt


def dbt_build(s: Settings, *select: str, unit_tests: bool = True, data_tests: bool = True) -> None:
    """`dbt build` of the rating models (and their parents, with the tests of those models only)
    on the warehouse of ``s``, with a private target/log dir. ``unit_tests=False`` skips the dbt
    unit tests (they do not depend on the data; one build per session runs them);
    ``data_tests=False`` skips data tests too (intermediate steps of a multi-build test)."""
    sel = list(select) or ["+marts.billing"]
    skipped = ([] if unit_tests else ["unit_test"]) + ([] if data_tests else ["test"])
    if skipped:
        sel += ["--exclude-resource-type", *skipped]
    work = s.data_dir.parent / "dbt"
    env = {
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "METERLINE_DBT_THREADS": "2",
    }
    run_dbt(
        s,
        "build",
        "--select",
        *sel,
        "--indirect-selection",
        "cautious",
        "--quiet",
        extra_env=env,
        at_warehouse=True,
    )


def query(s: Settings, sql: str) -> list[tuple[Any, ...]]:
    with connect(s.warehouse, read_only=True) as con:
        return con.execute(sql).fetchall()


def money(x: str) -> Decimal:
    return Decimal(x)


def load(s: Settings) -> None:
    """Load the data directory with the real loader (``orchestration.ingest.ingest_all``)."""
    from orchestration import ingest

    try:
        ingest.ingest_all(s)
    except ModuleNotFoundError as exc:  # provider loaders not merged yet: same reference+usage path
        if "orchestration.ingest.providers" not in str(exc):
            raise
        ingest.ingest_reference(s)
        ingest.ingest_usage(s)


def build_from_scenario(
    root: Path, sc: Scenario, *select: str, unit_tests: bool = False
) -> Settings:
    """Write the scenario's data directory, load it with the real loader, run the rating build;
    return the settings."""
    from orchestration.config import settings

    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    s = settings(data)
    write_data_dir(data, sc)
    load(s)
    dbt_build(s, *select, unit_tests=unit_tests)
    return s


def compile_analysis(s: Settings, name: str, variables: dict[str, str]) -> str:
    """Compile ``analyses/<name>.sql`` with ``--vars`` and return its SQL."""
    work = s.data_dir.parent / "dbt"
    env = {"DBT_TARGET_PATH": str(work / "target"), "DBT_LOG_PATH": str(work / "logs")}
    run_dbt(
        s,
        "compile",
        "--select",
        name,
        "--vars",
        json.dumps(variables),
        "--quiet",
        extra_env=env,
        at_warehouse=True,
    )
    return (work / "target" / "compiled" / "meterline" / "analyses" / f"{name}.sql").read_text()


def marts_checksums(s: Settings) -> dict[str, str]:
    """md5 of every billing mart's rows (as text, in a total order)."""
    out: dict[str, str] = {}
    with connect(s.warehouse, read_only=True) as con:
        for mart in MARTS:
            [(digest, n)] = con.execute(
                f"select md5(coalesce(string_agg(cast(t as varchar), chr(10) "
                f"order by cast(t as varchar)), '')), count(*) from marts.{mart} t"
            ).fetchall()
            out[mart] = f"{n}:{digest}"
    return out


def issue_period(s: Settings, period: str, issued_at: str = "2026-11-03 00:00:00") -> None:
    """What `meterline close` writes to the ledger (orchestration.close.issue_invoices: numbers in
    customer id order, invoices, lines, credit burns per grant, content hashes), without its
    run-log, grace and order checks."""
    import datetime as dt

    from orchestration.close import issue_invoices

    with connect(s.warehouse) as con:
        issue_invoices(
            con,
            period,
            [],
            dt.datetime.fromisoformat(issued_at),
            s.data_dir / "reference" / "credit_notes.csv",
        )


def dbt_show_inline(s: Settings, sql: str) -> list[dict[str, Any]]:
    """Run an inline query through dbt (macros rendered) and return its rows."""
    work = s.data_dir.parent / "dbt"
    env = {"DBT_TARGET_PATH": str(work / "target"), "DBT_LOG_PATH": str(work / "logs")}
    proc = run_dbt(
        s,
        "show",
        "--inline",
        sql,
        "--output",
        "json",
        "--quiet",
        "--limit",
        "-1",
        extra_env=env,
        at_warehouse=True,
    )
    out = proc.stdout
    rows: list[dict[str, Any]] = json.loads(out[out.index("{") :])["show"]
    return rows
