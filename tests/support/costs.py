"""Helpers for the provider-cost tests: build a small data dir, load it, run the cost marts.

`load_warehouse` goes through the real loader (`orchestration.ingest`). Until the provider
loader (`orchestration.ingest.providers`) exists, provider files are loaded by
`_load_provider_files_direct`, plain DuckDB SQL following docs/design.md and the DDL.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from orchestration.config import Settings
from orchestration.costs import CatalogResult, resolve_catalog_prices
from orchestration.dbt_runner import run_dbt
from orchestration.warehouse import FOCUS_COLUMNS, connect, ensure_schema

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
if not FIXTURES.exists():
    FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"

COST_MARTS = ("fct_provider_costs", "fct_provider_usage", "fct_cost_reconciliation",
              "fct_cogs_daily")

CUSTOMERS_HEADER = (
    "customer_id,name,currency,timezone,tax_rate,segment,parent_customer_id,billing_email")
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


def provider_loader_available() -> bool:
    return importlib.util.find_spec("orchestration.ingest.providers") is not None


def copy_fixture(data_dir: Path, fixture: str, provider: str) -> Path:
    """Copy tests/fixtures/<fixture> into raw/costs/<provider>/."""
    src = FIXTURES / fixture
    dst = data_dir / "raw" / "costs" / provider / src.name
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


def write_reference(data_dir: Path, customers: list[tuple[str, str]],
                    provider_prices: list[str] | None = None,
                    allocation_yml: str | None = None) -> None:
    """Minimal valid reference files: customers (id, segment), meters, one plan."""
    ref = data_dir / "reference"
    (ref / "plans").mkdir(parents=True, exist_ok=True)
    rows = [CUSTOMERS_HEADER] + [f"{cid},{cid.title()},USD,UTC,0,{seg},," for cid, seg in customers]
    (ref / "customers.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (ref / "meters.yml").write_text(METERS_YML, encoding="utf-8")
    (ref / "plans" / "basic.yml").write_text(
        'code: basic\nversion: 1\nname: Basic\ncurrency: USD\neffective_from: 2024-01-01\n'
        'fee: "0.00"\ncharges:\n  - meter: llm_input_tokens\n    model: per_unit\n'
        '    price_per: 1000000\n    prices:\n      - unit_price: "1.00"\n',
        encoding="utf-8")
    (ref / "subscriptions.csv").write_text(
        "subscription_id,customer_id,plan_code,start_date,end_date\n"
        + "".join(f"sub_{cid},{cid},basic,2024-01-01,\n" for cid, _ in customers),
        encoding="utf-8")
    header = "provider,model,price_component,unit_price,price_per,effective_from,effective_to\n"
    (ref / "provider_prices.csv").write_text(
        header + "".join(r + "\n" for r in (provider_prices or [])), encoding="utf-8")
    if allocation_yml is not None:
        (ref / "cost_allocation.yml").write_text(allocation_yml, encoding="utf-8")


def write_events(data_dir: Path, name: str, events: list[dict[str, Any]]) -> Path:
    """CloudEvents JSONL usage file under raw/usage/."""
    path = data_dir / "raw" / "usage" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, e in enumerate(events):
        data = {k: v for k, v in e.items() if k not in ("subject", "time", "type", "id")}
        lines.append(json.dumps({
            "specversion": "1.0", "id": e.get("id", f"evt_{name}_{i:05d}"), "source": "gw-test",
            "type": e.get("type", "llm.completion"), "subject": e["subject"], "time": e["time"],
            "data": data}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_warehouse(s: Settings) -> CatalogResult:
    """Ingest the data dir (real loader), then the catalog step."""
    from orchestration import ingest

    if provider_loader_available():
        ingest.ingest_all(s)
    else:
        if (s.reference_dir / "customers.csv").exists():
            ingest.ingest_reference(s)
            ingest.ingest_usage(s)
        with connect(s.warehouse) as con:
            ensure_schema(con)
            _load_provider_files_direct(con, s.data_dir)
    return resolve_catalog_prices(s)


def dbt_build(s: Settings, *args: str) -> None:
    """`dbt build <args>` on the warehouse of ``s`` with a private target/log dir (others run
    dbt on the same project concurrently). Tests of unselected parents are skipped
    (cautious indirect selection)."""
    work = s.data_dir.parent / "dbt"
    env = {"DBT_TARGET_PATH": str(work / "target"), "DBT_LOG_PATH": str(work / "logs")}
    run_dbt(s, "build", "--indirect-selection", "cautious", "--quiet", *args, extra_env=env)


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


# --- fallback provider loader (used only while orchestration.ingest.providers is missing) ---

def _insert(con: duckdb.DuckDBPyConnection, table: str, select_sql: str, path: Path,
            batch_id: int, rel: str) -> None:
    con.execute(f"insert into raw.{table} by name "
                f"select {batch_id} as batch_id, '{rel}' as file_path, * from ({select_sql})"
                .replace("$PATH", str(path)))


def _load_provider_files_direct(con: duckdb.DuckDBPyConnection, data_dir: Path) -> None:
    files = sorted((data_dir / "raw" / "costs").rglob("*.*"))
    for batch_id, path in enumerate(files, start=1000):
        rel = path.relative_to(data_dir).as_posix()
        provider = path.parent.name
        name = path.name
        if provider == "openai" and name.endswith(".json") and "cost" in name:
            _insert(con, "openai_costs", """
                select row_number() over () as row_number, 'api_page' as source_format,
                  to_timestamp(b.start_time)::timestamp as bucket_start,
                  to_timestamp(b.end_time)::timestamp as bucket_end,
                  try_cast(r.amount.value::varchar as decimal(38,16)) as amount_value,
                  upper(r.amount.currency) as amount_currency, r.line_item, r.project_id,
                  try_cast(r.quantity::varchar as decimal(38,12)) as quantity, r.quantity_unit
                from read_json('$PATH', maximum_object_size=100000000) p,
                  unnest(p.data) t(b), unnest(b.results) u(r)""", path, batch_id, rel)
        elif provider == "openai" and name.endswith(".json"):
            _insert(con, "openai_usage", """
                select row_number() over () as row_number, 'api_page' as source_format,
                  to_timestamp(b.start_time)::timestamp as bucket_start,
                  to_timestamp(b.end_time)::timestamp as bucket_end,
                  r.object as result_object, 'model' as group_by, r.model,
                  r.input_tokens, r.input_cached_tokens, r.input_cache_write_tokens,
                  r.input_uncached_tokens, r.output_tokens, r.num_model_requests
                from read_json('$PATH', maximum_object_size=100000000,
                  columns={'object': 'varchar', 'data': 'struct(start_time bigint, end_time bigint,
                    results struct("object" varchar, model varchar, input_tokens bigint,
                    input_cached_tokens bigint, input_cache_write_tokens bigint,
                    input_uncached_tokens bigint, output_tokens bigint,
                    num_model_requests bigint)[])[]'}) p,
                  unnest(p.data) t(b), unnest(b.results) u(r)""", path, batch_id, rel)
        elif provider == "openai" and "cost" in name:
            _insert(con, "openai_costs", """
                select row_number() over () as row_number, 'dashboard_csv' as source_format,
                  to_timestamp(start_time)::timestamp as bucket_start,
                  to_timestamp(end_time)::timestamp as bucket_end,
                  amount_value::decimal(38,16) as amount_value,
                  upper(amount_currency) as amount_currency, line_item, project_id,
                  organization_id
                from read_csv('$PATH', header=true, all_varchar=true)""", path, batch_id, rel)
        elif provider == "openai":
            _insert(con, "openai_usage", """
                select row_number() over () as row_number, 'dashboard_csv' as source_format,
                  to_timestamp(start_time::bigint)::timestamp as bucket_start,
                  to_timestamp(end_time::bigint)::timestamp as bucket_end,
                  'api_key_id,batch,model,project_id,service_tier,user_id' as group_by,
                  project_id, user_id, api_key_id, model, batch::boolean as batch, service_tier,
                  input_tokens::double::bigint as input_tokens,
                  input_cached_tokens::double::bigint as input_cached_tokens,
                  input_uncached_tokens::double::bigint as input_uncached_tokens,
                  output_tokens::double::bigint as output_tokens,
                  num_model_requests::double::bigint as num_model_requests
                from read_csv('$PATH', header=true, all_varchar=true)
                where input_tokens is not null""", path, batch_id, rel)
        elif provider == "anthropic" and "cost" in name:
            _insert(con, "anthropic_costs", """
                select row_number() over () as row_number,
                  b.starting_at::timestamptz::timestamp as bucket_start,
                  b.ending_at::timestamptz::timestamp as bucket_end,
                  r.amount::decimal(38,9) as amount_cents, r.currency, r.workspace_id,
                  r.description, r.cost_type, r.model, r.token_type, r.service_tier,
                  r.context_window
                from read_json('$PATH', maximum_object_size=100000000) p,
                  unnest(p.data) t(b), unnest(b.results) u(r)""", path, batch_id, rel)
        elif provider == "anthropic":
            _insert(con, "anthropic_usage", """
                select row_number() over () as row_number,
                  b.starting_at::timestamptz::timestamp as bucket_start,
                  b.ending_at::timestamptz::timestamp as bucket_end,
                  'model' as group_by, r.model,
                  r.uncached_input_tokens,
                  r.cache_creation.ephemeral_5m_input_tokens as cache_creation_5m_input_tokens,
                  r.cache_creation.ephemeral_1h_input_tokens as cache_creation_1h_input_tokens,
                  r.cache_read_input_tokens, r.output_tokens
                from read_json('$PATH', maximum_object_size=100000000) p,
                  unnest(p.data) t(b), unnest(b.results) u(r)""", path, batch_id, rel)
        elif provider == "focus" and name.endswith(".csv"):
            cols = con.execute(
                f"select * from read_csv('{path}', header=true, all_varchar=true) limit 0"
            ).description
            present = [c[0] for c in cols]
            sel = ", ".join(
                f"try_cast(nullif(nullif(\"{c}\", 'NULL'), '') as {FOCUS_COLUMNS[c]}) as \"{c}\""
                for c in present if c in FOCUS_COLUMNS)
            _insert(con, "focus_costs", f"""
                select row_number() over () as row_number, {sel}
                from read_csv('$PATH', header=true, all_varchar=true)""", path, batch_id, rel)


def write_json(data_dir: Path, rel: str, body: dict[str, Any]) -> Path:
    path = data_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body) + "\n", encoding="utf-8")
    return path


def anthropic_cost_page(days: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """cost_report page: {day: [{amount (cents text), model, description, token_type}]}."""
    data = []
    for day, results in sorted(days.items()):
        rows = [{"currency": "USD", "workspace_id": None, "cost_type": "tokens",
                 "context_window": "0-200k", "service_tier": "standard", **r} for r in results]
        data.append({"starting_at": f"{day}T00:00:00Z", "ending_at": _next_day(day),
                     "results": rows})
    return {"data": data, "has_more": False, "next_page": None}


def anthropic_usage_page(days: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """usage_report/messages page: {day: [{model, uncached_input_tokens, output_tokens, ...}]}."""
    data = []
    for day, results in sorted(days.items()):
        rows = [{"uncached_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 0,
                 "server_tool_use": {"web_search_requests": 0}, "api_key_id": None,
                 "workspace_id": None, "service_tier": None, "context_window": None,
                 **{k: v for k, v in r.items() if k not in ("cache_5m", "cache_1h")},
                 "cache_creation": {"ephemeral_5m_input_tokens": r.get("cache_5m", 0),
                                    "ephemeral_1h_input_tokens": r.get("cache_1h", 0)}}
                for r in results]
        data.append({"starting_at": f"{day}T00:00:00Z", "ending_at": _next_day(day),
                     "results": rows})
    return {"data": data, "has_more": False, "next_page": None}


def _next_day(day: str) -> str:
    import datetime as dt

    return f"{(dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()}T00:00:00Z"


FOCUS_10_COLUMNS = (
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency",
    "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription",
    "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountCategory",
    "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountStatus",
    "CommitmentDiscountType", "ConsumedQuantity", "ConsumedUnit", "ContractedCost",
    "ContractedUnitPrice", "EffectiveCost", "InvoiceIssuerName", "ListCost", "ListUnitPrice",
    "PricingCategory", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName",
    "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType", "ServiceCategory",
    "ServiceName", "SkuId", "SkuPriceId", "SubAccountId", "SubAccountName", "Tags",
)


def focus_row(day: str, cost: str, category: str, service: str,
              tags: dict[str, str] | None = None, provider: str = "CloudGPU") -> dict[str, str]:
    """One FOCUS 1.0 Usage row for a whole UTC day."""
    import datetime as dt

    d = dt.date.fromisoformat(day)
    month = d.replace(day=1)
    nxt = (month + dt.timedelta(days=32)).replace(day=1)
    return {
        "BilledCost": cost, "EffectiveCost": cost, "ListCost": cost, "ContractedCost": cost,
        "BillingAccountId": "acct-1", "BillingAccountName": "Test", "BillingCurrency": "USD",
        "BillingPeriodStart": f"{month.isoformat()}T00:00:00Z",
        "BillingPeriodEnd": f"{nxt.isoformat()}T00:00:00Z", "ChargeCategory": "Usage",
        "ChargeDescription": f"{service} usage", "ChargeFrequency": "Usage-Based",
        "ChargePeriodStart": f"{day}T00:00:00Z",
        "ChargePeriodEnd": f"{(d + dt.timedelta(days=1)).isoformat()}T00:00:00Z",
        "ConsumedQuantity": "1", "ConsumedUnit": "Hours", "PricingQuantity": "1",
        "PricingUnit": "Hours", "ListUnitPrice": cost, "ContractedUnitPrice": cost,
        "PricingCategory": "Standard", "InvoiceIssuerName": provider, "ProviderName": provider,
        "PublisherName": provider, "RegionId": "us-east-1", "RegionName": "us-east-1",
        "ResourceId": f"res-{service}", "ResourceName": f"res-{service}",
        "ResourceType": "Virtual Machine", "ServiceCategory": category, "ServiceName": service,
        "SkuId": "sku-1", "SkuPriceId": "sku-1-std", "SubAccountId": "sub-1",
        "SubAccountName": "prod", "Tags": json.dumps(tags or {}, sort_keys=True),
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
