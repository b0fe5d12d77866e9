-- Daily usage per customer x meter x local day x dimensions: the daily aggregates joined to the
-- meters of their event type (aggregate before join), with the status rule and the meters'
-- equality filters applied, and the meter's quantity picked from the aggregates. Meters that read
-- extra `data` keys come metered from int_usage_extended_daily (their own event pass) and are
-- appended; extra_dimensions is NULL for every other meter. A view for inspection: the SQL is the
-- macro usage_daily_metered, which int_billing_usage_priced runs (with its price match) over the
-- days it recomputes; its key test covers this grain.
{{ config(materialized='view') }}
{{ usage_daily_metered(ref('int_usage_events_daily')) }}
