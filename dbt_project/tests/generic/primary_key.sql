{#
  A column is the model's key: no row has it NULL, no two rows share a value. One data test,
  one scan and group by, where dbt's `unique` and `not_null` pair is two nodes scanning the
  model twice (each dbt node costs ~65 ms of overhead before its query). Returns each offending
  value (NULL included) with its number of rows.
#}
{% test primary_key(model, column_name) %}

select
    {{ column_name }},
    count(*) as n_records

from {{ model }}
group by {{ column_name }}
having {{ column_name }} is null or count(*) > 1

{% endtest %}
