-- Aggregated BTC futures OI per day (USD at the day's close) with 7d/30d changes and BTC's close and
-- 7-day change. Source of the day: CoinGlass's all-exchange aggregate when present, else the keyless
-- fallback (int_futures_open_interest__by_source); `venues` says what the figure covers.
with

by_source as (select * from {{ ref('int_futures_open_interest__by_source') }}),
price as (select * from {{ ref('int_btc_price__daily') }}),

chosen as (
    select * exclude (source_kind)
    from by_source
    qualify row_number() over (partition by oi_date order by preference) = 1
),

final as (
    select
        chosen.oi_date,
        chosen.oi_usd,
        chosen.oi_usd_7d_ago,
        chosen.oi_usd_30d_ago,
        100 * (chosen.oi_usd / chosen.oi_usd_7d_ago - 1)                    as oi_change_7d_pct,
        100 * (chosen.oi_usd / chosen.oi_usd_30d_ago - 1)                   as oi_change_30d_pct,
        price_today.close_usd                                               as btc_close_usd,
        price_week_ago.close_usd                                            as btc_close_7d_ago_usd,
        100 * (price_today.close_usd / price_week_ago.close_usd - 1)        as btc_change_7d_pct,
        chosen.venue_count,
        chosen.venues,
        chosen.is_derived,
        chosen.derived_inputs,
        chosen.source
    from chosen
    left join price as price_today on price_today.price_date = chosen.oi_date
    left join price as price_week_ago on price_week_ago.price_date = chosen.oi_date - interval 7 day
)

select * from final
