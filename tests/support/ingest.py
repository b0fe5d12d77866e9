"""Helpers for the ingestion tests: small reference sets, usage files, warehouse queries."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import duckdb

from orchestration.config import Settings
from orchestration.warehouse import connect

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

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
    event_type: llm.completion
    aggregation: sum
    field: output_tokens
    unit: token
    dimensions: [model]
  - code: images
    event_type: image.generation
    aggregation: sum
    field: images
    unit: image
  - code: gpu_seconds
    event_type: gpu.job
    aggregation: sum
    field: gpu_seconds
    dimensions: [gpu_type]
    unit: gpu_second
"""

PLAN_PRO_V1 = """\
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
      - when: {model: "gpt-4o*"}
        unit_price: "2.50"
        free_units: 1000000
      - unit_price: "1.00"
  - meter: images
    model: graduated
    prices:
      - tiers:
          - {up_to: 1000, unit_price: "0.05"}
          - {up_to: 5000, unit_price: "0.04", flat_fee: "2.00"}
          - {unit_price: "0.03"}
"""

CUSTOMERS_CSV = """\
customer_id,name,currency,timezone,tax_rate,segment,parent_customer_id,billing_email
cus_acme,Acme,USD,America/New_York,0.2,enterprise,,billing@acme.test
cus_beta,Beta,USD,UTC,0,startup,,
cus_euro,Euro GmbH,EUR,Europe/Berlin,0.19,smb,,
"""

SUBSCRIPTIONS_CSV = """\
subscription_id,customer_id,plan_code,start_date,end_date
sub_1,cus_acme,pro,2026-09-01,
sub_2,cus_beta,pro,2026-09-01,2026-10-20
"""

CONTRACTS_CSV = """\
contract_id,customer_id,start_date,end_date,commit_amount,commit_period,usage_discount_pct,renewal_notice_days
con_1,cus_acme,2026-01-01,2026-12-31,1000.00,month,10,30
"""

CREDIT_GRANTS_CSV = """\
grant_id,customer_id,amount,granted_at,expires_at,priority,kind
gr_1,cus_acme,100.00,2026-09-01,,1,promotional
"""

BUDGETS_CSV = """\
customer_id,monthly_budget,alert_thresholds_pct,hard_limit
cus_acme,5000.00,50|80|100,false
"""

PROVIDER_PRICES_CSV = """\
provider,model,price_component,unit_price,price_per,effective_from,effective_to
openai,gpt-4o,input,2.00,1000000,2026-01-01,
"""

COST_ALLOCATION_YML = """\
tag_key: customer_id
rules:
  - match: {ServiceCategory: Compute}
    driver: gpu_seconds
  - match: {}
    driver: requests
"""

REFERENCE_FILES: dict[str, str] = {
    "meters.yml": METERS_YML,
    "plans/pro_v1.yml": PLAN_PRO_V1,
    "customers.csv": CUSTOMERS_CSV,
    "subscriptions.csv": SUBSCRIPTIONS_CSV,
    "contracts.csv": CONTRACTS_CSV,
    "credit_grants.csv": CREDIT_GRANTS_CSV,
    "budgets.csv": BUDGETS_CSV,
    "provider_prices.csv": PROVIDER_PRICES_CSV,
    "cost_allocation.yml": COST_ALLOCATION_YML,
}


def write_reference(s: Settings, overrides: dict[str, str | None] | None = None) -> None:
    """Write the small valid reference set; ``overrides`` replaces (or, with None, removes)
    files by their path relative to reference/."""
    files: dict[str, str | None] = {**REFERENCE_FILES, **(overrides or {})}
    for rel, text in files.items():
        p = s.reference_dir / rel
        if text is None:
            p.unlink(missing_ok=True)
            continue
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")


def event(
    eid: str,
    *,
    source: str = "gw-1",
    etype: str = "llm.completion",
    subject: str = "cus_acme",
    time: str = "2026-10-03T14:22:05.123Z",
    **data: Any,
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": eid,
        "source": source,
        "type": etype,
        "subject": subject,
        "time": time,
        "data": data,
    }


def write_jsonl(path: Path, lines: list[dict[str, Any] | str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def copy_fixture(rel: str, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIXTURES / rel, dest)
    return dest


def own_dbt_target(s: Settings) -> dict[str, str]:
    """``run_dbt``'s ``extra_env`` for a dbt target and log dir of this warehouse's own (beside
    it), so concurrent tests never share dbt_project/target, and ``at_warehouse=True`` starts it
    from the last parse of the same kind."""
    work = s.warehouse.parent / ".dbt"
    return {"DBT_TARGET_PATH": str(work / "target"), "DBT_LOG_PATH": str(work / "logs")}


def query(s: Settings, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connect(s.warehouse, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def table_fingerprint(s: Settings, tables: list[str]) -> dict[str, tuple[int, str]]:
    """(row count, md5 of the sorted rows' text) per table, excluding load-time columns."""
    out: dict[str, tuple[int, str]] = {}
    with connect(s.warehouse, read_only=True) as con:
        for t in tables:
            body = f"(select * exclude (loaded_at) from {t})" if t == "raw.load_manifest" else t
            row = con.execute(
                f"select count(*), coalesce(md5(string_agg(r, chr(10) order by r)), '') "
                f"from (select cast(x as varchar) as r from {body} x)"
            ).fetchone()
            assert row is not None
            out[t] = (int(row[0]), str(row[1]))
    return out


def connect_rw(s: Settings) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(s.warehouse))
