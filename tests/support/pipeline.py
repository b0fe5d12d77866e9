"""A tiny, hand-computed data directory for the orchestration and close tests, plus helpers
(hashes of export files, mart checksums, queries on a warehouse file).

Customers (all USD, UTC), plan `pro` v1 (PRICING.md's Pro price book):

- ``cus_acme``: tax 0, Pro from 2026-10-12 -> October fee 99.00 x 20/31 = 63.87; October
  gpt-4o-mini input 2,000,000 tokens at 0.15 / 1M = 0.30 -> October total 64.17.
- ``cus_globex``: Pro all October, one call to a model no price row matches (unpriced) -> its
  period cannot close unless excluded.
- ``cus_northwind``: PRICING.md's worked invoice, October total 1080.00.

Usage runs from 2026-10-01 to 2026-11-10, so October's grace period (2 days) is over.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from orchestration.config import Settings

METERS_YML = """\
meters:
  - code: llm_input_tokens
    name: LLM input tokens
    event_type: llm.completion
    aggregation: sum
    field: input_tokens
    unit: token
    dimensions: [model]
  - code: llm_output_tokens
    name: LLM output tokens
    event_type: llm.completion
    aggregation: sum
    field: output_tokens
    unit: token
    dimensions: [model]
  - code: images
    name: Images
    event_type: image.generation
    aggregation: sum
    field: images
    unit: image
  - code: api_requests
    name: API requests
    event_type: embedding
    aggregation: sum
    field: requests
    unit: request
"""

PRO_V1_YML = """\
code: pro
version: 1
name: Pro
currency: USD
effective_from: 2026-01-01
fee: "99.00"
charges:
  - meter: llm_input_tokens
    model: per_unit
    price_per: 1000000
    prices:
      - when: {model: "gpt-4o-mini*"}
        unit_price: "0.15"
      - when: {model: "gpt-4o*"}
        unit_price: "2.50"
        free_units: 1000000
      - when: {model: "claude-sonnet-4-5*"}
        unit_price: "3.00"
  - meter: llm_output_tokens
    model: per_unit
    price_per: 1000000
    prices:
      - when: {model: "gpt-4o*"}
        unit_price: "10.00"
      - when: {model: "claude-sonnet-4-5*"}
        unit_price: "15.00"
  - meter: images
    model: graduated
    prices:
      - tiers:
          - {up_to: 1000, unit_price: "0.05"}
          - {up_to: 5000, unit_price: "0.04", flat_fee: "2.00"}
          - {unit_price: "0.03"}
  - meter: api_requests
    model: package
    prices:
      - package_size: 1000
        package_price: "0.50"
"""

CUSTOMERS = [
    ("cus_acme", "Acme", "USD", "UTC", "0", "startup", "", "ap@acme.test"),
    ("cus_globex", "Globex", "USD", "UTC", "0", "startup", "", ""),
    ("cus_northwind", "Northwind", "USD", "UTC", "0.2", "enterprise", "", "b@northwind.test"),
]
SUBSCRIPTIONS = [
    ("sub_acme", "cus_acme", "pro", "2026-10-12", ""),
    ("sub_globex", "cus_globex", "pro", "2026-10-01", ""),
    ("sub_nw", "cus_northwind", "pro", "2026-10-01", ""),
]
CONTRACTS = [
    ("ctr_nw", "cus_northwind", "2026-01-01", "2027-01-01", "1000.00", "month", "10", "60")
]
CREDIT_GRANTS = [("grant_nw", "cus_northwind", "100.00", "2026-09-01", "", "1", "promotional")]

LLM = "llm.completion"


def event(eid: str, customer: str, etype: str, time: str, **data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": eid,
        "source": "gw-test",
        "type": etype,
        "subject": customer,
        "time": time,
        "data": data,
    }


def october_events() -> list[dict[str, Any]]:
    nw = "cus_northwind"
    return [
        # cus_acme: 2,000,000 gpt-4o-mini input tokens in October
        event(
            "a1",
            "cus_acme",
            LLM,
            "2026-10-13T09:00:00Z",
            provider="openai",
            model="gpt-4o-mini",
            input_tokens=1_500_000,
            output_tokens=0,
        ),
        event(
            "a2",
            "cus_acme",
            LLM,
            "2026-10-31T23:59:59Z",
            provider="openai",
            model="gpt-4o-mini",
            input_tokens=500_000,
            output_tokens=0,
        ),
        # cus_globex: one priced call and one unpriced model
        event(
            "g1",
            "cus_globex",
            LLM,
            "2026-10-05T10:00:00Z",
            provider="openai",
            model="gpt-4o-mini",
            input_tokens=1_000_000,
            output_tokens=0,
        ),
        event(
            "g2",
            "cus_globex",
            LLM,
            "2026-10-06T10:00:00Z",
            provider="mistral",
            model="mistral-large-2411",
            input_tokens=500_000,
            output_tokens=1000,
        ),
        # cus_northwind: PRICING.md's worked invoice
        event(
            "n1",
            nw,
            LLM,
            "2026-10-03T10:00:00Z",
            provider="openai",
            model="gpt-4o-2024-08-06",
            input_tokens=1_700_000,
            output_tokens=205_000,
        ),
        event(
            "n2",
            nw,
            LLM,
            "2026-10-17T23:59:59Z",
            provider="openai",
            model="gpt-4o",
            input_tokens=1_700_000,
            output_tokens=205_000,
        ),
        event(
            "n4",
            nw,
            LLM,
            "2026-10-21T08:00:00Z",
            provider="anthropic",
            model="claude-sonnet-4-5-20250929",
            input_tokens=1_000_000,
            output_tokens=200_000,
        ),
        event("n5", nw, "image.generation", "2026-10-05T12:00:00Z", images=2500),
        event("n6", nw, "image.generation", "2026-10-25T12:00:00Z", images=3500),
        event("n7", nw, "embedding", "2026-10-01T00:00:00Z", requests=1000),
        event("n8", nw, "embedding", "2026-10-31T23:59:59Z", requests=1001),
    ]


def november_events() -> list[dict[str, Any]]:
    return [
        event(
            "a10",
            "cus_acme",
            LLM,
            "2026-11-04T09:00:00Z",
            provider="openai",
            model="gpt-4o-mini",
            input_tokens=1_000_000,
            output_tokens=0,
        ),
        event(
            "n10",
            "cus_northwind",
            LLM,
            "2026-11-10T08:00:00Z",
            provider="openai",
            model="gpt-4o",
            input_tokens=100_000,
            output_tokens=0,
        ),
    ]


# A late October event for cus_acme, delivered after October was closed: +1,000,000
# gpt-4o-mini input tokens -> October's usage line 0.30 -> 0.45, an adjustment of 0.15.
LATE_EVENT = event(
    "a_late",
    "cus_acme",
    LLM,
    "2026-10-20T12:00:00Z",
    provider="openai",
    model="gpt-4o-mini",
    input_tokens=1_000_000,
    output_tokens=0,
)
LATE_FILE = "raw/usage/usage_late_2026-11-20.jsonl"


def _csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def write_jsonl(path: Path, events: Iterable[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in events), encoding="utf-8")


def make_data_dir(data_dir: Path) -> Path:
    """Write the tiny data directory (reference files + two usage batches)."""
    ref = data_dir / "reference"
    (ref / "plans").mkdir(parents=True, exist_ok=True)
    (ref / "meters.yml").write_text(METERS_YML, encoding="utf-8")
    (ref / "plans" / "pro_v1.yml").write_text(PRO_V1_YML, encoding="utf-8")
    _csv(
        ref / "customers.csv",
        (
            "customer_id",
            "name",
            "currency",
            "timezone",
            "tax_rate",
            "segment",
            "parent_customer_id",
            "billing_email",
        ),
        CUSTOMERS,
    )
    _csv(
        ref / "subscriptions.csv",
        ("subscription_id", "customer_id", "plan_code", "start_date", "end_date"),
        SUBSCRIPTIONS,
    )
    _csv(
        ref / "contracts.csv",
        (
            "contract_id",
            "customer_id",
            "start_date",
            "end_date",
            "commit_amount",
            "commit_period",
            "usage_discount_pct",
            "renewal_notice_days",
        ),
        CONTRACTS,
    )
    _csv(
        ref / "credit_grants.csv",
        ("grant_id", "customer_id", "amount", "granted_at", "expires_at", "priority", "kind"),
        CREDIT_GRANTS,
    )
    write_jsonl(data_dir / "raw" / "usage" / "usage_2026-11-01.jsonl", october_events())
    write_jsonl(data_dir / "raw" / "usage" / "usage_2026-11-10.jsonl", november_events())
    return data_dir


def add_late_event(data_dir: Path) -> Path:
    path = data_dir / LATE_FILE
    write_jsonl(path, [LATE_EVENT])
    return path


def file_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (relative posix path -> hex digest)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def query(s: Settings | Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    path = s.warehouse if isinstance(s, Settings) else s
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def mart_checksums(s: Settings, schema: str = "marts") -> dict[str, str]:
    """An order-independent content checksum of every table in ``schema``."""
    con = duckdb.connect(str(s.warehouse), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ? "
                "order by table_name",
                [schema],
            ).fetchall()
        ]
        out = {}
        for t in tables:
            row = con.execute(
                f"select count(*), coalesce(sum(hash(x)), 0) from {schema}.{t} as x"
            ).fetchone()
            out[t] = f"{row[0]}:{row[1]}" if row else "0:0"
        return out
    finally:
        con.close()
