{#
  Pricing lab (issue 20): the billing chain re-rates a scenario by running the SAME models in
  scenario mode (`meterline simulate`, orchestration/scenarios.py). In scenario mode (var
  `scenario_mode`), the reference models of plans and subscriptions read the active scenario's
  rows of the scenario-keyed tables raw.scenario_<table> (written by the scenario loader: the
  current reference with the scenario's plan versions and moves applied; scenario 'current' is
  the unchanged baseline), the ledger reads as empty (both sides of a comparison are re-rated:
  issued totals and late-usage adjustments never enter a scenario), and the chain's models are
  built in the working schema var `scenario_schema` (generate_schema_name). Outside scenario
  mode these macros are source() itself: the real models are untouched.
#}
{% macro reference_source(table) -%}
    {%- if var('scenario_mode', false) -%}
        (
            select {{ star_except() }} (scenario)
            from {{ api.Relation.create(schema='raw', identifier='scenario_' ~ table) }}
            where scenario = (
                select max(scenario) from {{ api.Relation.create(schema='raw', identifier='scenario_active') }}
            )
        )
    {%- else -%}
        {{ source('raw', table) }}
    {%- endif -%}
{%- endmacro %}

{% macro ledger_source(table) -%}
    {%- if var('scenario_mode', false) -%}
        (select * from {{ source('ledger', table) }} where 1 = 0)
    {%- else -%}
        {{ source('ledger', table) }}
    {%- endif -%}
{%- endmacro %}
