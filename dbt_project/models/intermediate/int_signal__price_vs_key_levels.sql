-- Dashboard rows for BTC's daily close against the configured levels (DESIGN.md §1), one per calendar day.
-- Bull: close above the key level. Bear: close below the bottom of the support band. Else neutral.
with

calendar as (select * from {{ ref('int_calendar__days') }}),
price as (select * from {{ ref('int_btc_price__daily') }}),
freshness as (select * from {{ ref('source_freshness') }} where source_key = 'btc_price'),

as_of as (
    select
        c.as_of_date,
        p.*
    from calendar as c
    asof left join price as p
        on c.as_of_date >= p.price_date
),

rules as (
    select
        {{ rule('price', 'key_level_usd') }}            as key_level_usd,
        {{ rule('price', 'support_band_low_usd') }}     as band_low_usd,
        {{ rule('price', 'support_band_high_usd') }}    as band_high_usd
),

classified as (
    select
        a.*,
        r.*,
        case
            when a.price_date is null then 'neutral'
            when a.close_usd > r.key_level_usd then 'bull_confirmation'
            when a.close_usd < r.band_low_usd then 'bear_continuation'
            else 'neutral'
        end as status
    from as_of as a
    cross join rules as r
),

final as (
    select
        as_of_date,
        'price_vs_key_levels'                                   as indicator,
        'price'                                                 as category,
        close_usd                                               as reading,
        'usd'                                                   as reading_unit,
        case when price_date is null then 'no data'
             else 'close ' || printf('%,.0f', close_usd) || ' USD on ' || strftime(price_date, '%Y-%m-%d')
                  || ' (' || coalesce(printf('%+.2f%%', 100 * return_1d), 'n/a') || ' d/d; high '
                  || printf('%,.0f', high_usd) || ', low ' || printf('%,.0f', low_usd) || ')'
        end                                                     as reading_text,
        status,
        case
            when price_date is null then 'no BTC price on or before this day'
            when status = 'bull_confirmation' then
                'close ' || printf('%,.0f', close_usd) || ' above the key level ' || printf('%,.0f', key_level_usd)
            when status = 'bear_continuation' then
                'close ' || printf('%,.0f', close_usd) || ' below the support band '
                || printf('%,.0f', band_low_usd) || '-' || printf('%,.0f', band_high_usd)
            else
                'close ' || printf('%,.0f', close_usd) || ' between the band bottom ' || printf('%,.0f', band_low_usd)
                || ' and the key level ' || printf('%,.0f', key_level_usd) || ' (band top '
                || printf('%,.0f', band_high_usd) || ')'
        end                                                     as rule,
        source,
        price_date                                              as source_as_of,
        price_date is null
            or datediff('day', price_date, as_of_date) > (select max_lag_days from freshness)
                                                                as is_stale
    from classified
)

select * from final
