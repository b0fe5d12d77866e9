-- Gross margin per customer x billing period x model: fct_customer_margin_breakdown summed over
-- provider and feature (so "margin of one model for one customer in one period" is one row).
-- Percentages recomputed on the sums, 2 places, NULL when the divisor is 0.
{{ margin_rollup('model') }}
