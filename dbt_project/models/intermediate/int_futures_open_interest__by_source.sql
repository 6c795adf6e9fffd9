-- Aggregated BTC futures OI per day and source kind (USD at the day's close) with 7d/30d changes computed
-- within each source's own series: CoinGlass's all-exchange aggregate, and the keyless fallback (the venues
-- present that day summed: Binance, Bybit, OKX; Bybit's BTC valued at the BTC close). The keyless `source` is
-- the day's venue set (e.g. binance+bybit+okx) and changes compare the same venue set only; `venues` says so.
-- int_futures_open_interest__daily picks one per day; the cross-source test compares the two here.
with

coinglass as (select * from {{ ref('stg_coinglass__futures_open_interest') }}),
by_venue as (select * from {{ ref('int_futures_open_interest__by_venue') }}),

keyless as (
    select
        oi_date,
        sum(oi_usd)                                                         as oi_usd,
        count(*)                                                            as venue_count,
        string_agg(venue, '+' order by venue)                               as source,
        bool_or(is_derived)                                                 as is_derived,
        string_agg(case when is_derived then venue || ' OI' end, ', ' order by venue)
                                                                            as derived_inputs
    from by_venue
    where oi_usd is not null
    group by oi_date
),

series as (
    select oi_date, oi_close_usd as oi_usd, 0 as venue_count, 'coinglass' as source_kind, 'coinglass' as source,
           'all exchanges (CoinGlass aggregate)' as venues, is_derived,
           case when is_derived then 'CoinGlass OI' end as derived_inputs, 1 as preference
    from coinglass
    union all by name
    select oi_date, oi_usd, venue_count, 'keyless' as source_kind, source,
           source || ' only (keyless: ' || venue_count || case when venue_count = 1 then ' venue' else ' venues' end
           || ', not the whole market)' as venues, is_derived, derived_inputs,
           2 as preference
    from keyless
),

with_changes as (
    select
        series.* exclude (is_derived, derived_inputs),
        week_ago.oi_usd                                                     as oi_usd_7d_ago,
        month_ago.oi_usd                                                    as oi_usd_30d_ago,
        -- the changes read the day 7 and 30 days earlier too: a derived one makes the row derived
        series.is_derived or coalesce(week_ago.is_derived, false) or coalesce(month_ago.is_derived, false)
                                                                            as is_derived,
        nullif(concat_ws(', ',
            series.derived_inputs,
            case when week_ago.is_derived then week_ago.derived_inputs || ' 7 days earlier' end,
            case when month_ago.is_derived then month_ago.derived_inputs || ' 30 days earlier' end), '')
                                                                            as derived_inputs
    from series
    left join series as week_ago
        on week_ago.source = series.source and week_ago.oi_date = series.oi_date - interval 7 day
    left join series as month_ago
        on month_ago.source = series.source and month_ago.oi_date = series.oi_date - interval 30 day
),

final as (select * from with_changes)

select * from final
