-- CoinGlass BTC futures liquidations per day (USD), summed over the requested exchanges (venue);
-- the latest revision (macro latest_revision) per (day, venue).
with

source as (
    select * from {{ source('raw', 'futures_liquidations') }}
    where source = 'coinglass'
),

latest as ({{ latest_revision('source', ['liquidation_date', 'venue']) }}),

final as (
    select
        cast(liquidation_date as date)          as liquidation_date,
        venue,
        cast(long_liquidation_usd as double)    as long_liquidation_usd,
        cast(short_liquidation_usd as double)   as short_liquidation_usd,
        source,
        cast(is_derived as boolean) as is_derived,
        ingested_at,
        payload_id
    from latest
)

select * from final
