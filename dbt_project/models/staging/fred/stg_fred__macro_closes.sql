-- FRED daily closes (SP500, NASDAQCOM, DJIA, DGS10), typed; the latest revision (macro latest_revision) per (day, series).
with

source as (
    select * from {{ source('raw', 'macro_daily_closes') }}
    where source = 'fred'
),

latest as ({{ latest_revision('source', ['obs_date', 'series']) }}),

final as (
    select
        cast(obs_date as date)          as obs_date,
        series                          as series,
        symbol                          as symbol,
        cast(close_value as double)     as close_value,
        'fred'                        as source,
        cast(is_derived as boolean)     as is_derived,
        ingested_at                     as ingested_at,
        payload_id                      as payload_id
    from latest
)

select * from final
