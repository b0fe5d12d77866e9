-- Traceability: the deduplicated events that make up one usage invoice line (the mart
-- fct_invoice_line_events, filtered), with each event's quantity for the line's meter.
--
--   dbt compile --select invoice_line_events \
--     --vars '{invoice_id: "cus_northwind:2026-10", line_key: "usage:sub_nw_1:images:2:0"}'
--
-- then run the compiled SQL (target/compiled/meterline/analyses/invoice_line_events.sql).
-- Without vars it returns the events of every usage line (for audits and tests on small data).
with

line_events as (

    select * from {{ ref('fct_invoice_line_events') }}
    {%- if var("invoice_id", "") != "" %}
    where
        invoice_id = '{{ var("invoice_id") }}'
        and line_key = '{{ var("line_key") }}'
    {%- endif %}

)

select * from line_events
order by invoice_id, line_key, event_time, event_source, event_id
