{# Glob match (`*` any run, `?` one character) of a text value against a pattern expression. #}
{% macro glob_match(value, pattern) -%}
    {{ return(adapter.dispatch('glob_match', 'meterline')(value, pattern)) }}
{%- endmacro %}

{% macro default__glob_match(value, pattern) -%}
    ({{ value }} like replace(replace({{ pattern }}, '*', '%'), '?', '_'))
{%- endmacro %}

{% macro duckdb__glob_match(value, pattern) -%}
    coalesce(({{ value }}) glob ({{ pattern }}), false)
{%- endmacro %}

{# Spark: LIKE with the pattern's own `%`, `_` and `!` escaped (escape character `!`), so only
   `*` and `?` are wildcards, as in a glob. (Globs here use no character classes.) #}
{% macro spark__glob_match(value, pattern) -%}
    coalesce(({{ value }}) like replace(replace(
        replace(replace(replace({{ pattern }}, '!', '!!'), '%', '!%'), '_', '!_'),
        '*', '%'), '?', '_') escape '!', false)
{%- endmacro %}
