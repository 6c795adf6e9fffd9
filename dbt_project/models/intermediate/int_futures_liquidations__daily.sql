-- BTC futures liquidations per day (USD) with the 30-day median of long liquidations (the previous
-- N days, N from the seed, excluding the day itself) and the cascade flags (docs/derivatives.md).
with

liquidations as (select * from {{ ref('stg_coinglass__futures_liquidations') }}),
rules as (
    select
        {{ rule('liquidations', 'cascade_total_usd') }}      as cascade_total_usd,
        {{ rule('liquidations', 'cascade_long_multiple') }}  as cascade_long_multiple,
        {{ rule('liquidations', 'median_window_days') }}     as median_window_days
),

-- one series: the venue set with the most days (normally the only one)
venue as (
    select venue from liquidations group by venue order by count(*) desc, venue limit 1
),

daily as (
    select l.*
    from liquidations as l
    join venue as v on v.venue = l.venue
),

with_median as (
    select
        d.*,
        (select median(p.long_liquidation_usd)
         from daily as p
         where p.liquidation_date < d.liquidation_date
           and p.liquidation_date >= d.liquidation_date - cast(r.median_window_days as integer))  as long_median_prior_usd,
        (select count(*)
         from daily as p
         where p.liquidation_date < d.liquidation_date
           and p.liquidation_date >= d.liquidation_date - cast(r.median_window_days as integer))  as median_days
    from daily as d
    cross join rules as r
),

final as (
    select
        m.liquidation_date,
        m.venue,
        m.long_liquidation_usd,
        m.short_liquidation_usd,
        m.long_liquidation_usd + m.short_liquidation_usd                       as total_liquidation_usd,
        m.long_median_prior_usd,
        m.median_days,
        m.long_liquidation_usd / nullif(m.long_median_prior_usd, 0)            as long_multiple_of_median,
        m.long_liquidation_usd + m.short_liquidation_usd >= r.cascade_total_usd as is_total_cascade,
        coalesce(m.long_liquidation_usd >= r.cascade_long_multiple * m.long_median_prior_usd
                 and m.median_days >= cast(r.median_window_days as integer) / 2, false) as is_long_cascade,
        m.is_derived,
        m.source
    from with_median as m
    cross join rules as r
)

select * from final
