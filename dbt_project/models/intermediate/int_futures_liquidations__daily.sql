-- BTC futures liquidations per day (USD; CoinGlass, or OKX collected live without a key) with the 30-day median of long liquidations (the previous
-- N days, N from the seed, excluding the day itself) and the cascade flags (docs/derivatives.md).
with

coinglass as (select * from {{ ref('stg_coinglass__futures_liquidations') }}),
okx as (select * from {{ ref('stg_okx__futures_liquidations') }}),
rules as (
    select
        {{ rule('liquidations', 'cascade_total_usd') }}      as cascade_total_usd,
        {{ rule('liquidations', 'cascade_long_multiple') }}  as cascade_long_multiple,
        {{ rule('liquidations', 'median_window_days') }}     as median_window_days
),

liquidations as (
    select * from coinglass
    union all by name
    select * from okx
),

-- one series: the venue set with the most days (CoinGlass's with a key; OKX's keyless live collection otherwise)
venue as (
    select venue from liquidations group by venue order by count(*) desc, venue limit 1
),

daily as (
    select liquidations.*
    from liquidations
    join venue on venue.venue = liquidations.venue
),

with_median as (
    select
        daily.*,
        (select median(prior_day.long_liquidation_usd)
         from daily as prior_day
         where prior_day.liquidation_date < daily.liquidation_date
           and prior_day.liquidation_date >= daily.liquidation_date - cast(rules.median_window_days as integer))  as long_median_prior_usd,
        (select count(*)
         from daily as prior_day
         where prior_day.liquidation_date < daily.liquidation_date
           and prior_day.liquidation_date >= daily.liquidation_date - cast(rules.median_window_days as integer))  as median_days
    from daily
    cross join rules
),

final as (
    select
        with_median.liquidation_date,
        with_median.venue,
        with_median.long_liquidation_usd,
        with_median.short_liquidation_usd,
        with_median.long_liquidation_usd + with_median.short_liquidation_usd                       as total_liquidation_usd,
        with_median.long_median_prior_usd,
        with_median.median_days,
        with_median.long_liquidation_usd / nullif(with_median.long_median_prior_usd, 0)            as long_multiple_of_median,
        with_median.long_liquidation_usd + with_median.short_liquidation_usd >= rules.cascade_total_usd as is_total_cascade,
        coalesce(with_median.long_liquidation_usd >= rules.cascade_long_multiple * with_median.long_median_prior_usd
                 and with_median.median_days >= cast(rules.median_window_days as integer) / 2, false) as is_long_cascade,
        with_median.is_derived,
        with_median.source
    from with_median
    cross join rules
)

select * from final
