"""Fixture warehouses for the dashboard tests.

``write_contract_fixture`` writes a small DuckDB file whose ``marts.*`` tables follow the dbt
model contract (docs/design.md) with hand-checked numbers: the worked invoice of PRICING.md
(``cus_northwind``, October 2026, total 1,080.00), a customer with a negative margin
(``cus_acme``) and one whose invoice is blocked by unpriced usage (``cus_blocked``). It is used
for the marts that are not built by dbt yet, and for the "mart missing" paths (``omit=``).

``publish`` copies a warehouse to the published path the dashboard reads, and ``write_exports``
writes invoice CSV exports where ``meterline close`` puts them.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb

from orchestration.config import REPO_ROOT, Settings, settings
from orchestration.dbt_runner import run_dbt
from orchestration.warehouse import ensure_schema

ALL_MARTS = (
    "fct_invoices",
    "fct_invoice_lines",
    "fct_usage_daily",
    "fct_credit_ledger",
    "fct_unpriced_usage",
    "fct_provider_costs",
    "fct_cost_reconciliation",
    "fct_cogs_daily",
    "fct_customer_margin",
    "fct_contract_progress",
    "fct_credit_balances",
    "fct_spend_alerts",
    "fct_customer_cogs_breakdown",
    "fct_customer_daily_spend",
    "fct_spend_anomalies",
    "fct_model_margin",
)
# marts derived from the ones above (their dbt models' logic, on the fixture's rows)
DERIVED_MARTS = (
    "dim_customers",
    "dim_billing_periods",
    "fct_invoice_register",
    "fct_invoice_line_usage_daily",
    "fct_invoice_line_events",
    "fct_alerts",
    "fct_credit_notes",
)
CONTROLS_MARTS = (
    "fct_contract_progress",
    "fct_credit_balances",
    "fct_spend_alerts",
    "fct_customer_daily_spend",
    "fct_spend_anomalies",
)
COST_MARTS = (
    "fct_provider_costs",
    "fct_cost_reconciliation",
    "fct_cogs_daily",
    "fct_customer_margin",
    "fct_customer_cogs_breakdown",
    "fct_model_margin",
)

_MARTS_SQL: dict[str, str] = {
    "fct_invoices": """
create table marts.fct_invoices as
select
    customer_id || ':' || period as invoice_id, customer_id, period,
    cast(period_start as date) as period_start, cast(period_end as date) as period_end,
    'USD' as currency,
    cast(fees_total as decimal(38, 2)) as fees_total,
    cast(usage_total as decimal(38, 2)) as usage_total,
    cast(discount_total as decimal(38, 2)) as discount_total,
    cast(minimum_commitment_total as decimal(38, 2)) as minimum_commitment_total,
    cast(0 as decimal(38, 2)) as adjustment_total,
    cast(subtotal as decimal(38, 2)) as subtotal,
    cast(credit_total as decimal(38, 2)) as credit_total,
    cast(credit_total as decimal(38, 2)) as promotional_credit_total,
    cast(subtotal - credit_total as decimal(38, 2)) as taxable_amount,
    cast(tax_rate as decimal(9, 6)) as tax_rate,
    cast(tax_total as decimal(38, 2)) as tax_total,
    cast(total as decimal(38, 2)) as total,
    status, invoice_number, is_blocked, blocked_reason, line_count
from (values
    ('cus_acme', '2026-09', '2026-09-01', '2026-10-01', 99.00, 40.00, 0.00, 0.00, 139.00,
     0.00, 0.0, 0.00, 139.00, 'issued', 'INV-202609-00001', false, null, 2),
    ('cus_northwind', '2026-09', '2026-09-01', '2026-10-01', 99.00, 100.00, -10.00, 811.00,
     1000.00, 100.00, 0.2, 180.00, 1080.00, 'issued', 'INV-202609-00002', false, null, 6),
    ('cus_acme', '2026-10', '2026-10-01', '2026-11-01', 99.00, 21.00, 0.00, 0.00, 120.00,
     0.00, 0.0, 0.00, 120.00, 'draft', null, false, null, 2),
    ('cus_blocked', '2026-10', '2026-10-01', '2026-11-01', 99.00, 0.00, 0.00, 0.00, 99.00,
     0.00, 0.0, 0.00, 99.00, 'draft', null, true,
     'unpriced usage: resolved_tickets (no_charge_for_meter)', 1),
    ('cus_northwind', '2026-10', '2026-10-01', '2026-11-01', 99.00, 259.60, -25.96, 667.36,
     1000.00, 100.00, 0.2, 180.00, 1080.00, 'draft', null, false, null, 11)
) as t(customer_id, period, period_start, period_end, fees_total, usage_total, discount_total,
       minimum_commitment_total, subtotal, credit_total, tax_rate, tax_total, total, status,
       invoice_number, is_blocked, blocked_reason, line_count)
""",
    "fct_invoice_lines": """
create table marts.fct_invoice_lines as
select
    customer_id || ':' || period as invoice_id, customer_id, period, line_no,
    line_type || ':' || line_no as line_key, line_type, description, meter_code, dimensions,
    cast(quantity as decimal(38, 9)) as quantity, unit,
    cast(unit_price as decimal(38, 12)) as unit_price,
    cast(amount as decimal(38, 2)) as amount, 'USD' as currency,
    'sub_' || customer_id as subscription_id, 'pro' as plan_code, 1 as plan_version,
    charge_model
from (values
    ('cus_northwind', '2026-10', 1, 'subscription', 'Pro (31/31 days)', null, null, 1, 'month',
     99.00, 99.00, null),
    ('cus_northwind', '2026-10', 2, 'usage', 'LLM input tokens · gpt-4o*', 'llm_input_tokens',
     'model=gpt-4o*', 3400000, 'token', 0.0000025, 6.00, 'per_unit'),
    ('cus_northwind', '2026-10', 3, 'usage', 'LLM input tokens · claude-sonnet-4-5*',
     'llm_input_tokens', 'model=claude-sonnet-4-5*', 1000000, 'token', 0.000003, 3.00,
     'per_unit'),
    ('cus_northwind', '2026-10', 4, 'usage', 'LLM output tokens · gpt-4o*', 'llm_output_tokens',
     'model=gpt-4o*', 410000, 'token', 0.00001, 4.10, 'per_unit'),
    ('cus_northwind', '2026-10', 5, 'usage', 'LLM output tokens · claude-sonnet-4-5*',
     'llm_output_tokens', 'model=claude-sonnet-4-5*', 200000, 'token', 0.000015, 3.00,
     'per_unit'),
    ('cus_northwind', '2026-10', 6, 'usage', 'Images (graduated)', 'images', null, 6000, 'image',
     null, 242.00, 'graduated'),
    ('cus_northwind', '2026-10', 7, 'usage', 'API requests (3 packages)', 'api_requests', null,
     2001, 'request', null, 1.50, 'package'),
    ('cus_northwind', '2026-10', 8, 'discount', 'Discount 10% of usage 259.60', null, null, null,
     null, null, -25.96, null),
    ('cus_northwind', '2026-10', 9, 'minimum_commitment', 'Minimum commitment 1000.00',
     null, null, null, null, null, 667.36, null),
    ('cus_northwind', '2026-10', 10, 'credit', 'Credit (promotional grant)', null, null, null,
     null, null, -100.00, null),
    ('cus_northwind', '2026-10', 11, 'tax', 'Tax 20% of 900.00', null, null, null, null, null,
     180.00, null),
    ('cus_acme', '2026-10', 1, 'subscription', 'Pro (31/31 days)', null, null, 1, 'month',
     99.00, 99.00, null),
    ('cus_acme', '2026-10', 2, 'usage', 'LLM input tokens · gpt-4o-mini*', 'llm_input_tokens',
     'model=gpt-4o-mini*', 140000000, 'token', 0.00000015, 21.00, 'per_unit'),
    ('cus_blocked', '2026-10', 1, 'subscription', 'Pro (31/31 days)', null, null, 1, 'month',
     99.00, 99.00, null)
) as t(customer_id, period, line_no, line_type, description, meter_code, dimensions, quantity,
       unit, unit_price, amount, charge_model)
""",
    "fct_usage_daily": """
create table marts.fct_usage_daily as
select
    customer_id, period, cast(usage_date as date) as usage_date, meter_code, dimensions,
    unit, cast(quantity as decimal(38, 9)) as quantity, event_count
from (values
    ('cus_northwind', '2026-10', '2026-10-03', 'llm_input_tokens', 'model=gpt-4o-2024-08-06',
     'token', 1400000, 14),
    ('cus_northwind', '2026-10', '2026-10-17', 'llm_input_tokens', 'model=gpt-4o-2024-08-06',
     'token', 2000000, 20),
    ('cus_northwind', '2026-10', '2026-10-05', 'llm_input_tokens',
     'model=claude-sonnet-4-5-20250929', 'token', 1000000, 10),
    ('cus_northwind', '2026-10', '2026-10-03', 'llm_output_tokens', 'model=gpt-4o-2024-08-06',
     'token', 410000, 14),
    ('cus_northwind', '2026-10', '2026-10-05', 'llm_output_tokens',
     'model=claude-sonnet-4-5-20250929', 'token', 200000, 10),
    ('cus_northwind', '2026-10', '2026-10-08', 'images', null, 'image', 6000, 6000),
    ('cus_northwind', '2026-10', '2026-10-09', 'api_requests', null, 'request', 2001, 2001),
    ('cus_acme', '2026-10', '2026-10-02', 'llm_input_tokens', 'model=gpt-4o-mini-2024-07-18',
     'token', 140000000, 700)
) as t(customer_id, period, usage_date, meter_code, dimensions, unit, quantity, event_count)
""",
    "fct_credit_ledger": """
create table marts.fct_credit_ledger as
select
    entry_type || ':' || grant_id || ':' || entry_no as ledger_entry_id, customer_id, grant_id,
    'promotional' as kind, 1 as priority, entry_type, cast(entry_at as timestamp) as entry_at,
    period, invoice_id, cast(amount as decimal(38, 2)) as amount,
    cast(balance as decimal(38, 2)) as grant_balance_after,
    cast(balance as decimal(38, 2)) as customer_balance_after, 'USD' as currency
from (values
    ('gr_nw_1', 'cus_northwind', 1, 'grant', '2026-09-01', null, null, 300.00, 300.00),
    ('gr_nw_1', 'cus_northwind', 2, 'burn', '2026-10-01', '2026-09', 'cus_northwind:2026-09',
     -100.00, 200.00),
    ('gr_nw_1', 'cus_northwind', 3, 'burn', '2026-11-01', '2026-10', 'cus_northwind:2026-10',
     -100.00, 100.00)
) as t(grant_id, customer_id, entry_no, entry_type, entry_at, period, invoice_id, amount,
       balance)
""",
    "fct_unpriced_usage": """
create table marts.fct_unpriced_usage as
select 'cus_blocked:2026-10:resolved_tickets' as unpriced_id,
    'cus_blocked:2026-10' as invoice_id, 'cus_blocked' as customer_id,
    '2026-10' as period, 'resolved_tickets' as meter_code, '' as dimensions,
    cast(25 as decimal(38, 9)) as quantity, 'ticket' as unit,
    'no_charge_for_meter' as unpriced_reason, 25 as event_count,
    date '2026-10-10' as first_usage_date, date '2026-10-20' as last_usage_date
""",
    "fct_provider_costs": """
create table marts.fct_provider_costs as
select
    x_provider || ':' || row_number() over () as x_cost_line_id, x_provider, ProviderName,
    ServiceCategory, ChargeCategory, 'USD' as BillingCurrency,
    cast(x_charge_date as timestamp) as ChargePeriodStart, cast(x_charge_date as date)
        as x_charge_date, cast(BilledCost as decimal(38, 15)) as BilledCost
from (values
    ('openai', 'OpenAI', 'AI and Machine Learning', 'Usage', '2026-10-03', 7.60),
    ('openai', 'OpenAI', 'AI and Machine Learning', 'Usage', '2026-10-17', 6.50),
    ('anthropic', 'Anthropic', 'AI and Machine Learning', 'Usage', '2026-10-05', 6.00),
    ('coreweave', 'CoreWeave', 'Compute', 'Usage', '2026-10-03', 130.00)
) as t(x_provider, ProviderName, ServiceCategory, ChargeCategory, x_charge_date, BilledCost)
""",
    "fct_cost_reconciliation": """
create table marts.fct_cost_reconciliation as
select
    provider || '|' || model || '|' || usage_date as reconciliation_id,
    provider, model, cast(usage_date as date) as usage_date, metered_tokens, reported_tokens,
    reported_tokens - metered_tokens as token_difference,
    cast(expected_cost as decimal(38, 15)) as expected_cost,
    cast(billed_cost as decimal(38, 15)) as billed_cost,
    cast(billed_cost - expected_cost as decimal(38, 15)) as cost_difference,
    cast(round(100 * (billed_cost - expected_cost) / expected_cost, 2) as decimal(18, 2))
        as cost_difference_pct,
    status <> 'matched' as is_flagged, status
from (values
    ('openai', 'gpt-4o', '2026-10-03', 1810000, 1810000, 7.60, 7.60, 'matched'),
    ('openai', 'gpt-4o', '2026-10-17', 2000000, 2600000, 5.00, 6.50, 'under_metered'),
    ('anthropic', 'claude-sonnet-4-5', '2026-10-05', 1200000, 1200000, 6.00, 6.00,
     'matched')
) as t(provider, model, usage_date, metered_tokens, reported_tokens, expected_cost,
       billed_cost, status)
""",
    "fct_cogs_daily": """
create table marts.fct_cogs_daily as
select
    customer_id || '|' || provider || '|' || model || '|' || cost_date as cogs_id,
    customer_id, provider, model, cast(cost_date as date) as cost_date,
    customer_id = 'unattributed' as is_unattributed,
    cast(cogs_direct as decimal(38, 2)) as cogs_direct,
    cast(cogs_allocated as decimal(38, 2)) as cogs_allocated,
    cast(cogs_direct + cogs_allocated as decimal(38, 2)) as cogs_total, 'USD' as currency
from (values
    ('cus_northwind', 'openai', 'gpt-4o', '2026-10-03', 7.60, 0.00),
    ('cus_northwind', 'openai', 'gpt-4o', '2026-10-17', 5.00, 0.00),
    ('unattributed', 'openai', '*', '2026-10-17', 1.50, 0.00),
    ('cus_northwind', 'anthropic', 'claude-sonnet-4-5', '2026-10-05', 6.00, 0.00),
    ('cus_acme', 'coreweave', 'GPU Compute', '2026-10-03', 0.00, 130.00)
) as t(customer_id, provider, model, cost_date, cogs_direct, cogs_allocated)
""",
    "fct_customer_cogs_breakdown": """
create table marts.fct_customer_cogs_breakdown as
select
    customer_id || ':' || period || '|' || provider || '|' || model || '|' || feature
        as breakdown_id,
    customer_id, period, provider, model, feature,
    cast(cogs_direct as decimal(38, 2)) as cogs_direct,
    cast(cogs_allocated as decimal(38, 2)) as cogs_allocated,
    cast(cogs_direct + cogs_allocated as decimal(38, 2)) as cogs_total,
    cast(null as decimal(18, 2)) as share_of_customer_cogs_pct
from (values
    ('cus_northwind', '2026-10', 'openai', 'gpt-4o', 'support-bot', 12.60, 0.00),
    ('cus_northwind', '2026-10', 'anthropic', 'claude-sonnet-4-5', 'search', 6.00, 0.00),
    ('cus_acme', '2026-10', 'coreweave', 'GPU Compute', '(shared)', 0.00, 130.00),
    ('cus_northwind', '2026-09', 'openai', 'gpt-4o', 'support-bot', 15.00, 0.00),
    ('cus_acme', '2026-09', 'coreweave', 'GPU Compute', '(shared)', 0.00, 100.00)
) as t(customer_id, period, provider, model, feature, cogs_direct, cogs_allocated)
""",
    "fct_customer_margin": """
create table marts.fct_customer_margin as
select
    customer_id || ':' || period as margin_id, customer_id, period, segment, 'USD' as currency,
    cast(revenue as decimal(38, 2)) as revenue,
    cast(cogs_direct as decimal(38, 2)) as cogs_direct,
    cast(cogs_allocated as decimal(38, 2)) as cogs_allocated,
    cast(cogs_direct + cogs_allocated as decimal(38, 2)) as cogs_total,
    cast(revenue - cogs_direct - cogs_allocated as decimal(38, 2)) as gross_margin,
    cast(round(100 * (revenue - cogs_direct - cogs_allocated) / nullif(revenue, 0), 2)
        as decimal(18, 2)) as margin_pct,
    cast(round(100 * (revenue - cogs_direct - cogs_allocated)
        / nullif(cogs_direct + cogs_allocated, 0), 2) as decimal(18, 2)) as markup_pct,
    case when revenue - cogs_direct - cogs_allocated < 0 then 'negative' else 'ok' end
        as margin_flag
from (values
    ('cus_northwind', '2026-09', 'enterprise', 900.00, 15.00, 0.00),
    ('cus_acme', '2026-09', 'startup', 139.00, 0.00, 100.00),
    ('cus_northwind', '2026-10', 'enterprise', 900.00, 18.60, 0.00),
    ('cus_acme', '2026-10', 'startup', 120.00, 0.00, 130.00),
    ('cus_blocked', '2026-10', 'startup', 99.00, 0.00, 0.00)
) as t(customer_id, period, segment, revenue, cogs_direct, cogs_allocated)
""",
    # per model, adding up to fct_customer_margin above; cus_northwind 2026-10 is the worked
    # invoice as tests/test_costs_margin_breakdown.py splits it (revenue 900.00 = 689.72
    # non-usage + 197.24 images/API requests + 8.18 gpt-4o + 4.86 claude-sonnet-4-5)
    "fct_model_margin": """
create table marts.fct_model_margin as
select
    customer_id || ':' || period || '|' || model as model_margin_id, customer_id, period, model,
    cast(revenue as decimal(38, 2)) as revenue,
    cast(cogs_direct as decimal(38, 2)) as cogs_direct,
    cast(cogs_allocated as decimal(38, 2)) as cogs_allocated,
    cast(cogs_direct + cogs_allocated as decimal(38, 2)) as cogs_total,
    cast(revenue - cogs_direct - cogs_allocated as decimal(38, 2)) as gross_margin,
    cast(round(100 * (revenue - cogs_direct - cogs_allocated) / nullif(revenue, 0), 2)
        as decimal(18, 2)) as margin_pct,
    cast(round(100 * (revenue - cogs_direct - cogs_allocated)
        / nullif(cogs_direct + cogs_allocated, 0), 2) as decimal(18, 2)) as markup_pct
from (values
    ('cus_northwind', '2026-10', '(non-usage)', 689.72, 0.00, 0.00),
    ('cus_northwind', '2026-10', '(none)', 197.24, 0.00, 0.00),
    ('cus_northwind', '2026-10', 'gpt-4o', 8.18, 12.60, 0.00),
    ('cus_northwind', '2026-10', 'claude-sonnet-4-5', 4.86, 6.00, 0.00),
    ('cus_acme', '2026-10', '(non-usage)', 99.00, 0.00, 0.00),
    ('cus_acme', '2026-10', '(none)', 21.00, 0.00, 0.00),
    ('cus_acme', '2026-10', 'GPU Compute', 0.00, 0.00, 130.00),
    ('cus_blocked', '2026-10', '(non-usage)', 99.00, 0.00, 0.00),
    ('cus_northwind', '2026-09', '(non-usage)', 810.00, 0.00, 0.00),
    ('cus_northwind', '2026-09', 'gpt-4o', 90.00, 15.00, 0.00),
    ('cus_acme', '2026-09', '(non-usage)', 99.00, 0.00, 0.00),
    ('cus_acme', '2026-09', '(none)', 40.00, 0.00, 0.00),
    ('cus_acme', '2026-09', 'GPU Compute', 0.00, 0.00, 100.00)
) as t(customer_id, period, model, revenue, cogs_direct, cogs_allocated)
""",
    "fct_contract_progress": """
create table marts.fct_contract_progress as
select
    contract_id || ':' || period as contract_period_id, contract_id, customer_id,
    'USD' as currency, period, 'term' as commit_period,
    cast(committed as decimal(38, 2)) as committed_amount,
    cast(consumed as decimal(38, 2)) as consumed_to_date,
    cast(straight as decimal(38, 2)) as straight_line_to_date,
    cast(consumed - straight as decimal(38, 2)) as pace_variance,
    cast(round(100 * consumed / straight, 2) as decimal(18, 2)) as pace_pct,
    cast(projected as decimal(38, 2)) as projected_spend,
    cast(greatest(committed - projected, 0) as decimal(38, 2)) as projected_shortfall,
    projected < committed as at_risk, renewal_due, days_to_end,
    cast(contract_end_date as date) as contract_end_date,
    cast(evaluation_date as date) as evaluation_date, is_current
from (values
    ('ct_nw', 'cus_northwind', '2026-09', 12000.00, 1000.00, 1000.00, 12000.00, false, 335,
     '2027-09-01', '2026-09-30', false),
    ('ct_nw', 'cus_northwind', '2026-10', 12000.00, 2000.00, 2000.00, 12000.00, false, 304,
     '2027-09-01', '2026-10-31', true),
    ('ct_acme', 'cus_acme', '2026-09', 5000.00, 139.00, 2500.00, 1668.00, false, 31,
     '2026-11-01', '2026-09-30', false),
    ('ct_acme', 'cus_acme', '2026-10', 5000.00, 259.00, 5000.00, 259.00, true, 0,
     '2026-11-01', '2026-10-31', true)
) as t(contract_id, customer_id, period, committed, consumed, straight, projected,
       renewal_due, days_to_end, contract_end_date, evaluation_date, is_current)
""",
    "fct_credit_balances": """
create table marts.fct_credit_balances as
select
    grant_id || ':' || balance_date as credit_balance_id, 'cus_northwind' as customer_id,
    grant_id, 'promotional' as kind, 1 as priority, timestamp '2026-09-01' as granted_at,
    cast(null as timestamp) as expires_at, cast(balance_date as date) as balance_date, is_as_of,
    cast(balance as decimal(38, 2)) as balance, burn_rank,
    cast(pending_burn as decimal(38, 2)) as pending_burn,
    cast(balance - pending_burn as decimal(38, 2)) as available_balance,
    cast(burn_rate as decimal(38, 2)) as burn_rate_daily,
    cast(exhaustion as date) as projected_exhaustion_date,
    cast(null as decimal(38, 2)) as projected_unused_at_expiry
from (values
    ('gr_nw_1', '2026-10-31', false, 200.00, null, null, null, null),
    ('gr_nw_1', '2026-11-01', true, 100.00, 1, 40.00, 2.00, '2026-11-30')
) as t(grant_id, balance_date, is_as_of, balance, burn_rank, pending_burn, burn_rate,
       exhaustion)
""",
    "fct_customer_daily_spend": """
create table marts.fct_customer_daily_spend as
select
    customer_id || ':' || spend_date as daily_spend_id, customer_id, 'USD' as currency,
    cast(spend_date as date) as spend_date, '2026-10' as period,
    cast(spend as decimal(38, 2)) as spend,
    cast(sum(spend) over (partition by customer_id order by spend_date) as decimal(38, 2))
        as spend_to_date,
    is_anomaly
from (values
    ('cus_northwind', '2026-10-01', 100.00, false),
    ('cus_northwind', '2026-10-08', 250.00, false),
    ('cus_northwind', '2026-10-20', 70.00, false),
    ('cus_acme', '2026-10-01', 0.00, false),
    ('cus_acme', '2026-10-02', 120.00, true)
) as t(customer_id, spend_date, spend, is_anomaly)
""",
    "fct_spend_anomalies": """
create table marts.fct_spend_anomalies as
select
    'cus_acme:2026-10-02' as anomaly_id, 'cus_acme' as customer_id, 'USD' as currency,
    date '2026-10-02' as spend_date, '2026-10' as period,
    cast(120.00 as decimal(38, 2)) as spend,
    cast(120.00 as decimal(38, 2)) as anomaly_basis,
    cast(10.00 as decimal(38, 12)) as trailing_median_basis,
    cast(50.00 as decimal(38, 2)) as anomaly_threshold,
    cast(12.00 as decimal(18, 2)) as basis_to_median_ratio
""",
    "fct_spend_alerts": """
create table marts.fct_spend_alerts as
select
    customer_id || ':' || period || ':' || threshold_pct as alert_id,
    customer_id, period, 'USD' as currency, date '2026-10-31' as as_of_date,
    date '2026-10-31' as evaluated_through,
    cast(spend as decimal(38, 2)) as spend_to_date,
    cast(projected as decimal(38, 2)) as projected_period_spend,
    cast(budget as decimal(38, 2)) as monthly_budget, 'budget' as baseline_source,
    cast(budget as decimal(38, 2)) as baseline_amount, threshold_pct,
    cast(budget * threshold_pct / 100 as decimal(38, 2)) as threshold_amount,
    spend >= budget * threshold_pct / 100 as is_crossed,
    cast(crossed_on as date) as crossed_on,
    spend < budget * threshold_pct / 100 and projected >= budget * threshold_pct / 100
        as is_projected_to_cross,
    hard_limit, hard_limit and spend > budget as hard_limit_breached,
    case when hard_limit and spend > budget then date '2026-10-02' end
        as hard_limit_breached_on,
    anomaly_days
from (values
    ('cus_northwind', '2026-10', 50, '2026-10-08', 420.00, 1100.00, 500.00, false, 0),
    ('cus_northwind', '2026-10', 80, '2026-10-20', 420.00, 1100.00, 500.00, false, 0),
    ('cus_northwind', '2026-10', 100, null, 420.00, 1100.00, 500.00, false, 0),
    ('cus_northwind', '2026-10', 150, null, 420.00, 1100.00, 500.00, false, 0),
    ('cus_northwind', '2026-10', 200, null, 420.00, 1100.00, 500.00, false, 0),
    ('cus_acme', '2026-10', 50, '2026-10-02', 120.00, 150.00, 100.00, true, 1),
    ('cus_acme', '2026-10', 80, '2026-10-02', 120.00, 150.00, 100.00, true, 1),
    ('cus_acme', '2026-10', 100, '2026-10-02', 120.00, 150.00, 100.00, true, 1)
) as t(customer_id, period, threshold_pct, crossed_on, spend, projected, budget, hard_limit,
       anomaly_days)
""",
}

_DERIVED_SQL: dict[str, str] = {
    "dim_customers": """
create table marts.dim_customers as
select customer_id, customer_name, currency, timezone, tax_rate, 'enterprise' as segment,
    cast(null as varchar) as parent_customer_id, cast(null as varchar) as billing_email,
    cast(null as integer) as payment_terms_days
from staging.stg_reference__customers
""",
    # dim_billing_periods' rules on the fixture: 2026-09 is closed (all issued); the usage data
    # reaches 2026-10-17, so 2026-10 is incomplete, and the default (latest with usage)
    "dim_billing_periods": """
create table marts.dim_billing_periods as
with usage as (
    select period, min(usage_date) as usage_from, max(usage_date) as usage_through,
        count(distinct customer_id) as customers_with_usage
    from marts.fct_usage_daily group by period
),
invoices as (
    select period, min(period_start) as period_start, max(period_end) as period_end,
        count(*) as invoices, count(*) filter (where status = 'issued') as issued_invoices,
        count(*) filter (where status <> 'issued') as draft_invoices,
        count(*) filter (where is_blocked) as blocked_invoices
    from marts.fct_invoices group by period
),
classified as (
    select invoices.*, usage.usage_from, usage.usage_through,
        coalesce(usage.customers_with_usage, 0) as customers_with_usage,
        (select max(usage_date) from marts.fct_usage_daily) as data_through,
        usage.period is not null as has_usage,
        draft_invoices = 0 as is_closed,
        draft_invoices = 0
            or (select max(usage_date) from marts.fct_usage_daily) >= period_end - 1
            as is_complete
    from invoices left join usage using (period)
)
select period, period_start, period_end,
    case when is_closed then 'closed' when is_complete then 'complete' else 'incomplete' end
        as period_status,
    case when is_closed then period || ' · closed'
        when is_complete then period || ' · complete, not closed'
        else period || ' · incomplete (usage through ' || usage_through || ')' end
        as period_label,
    is_closed, is_complete, not is_complete as is_open, has_usage, usage_from, usage_through,
    data_through, customers_with_usage, invoices, issued_invoices, draft_invoices,
    blocked_invoices, false as has_drafts_before_issued,
    row_number() over (order by has_usage and is_complete desc, has_usage desc, period desc) = 1
        as is_default
from classified
""",
    "fct_invoice_register": """
create table marts.fct_invoice_register as
select i.invoice_id, i.invoice_number, i.customer_id,
    coalesce(c.customer_name, i.customer_id) as customer_name, i.period, i.period_start,
    i.period_end, i.status,
    case when i.status = 'issued' then timestamp '2026-10-03 06:00:00' end as issued_at,
    case when i.status = 'issued' then date '2026-10-03' end as issue_date,
    cast(null as integer) as payment_terms_days, cast(null as date) as due_date, i.currency,
    i.fees_total, i.usage_total, i.discount_total, i.minimum_commitment_total,
    i.adjustment_total, i.subtotal, i.credit_total, i.tax_total, i.total, i.is_blocked,
    i.blocked_reason, i.line_count, false as is_draft_before_issued
from marts.fct_invoices i
left join staging.stg_reference__customers c on i.customer_id = c.customer_id
""",
    # the usage rows of each line, as rating matches them (model glob of the line)
    "fct_invoice_line_usage_daily": """
create table marts.fct_invoice_line_usage_daily as
select l.invoice_id, l.line_no, l.line_key, u.customer_id || ':' || u.usage_date || ':'
    || u.meter_code || ':' || coalesce(u.dimensions, '') as usage_daily_id, u.usage_date,
    u.meter_code, u.dimensions, u.unit, u.event_count, u.quantity
from marts.fct_invoice_lines l
join marts.fct_usage_daily u
    on l.customer_id = u.customer_id and l.period = u.period and l.meter_code = u.meter_code
    and (l.dimensions is null or u.dimensions glob l.dimensions)
where l.line_type = 'usage'
""",
    "fct_invoice_line_events": """
create table marts.fct_invoice_line_events as
select d.invoice_id, d.line_key, 'api' as event_source,
    'evt_' || d.usage_date || '_' || n.i as event_id,
    cast(d.usage_date as timestamp) + to_minutes(n.i) as event_time, d.usage_date,
    'raw/usage/batch_' || d.usage_date || '.jsonl' as file_path, n.i as row_number,
    d.meter_code, cast(d.quantity / d.event_count as decimal(38, 9)) as quantity,
    l.quantity as line_quantity, l.customer_id
from marts.fct_invoice_line_usage_daily d
join marts.fct_invoice_lines l on d.invoice_id = l.invoice_id and d.line_key = l.line_key
cross join range(1, 1000) as n(i)
where n.i <= d.event_count
""",
    "fct_alerts": """
create table marts.fct_alerts as
select a.alert_id, a.customer_id, a.period, a.crossed_on as alert_date,
    'threshold' as alert_type, a.threshold_pct, a.baseline_source,
    cast(a.threshold_pct as integer) || '% of the monthly budget' as detail, a.currency,
    cast(d.spend_to_date as decimal(38, 2)) as amount, a.threshold_amount as reference_amount,
    a.spend_to_date as period_spend_to_date
from marts.fct_spend_alerts a
join marts.fct_customer_daily_spend d using (customer_id, period)
where a.is_crossed and d.spend_date = a.crossed_on
union all
select distinct customer_id || ':' || period || ':hard_limit', customer_id, period,
    hard_limit_breached_on, 'hard_limit', cast(null as decimal(9, 2)), 'budget',
    'spend above the monthly budget (hard limit)', currency, cast(120.00 as decimal(38, 2)),
    monthly_budget, spend_to_date
from marts.fct_spend_alerts where hard_limit_breached
union all
select anomaly_id || ':anomaly', customer_id, period, spend_date, 'anomaly',
    cast(null as decimal(9, 2)), 'trailing_median', 'day of 12.00× the trailing median',
    currency, anomaly_basis, cast(anomaly_threshold as decimal(38, 2)),
    cast(120.00 as decimal(38, 2))
from marts.fct_spend_anomalies
""",
    # one credit note issued at the close of 2026-09: 10.00 + 20% tax of Northwind's
    # September line 2, kept as account credit, not used yet
    "fct_credit_notes": """
create table marts.fct_credit_notes as
select 'CN-202609-00001' as credit_note_number, 'cn_req_1' as credit_note_id, i.customer_id,
    i.invoice_number, i.period as invoice_period, 2 as line_no, 'usage' as line_type,
    cast(null as decimal(38, 9)) as quantity, 'disputed images' as reason,
    'account_credit' as settlement, i.currency, cast(10.00 as decimal(38, 2)) as amount,
    cast(2.00 as decimal(38, 2)) as tax, cast(12.00 as decimal(38, 2)) as total,
    i.period, timestamp '2026-10-03 06:00:00' as issued_at, i.total as invoice_total,
    cast(0.00 as decimal(38, 2)) as account_credit_used,
    cast(12.00 as decimal(38, 2)) as account_credit_balance
from marts.fct_invoices i
where i.invoice_number = 'INV-202609-00002'
""",
}

_REFERENCE_SQL = """
create schema if not exists staging;
create table staging.stg_reference__customers as
select * from (values
    ('cus_acme', 'Acme Corp', 'USD', 'UTC', 0.0),
    ('cus_blocked', 'Blocked Ltd', 'USD', 'UTC', 0.0),
    ('cus_northwind', 'Northwind Traders', 'USD', 'UTC', 0.2)
) as t(customer_id, customer_name, currency, timezone, tax_rate);
insert into raw.load_manifest values
    (1, 'usage', 'usage_events', 'raw/usage/batch_2026-10-31.jsonl', 'h1', 'jsonl',
     timestamp '2026-10-31 23:59:59', timestamp '2026-11-01 06:00:00', 12, 9, 1, 2, 0,
     'loaded', null, null),
    (2, 'openai', 'openai_costs', 'raw/costs/openai/costs_2026-10-31.json', 'h2', 'json',
     timestamp '2026-10-31 23:59:59', timestamp '2026-11-01 06:00:00', 3, 3, 0, 0, 0,
     'loaded', null, null);
insert into raw.quarantine values
    (1, 'usage', 'raw/usage/batch_2026-10-31.jsonl', 4, 'unknown_customer',
     'subject cus_ghost is not in customers.csv', '{"id": "e4", "subject": "cus_ghost"}'),
    (1, 'usage', 'raw/usage/batch_2026-10-31.jsonl', 7, 'negative_quantity',
     'input_tokens = -5', '{"id": "e7", "data": {"input_tokens": -5}}');
"""


def write_contract_fixture(path: Path, *, omit: Iterable[str] = ()) -> Path:
    """Write the contract fixture warehouse at ``path`` (raw/ledger DDL, reference customers,
    every mart of the contract except those in ``omit``)."""
    skip = set(omit)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        ensure_schema(con)
        con.execute("create schema if not exists marts")
        con.execute(_REFERENCE_SQL)
        for name, sql in _MARTS_SQL.items():
            if name not in skip:
                con.execute(sql)
        for name, sql in _DERIVED_SQL.items():
            if name in skip:
                continue
            with suppress(duckdb.CatalogException):  # a mart it derives from is omitted
                con.execute(sql)
    finally:
        con.close()
    return path


def add_marts(path: Path, names: Iterable[str]) -> list[str]:
    """Add the contract fixture's version of each mart in ``names`` that ``path`` lacks (used
    on a real dbt build for marts not built yet). Returns the names added."""
    added: list[str] = []
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists marts")
        present = {
            r[0]
            for r in con.sql(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        for name in names:
            if name not in present:
                con.execute({**_MARTS_SQL, **_DERIVED_SQL}[name])
                added.append(name)
    finally:
        con.close()
    return added


def publish(warehouse: Path, s: Settings) -> Path:
    """Copy ``warehouse`` to the published path of ``s`` (atomically: copy, then rename)."""
    target = s.published_warehouse
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".duckdb.tmp")
    shutil.copyfile(warehouse, tmp)
    tmp.replace(target)
    return target


def write_exports(s: Settings, period: str, files: dict[str, bytes]) -> Path:
    """Write invoice CSV exports (``<invoice_number>.csv``, ``summary.csv``) for ``period``."""
    folder = s.exports_dir / "invoices" / period
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def streamlit_server(s: Settings, *, timeout: float = 60.0) -> Iterator[str]:
    """Run ``streamlit run dashboards/streamlit_app.py`` on a free localhost port for the data
    dir of ``s`` (as ``meterline dashboard`` does); yield its base URL once it is healthy."""
    port = free_port()
    app = REPO_ROOT / "dashboards" / "streamlit_app.py"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    log = s.data_dir / "streamlit.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, env=s.dbt_env(), cwd=str(REPO_ROOT), stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited: {log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"streamlit not healthy: {log.read_text(errors='replace')}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def build_real_warehouse(root: Path, scenario: Any, *select: str) -> Settings:
    """Write ``scenario`` (a ``tests.support.rating.Scenario``) as a data dir, load it with the
    real loader and ``dbt run`` the selected models (default: the billing marts and parents) with
    a private target/log dir. ``run``, not ``build``: the dashboard tests need the marts; the
    models' own tests belong to their owners' suites (and the shared project is edited by
    several engineers at once)."""
    from tests.support import rating

    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    s = settings(data)
    rating.write_data_dir(data, scenario)
    rating.load(s)
    work = root / "dbt"
    env = {
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "METERLINE_DBT_THREADS": "2",
    }
    selected = select or ("+marts.billing",)
    run_dbt(s, "run", "--select", *selected, "--quiet", extra_env=env, at_warehouse=True)
    return s
