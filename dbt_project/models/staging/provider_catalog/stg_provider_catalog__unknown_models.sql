-- Provider models the catalog does not know: reported, never costed at 0.
with

source as (

    select * from {{ source('raw', 'catalog_unknown_models') }}

),

final as (

    select
        lower(provider) as provider,
        model,
        first_seen,
        last_seen

    from source

)

select * from final
