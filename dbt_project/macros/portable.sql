{#
  DuckDB-specific SQL of the billing models, behind adapter.dispatch (ARCHITECTURE.md "Portable
  SQL"). Each macro has a duckdb__ implementation and a default__ one where a portable form
  exists; where none does, default__ stops with a message naming what a new adapter must supply.
  Kept in models because Snowflake, Databricks and BigQuery support them: `qualify`,
  `any_value`, `with recursive`, `nulls last`.
#}

{# One row per month start from first_month to last_month (both DATE month starts): a
   set-returning select expression. #}
{% macro month_starts_between(first_month, last_month) -%}
    {{ return(adapter.dispatch('month_starts_between', 'meterline')(first_month, last_month)) }}
{%- endmacro %}

{% macro default__month_starts_between(first_month, last_month) -%}
    {{ exceptions.raise_compiler_error("month_starts_between: implement <adapter>__month_starts_between (a month series) for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__month_starts_between(first_month, last_month) -%}
    cast(unnest(range({{ first_month }}, {{ last_month }} + interval 1 month, interval 1 month)) as date)
{%- endmacro %}

{% macro spark__month_starts_between(first_month, last_month) -%}
    explode(sequence(cast({{ first_month }} as date), cast({{ last_month }} as date), interval 1 month))
{%- endmacro %}

{# Aggregate: the value of `value` on the row with the greatest (order_1, order_2, ...) — a
   total order, so the result is deterministic. #}
{% macro arg_max_by(value, order_exprs, condition=none) -%}
    {{ return(adapter.dispatch('arg_max_by', 'meterline')(value, order_exprs, condition)) }}
{%- endmacro %}

{% macro default__arg_max_by(value, order_exprs, condition=none) -%}
    {{ exceptions.raise_compiler_error("arg_max_by: implement <adapter>__arg_max_by (max_by over a total order) for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__arg_max_by(value, order_exprs, condition=none) -%}
    {%- if order_exprs | length == 1 -%}
    arg_max({{ value }}, {{ order_exprs[0] }})
    {%- else -%}
    arg_max({{ value }}, struct_pack(
        {%- for e in order_exprs %}o{{ loop.index }} := {{ e }}{{ ", " if not loop.last }}{%- endfor -%}
    ))
    {%- endif -%}
    {%- if condition is not none %} filter (where {{ condition }}){%- endif -%}
{%- endmacro %}

{# Spark: max_by ignores rows whose ordering is NULL, as arg_max does; a struct orders field by field. #}
{% macro spark__arg_max_by(value, order_exprs, condition=none) -%}
    {%- if order_exprs | length == 1 -%}
    max_by({{ value }}, {{ order_exprs[0] }})
    {%- else -%}
    max_by({{ value }}, struct(
        {%- for e in order_exprs %}{{ e }} as o{{ loop.index }}{{ ", " if not loop.last }}{%- endfor -%}
    ))
    {%- endif -%}
    {%- if condition is not none %} filter (where {{ condition }}){%- endif -%}
{%- endmacro %}

{# Aggregate: the number of distinct elements over the lists of a group. #}
{% macro count_distinct_in_lists(list_expr) -%}
    {{ return(adapter.dispatch('count_distinct_in_lists', 'meterline')(list_expr)) }}
{%- endmacro %}

{% macro default__count_distinct_in_lists(list_expr) -%}
    {{ exceptions.raise_compiler_error("count_distinct_in_lists: implement <adapter>__count_distinct_in_lists for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__count_distinct_in_lists(list_expr) -%}
    len(list_distinct(flatten(list({{ list_expr }}))))
{%- endmacro %}

{# Spark: array_distinct keeps one NULL where DuckDB's list_distinct drops NULLs. #}
{% macro spark__count_distinct_in_lists(list_expr) -%}
    size(array_distinct(filter(flatten(collect_list({{ list_expr }})), cdl_x -> cdl_x is not null)))
{%- endmacro %}

{# Aggregate: the sorted list of distinct non-null values of `value` on rows where `condition`. #}
{% macro sorted_distinct_list(value, condition) -%}
    {{ return(adapter.dispatch('sorted_distinct_list', 'meterline')(value, condition)) }}
{%- endmacro %}

{% macro default__sorted_distinct_list(value, condition) -%}
    {{ exceptions.raise_compiler_error("sorted_distinct_list: implement <adapter>__sorted_distinct_list for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__sorted_distinct_list(value, condition) -%}
    list(distinct {{ value }} order by {{ value }}) filter (where {{ condition }} and {{ value }} is not null)
{%- endmacro %}

{# Spark: collect_set of no rows is [] where DuckDB's list gives NULL: NULL kept for no rows. #}
{% macro spark__sorted_distinct_list(value, condition) -%}
    case
        when count(case when {{ condition }} then 1 end) > 0
            then array_sort(collect_set(case when {{ condition }} then {{ value }} end))
    end
{%- endmacro %}

{# Aggregate: true when `condition` holds on every row of the group. #}
{% macro bool_and_agg(condition) -%}
    {{ return(adapter.dispatch('bool_and_agg', 'meterline')(condition)) }}
{%- endmacro %}

{% macro default__bool_and_agg(condition) -%}
    (min(case when {{ condition }} then 1 else 0 end) = 1)
{%- endmacro %}

{% macro duckdb__bool_and_agg(condition) -%}
    bool_and({{ condition }})
{%- endmacro %}

{# The keys of a JSON object, one row each: a set-returning select expression. #}
{% macro json_object_keys_unnested(json_expr) -%}
    {{ return(adapter.dispatch('json_object_keys_unnested', 'meterline')(json_expr)) }}
{%- endmacro %}

{% macro default__json_object_keys_unnested(json_expr) -%}
    {{ exceptions.raise_compiler_error("json_object_keys_unnested: implement <adapter>__json_object_keys_unnested for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__json_object_keys_unnested(json_expr) -%}
    unnest(json_keys({{ json_expr }}))
{%- endmacro %}

{% macro spark__json_object_keys_unnested(json_expr) -%}
    explode(json_object_keys({{ json_expr }}))
{%- endmacro %}

{# The keys of a JSON object as an array of text. #}
{% macro json_object_keys_array(json_expr) -%}
    {{ return(adapter.dispatch('json_object_keys_array', 'meterline')(json_expr)) }}
{%- endmacro %}

{% macro default__json_object_keys_array(json_expr) -%}
    {{ exceptions.raise_compiler_error("json_object_keys_array: implement <adapter>__json_object_keys_array for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__json_object_keys_array(json_expr) -%}
    cast(json_keys({{ json_expr }}) as varchar[])
{%- endmacro %}

{% macro spark__json_object_keys_array(json_expr) -%}
    json_object_keys({{ json_expr }})
{%- endmacro %}

{# A JSON array of strings as an array of text ([] for NULL). #}
{% macro json_text_array(json_expr) -%}
    {{ return(adapter.dispatch('json_text_array', 'meterline')(json_expr)) }}
{%- endmacro %}

{% macro default__json_text_array(json_expr) -%}
    {{ exceptions.raise_compiler_error("json_text_array: implement <adapter>__json_text_array for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__json_text_array(json_expr) -%}
    coalesce(from_json({{ json_expr }}, '["VARCHAR"]'), [])
{%- endmacro %}

{% macro spark__json_text_array(json_expr) -%}
    coalesce(from_json({{ json_expr }}, 'array<string>'), cast(array() as array<string>))
{%- endmacro %}

{# A meters.yml list of field names (JSON array) as an array of text, a `data.` prefix dropped
   ("data.region" and "region" both name the event's data key region). #}
{% macro meter_field_names(json_expr) -%}
    {{ return(adapter.dispatch('meter_field_names', 'meterline')(json_expr)) }}
{%- endmacro %}

{% macro default__meter_field_names(json_expr) -%}
    {{ exceptions.raise_compiler_error("meter_field_names: implement <adapter>__meter_field_names for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__meter_field_names(json_expr) -%}
    list_transform(
        coalesce(from_json({{ json_expr }}, '["VARCHAR"]'), []),
        lambda field_name: {{ strip_data_prefix('field_name') }}
    )
{%- endmacro %}

{% macro spark__meter_field_names(json_expr) -%}
    transform(
        {{ spark__json_text_array(json_expr) }},
        field_name -> {{ strip_data_prefix('field_name') }}
    )
{%- endmacro %}

{# A field name with a leading `data.` removed. #}
{% macro strip_data_prefix(expr) -%}
    case when {{ expr }} like 'data.%' then substr({{ expr }}, 6) else {{ expr }} end
{%- endmacro %}

{# The elements of an array column, one row each: a set-returning select expression. #}
{% macro array_unnested(array_expr) -%}
    {{ return(adapter.dispatch('array_unnested', 'meterline')(array_expr)) }}
{%- endmacro %}

{% macro default__array_unnested(array_expr) -%}
    {{ exceptions.raise_compiler_error("array_unnested: implement <adapter>__array_unnested for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__array_unnested(array_expr) -%}
    unnest({{ array_expr }})
{%- endmacro %}

{% macro spark__array_unnested(array_expr) -%}
    explode({{ array_expr }})
{%- endmacro %}

{# A JSON object (as text) holding only `keys_array` (sorted text array) of the JSON object
   `json_expr`, values as text (null when absent): the extra dimensions of an event for a meter. #}
{% macro json_project(json_expr, keys_array) -%}
    {{ return(adapter.dispatch('json_project', 'meterline')(json_expr, keys_array)) }}
{%- endmacro %}

{% macro default__json_project(json_expr, keys_array) -%}
    {{ exceptions.raise_compiler_error("json_project: implement <adapter>__json_project for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__json_project(json_expr, keys_array) -%}
    cast(to_json(map_from_entries(list_transform(
        {{ keys_array }},
        lambda key_name: struct_pack(k := key_name, v := json_extract_string({{ json_expr }}, key_name))
    ))) as {{ text_type() }})
{%- endmacro %}

{% macro spark__json_project(json_expr, keys_array) -%}
    to_json(map_from_entries(transform(
        {{ keys_array }},
        key_name -> struct(key_name as k, {{ spark__json_text(json_expr, 'key_name') }} as v)
    )))
{%- endmacro %}

{# The text value of a top-level key of a JSON object (NULL when absent). #}
{% macro json_text(json_expr, key_expr) -%}
    {{ return(adapter.dispatch('json_text', 'meterline')(json_expr, key_expr)) }}
{%- endmacro %}

{% macro default__json_text(json_expr, key_expr) -%}
    json_extract_path_text({{ json_expr }}, {{ key_expr }})
{%- endmacro %}

{% macro duckdb__json_text(json_expr, key_expr) -%}
    json_extract_string({{ json_expr }}, {{ key_expr }})
{%- endmacro %}

{# Spark: get_json_object with a bracketed JSONPath, so keys with dots or dashes stay one key. #}
{% macro spark__json_text(json_expr, key_expr) -%}
    get_json_object({{ json_expr }}, concat('$[', chr(39), {{ key_expr }}, chr(39), ']'))
{%- endmacro %}

{# md5 hex of the parts joined with '|', NULL parts skipped (the row keys of the usage models). #}
{% macro hash_parts(parts) -%}
    {{ return(adapter.dispatch('hash_parts', 'meterline')(parts)) }}
{%- endmacro %}

{% macro default__hash_parts(parts) -%}
    md5(concat_ws('|', {{ parts | join(', ') }}))
{%- endmacro %}

{# `name as {{ inline_cte() }} (...)`: evaluate the CTE where it is used instead of storing it.
   DuckDB stores a CTE referenced more than once; for a plain scan of a table, or a cheap join
   on one, the stored copy costs more than scanning again (int_cost_drivers_daily: 1.5 s and
   3 GB stored, 0.7 s and 0.2 GB inlined, on 10M events). #}
{% macro inline_cte() -%}
    {{ return(adapter.dispatch('inline_cte', 'meterline')()) }}
{%- endmacro %}

{% macro default__inline_cte() -%}{%- endmacro %}

{% macro duckdb__inline_cte() -%}not materialized{%- endmacro %}

{# A fingerprint (md5 text) of every row of the models named in `model_names`: it changes when
   any row of any of them changes. For small relations (reference data): it reads them whole. #}
{% macro relations_fingerprint(model_names) -%}
    {{ return(adapter.dispatch('relations_fingerprint', 'meterline')(model_names)) }}
{%- endmacro %}

{% macro default__relations_fingerprint(model_names) -%}
    {{ exceptions.raise_compiler_error("relations_fingerprint: implement <adapter>__relations_fingerprint for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__relations_fingerprint(model_names) -%}
    md5(concat_ws('|'
    {%- for name in model_names %},
        (
            select coalesce(string_agg(md5(cast(fp_rows as {{ text_type() }})), ',' order by md5(cast(fp_rows as {{ text_type() }}))), '')
            from {{ ref(name) }} as fp_rows
        )
    {%- endfor %}
    ))
{%- endmacro %}

{% macro spark__relations_fingerprint(model_names) -%}
    md5(concat_ws('|'
    {%- for name in model_names %},
        (
            select coalesce(array_join(array_sort(collect_list(md5(to_json(struct(fp_rows.*))))), ','), '')
            from {{ ref(name) }} as fp_rows
        )
    {%- endfor %}
    ))
{%- endmacro %}

{# Aggregate: `value` (text) of the group's rows in the order of `order_expr`, joined by `sep`. #}
{% macro ordered_string_agg(value, sep, order_expr) -%}
    {{ return(adapter.dispatch('ordered_string_agg', 'meterline')(value, sep, order_expr)) }}
{%- endmacro %}

{% macro default__ordered_string_agg(value, sep, order_expr) -%}
    listagg({{ value }}, {{ sep }}) within group (order by {{ order_expr }})
{%- endmacro %}

{% macro duckdb__ordered_string_agg(value, sep, order_expr) -%}
    string_agg({{ value }}, {{ sep }} order by {{ order_expr }})
{%- endmacro %}

{# The column type of JSON text: DuckDB's JSON; text where an engine has no JSON type. #}
{% macro json_type() -%}
    {{ return(adapter.dispatch('json_type', 'meterline')()) }}
{%- endmacro %}

{% macro default__json_type() -%}string{%- endmacro %}

{% macro duckdb__json_type() -%}json{%- endmacro %}

{# The text type in casts: `varchar` needs a length on Spark. #}
{% macro text_type() -%}
    {{ return(adapter.dispatch('text_type', 'meterline')()) }}
{%- endmacro %}

{% macro default__text_type() -%}varchar{%- endmacro %}

{% macro spark__text_type() -%}string{%- endmacro %}

{# `expr` with trailing characters of `chars` removed (Spark's two-argument rtrim takes them in
   the other order). #}
{% macro rtrim_chars(expr, chars) -%}
    {{ return(adapter.dispatch('rtrim_chars', 'meterline')(expr, chars)) }}
{%- endmacro %}

{% macro default__rtrim_chars(expr, chars) -%}
    rtrim({{ expr }}, {{ chars }})
{%- endmacro %}

{% macro spark__rtrim_chars(expr, chars) -%}
    rtrim({{ chars }}, {{ expr }})
{%- endmacro %}

{# True when the `sep`-separated text `text_expr` has the element `value_expr`. #}
{% macro text_list_contains(text_expr, sep, value_expr) -%}
    {{ return(adapter.dispatch('text_list_contains', 'meterline')(text_expr, sep, value_expr)) }}
{%- endmacro %}

{% macro default__text_list_contains(text_expr, sep, value_expr) -%}
    array_contains(split({{ text_expr }}, {{ sep }}), {{ value_expr }})
{%- endmacro %}

{% macro duckdb__text_list_contains(text_expr, sep, value_expr) -%}
    list_contains(string_split({{ text_expr }}, {{ sep }}), {{ value_expr }})
{%- endmacro %}

{# The `sep`-separated parts of a text, as an array of text (`sep` a plain character). #}
{% macro split_text(text_expr, sep) -%}
    {{ return(adapter.dispatch('split_text', 'meterline')(text_expr, sep)) }}
{%- endmacro %}

{% macro default__split_text(text_expr, sep) -%}
    {{ exceptions.raise_compiler_error("split_text: implement <adapter>__split_text for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__split_text(text_expr, sep) -%}
    string_split({{ text_expr }}, {{ sep }})
{%- endmacro %}

{# Spark: split() takes a regular expression; the separator as a character class. #}
{% macro spark__split_text(text_expr, sep) -%}
    split({{ text_expr }}, concat('[', {{ sep }}, ']'))
{%- endmacro %}

{# The text value at the top-level key `key_expr` (any characters) of a JSON object. #}
{% macro json_text_at_key(json_expr, key_expr) -%}
    {{ return(adapter.dispatch('json_text_at_key', 'meterline')(json_expr, key_expr)) }}
{%- endmacro %}

{% macro default__json_text_at_key(json_expr, key_expr) -%}
    {{ json_text(json_expr, key_expr) }}
{%- endmacro %}

{% macro duckdb__json_text_at_key(json_expr, key_expr) -%}
    json_extract_string({{ json_expr }}, '$."' || {{ key_expr }} || '"')
{%- endmacro %}

{# True when the text is valid JSON. #}
{% macro json_is_valid(json_expr) -%}
    {{ return(adapter.dispatch('json_is_valid', 'meterline')(json_expr)) }}
{%- endmacro %}

{% macro default__json_is_valid(json_expr) -%}
    {{ exceptions.raise_compiler_error("json_is_valid: implement <adapter>__json_is_valid for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__json_is_valid(json_expr) -%}
    json_valid({{ json_expr }})
{%- endmacro %}

{# Spark: get_json_object of the root is NULL for text that does not parse. #}
{% macro spark__json_is_valid(json_expr) -%}
    coalesce(get_json_object({{ json_expr }}, '$') is not null, false)
{%- endmacro %}

{# One row per day (a DATE) from `start_date` (included) to `end_date` (excluded), none when
   end <= start: a set-returning select expression (alias it; Spark wants it outermost). #}
{% macro day_series(start_date, end_date) -%}
    {{ return(adapter.dispatch('day_series', 'meterline')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__day_series(start_date, end_date) -%}
    {{ exceptions.raise_compiler_error("day_series: implement <adapter>__day_series for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__day_series(start_date, end_date) -%}
    cast(
            unnest(range(
                {{ start_date }},
                {{ end_date }},
                interval 1 day
            ))
            as date
        )
{%- endmacro %}

{# Spark: sequence() includes its end and counts down when end < start: guarded. #}
{% macro spark__day_series(start_date, end_date) -%}
    explode(case
        when cast({{ end_date }} as date) > cast({{ start_date }} as date)
            then sequence(cast({{ start_date }} as date), date_add(cast({{ end_date }} as date), -1))
        else cast(array() as array<date>)
    end)
{%- endmacro %}

{# Aggregate: the distinct non-null elements of the lists of the rows where `condition` (NULL
   when no row). #}
{% macro distinct_of_lists(list_expr, condition) -%}
    {{ return(adapter.dispatch('distinct_of_lists', 'meterline')(list_expr, condition)) }}
{%- endmacro %}

{% macro default__distinct_of_lists(list_expr, condition) -%}
    {{ exceptions.raise_compiler_error("distinct_of_lists: implement <adapter>__distinct_of_lists for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__distinct_of_lists(list_expr, condition) -%}
    list_distinct(flatten(
            list({{ list_expr }}) filter (where {{ condition }})
        ))
{%- endmacro %}

{% macro spark__distinct_of_lists(list_expr, condition) -%}
    case
        when count(case when {{ condition }} then 1 end) > 0
            then array_distinct(filter(
                flatten(collect_list(case when {{ condition }} then {{ list_expr }} end)),
                dl_x -> dl_x is not null
            ))
    end
{%- endmacro %}

{# An empty array of text. #}
{% macro empty_text_array() -%}
    {{ return(adapter.dispatch('empty_text_array', 'meterline')()) }}
{%- endmacro %}

{% macro default__empty_text_array() -%}cast(array() as array<string>){%- endmacro %}

{% macro duckdb__empty_text_array() -%}cast([] as varchar[]){%- endmacro %}

{# `select * except these columns`: the keyword before the parenthesised column list. #}
{% macro star_except() -%}
    {{ return(adapter.dispatch('star_except', 'meterline')()) }}
{%- endmacro %}

{% macro default__star_except() -%}* except{%- endmacro %}

{% macro duckdb__star_except() -%}* exclude{%- endmacro %}

{# An integer type wide enough for money in minor units times a 15-place weight. #}
{% macro big_int_type() -%}
    {{ return(adapter.dispatch('big_int_type', 'meterline')()) }}
{%- endmacro %}

{% macro default__big_int_type() -%}decimal(38, 0){%- endmacro %}

{% macro duckdb__big_int_type() -%}hugeint{%- endmacro %}

{# Integer division truncating toward zero (operands integers). #}
{% macro int_div(a, b) -%}
    {{ return(adapter.dispatch('int_div', 'meterline')(a, b)) }}
{%- endmacro %}

{% macro default__int_div(a, b) -%}
    {{ exceptions.raise_compiler_error("int_div: implement <adapter>__int_div for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__int_div(a, b) -%}{{ a }} // {{ b }}{%- endmacro %}

{# Spark: `div` is exact on decimals and returns a BIGINT (the quotients here are minor units). #}
{% macro spark__int_div(a, b) -%}{{ a }} div {{ b }}{%- endmacro %}

{# The integer part of a decimal (toward zero), still a decimal. #}
{% macro trunc_number(expr) -%}
    {{ return(adapter.dispatch('trunc_number', 'meterline')(expr)) }}
{%- endmacro %}

{% macro default__trunc_number(expr) -%}trunc({{ expr }}){%- endmacro %}

{% macro spark__trunc_number(expr) -%}({{ expr }} - {{ expr }} % 1){%- endmacro %}

{# `cross join lateral` a fixed set of rows computed from each row (an unpivot): `rows` is a list
   of rows, each a list of SQL expressions, named `columns`, under `alias`. #}
{% macro lateral_rows(rows, alias, columns) -%}
    {{ return(adapter.dispatch('lateral_rows', 'meterline')(rows, alias, columns)) }}
{%- endmacro %}

{% macro default__lateral_rows(rows, alias, columns) -%}
    cross join lateral (
        values
        {%- for row in rows %}
            ({{ row | join(', ') }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as {{ alias }} ({{ columns | join(', ') }})
{%- endmacro %}

{# Spark: a VALUES list cannot read the outer row; inline() of an array of structs can. #}
{% macro spark__lateral_rows(rows, alias, columns) -%}
    cross join lateral (
        select inline(array(
        {%- for row in rows %}
            struct({% for e in row %}{{ e }} as {{ columns[loop.index0] }}{{ ", " if not loop.last }}{% endfor %}){{ "," if not loop.last }}
        {%- endfor %}
        ))
    ) as {{ alias }}
{%- endmacro %}

{# A one-key JSON object as text: {"key":"value"} (value non-null). #}
{% macro json_object_text(key_literal, value_expr) -%}
    {{ return(adapter.dispatch('json_object_text', 'meterline')(key_literal, value_expr)) }}
{%- endmacro %}

{% macro default__json_object_text(key_literal, value_expr) -%}
    {{ exceptions.raise_compiler_error("json_object_text: implement <adapter>__json_object_text for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__json_object_text(key_literal, value_expr) -%}
    cast(json_object({{ key_literal }}, {{ value_expr }}) as {{ text_type() }})
{%- endmacro %}

{% macro spark__json_object_text(key_literal, value_expr) -%}
    to_json(named_struct({{ key_literal }}, {{ value_expr }}))
{%- endmacro %}

{# True where median() may run over a window frame (`rows between ...`). #}
{% macro median_over_frames() -%}
    {{ return(adapter.dispatch('median_over_frames', 'meterline')()) }}
{%- endmacro %}

{% macro default__median_over_frames() -%}{{ return(false) }}{%- endmacro %}

{% macro duckdb__median_over_frames() -%}{{ return(true) }}{%- endmacro %}

{# Aggregate: the median of a DECIMAL, exact (the mean of the two middle values for an even
   count), NULL for no values. #}
{% macro exact_median(value) -%}
    {{ return(adapter.dispatch('exact_median', 'meterline')(value)) }}
{%- endmacro %}

{% macro default__exact_median(value) -%}
    median({{ value }})
{%- endmacro %}

{# Spark: median() returns DOUBLE; the middle elements of the sorted values instead. #}
{% macro spark__exact_median(value) -%}
    case
        when count({{ value }}) = 0 then null
        when count({{ value }}) % 2 = 1
            then element_at(array_sort(collect_list({{ value }})), cast(count({{ value }}) div 2 + 1 as int))
        else (
            element_at(array_sort(collect_list({{ value }})), cast(count({{ value }}) div 2 as int))
            + element_at(array_sort(collect_list({{ value }})), cast(count({{ value }}) div 2 + 1 as int))
        ) / 2
    end
{%- endmacro %}
