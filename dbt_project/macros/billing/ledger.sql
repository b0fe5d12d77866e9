{#
    The content hash of issued invoices: md5 of the invoice's totals, then its lines in line_no
    order, as text. `invoices` and `lines` name relations (or CTEs) with the columns of
    ledger.issued_invoices / ledger.issued_invoice_lines. The same expression as
    orchestration/close.py INVOICE_HASH_SQL, which records the hash at issue; the test
    assert_issued_invoices_unchanged recomputes it from the ledger and from the marts.
#}
{% macro issued_invoice_hashes(invoices, lines) %}
    select
        i.invoice_number,
        i.customer_id,
        i.period,
        md5(
            concat_ws(
                '|',
                i.invoice_number,
                i.customer_id,
                i.period,
                i.currency,
                cast(cast(i.subtotal as decimal(38, 2)) as {{ text_type() }}),
                cast(cast(i.discount_total as decimal(38, 2)) as {{ text_type() }}),
                cast(cast(i.credit_total as decimal(38, 2)) as {{ text_type() }}),
                cast(cast(i.tax_total as decimal(38, 2)) as {{ text_type() }}),
                cast(cast(i.total as decimal(38, 2)) as {{ text_type() }})
            )
            || chr(10) || coalesce(l.lines_text, '')
        ) as content_hash

    from {{ invoices }} as i
    left join (
        select
            invoice_number,
            {%- set line_text -%}
                concat_ws(
                    '|',
                    cast(line_no as {{ text_type() }}),
                    line_type,
                    coalesce(line_key, ''),
                    coalesce(description, ''),
                    coalesce(meter_code, ''),
                    coalesce(dimensions, ''),
                    coalesce(cast(cast(quantity as decimal(38, 9)) as {{ text_type() }}), ''),
                    coalesce(unit, ''),
                    coalesce(cast(cast(unit_price as decimal(38, 12)) as {{ text_type() }}), ''),
                    cast(cast(amount as decimal(38, 2)) as {{ text_type() }}),
                    currency
                )
            {%- endset %}
            {{ ordered_string_agg(line_text, 'chr(10)', 'line_no') }} as lines_text
        from {{ lines }}
        group by invoice_number
    ) as l
        on i.invoice_number = l.invoice_number
{% endmacro %}
