-- Futures OI at each UTC day's close per venue of the keyless fallback (Binance, Bybit), in USD.
-- Bybit reports BTC; it is valued at the BTC daily close.
with

binance as (select * from {{ ref('stg_binance__futures_open_interest') }}),
bybit as (select * from {{ ref('stg_bybit__futures_open_interest') }}),
price as (select * from {{ ref('int_btc_price__daily') }}),

unioned as (
    select oi_date, venue, oi_close_usd, oi_close_btc, source from binance
    union all
    select oi_date, venue, oi_close_usd, oi_close_btc, source from bybit
),

final as (
    select
        u.oi_date,
        u.venue,
        coalesce(u.oi_close_usd, u.oi_close_btc * p.close_usd)    as oi_usd,
        u.oi_close_btc                                             as oi_btc,
        u.oi_close_usd is null                                     as is_usd_from_btc_close,
        u.source
    from unioned as u
    left join price as p on p.price_date = u.oi_date
)

select * from final
