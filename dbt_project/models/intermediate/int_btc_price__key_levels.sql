-- The price levels every rule reads, per UTC day: a dated level set from the key_levels seed where one is
-- valid on that day (valid_from .. valid_to inclusive, with where it came from), else levels derived from
-- the data: the range of the previous N daily closes (N = signal_rules price.derived_range_days):
--   key level          = the highest close of the previous N days (the range top to break out of)
--   support band low   = the lowest close of the previous N days (the range bottom)
--   support band high  = the key level (the band is the whole recent range)
-- Why a range and not a moving average: docs/signals.md ("price vs key levels").
with

price as (select * from {{ ref('int_btc_price__daily') }}),
dated as (select * from {{ ref('key_levels') }}),
rules as (
    select {{ rule('price', 'derived_range_days') }} as range_days
),

prior_range as (
    select
        price.price_date,
        max(prior_day.close_usd)                                        as range_high_usd,
        min(prior_day.close_usd)                                        as range_low_usd,
        count(prior_day.close_usd)                                      as range_days_covered
    from price
    cross join rules
    inner join price as prior_day
        on prior_day.price_date >= price.price_date - cast(rules.range_days as integer)
       and prior_day.price_date < price.price_date
    group by price.price_date
),

ranged as (
    select
        price.*,
        prior_range.range_high_usd,
        prior_range.range_low_usd,
        coalesce(prior_range.range_days_covered, 0)                     as range_days_covered
    from price
    left join prior_range using (price_date)
),

final as (
    select
        ranged.price_date,
        ranged.close_usd,
        ranged.high_usd,
        ranged.low_usd,
        ranged.return_1d,
        ranged.source,
        dated.level_set is not null                                     as is_dated_level,
        coalesce(dated.key_level_usd, ranged.range_high_usd)            as key_level_usd,
        coalesce(dated.support_band_low_usd, ranged.range_low_usd)      as support_band_low_usd,
        coalesce(dated.support_band_high_usd, ranged.range_high_usd)    as support_band_high_usd,
        case when dated.level_set is not null
             then 'dated levels ' || dated.level_set || ' (valid ' || {{ fmt_date('dated.valid_from') }} || ' to '
                  || {{ fmt_date('dated.valid_to') }} || '; ' || dated.origin || ')'
             else 'derived: range of the previous ' || {{ fmt_int('rules.range_days') }} || ' daily closes'
        end                                                             as level_origin,
        dated.level_set is not null or ranged.range_days_covered >= rules.range_days
                                                                        as has_levels
    from ranged
    cross join rules
    left join dated on ranged.price_date between dated.valid_from and dated.valid_to
)

select * from final
