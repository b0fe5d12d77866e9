{{ config(tags=['scenarios']) }}
-- Scenarios of the pricing lab (reference/scenarios/*.yml), as validated and written by the
-- scenario loader (orchestration/scenarios.py).
with

source as (

    select * from {{ source('scenario_inputs', 'scenarios') }}

),

final as (

    select
        scenario,
        scenario_name,
        description,
        file_path,
        period_from,
        period_to,
        customer_scope,
        move_to_plan,
        plan_files

    from source

)

select * from final
