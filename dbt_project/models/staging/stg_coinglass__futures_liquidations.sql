-- CoinGlass BTC futures liquidations per day (USD), summed over the requested exchanges (venue);
-- the latest revision per (day, venue).
with

source as (
    select * from {{ source('raw', 'futures_liquidations') }}
    where source = 'coinglass'
),

latest as (
    select *
    from source
    qualify row_number() over (partition by liquidation_date, venue order by ingested_at desc) = 1
),

final as (
    select
        cast(liquidation_date as date)          as liquidation_date,
        venue,
        cast(long_liquidation_usd as double)    as long_liquidation_usd,
        cast(short_liquidation_usd as double)   as short_liquidation_usd,
        source,
        ingested_at,
        payload_id
    from latest
)

select * from final
