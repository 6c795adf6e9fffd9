-- Binance BTC/USDT daily candles, typed; the latest revision (macro latest_revision) per day.
with

source as (
    select * from {{ source('raw', 'btc_price_daily') }}
),

latest as ({{ latest_revision('source', ['price_date']) }}),

final as (
    select
        cast(price_date as date)    as price_date,
        cast(open_usd as double)    as open_usd,
        cast(high_usd as double)    as high_usd,
        cast(low_usd as double)     as low_usd,
        cast(close_usd as double)   as close_usd,
        cast(volume_btc as double)  as volume_btc,
        source,
        cast(is_derived as boolean) as is_derived,
        ingested_at
    from latest
)

select * from final
