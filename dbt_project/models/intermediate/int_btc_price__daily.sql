-- BTC daily OHLC in USD (UTC days), with day-over-day return: the price every rule is read against.
with

klines as (select * from {{ ref('stg_binance__btc_klines') }}),

final as (
    select
        price_date,
        open_usd,
        high_usd,
        low_usd,
        close_usd,
        close_usd / lag(close_usd) over (order by price_date) - 1      as return_1d,
        source
    from klines
)

select * from final
