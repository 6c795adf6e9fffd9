-- bybit BTCUSDT perpetual funding, one row per 8h funding (% per 8h); the latest revision per instant.
with

source as (
    select * from {{ source('raw', 'futures_funding') }}
    where source = 'bybit'
),

latest as (
    select *
    from source
    qualify row_number() over (partition by funding_time, venue order by ingested_at desc) = 1
),

final as (
    select
        cast(funding_date as date)          as funding_date,
        cast(funding_time as timestamptz)   as funding_at,
        venue,
        symbol,
        cast(funding_rate_pct as double)    as funding_rate_pct_8h,
        source,
        ingested_at,
        payload_id
    from latest
)

select * from final
