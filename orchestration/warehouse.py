"""The DuckDB warehouse: connections and the DDL of every table that is not built by dbt.

Schemas:
- ``raw``:    append-only tables the ingest assets write (dbt sources). Each row carries its
              ``batch_id`` (-> ``raw.load_manifest``), ``file_path`` and 1-based ``row_number``.
- ``ledger``: the period-close ledger (issued invoices, their lines, the credit they burned per
              grant, their content hashes). Written only by ``meterline close``; append-only;
              no dbt run ever rewrites it. dbt reads it as a source.

Conventions: timestamps are ``TIMESTAMP`` holding UTC (never TIMESTAMPTZ, whose rendering depends
on the session time zone); money and unit prices are ``DECIMAL(38,12)``; provider amounts keep
the precision they arrive with; reference files are stored as the text of the file (``VARCHAR``)
and cast in staging, after validation has proved every value castable.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

# Known `data` fields of a usage event, with their types. Other keys go to `extra_data` (JSON).
# The typed usage fields: defined here (the columns of raw.usage_events); dbt repeats the names in
# macros/billing/usage_fields.sql and stg_usage__events, tied by tests/test_usage_fields.py.
USAGE_QUANTITY_FIELDS: dict[str, str] = {
    "input_tokens": "BIGINT",
    "cached_input_tokens": "BIGINT",
    "cache_write_tokens": "BIGINT",
    "output_tokens": "BIGINT",
    "images": "BIGINT",
    "audio_seconds": "DECIMAL(38,6)",
    "characters": "BIGINT",
    "gpu_seconds": "DECIMAL(38,6)",
    "gb_stored": "DECIMAL(38,9)",
    "requests": "BIGINT",
}
USAGE_DIMENSION_FIELDS: dict[str, str] = {
    "provider": "VARCHAR",
    "model": "VARCHAR",
    "status": "VARCHAR",
    "outcome": "VARCHAR",
    "gpu_type": "VARCHAR",
    "feature": "VARCHAR",
    "endpoint": "VARCHAR",
    "workspace_id": "VARCHAR",
    "service_tier": "VARCHAR",
    "latency_ms": "BIGINT",
}


def _usage_columns() -> str:
    cols = {**USAGE_DIMENSION_FIELDS, **USAGE_QUANTITY_FIELDS}
    return ",\n    ".join(f"{name} {typ}" for name, typ in cols.items())


# FOCUS 1.0–1.2 columns, union of the versions (absent columns are NULL for older files).
FOCUS_COLUMNS: dict[str, str] = {
    "AvailabilityZone": "VARCHAR",
    "BilledCost": "DECIMAL(38,15)",
    "BillingAccountId": "VARCHAR",
    "BillingAccountName": "VARCHAR",
    "BillingAccountType": "VARCHAR",
    "BillingCurrency": "VARCHAR",
    "BillingPeriodEnd": "TIMESTAMP",
    "BillingPeriodStart": "TIMESTAMP",
    "CapacityReservationId": "VARCHAR",
    "CapacityReservationStatus": "VARCHAR",
    "ChargeCategory": "VARCHAR",
    "ChargeClass": "VARCHAR",
    "ChargeDescription": "VARCHAR",
    "ChargeFrequency": "VARCHAR",
    "ChargePeriodEnd": "TIMESTAMP",
    "ChargePeriodStart": "TIMESTAMP",
    "CommitmentDiscountCategory": "VARCHAR",
    "CommitmentDiscountId": "VARCHAR",
    "CommitmentDiscountName": "VARCHAR",
    "CommitmentDiscountQuantity": "DECIMAL(38,15)",
    "CommitmentDiscountStatus": "VARCHAR",
    "CommitmentDiscountType": "VARCHAR",
    "CommitmentDiscountUnit": "VARCHAR",
    "ConsumedQuantity": "DECIMAL(38,15)",
    "ConsumedUnit": "VARCHAR",
    "ContractedCost": "DECIMAL(38,15)",
    "ContractedUnitPrice": "DECIMAL(38,15)",
    "EffectiveCost": "DECIMAL(38,15)",
    "InvoiceId": "VARCHAR",
    "InvoiceIssuerName": "VARCHAR",
    "ListCost": "DECIMAL(38,15)",
    "ListUnitPrice": "DECIMAL(38,15)",
    "PricingCategory": "VARCHAR",
    "PricingCurrency": "VARCHAR",
    "PricingCurrencyContractedUnitPrice": "DECIMAL(38,15)",
    "PricingCurrencyEffectiveCost": "DECIMAL(38,15)",
    "PricingCurrencyListUnitPrice": "DECIMAL(38,15)",
    "PricingQuantity": "DECIMAL(38,15)",
    "PricingUnit": "VARCHAR",
    "ProviderName": "VARCHAR",  # 1.3 renames it ServiceProviderName; both load here
    "PublisherName": "VARCHAR",
    "RegionId": "VARCHAR",
    "RegionName": "VARCHAR",
    "ResourceId": "VARCHAR",
    "ResourceName": "VARCHAR",
    "ResourceType": "VARCHAR",
    "ServiceCategory": "VARCHAR",
    "ServiceName": "VARCHAR",
    "ServiceSubcategory": "VARCHAR",
    "SkuId": "VARCHAR",
    "SkuMeter": "VARCHAR",
    "SkuPriceDetails": "VARCHAR",  # JSON text
    "SkuPriceId": "VARCHAR",
    "SubAccountId": "VARCHAR",
    "SubAccountName": "VARCHAR",
    "SubAccountType": "VARCHAR",
    "Tags": "VARCHAR",  # JSON text
}


def _focus_columns() -> str:
    return ",\n    ".join(f"{name} {typ}" for name, typ in FOCUS_COLUMNS.items())


_LINEAGE = """batch_id BIGINT NOT NULL,
    file_path VARCHAR NOT NULL,
    row_number BIGINT NOT NULL"""

DDL: list[str] = [
    "CREATE SCHEMA IF NOT EXISTS raw",
    "CREATE SCHEMA IF NOT EXISTS ledger",
    "CREATE SCHEMA IF NOT EXISTS outbox",
    # One row per file load. (file_path, content_hash) seen before -> the file is skipped.
    """CREATE TABLE IF NOT EXISTS raw.load_manifest (
    batch_id BIGINT PRIMARY KEY,
    source VARCHAR NOT NULL,          -- usage | openai | anthropic | focus | reference
    table_name VARCHAR NOT NULL,      -- the raw table the rows went to
    file_path VARCHAR NOT NULL,       -- relative to the data dir, '/' separators
    content_hash VARCHAR NOT NULL,    -- sha256 of the file bytes
    file_format VARCHAR NOT NULL,     -- jsonl | csv | parquet | json | yaml
    arrival_at TIMESTAMP NOT NULL,    -- UTC: end of the YYYY-MM-DD day in the name, else load time
    loaded_at TIMESTAMP NOT NULL,     -- wall clock of the load (audit only, never in a mart)
    raw_rows BIGINT NOT NULL,
    loaded_rows BIGINT NOT NULL,
    duplicate_rows BIGINT NOT NULL,
    quarantined_rows BIGINT NOT NULL,
    conflict_rows BIGINT NOT NULL     -- subset of duplicate_rows: same key, different payload
)""",
    # Added by issue 18 (ALTER, so a warehouse created before gets the same columns, at the end).
    # status: loaded | rejected. A rejected file could not be read as a whole (encoding, size,
    # format, schema): it is one quarantined unit (raw_rows = quarantined_rows = 1), the reason
    # names the problem and the first offending row or byte when known. Like any file, it is
    # retried only when its bytes change. `warning`: a loaded file's notice (e.g. rows that carry
    # none of the quantity fields their event type's meters read).
    "ALTER TABLE raw.load_manifest ADD COLUMN IF NOT EXISTS status VARCHAR DEFAULT 'loaded'",
    "ALTER TABLE raw.load_manifest ADD COLUMN IF NOT EXISTS rejected_reason VARCHAR",
    "ALTER TABLE raw.load_manifest ADD COLUMN IF NOT EXISTS warning VARCHAR",
    f"""CREATE TABLE IF NOT EXISTS raw.usage_events (
    {_LINEAGE},
    event_source VARCHAR NOT NULL,    -- CloudEvents `source`
    event_id VARCHAR NOT NULL,        -- CloudEvents `id`; with event_source the idempotency key
    event_type VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL,     -- CloudEvents `subject`
    event_time TIMESTAMP NOT NULL,    -- UTC
    {_usage_columns()},
    extra_data JSON,                  -- `data` keys not in the typed columns (NULL when none)
    payload_hash UBIGINT NOT NULL,    -- hash of (type, subject, time, data): conflict detection
    is_duplicate BOOLEAN NOT NULL     -- key already loaded (earlier batch or row)
)""",
    """CREATE TABLE IF NOT EXISTS raw.usage_conflicts (
    event_source VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    kept_batch_id BIGINT NOT NULL,
    kept_row_number BIGINT NOT NULL,
    conflicting_batch_id BIGINT NOT NULL,
    conflicting_row_number BIGINT NOT NULL,
    conflicting_file_path VARCHAR NOT NULL
)""",
    # Rows that could not be loaded, from any source file.
    """CREATE TABLE IF NOT EXISTS raw.quarantine (
    batch_id BIGINT NOT NULL,
    source VARCHAR NOT NULL,
    file_path VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    reason_code VARCHAR NOT NULL,     -- see orchestration/ingest: unparseable, missing_id, ...
    reason_detail VARCHAR NOT NULL,   -- human-readable: names the field and the bad value
    raw_record VARCHAR                -- the original line / row, as text
)""",
    # OpenAI /organization/costs pages and dashboard cost CSV exports.
    f"""CREATE TABLE IF NOT EXISTS raw.openai_costs (
    {_LINEAGE},
    source_format VARCHAR NOT NULL,   -- api_page | dashboard_csv
    bucket_start TIMESTAMP NOT NULL,
    bucket_end TIMESTAMP NOT NULL,
    amount_value DECIMAL(38,16),      -- dollars (NULL for an empty bucket row)
    amount_currency VARCHAR,          -- upper-cased ISO 4217
    line_item VARCHAR,
    project_id VARCHAR,
    api_key_id VARCHAR,
    organization_id VARCHAR,
    quantity DECIMAL(38,12),
    quantity_unit VARCHAR,
    raw_record JSON
)""",
    # OpenAI /organization/usage/* pages and dashboard activity CSV exports; one row per
    # (bucket, result). Empty buckets produce no row. `group_by` records the grouping set.
    f"""CREATE TABLE IF NOT EXISTS raw.openai_usage (
    {_LINEAGE},
    source_format VARCHAR NOT NULL,   -- api_page | dashboard_csv
    bucket_start TIMESTAMP NOT NULL,
    bucket_end TIMESTAMP NOT NULL,
    result_object VARCHAR,            -- e.g. organization.usage.completions.result
    group_by VARCHAR NOT NULL,        -- sorted dimensions non-null in this file
    project_id VARCHAR,
    user_id VARCHAR,
    api_key_id VARCHAR,
    model VARCHAR,
    batch BOOLEAN,
    service_tier VARCHAR,
    input_tokens BIGINT,
    input_cached_tokens BIGINT,
    input_cache_write_tokens BIGINT,
    input_uncached_tokens BIGINT,
    output_tokens BIGINT,
    num_model_requests BIGINT,
    raw_record JSON
)""",
    # Anthropic cost_report pages. `amount_cents` is the decimal string in cents as received.
    f"""CREATE TABLE IF NOT EXISTS raw.anthropic_costs (
    {_LINEAGE},
    bucket_start TIMESTAMP NOT NULL,
    bucket_end TIMESTAMP NOT NULL,
    amount_cents DECIMAL(38,9) NOT NULL,
    currency VARCHAR,
    workspace_id VARCHAR,
    description VARCHAR,
    cost_type VARCHAR,
    model VARCHAR,
    token_type VARCHAR,
    service_tier VARCHAR,
    context_window VARCHAR,
    inference_geo VARCHAR,
    raw_record JSON
)""",
    # Anthropic usage_report/messages pages.
    f"""CREATE TABLE IF NOT EXISTS raw.anthropic_usage (
    {_LINEAGE},
    bucket_start TIMESTAMP NOT NULL,
    bucket_end TIMESTAMP NOT NULL,
    group_by VARCHAR NOT NULL,
    api_key_id VARCHAR,
    workspace_id VARCHAR,
    model VARCHAR,
    service_tier VARCHAR,
    context_window VARCHAR,
    uncached_input_tokens BIGINT,
    cache_creation_5m_input_tokens BIGINT,
    cache_creation_1h_input_tokens BIGINT,
    cache_read_input_tokens BIGINT,
    output_tokens BIGINT,
    web_search_requests BIGINT,
    raw_record JSON
)""",
    # FOCUS 1.0–1.2 exports, any vendor. Columns outside the spec (x_*, the sample's `Id`)
    # are kept in `extra_columns` as a JSON object of their text values.
    f"""CREATE TABLE IF NOT EXISTS raw.focus_costs (
    {_LINEAGE},
    focus_version VARCHAR,            -- detected from the columns: 1.0 | 1.1 | 1.2
    {_focus_columns()},
    extra_columns JSON
)""",
    # Reference files, as text. Replaced as a whole on each load of a new version of the file;
    # `batch_id` tells which version. Validation (Great Expectations) runs before the write.
    f"""CREATE TABLE IF NOT EXISTS raw.customers (
    {_LINEAGE},
    customer_id VARCHAR, name VARCHAR, currency VARCHAR, timezone VARCHAR, tax_rate VARCHAR,
    segment VARCHAR, parent_customer_id VARCHAR, billing_email VARCHAR,
    payment_terms_days VARCHAR
)""",
    # added after the first release: a warehouse created before it gets the column (NULL = the
    # default terms, 30 days)
    "ALTER TABLE raw.customers ADD COLUMN IF NOT EXISTS payment_terms_days VARCHAR",
    # accounts (issue 22): true = billed on the parent's invoice; NULL/empty = false
    "ALTER TABLE raw.customers ADD COLUMN IF NOT EXISTS bill_to_parent VARCHAR",
    f"""CREATE TABLE IF NOT EXISTS raw.subscriptions (
    {_LINEAGE},
    subscription_id VARCHAR, customer_id VARCHAR, plan_code VARCHAR, start_date VARCHAR,
    end_date VARCHAR, plan_version VARCHAR  -- optional: pins the plan version (grandfathering)
)""",
    f"""CREATE TABLE IF NOT EXISTS raw.contracts (
    {_LINEAGE},
    contract_id VARCHAR, customer_id VARCHAR, start_date VARCHAR, end_date VARCHAR,
    commit_amount VARCHAR, commit_period VARCHAR, usage_discount_pct VARCHAR,
    renewal_notice_days VARCHAR
)""",
    f"""CREATE TABLE IF NOT EXISTS raw.credit_grants (
    {_LINEAGE},
    grant_id VARCHAR, customer_id VARCHAR, amount VARCHAR, granted_at VARCHAR,
    expires_at VARCHAR, priority VARCHAR, kind VARCHAR
)""",
    # issue 22 (credit plans), optional columns: unit = money (default) | credits (a credit pack:
    # amount is credit units), price_paid = what the customer paid for the pack
    "ALTER TABLE raw.credit_grants ADD COLUMN IF NOT EXISTS unit VARCHAR",
    "ALTER TABLE raw.credit_grants ADD COLUMN IF NOT EXISTS price_paid VARCHAR",
    f"""CREATE TABLE IF NOT EXISTS raw.budgets (
    {_LINEAGE},
    customer_id VARCHAR, monthly_budget VARCHAR, alert_thresholds_pct VARCHAR, hard_limit VARCHAR
)""",
    f"""CREATE TABLE IF NOT EXISTS raw.provider_prices (
    {_LINEAGE},
    provider VARCHAR, model VARCHAR, price_component VARCHAR, unit_price VARCHAR,
    price_per VARCHAR, effective_from VARCHAR, effective_to VARCHAR
)""",
    # fx_rates.csv: 1 from_currency = rate to_currency on that day (issue 22).
    f"""CREATE TABLE IF NOT EXISTS raw.fx_rates (
    {_LINEAGE},
    date VARCHAR, from_currency VARCHAR, to_currency VARCHAR, rate VARCHAR
)""",
    # meters.yml, one row per meter. `dimensions` and `filter` as JSON text.
    f"""CREATE TABLE IF NOT EXISTS raw.meters (
    {_LINEAGE},
    meter_code VARCHAR, meter_name VARCHAR, event_type VARCHAR, aggregation VARCHAR,
    field VARCHAR, unit VARCHAR, dimensions JSON, filter JSON, include_failed BOOLEAN
)""",
    # plans/*.yml, normalised: plan version -> charges -> price rows -> tiers.
    f"""CREATE TABLE IF NOT EXISTS raw.plans (
    {_LINEAGE},
    plan_code VARCHAR, plan_version INTEGER, plan_name VARCHAR, currency VARCHAR,
    effective_from VARCHAR, fee VARCHAR
)""",
    f"""CREATE TABLE IF NOT EXISTS raw.plan_charges (
    {_LINEAGE},
    plan_code VARCHAR, plan_version INTEGER, charge_index INTEGER, meter_code VARCHAR,
    charge_model VARCHAR, price_per VARCHAR
)""",
    # issue 22: money | credits (the charge's prices are credit_price, in credit units)
    "ALTER TABLE raw.plan_charges ADD COLUMN IF NOT EXISTS price_unit VARCHAR",
    # a plan's credits block: monthly allowance, rollover cap (0 = reset), overage rate per credit
    f"""CREATE TABLE IF NOT EXISTS raw.plan_credits (
    {_LINEAGE},
    plan_code VARCHAR, plan_version INTEGER, allowance VARCHAR, rollover_cap VARCHAR,
    overage_rate VARCHAR
)""",
    f"""CREATE TABLE IF NOT EXISTS raw.plan_prices (
    {_LINEAGE},
    plan_code VARCHAR, plan_version INTEGER, charge_index INTEGER, price_index INTEGER,
    when_json JSON,                   -- {{dimension: glob pattern}}; NULL = default row
    unit_price VARCHAR, free_units VARCHAR, package_size VARCHAR, package_price VARCHAR
)""",
    f"""CREATE TABLE IF NOT EXISTS raw.plan_price_tiers (
    {_LINEAGE},
    plan_code VARCHAR, plan_version INTEGER, charge_index INTEGER, price_index INTEGER,
    tier_index INTEGER, up_to VARCHAR, unit_price VARCHAR, flat_fee VARCHAR
)""",
    # cost_allocation.yml (shared-cost allocation rules), one row per rule.
    f"""CREATE TABLE IF NOT EXISTS raw.cost_allocation_rules (
    {_LINEAGE},
    rule_index INTEGER, tag_key VARCHAR, match_json JSON, driver VARCHAR
)""",
    # Provider list prices resolved from the catalog library (orchestration/catalog.py), one
    # row per (provider, model, component, effective_from). Rewritten by the catalog step.
    """CREATE TABLE IF NOT EXISTS raw.catalog_prices (
    provider VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    catalog_model_id VARCHAR,
    price_component VARCHAR NOT NULL,
    unit_price DECIMAL(38,18) NOT NULL,  -- USD per single unit
    effective_from DATE NOT NULL,
    resolved_for DATE NOT NULL,
    notes VARCHAR
)""",
    """CREATE TABLE IF NOT EXISTS raw.catalog_unknown_models (
    provider VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    first_seen DATE,
    last_seen DATE
)""",
    # --- the period-close ledger: append-only, written by `meterline close` only ---
    """CREATE TABLE IF NOT EXISTS ledger.period_closes (
    period VARCHAR NOT NULL,          -- YYYY-MM
    closed_at TIMESTAMP NOT NULL,
    invoice_count INTEGER NOT NULL,
    excluded_customers VARCHAR        -- comma-separated, customers excluded from this close
)""",
    # --- the alert outbox: append-only, written by alert delivery (orchestration/alerts.py) ---
    # One message per alert x channel x destination (idempotency_key), frozen when enqueued.
    """CREATE TABLE IF NOT EXISTS outbox.alert_messages (
    idempotency_key VARCHAR NOT NULL, -- <alert_key>|<channel>|<destination>
    alert_key VARCHAR NOT NULL,       -- threshold:<id> | hard_limit:<c>:<period> | anomaly:<id>
    alert_kind VARCHAR NOT NULL,      -- threshold | hard_limit | anomaly
    customer_id VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,         -- webhook | email
    destination VARCHAR NOT NULL,     -- URL or e-mail address
    subject VARCHAR NOT NULL,
    payload VARCHAR NOT NULL,         -- the JSON body (webhook) / attached to the e-mail
    enqueued_at TIMESTAMP NOT NULL
)""",
    # One row per delivery attempt; a message is delivered once it has a `delivered` attempt.
    """CREATE TABLE IF NOT EXISTS outbox.alert_attempts (
    idempotency_key VARCHAR NOT NULL,
    attempt_no INTEGER NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL,          -- delivered | failed
    detail VARCHAR                    -- HTTP status / SMTP reply / error
)""",
    """CREATE OR REPLACE VIEW outbox.alert_outbox AS
SELECT m.*, coalesce(a.attempts, 0) AS attempts, a.last_attempt_at, a.delivered_at, a.last_detail,
    CASE WHEN a.delivered_at IS NOT NULL THEN 'delivered'
         WHEN a.attempts > 0 THEN 'failed' ELSE 'pending' END AS status
FROM outbox.alert_messages m
LEFT JOIN (
    SELECT idempotency_key, count(*) AS attempts, max(attempted_at) AS last_attempt_at,
        min(attempted_at) FILTER (WHERE status = 'delivered') AS delivered_at,
        arg_max(detail, attempt_no) AS last_detail
    FROM outbox.alert_attempts GROUP BY idempotency_key
) a USING (idempotency_key)""",
    """CREATE TABLE IF NOT EXISTS ledger.issued_invoices (
    invoice_number VARCHAR NOT NULL,  -- INV-<YYYYMM>-<NNNNN>
    customer_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,         -- exclusive
    currency VARCHAR NOT NULL,
    subtotal DECIMAL(38,2) NOT NULL,
    discount_total DECIMAL(38,2) NOT NULL,
    credit_total DECIMAL(38,2) NOT NULL,
    tax_total DECIMAL(38,2) NOT NULL,
    total DECIMAL(38,2) NOT NULL,
    issued_at TIMESTAMP NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS ledger.issued_invoice_lines (
    invoice_number VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    line_no INTEGER NOT NULL,
    line_type VARCHAR NOT NULL,
    description VARCHAR NOT NULL,
    meter_code VARCHAR,
    dimensions VARCHAR,
    quantity DECIMAL(38,9),
    unit VARCHAR,
    unit_price DECIMAL(38,12),
    amount DECIMAL(38,2) NOT NULL,
    currency VARCHAR NOT NULL,
    line_key VARCHAR                  -- stable key of the rated line (for late-usage adjustments)
)""",
    # What each issued invoice burned from each credit grant, copied from the build at issue:
    # later periods start from these balances, never from a recomputed split (issue 17).
    """CREATE TABLE IF NOT EXISTS ledger.issued_credit_burns (
    invoice_number VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    grant_id VARCHAR NOT NULL,        -- a credit_grants.csv grant (or a credit note's credit)
    burned DECIMAL(38,2) NOT NULL,    -- > 0
    issued_at TIMESTAMP NOT NULL
)""",
    # The content hash of each issued invoice (totals + lines) recorded at issue; the dbt test
    # assert_issued_invoices_unchanged recomputes it from the ledger and the marts every build.
    """CREATE TABLE IF NOT EXISTS ledger.issued_invoice_hashes (
    invoice_number VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,    -- md5, see orchestration/close.py INVOICE_HASH_SQL
    issued_at TIMESTAMP NOT NULL
)""",
    # Credit notes issued at a close from reference/credit_notes.csv (orchestration/close.py).
    """CREATE TABLE IF NOT EXISTS ledger.issued_credit_notes (
    credit_note_number VARCHAR NOT NULL,  -- CN-<YYYYMM of the close>-<NNNNN>
    credit_note_id VARCHAR NOT NULL,      -- the request's id in credit_notes.csv
    customer_id VARCHAR NOT NULL,
    invoice_number VARCHAR NOT NULL,      -- the issued invoice it credits
    invoice_period VARCHAR NOT NULL,
    line_no INTEGER,                      -- the line it credits; NULL = the invoice
    line_type VARCHAR,
    quantity DECIMAL(38,9),               -- quantity credited, when given by quantity
    reason VARCHAR NOT NULL,
    settlement VARCHAR NOT NULL,          -- refund | account_credit
    currency VARCHAR NOT NULL,
    amount DECIMAL(38,2) NOT NULL,        -- credited before tax (> 0)
    tax DECIMAL(38,2) NOT NULL,           -- round(amount x the invoice's tax rate)
    total DECIMAL(38,2) NOT NULL,         -- amount + tax
    period VARCHAR NOT NULL,              -- the close that issued it
    issued_at TIMESTAMP NOT NULL
)""",
    # Added columns (ALTER ... ADD COLUMN IF NOT EXISTS, so a ledger issued before them keeps its
    # rows, with NULL in the new columns). Positional inserts list them last, in this order.
    *(
        f"ALTER TABLE ledger.issued_invoices ADD COLUMN IF NOT EXISTS {column}"
        for column in (
            "customer_name VARCHAR",  # customers.csv name at issue
            "billing_email VARCHAR",
            "timezone VARCHAR",  # the customer's time zone: the period's days are its days
            "payment_terms_days INTEGER",  # customers.csv payment_terms_days at issue
            "issue_date DATE",  # the date of issued_at
            "due_date DATE",  # issue_date + payment_terms_days
            "seller_json VARCHAR",  # reference/seller.yml at issue (orchestration/seller.py)
        )
    ),
    *(
        f"ALTER TABLE ledger.issued_invoice_lines ADD COLUMN IF NOT EXISTS {column}"
        for column in (
            "subscription_id VARCHAR",
            "plan_code VARCHAR",
            "plan_version INTEGER",
            "plan_name VARCHAR",
            "charge_model VARCHAR",  # per_unit | package | graduated | volume | prorated_fee
            "price_per DECIMAL(38,12)",  # unit_price is quoted per this many units
            "free_units DECIMAL(38,9)",
            "billable_quantity DECIMAL(38,9)",  # quantity - free units (fee: active days)
            "package_size DECIMAL(38,9)",
            "price_basis VARCHAR",  # the line's arithmetic as text (tiers, packages, rates)
            # accounts (issue 22): the customer whose usage the line is (a child billed to its
            # parent's invoice; else the invoice's customer)
            "usage_customer_id VARCHAR",
        )
    ),
]


# Columns added after a table was first created (a warehouse built before keeps its data).
MIGRATIONS: list[str] = [
    "ALTER TABLE raw.subscriptions ADD COLUMN IF NOT EXISTS plan_version VARCHAR",
]


# the pricing lab (orchestration/scenarios.py): what a scenario is, and its re-rated results
SCENARIO_DDL = [
    "CREATE SCHEMA IF NOT EXISTS scenarios",
    """CREATE TABLE IF NOT EXISTS raw.scenarios (
    scenario VARCHAR, scenario_name VARCHAR, description VARCHAR, file_path VARCHAR,
    period_from VARCHAR, period_to VARCHAR, customer_scope VARCHAR, move_to_plan VARCHAR,
    plan_files VARCHAR
)""",
    "CREATE TABLE IF NOT EXISTS raw.scenario_customers (scenario VARCHAR, customer_id VARCHAR)",
    """CREATE TABLE IF NOT EXISTS raw.scenario_cost_changes (
    scenario VARCHAR, change_index INTEGER, provider VARCHAR, model_pattern VARCHAR,
    price_component VARCHAR, change_pct DECIMAL(9, 4), effective_from DATE, effective_to DATE
)""",
    """CREATE TABLE IF NOT EXISTS scenarios.invoices (
    scenario VARCHAR, invoice_id VARCHAR, customer_id VARCHAR, period VARCHAR,
    period_start DATE, period_end DATE, currency VARCHAR,
    fees_total DECIMAL(38, 2), usage_total DECIMAL(38, 2), discount_total DECIMAL(38, 2),
    minimum_commitment_total DECIMAL(38, 2), subtotal DECIMAL(38, 2),
    credit_total DECIMAL(38, 2), promotional_credit_total DECIMAL(38, 2),
    tax_total DECIMAL(38, 2), total DECIMAL(38, 2), is_blocked BOOLEAN, blocked_reason VARCHAR
)""",
    """CREATE TABLE IF NOT EXISTS scenarios.invoice_lines (
    scenario VARCHAR, invoice_id VARCHAR, customer_id VARCHAR, period VARCHAR,
    line_key VARCHAR, line_type VARCHAR, description VARCHAR, meter_code VARCHAR,
    dimensions VARCHAR, quantity DECIMAL(38, 9), unit_price DECIMAL(38, 12),
    amount DECIMAL(38, 2), plan_code VARCHAR, plan_version INTEGER
)""",
    # the inputs fingerprint each kept scenario (and the baseline) was re-rated from
    """CREATE TABLE IF NOT EXISTS scenarios.rerated (
    scenario VARCHAR, fingerprint VARCHAR
)""",
    """CREATE TABLE IF NOT EXISTS scenarios.margin_rows (
    scenario VARCHAR, customer_id VARCHAR, period VARCHAR, provider VARCHAR, model VARCHAR,
    feature VARCHAR, revenue DECIMAL(38, 2), cogs_direct DECIMAL(38, 2),
    cogs_allocated DECIMAL(38, 2)
)""",
]


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every non-dbt schema and table if missing. Idempotent."""
    for stmt in DDL:
        con.execute(stmt)
    for stmt in MIGRATIONS:
        con.execute(stmt)
    for stmt in SCENARIO_DDL:
        con.execute(stmt)


def duckdb_config() -> dict[str, str]:
    """DuckDB settings shared by every connection we open (dbt's profile reads the same env vars).

    DuckDB defaults to 80% of RAM per process; set a deliberate limit so that the pipeline, dbt and
    readers fit on one small machine together, and spill to a temp directory beside the warehouse
    instead of failing."""
    cfg = {"memory_limit": os.environ.get("METERLINE_DUCKDB_MEMORY_LIMIT", "8GB")}
    temp = os.environ.get("METERLINE_DUCKDB_TEMP_DIRECTORY")
    if temp:
        cfg["temp_directory"] = temp
    return cfg


@contextmanager
def connect(path: Path | str, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse, yield the connection, always close it (one writer at a time:
    never hold a connection across a dbt run)."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only, config=duckdb_config())
    try:
        con.execute("SET TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


# How much write-ahead log a loading connection lets grow before DuckDB checkpoints it into the
# file (DuckDB's default is 16MB). A usage file below one row group (122,880 rows) commits
# through the WAL; at the default, nearly every file's commit also checkpointed: 10.2 of a
# 2M-event usage ingest's 17.5 s (32 files) were commits. With this threshold: 13.1 s, of which
# commits 3.1 s and the one checkpoint at the end 2.8 s. Larger files are written to the
# database file at insert (DuckDB's optimistic writes): 10M events, 35.2 s either way.
LOAD_CHECKPOINT_THRESHOLD = "1GB"


@contextmanager
def connect_for_load(path: Path | str) -> Iterator[duckdb.DuckDBPyConnection]:
    """``connect`` for a loader that commits file by file: every commit is durable in the WAL
    as before; the WAL is folded into the file once, when the loading is done."""
    with connect(path) as con:
        con.execute(f"SET checkpoint_threshold = '{LOAD_CHECKPOINT_THRESHOLD}'")
        yield con
        con.execute("checkpoint")
