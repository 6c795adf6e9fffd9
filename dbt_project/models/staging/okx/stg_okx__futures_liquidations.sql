-- okx BTC-USDT-SWAP liquidations per day (USD at the bankruptcy price), summed from the recent orders a live
-- collector fetched (OKX keeps ~24 h, so the history starts when collecting starts); the latest revision
-- (macro latest_revision) per (day, venue).
with

source as (
    select * from {{ source('raw', 'futures_liquidations') }}
    where source = 'okx'
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
