-- Open-interest-weighted BTC perpetual funding per day (% per 8h) with its sign streaks.
-- Source of the day: CoinGlass's OI-weighted figure (the daily bar's close) when present, else the
-- keyless fallback: each venue's mean of the day's 8h fundings, weighted by the venue's OI in USD at
-- the day's close (equal weights on days a venue has no OI, e.g. before its OI history starts).
with

coinglass as (select * from {{ ref('stg_coinglass__futures_funding') }}),
binance as (select * from {{ ref('stg_binance__futures_funding') }}),
bybit as (select * from {{ ref('stg_bybit__futures_funding') }}),
venue_oi as (select * from {{ ref('int_futures_open_interest__by_venue') }}),
rules as (
    select {{ rule('funding_rate', 'bear_sign_change_window_days') }} as sign_change_window_days
),

venue_day as (
    select funding_date, venue, avg(funding_rate_pct_8h) as funding_pct_8h, count(*) as fundings
    from (
        select funding_date, venue, funding_rate_pct_8h from binance
        union all
        select funding_date, venue, funding_rate_pct_8h from bybit
    )
    group by all
),

fallback as (
    select
        v.funding_date,
        case when count(o.oi_usd) = count(*)
             then sum(v.funding_pct_8h * o.oi_usd) / sum(o.oi_usd)
             else avg(v.funding_pct_8h) end                            as funding_pct_8h,
        count(o.oi_usd) = count(*)                                      as is_oi_weighted,
        string_agg(v.venue, '+' order by v.venue)                       as source
    from venue_day as v
    left join venue_oi as o on o.oi_date = v.funding_date and o.venue = v.venue
    group by v.funding_date
    having count(*) = 2
),

daily as (
    select funding_date, funding_close_pct_8h as funding_pct_8h, true as is_oi_weighted, 'coinglass' as source, 1 as preference
    from coinglass
    union all
    select funding_date, funding_pct_8h, is_oi_weighted, source, 2 as preference from fallback
),

chosen as (
    select * exclude (preference)
    from daily
    qualify row_number() over (partition by funding_date order by preference) = 1
),

signed as (
    select
        *,
        sign(funding_pct_8h)                                                        as funding_sign,
        lag(sign(funding_pct_8h)) over (order by funding_date)                      as previous_sign
    from chosen
),

flagged as (
    select
        *,
        coalesce(funding_sign <> 0 and previous_sign <> 0 and funding_sign <> previous_sign, false) as is_sign_change,
        count(*) filter (where funding_sign <= 0) over (order by funding_date rows unbounded preceding) as positive_run_id,
        count(*) filter (where funding_sign >= 0) over (order by funding_date rows unbounded preceding) as negative_run_id
    from signed
),

streaks as (
    select
        *,
        case when funding_sign > 0
             then count(*) filter (where funding_sign > 0) over (partition by positive_run_id order by funding_date)
             else 0 end                                                                             as positive_streak_days,
        case when funding_sign < 0
             then count(*) filter (where funding_sign < 0) over (partition by negative_run_id order by funding_date)
             else 0 end                                                                             as negative_streak_days
    from flagged
),

final as (
    select
        s.funding_date,
        s.funding_pct_8h,
        s.is_oi_weighted,
        s.source,
        s.funding_sign,
        s.is_sign_change,
        s.positive_streak_days,
        s.negative_streak_days,
        -- sign changes between consecutive days within the trailing N days (N from the seed): N days hold
        -- N - 1 day-to-day transitions, the last on this day
        (select count(*) filter (where t.is_sign_change)
         from flagged as t
         where t.funding_date > s.funding_date - (cast(r.sign_change_window_days as integer) - 1)
           and t.funding_date <= s.funding_date)                                        as sign_changes_in_window
    from streaks as s
    cross join rules as r
)

select * from final
