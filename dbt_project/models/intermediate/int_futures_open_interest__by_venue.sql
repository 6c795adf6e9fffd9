-- Futures OI at each UTC day's close per venue of the keyless fallback (Binance, Bybit, OKX live; Binance alone
-- in replay, which bundles no Bybit or OKX history), in USD.
-- Bybit reports BTC; it is valued at the BTC daily close (the same formula the dashboard and the
-- cross-source test use).
with

binance as (select * from {{ ref('stg_binance__futures_open_interest') }}),
bybit as (select * from {{ ref('stg_bybit__futures_open_interest') }}),
okx as (select * from {{ ref('stg_okx__futures_open_interest') }}),
price as (select * from {{ ref('int_btc_price__daily') }}),

unioned as (
    select oi_date, venue, oi_close_usd, oi_close_btc, is_derived, source from binance
    union all
    select oi_date, venue, oi_close_usd, oi_close_btc, is_derived, source from bybit
    union all
    select oi_date, venue, oi_close_usd, oi_close_btc, is_derived, source from okx
),

final as (
    select
        unioned.oi_date,
        unioned.venue,
        coalesce(unioned.oi_close_usd, unioned.oi_close_btc * price.close_usd)   as oi_usd,
        unioned.oi_close_btc                                                      as oi_btc,
        unioned.oi_close_usd is null                                              as is_usd_from_btc_close,
        unioned.is_derived,
        unioned.source
    from unioned
    left join price on price.price_date = unioned.oi_date
)

select * from final
