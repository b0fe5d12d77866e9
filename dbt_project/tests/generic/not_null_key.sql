{#
  No part of a composite key is NULL: the rows where one of `columns` (a list of column names)
  is NULL. Pairs with `unique_key`.
#}
{% test not_null_key(model, columns) %}

select {{ columns | join(', ') }}

from {{ model }}
where
    {% for c in columns -%}
    {{ c }} is null{{ ' or' if not loop.last }}
    {% endfor %}

{% endtest %}
