-- Gross margin per customer x billing period x feature: fct_customer_margin_breakdown summed over
-- provider and model (so "margin of one feature for one customer in one period" is one row).
-- Percentages recomputed on the sums, 2 places, NULL when the divisor is 0.
{{ margin_rollup('feature') }}
