-- Aggregated BTC futures OI per day (USD at the day's close) with 7d/30d changes and the BTC price
-- condition. Source of the day: CoinGlass's all-exchange aggregate when present, else the keyless
-- fallback (Binance + Bybit summed, only on days both venues report). Changes are computed within
-- each source's own series, so a switch of source never shows up as a jump.
with

coinglass as (select * from {{ ref('stg_coinglass__futures_open_interest') }}),
by_venue as (select * from {{ ref('int_futures_open_interest__by_venue') }}),
price as (select * from {{ ref('int_btc_price__daily') }}),

fallback as (
    select
        oi_date,
        sum(oi_usd)                                 as oi_usd,
        count(*)                                    as venue_count,
        string_agg(venue, '+' order by venue)       as source
    from by_venue
    where oi_usd is not null
    group by oi_date
    having count(*) = 2
),

series as (
    select oi_date, oi_close_usd as oi_usd, 0 as venue_count, 'coinglass' as source, 1 as preference from coinglass
    union all
    select oi_date, oi_usd, venue_count, source, 2 as preference from fallback
),

with_changes as (
    select
        s.*,
        (select t.oi_usd from series as t where t.source = s.source and t.oi_date = s.oi_date - interval 7 day)  as oi_usd_7d_ago,
        (select t.oi_usd from series as t where t.source = s.source and t.oi_date = s.oi_date - interval 30 day) as oi_usd_30d_ago
    from series as s
),

chosen as (
    select *
    from with_changes
    qualify row_number() over (partition by oi_date order by preference) = 1
),

final as (
    select
        c.oi_date,
        c.oi_usd,
        c.oi_usd_7d_ago,
        c.oi_usd_30d_ago,
        100 * (c.oi_usd / c.oi_usd_7d_ago - 1)      as oi_change_7d_pct,
        100 * (c.oi_usd / c.oi_usd_30d_ago - 1)     as oi_change_30d_pct,
        p.close_usd                                 as btc_close_usd,
        p7.close_usd                                as btc_close_7d_ago_usd,
        100 * (p.close_usd / p7.close_usd - 1)      as btc_change_7d_pct,
        c.venue_count,
        c.source
    from chosen as c
    left join price as p on p.price_date = c.oi_date
    left join price as p7 on p7.price_date = c.oi_date - interval 7 day
)

select * from final
