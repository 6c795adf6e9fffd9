{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'int_futures_open_interest__by_source'}}}) }}
-- Cross-source (warn only): on days with both CoinGlass's all-exchange OI and the keyless fallback
-- (Binance + Bybit, Bybit valued at the BTC close: the formula the dashboard uses, from
-- int_futures_open_interest__by_source), their 7-day OI changes should agree within the seed's
-- tolerance on all but the seed's share of days. Returns one row when they do not.
with

by_source as (select * from {{ ref('int_futures_open_interest__by_source') }}),

paired as (
    select
        coinglass.oi_date,
        100 * (coinglass.oi_usd / coinglass.oi_usd_7d_ago - 1)     as coinglass_change_7d_pct,
        100 * (keyless.oi_usd / keyless.oi_usd_7d_ago - 1)         as keyless_change_7d_pct
    from by_source as coinglass
    inner join by_source as keyless
        on keyless.oi_date = coinglass.oi_date and keyless.source_kind = 'keyless'
    where coinglass.source_kind = 'coinglass'
      and coinglass.oi_usd_7d_ago is not null and keyless.oi_usd_7d_ago is not null
),

summary as (
    select
        count(*)                                                    as common_days,
        count(*) filter (where abs(coinglass_change_7d_pct - keyless_change_7d_pct)
                               > {{ rule('cross_source', 'oi_7d_change_tolerance_pct_pts') }})
                                                                    as days_outside_tolerance
    from paired
)

select *
from summary
where common_days > 0
  and days_outside_tolerance > {{ rule('cross_source', 'max_share_outside') }} * common_days
