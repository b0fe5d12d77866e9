{#
  A composite key is unique: no two rows share the values of `columns` (a list of column
  names). Rows where one of the columns is NULL are not keys and are not compared (as with a
  concatenated key, which is NULL then). A key that must also have no NULL part is a
  `primary_key` with `columns` instead.
  A group-by on the columns themselves: cheaper than a unique test on `a || '|' || b`, which
  builds a string per row, and exact ('a|b' + 'c' and 'a' + 'b|c' are different keys).
#}
{% test unique_key(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as n_records

from {{ model }}
where
    {% for c in columns -%}
    {{ c }} is not null{{ ' and' if not loop.last }}
    {% endfor %}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
