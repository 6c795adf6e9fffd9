-- BTC perpetual funding per UTC day and source (% per 8h), one daily definition for every source:
--   the funding rate at the day's CLOSE, i.e. of the day's last settlement.
--   keyless fallback: each venue's last 8h settlement of the UTC day (16:00 UTC), weighted across venues by
--                     the venue's OI in USD at the day's close (equal weights on days a venue has no OI),
--                     over the venues present that day (Binance, Bybit, OKX; `venues` names them)
--   CoinGlass:        the close of its OI-weighted daily bar
-- Why the close and not the day's mean: CoinGlass's history gives daily OHLC bars only, so a mean of the
-- day's settlements cannot be computed for it; the close can be computed the same way for every source
-- (docs/derivatives.md, "One daily definition of funding").
-- One row per day and source kind (coinglass, keyless); int_futures_funding__daily picks one per day and the
-- cross-source test compares the two on this same formula. is_derived: an input of the day is derived
-- (replay provenance; a venue's OI counts only as a weight across venues); venues: which venues the figure covers.
with

coinglass as (select * from {{ ref('stg_coinglass__futures_funding') }}),
binance as (select * from {{ ref('stg_binance__futures_funding') }}),
bybit as (select * from {{ ref('stg_bybit__futures_funding') }}),
okx as (select * from {{ ref('stg_okx__futures_funding') }}),
venue_oi as (select * from {{ ref('int_futures_open_interest__by_venue') }}),

settlements as (
    select funding_date, funding_at, venue, funding_rate_pct_8h, is_derived from binance
    union all
    select funding_date, funding_at, venue, funding_rate_pct_8h, is_derived from bybit
    union all
    select funding_date, funding_at, venue, funding_rate_pct_8h, is_derived from okx
),

venue_day as (
    select
        funding_date,
        venue,
        arg_max(funding_rate_pct_8h, funding_at)                        as funding_pct_8h,
        count(*)                                                        as settlements,
        bool_or(is_derived)                                             as is_derived
    from settlements
    group by funding_date, venue
),

keyless as (
    select
        venue_day.funding_date,
        case when count(venue_oi.oi_usd) = count(*)
             then sum(venue_day.funding_pct_8h * venue_oi.oi_usd) / sum(venue_oi.oi_usd)
             else avg(venue_day.funding_pct_8h) end                     as funding_pct_8h,
        count(venue_oi.oi_usd) = count(*)                               as is_oi_weighted,
        string_agg(venue_day.venue, '+' order by venue_day.venue)       as source,
        string_agg(venue_day.venue, '+' order by venue_day.venue)       as venues,
        -- a venue's OI is an input only as a weight across two or more venues (one venue: its funding alone)
        bool_or(venue_day.is_derived)
            or (count(*) > 1 and bool_or(coalesce(venue_oi.is_derived, false)))
                                                                        as is_derived,
        nullif(concat_ws(', ',
            string_agg(case when venue_day.is_derived then venue_day.venue || ' funding' end, ', '
                       order by venue_day.venue),
            case when count(*) > 1
                 then string_agg(case when venue_oi.is_derived then venue_day.venue || ' OI (weight)' end, ', '
                                 order by venue_day.venue) end), '')    as derived_inputs
    from venue_day
    left join venue_oi on venue_oi.oi_date = venue_day.funding_date and venue_oi.venue = venue_day.venue
    group by venue_day.funding_date
),

candidates as (
    select
        funding_date,
        funding_close_pct_8h                                            as funding_pct_8h,
        true                                                            as is_oi_weighted,
        'coinglass'                                                     as source_kind,
        'coinglass'                                                     as source,
        'all exchanges (CoinGlass OI-weighted)'                         as venues,
        is_derived,
        case when is_derived then 'CoinGlass funding' end               as derived_inputs,
        1                                                               as preference
    from coinglass
    union all by name
    select funding_date, 'keyless' as source_kind, funding_pct_8h, is_oi_weighted, source, venues, is_derived,
           derived_inputs, 2 as preference
    from keyless
),

final as (select * from candidates)

select * from final
