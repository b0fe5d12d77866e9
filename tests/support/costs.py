"""Helpers for the provider-cost tests: build a small data dir, load it, run the cost marts.

`load_warehouse` goes through the real loader (`orchestration.ingest.ingest_all`) and the
catalog step, exactly as the pipeline does.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

from meterline_dev.generator.exports import FOCUS_10
from orchestration.config import Settings
from orchestration.costs import CatalogResult, resolve_catalog_prices
from orchestration.dbt_runner import run_dbt
from orchestration.warehouse import connect

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
if not FIXTURES.exists():
    FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"

COST_MARTS = (
    "fct_provider_costs",
    "fct_provider_usage",
    "fct_cost_reconciliation",
    "fct_cogs_daily",
)

CUSTOMERS_HEADER = (
    "customer_id,name,currency,timezone,tax_rate,segment,parent_customer_id,billing_email"
)
METERS_YML = """meters:
  - code: llm_input_tokens
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
  - code: gpu_seconds
    event_type: gpu.job
    aggregation: sum
    field: gpu_seconds
    unit: gpu_second
    dimensions: [gpu_type]
  - code: images
    event_type: image.generation
    aggregation: sum
    field: images
    unit: image
"""


def copy_fixture(data_dir: Path, fixture: str, provider: str) -> Path:
    """Copy tests/fixtures/<fixture> into raw/costs/<provider>/."""
    src = FIXTURES / fixture
    dst = data_dir / "raw" / "costs" / provider / src.name
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


def write_reference(
    data_dir: Path,
    customers: list[tuple[str, str]],
    provider_prices: list[str] | None = None,
    allocation_yml: str | None = None,
    extra_meters_yml: str = "",
) -> None:
    """Minimal valid reference files: customers (id, segment), meters, one plan.
    ``extra_meters_yml`` is appended to the meters list (YAML items indented by 2)."""
    ref = data_dir / "reference"
    (ref / "plans").mkdir(parents=True, exist_ok=True)
    rows = [CUSTOMERS_HEADER] + [f"{cid},{cid.title()},USD,UTC,0,{seg},," for cid, seg in customers]
    (ref / "customers.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (ref / "meters.yml").write_text(METERS_YML + extra_meters_yml, encoding="utf-8")
    (ref / "plans" / "basic.yml").write_text(
        "code: basic\nversion: 1\nname: Basic\ncurrency: USD\neffective_from: 2024-01-01\n"
        'fee: "0.00"\ncharges:\n  - meter: llm_input_tokens\n    model: per_unit\n'
        '    price_per: 1000000\n    prices:\n      - unit_price: "1.00"\n',
        encoding="utf-8",
    )
    (ref / "subscriptions.csv").write_text(
        "subscription_id,customer_id,plan_code,start_date,end_date\n"
        + "".join(f"sub_{cid},{cid},basic,2024-01-01,\n" for cid, _ in customers),
        encoding="utf-8",
    )
    header = "provider,model,price_component,unit_price,price_per,effective_from,effective_to\n"
    (ref / "provider_prices.csv").write_text(
        header + "".join(r + "\n" for r in (provider_prices or [])), encoding="utf-8"
    )
    if allocation_yml is not None:
        (ref / "cost_allocation.yml").write_text(allocation_yml, encoding="utf-8")


def write_events(data_dir: Path, name: str, events: list[dict[str, Any]]) -> Path:
    """CloudEvents JSONL usage file under raw/usage/."""
    path = data_dir / "raw" / "usage" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, e in enumerate(events):
        data = {k: v for k, v in e.items() if k not in ("subject", "time", "type", "id")}
        lines.append(
            json.dumps(
                {
                    "specversion": "1.0",
                    "id": e.get("id", f"evt_{name}_{i:05d}"),
                    "source": "gw-test",
                    "type": e.get("type", "llm.completion"),
                    "subject": e["subject"],
                    "time": e["time"],
                    "data": data,
                }
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_warehouse(s: Settings) -> CatalogResult:
    """Ingest the data dir with the real loader (``ingest_all``), then the catalog step."""
    from orchestration.ingest import ingest_all

    ingest_all(s)
    return resolve_catalog_prices(s)


def dbt_build(s: Settings, *args: str) -> None:
    """`dbt build <args>` on the warehouse of ``s`` with a private target/log dir (others run
    dbt on the same project concurrently). Tests of unselected parents are skipped
    (cautious indirect selection)."""
    work = s.data_dir.parent / "dbt"
    env = {"DBT_TARGET_PATH": str(work / "target"), "DBT_LOG_PATH": str(work / "logs")}
    run_dbt(
        s,
        "build",
        "--indirect-selection",
        "cautious",
        "--quiet",
        *args,
        extra_env=env,
        at_warehouse=True,
    )


def build_costs(s: Settings, *marts: str) -> CatalogResult:
    """Load, resolve catalog prices, `dbt build` the cost marts and their parents."""
    result = load_warehouse(s)
    dbt_build(s, "--select", *(f"+{m}" for m in (marts or COST_MARTS)))
    return result


def query(s: Settings, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connect(s.warehouse, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def dec(text: str) -> Decimal:
    return Decimal(text)


def write_json(data_dir: Path, rel: str, body: dict[str, Any]) -> Path:
    path = data_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body) + "\n", encoding="utf-8")
    return path


def anthropic_cost_page(days: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """cost_report page: {day: [{amount (cents text), model, description, token_type}]}."""
    data = []
    for day, results in sorted(days.items()):
        rows = [
            {
                "currency": "USD",
                "workspace_id": None,
                "cost_type": "tokens",
                "context_window": "0-200k",
                "service_tier": "standard",
                **r,
            }
            for r in results
        ]
        data.append(
            {"starting_at": f"{day}T00:00:00Z", "ending_at": _next_day(day), "results": rows}
        )
    return {"data": data, "has_more": False, "next_page": None}


def anthropic_usage_page(days: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """usage_report/messages page: {day: [{model, uncached_input_tokens, output_tokens, ...}]}."""
    data = []
    for day, results in sorted(days.items()):
        rows = [
            {
                "uncached_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 0,
                "server_tool_use": {"web_search_requests": 0},
                "api_key_id": None,
                "workspace_id": None,
                "service_tier": None,
                "context_window": None,
                **{k: v for k, v in r.items() if k not in ("cache_5m", "cache_1h")},
                "cache_creation": {
                    "ephemeral_5m_input_tokens": r.get("cache_5m", 0),
                    "ephemeral_1h_input_tokens": r.get("cache_1h", 0),
                },
            }
            for r in results
        ]
        data.append(
            {"starting_at": f"{day}T00:00:00Z", "ending_at": _next_day(day), "results": rows}
        )
    return {"data": data, "has_more": False, "next_page": None}


def _next_day(day: str) -> str:
    import datetime as dt

    return f"{(dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()}T00:00:00Z"


# the FOCUS 1.0 columns, in the order the generator writes them
FOCUS_10_COLUMNS = FOCUS_10


def focus_row(
    day: str,
    cost: str,
    category: str,
    service: str,
    tags: dict[str, str] | None = None,
    provider: str = "CloudGPU",
) -> dict[str, str]:
    """One FOCUS 1.0 Usage row for a whole UTC day."""
    import datetime as dt

    d = dt.date.fromisoformat(day)
    month = d.replace(day=1)
    nxt = (month + dt.timedelta(days=32)).replace(day=1)
    return {
        "BilledCost": cost,
        "EffectiveCost": cost,
        "ListCost": cost,
        "ContractedCost": cost,
        "BillingAccountId": "acct-1",
        "BillingAccountName": "Test",
        "BillingCurrency": "USD",
        "BillingPeriodStart": f"{month.isoformat()}T00:00:00Z",
        "BillingPeriodEnd": f"{nxt.isoformat()}T00:00:00Z",
        "ChargeCategory": "Usage",
        "ChargeDescription": f"{service} usage",
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodStart": f"{day}T00:00:00Z",
        "ChargePeriodEnd": f"{(d + dt.timedelta(days=1)).isoformat()}T00:00:00Z",
        "ConsumedQuantity": "1",
        "ConsumedUnit": "Hours",
        "PricingQuantity": "1",
        "PricingUnit": "Hours",
        "ListUnitPrice": cost,
        "ContractedUnitPrice": cost,
        "PricingCategory": "Standard",
        "InvoiceIssuerName": provider,
        "ProviderName": provider,
        "PublisherName": provider,
        "RegionId": "us-east-1",
        "RegionName": "us-east-1",
        "ResourceId": f"res-{service}",
        "ResourceName": f"res-{service}",
        "ResourceType": "Virtual Machine",
        "ServiceCategory": category,
        "ServiceName": service,
        "SkuId": "sku-1",
        "SkuPriceId": "sku-1-std",
        "SubAccountId": "sub-1",
        "SubAccountName": "prod",
        "Tags": json.dumps(tags or {}, sort_keys=True),
    }


def write_focus_csv(data_dir: Path, name: str, rows: list[dict[str, str]]) -> Path:
    import csv

    path = data_dir / "raw" / "costs" / "focus" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(FOCUS_10_COLUMNS)
        for r in rows:
            w.writerow([r.get(c, "") for c in FOCUS_10_COLUMNS])
    return path
