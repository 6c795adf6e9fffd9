{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'int_futures_funding__by_source'}}}) }}
-- Cross-source (warn only): on days with both CoinGlass's OI-weighted funding and the keyless fallback's
-- (Binance + Bybit, OI-weighted), the funding at the day's close (the one definition the dashboard uses, from
-- int_futures_funding__by_source) should agree within the seed's tolerance on all but the seed's share
-- of days. Returns one row when they do not.
with

by_source as (select * from {{ ref('int_futures_funding__by_source') }}),

paired as (
    select
        coinglass.funding_date,
        coinglass.funding_pct_8h                                    as coinglass_pct_8h,
        keyless.funding_pct_8h                                      as keyless_pct_8h
    from by_source as coinglass
    inner join by_source as keyless
        on keyless.funding_date = coinglass.funding_date and keyless.source_kind = 'keyless'
    where coinglass.source_kind = 'coinglass'
),

summary as (
    select
        count(*)                                                    as common_days,
        count(*) filter (where abs(coinglass_pct_8h - keyless_pct_8h)
                               > {{ rule('cross_source', 'funding_tolerance_pct_8h') }})
                                                                    as days_outside_tolerance
    from paired
)

select *
from summary
where common_days > 0
  and days_outside_tolerance > {{ rule('cross_source', 'max_share_outside') }} * common_days
