{#
  The model's key: no row has a NULL in it, no two rows share it. The key is a column (declared
  on the column: `column_name`) or a composite of columns (declared on the model: `columns`, a
  list of column names). One data test, one scan and group by, where `unique` + `not_null` (or
  `unique_key` + a null check per part) are two nodes scanning the model twice (each dbt node
  costs ~65 ms of overhead before its query). Returns each offending key value (a key with a
  NULL part included) with its number of rows.
#}
{% test primary_key(model, column_name=none, columns=none) %}
{%- set key = columns if columns else [column_name] %}

select
    {{ key | join(', ') }},
    count(*) as n_records

from {{ model }}
group by {{ key | join(', ') }}
having
    {% for c in key -%}
    {{ c }} is null or
    {% endfor -%}
    count(*) > 1

{% endtest %}
