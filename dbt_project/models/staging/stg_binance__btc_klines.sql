-- Binance BTC/USDT daily candles, typed; the latest revision per day.
with

source as (
    select * from {{ source('raw', 'btc_price_daily') }}
),

latest as (
    select *
    from source
    qualify row_number() over (partition by price_date order by ingested_at desc) = 1
),

final as (
    select
        cast(price_date as date)    as price_date,
        cast(open_usd as double)    as open_usd,
        cast(high_usd as double)    as high_usd,
        cast(low_usd as double)     as low_usd,
        cast(close_usd as double)   as close_usd,
        cast(volume_btc as double)  as volume_btc,
        source,
        ingested_at
    from latest
)

select * from final
