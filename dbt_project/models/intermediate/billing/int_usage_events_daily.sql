-- Usage per customer x event type x local day x every dimension: the batch aggregates of
-- int_usage_batches_daily (the only pass over events) added up across batches and UTC days.
-- Every quantity field is summed and maxed so that any meter (sum, count, max) is a column pick
-- on this small table. Local day = customer's time zone. A view for inspection: the SQL is the
-- macro usage_events_daily, which int_billing_usage_priced runs over the days it recomputes.
{{ config(materialized='view') }}
{{ usage_events_daily(ref('int_usage_batches_daily')) }}
