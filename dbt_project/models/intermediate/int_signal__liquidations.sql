-- Dashboard rows for futures liquidations (DESIGN.md §1), one per calendar day. Context only: there is
-- no bull rule. Bear continuation on a cascade day: total liquidations >= the cascade total, or long
-- liquidations >= the multiple of their median over the previous N days.
with

calendar as (select * from {{ ref('int_calendar__days') }}),
daily as (select * from {{ ref('int_futures_liquidations__daily') }}),
freshness as (select * from {{ ref('source_freshness') }} where source_key = 'futures_liquidations'),

as_of as (
    select
        c.as_of_date,
        d.*
    from calendar as c
    asof left join daily as d
        on c.as_of_date >= d.liquidation_date
),

rules as (
    select
        {{ rule('liquidations', 'cascade_total_usd') }}      as cascade_total_usd,
        {{ rule('liquidations', 'cascade_long_multiple') }}  as cascade_long_multiple,
        {{ rule('liquidations', 'median_window_days') }}     as median_window_days
),

classified as (
    select
        a.*,
        r.*,
        case
            when a.liquidation_date is null then 'neutral'
            when a.is_total_cascade or a.is_long_cascade then 'bear_continuation'
            else 'neutral'
        end as status
    from as_of as a
    cross join rules as r
),

final as (
    select
        as_of_date,
        'liquidations'                                          as indicator,
        'leverage'                                              as category,
        total_liquidation_usd                                   as reading,
        'usd'                                                   as reading_unit,
        case when liquidation_date is null then 'no data'
             else printf('%,.1f', total_liquidation_usd / 1e6) || 'M USD on ' || strftime(liquidation_date, '%Y-%m-%d')
                  || ' (long ' || printf('%,.1f', long_liquidation_usd / 1e6) || 'M, short '
                  || printf('%,.1f', short_liquidation_usd / 1e6) || 'M; long '
                  || coalesce(printf('%.1f', long_multiple_of_median) || 'x', 'n/a') || ' its '
                  || cast(median_window_days as integer) || 'd median; ' || venue || ')'
        end                                                     as reading_text,
        status,
        case
            when liquidation_date is null then 'no liquidation data on or before this day (needs a CoinGlass API key)'
            when is_total_cascade then
                'cascade day: total liquidations ' || printf('%,.0f', total_liquidation_usd / 1e6) || 'M USD >= '
                || printf('%,.0f', cascade_total_usd / 1e6) || 'M'
            when is_long_cascade then
                'cascade day: long liquidations ' || printf('%,.1f', long_liquidation_usd / 1e6) || 'M USD = '
                || printf('%.1f', long_multiple_of_median) || 'x their ' || cast(median_window_days as integer)
                || '-day median (' || printf('%,.1f', long_median_prior_usd / 1e6) || 'M) >= '
                || printf('%.0f', cascade_long_multiple) || 'x'
            else
                'no cascade (context only): total ' || printf('%,.1f', total_liquidation_usd / 1e6) || 'M < '
                || printf('%,.0f', cascade_total_usd / 1e6) || 'M and long '
                || coalesce(printf('%.1f', long_multiple_of_median) || 'x', 'n/a') || ' < '
                || printf('%.0f', cascade_long_multiple) || 'x the ' || cast(median_window_days as integer) || '-day median'
        end                                                     as rule,
        source,
        liquidation_date                                        as source_as_of,
        liquidation_date is null
            or datediff('day', liquidation_date, as_of_date) > (select max_lag_days from freshness)
                                                                as is_stale
    from classified
)

select * from final
