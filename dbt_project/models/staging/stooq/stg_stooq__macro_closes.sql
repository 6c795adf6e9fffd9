-- Stooq daily closes (^sox, xauusd, xagusd, dx.f), typed; the latest revision (macro latest_revision) per (day, series).
with

source as (
    select * from {{ source('raw', 'macro_daily_closes') }}
    where source = 'stooq'
),

latest as ({{ latest_revision('source', ['obs_date', 'series']) }}),

final as (
    select
        cast(obs_date as date)          as obs_date,
        series                          as series,
        symbol                          as symbol,
        cast(close_value as double)     as close_value,
        'stooq'                        as source,
        cast(is_derived as boolean)     as is_derived,
        ingested_at                     as ingested_at,
        payload_id                      as payload_id
    from latest
)

select * from final
