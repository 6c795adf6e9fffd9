-- Dashboard rows for macro risk appetite (DESIGN.md §1), one per calendar day. Reads the carried-forward
-- closes of int_macro__daily: weekends and holidays show the latest trading day's reading.
-- Bull: at least bull_min_equities_above of the four equity indices above their 20d MA, and the dollar
-- index and the 10y yield not rising over the 5-day lookback. Bear: at least bear_min_equities_below of
-- them below their 20d MA, or the dollar / 10y yield rising sharply over the lookback.
with

calendar as (select * from {{ ref('int_calendar__days') }}),
macro as (select * from {{ ref('int_macro__daily') }}),
freshness as (select * from {{ ref('source_freshness') }} where source_key = 'macro'),

rules as (
    select
        {{ rule('macro', 'equity_ma_days') }}             as ma_days,
        {{ rule('macro', 'rising_lookback_days') }}       as lookback_days,
        {{ rule('macro', 'dollar_sharp_rise_pct') }}      as dollar_sharp_pct,
        {{ rule('macro', 'yield_sharp_rise_bp') }}        as yield_sharp_bp,
        {{ rule('macro', 'bull_min_equities_above') }}    as bull_min_above,
        {{ rule('macro', 'bear_min_equities_below') }}    as bear_min_below
),

per_day as (
    select
        as_of_date,
        count(*) filter (where series in ('sp500', 'nasdaq_composite', 'dow_jones', 'sox') and is_above_ma_20d)
                                                                            as equities_above_ma,
        count(*) filter (where series in ('sp500', 'nasdaq_composite', 'dow_jones', 'sox') and not is_above_ma_20d)
                                                                            as equities_below_ma,
        count(*) filter (where series in ('sp500', 'nasdaq_composite', 'dow_jones', 'sox') and is_above_ma_20d is not null)
                                                                            as equities_with_ma,
        max(change_5d_pct) filter (where series = 'dollar_index')           as dollar_change_5d_pct,
        max(change_5d_bp) filter (where series = 'us10y_yield')             as yield_change_5d_bp,
        max(change_1d_pct) filter (where series = 'sp500')                  as sp500_1d_pct,
        max(change_1d_pct) filter (where series = 'nasdaq_composite')       as nasdaq_1d_pct,
        max(change_1d_pct) filter (where series = 'dow_jones')              as dow_1d_pct,
        max(change_1d_pct) filter (where series = 'sox')                    as sox_1d_pct,
        max(change_1d_pct) filter (where series = 'gold')                   as gold_1d_pct,
        max(change_1d_pct) filter (where series = 'silver')                 as silver_1d_pct,
        max(change_1d_pct) filter (where series = 'dollar_index')           as dollar_1d_pct,
        max(change_1d_bp) filter (where series = 'us10y_yield')             as yield_1d_bp,
        max(obs_date) filter (where series = 'sp500')                       as sp500_obs_date,
        min(obs_date)                                                       as oldest_obs_date,
        count(obs_date)                                                     as series_present,
        string_agg(distinct source, '+' order by source)                    as sources
    from macro
    group by as_of_date
),

joined as (
    select
        c.as_of_date,
        d.* exclude (as_of_date),
        r.*
    from calendar as c
    left join per_day as d on d.as_of_date = c.as_of_date
    cross join rules as r
),

classified as (
    select
        *,
        coalesce(dollar_change_5d_pct >= dollar_sharp_pct, false)      as is_dollar_sharp,
        coalesce(yield_change_5d_bp >= yield_sharp_bp, false)          as is_yield_sharp,
        case
            when coalesce(series_present, 0) = 0 then 'neutral'
            when equities_below_ma >= bear_min_below
                 or coalesce(dollar_change_5d_pct >= dollar_sharp_pct, false)
                 or coalesce(yield_change_5d_bp >= yield_sharp_bp, false)       then 'bear_continuation'
            when equities_above_ma >= bull_min_above
                 and dollar_change_5d_pct <= 0
                 and yield_change_5d_bp <= 0                                    then 'bull_confirmation'
            else 'neutral'
        end as status
    from joined
),

final as (
    select
        as_of_date,
        'macro_risk_appetite'                                   as indicator,
        'macro'                                                 as category,
        cast(equities_above_ma as double)                       as reading,
        'equity indices above 20d MA (of 4)'                    as reading_unit,
        case when coalesce(series_present, 0) = 0 then 'no data'
             else equities_above_ma || '/4 equities above ' || cast(ma_days as integer) || 'd MA; closes of '
                  || coalesce(strftime(sp500_obs_date, '%Y-%m-%d'), 'n/a') || ' d/d: '
                  || 'S&P ' || coalesce(printf('%+.2f%%', sp500_1d_pct), 'n/a')
                  || ', Nasdaq ' || coalesce(printf('%+.2f%%', nasdaq_1d_pct), 'n/a')
                  || ', Dow ' || coalesce(printf('%+.2f%%', dow_1d_pct), 'n/a')
                  || ', SOX ' || coalesce(printf('%+.2f%%', sox_1d_pct), 'n/a')
                  || ', gold ' || coalesce(printf('%+.2f%%', gold_1d_pct), 'n/a')
                  || ', silver ' || coalesce(printf('%+.2f%%', silver_1d_pct), 'n/a')
                  || ', dollar ' || coalesce(printf('%+.2f%%', dollar_1d_pct), 'n/a')
                  || ', 10y ' || coalesce(printf('%+.0fbp', yield_1d_bp), 'n/a')
                  || '; ' || cast(lookback_days as integer) || 'd: dollar '
                  || coalesce(printf('%+.2f%%', dollar_change_5d_pct), 'n/a')
                  || ', 10y ' || coalesce(printf('%+.0fbp', yield_change_5d_bp), 'n/a')
        end                                                     as reading_text,
        status,
        case
            when coalesce(series_present, 0) = 0 then 'no macro closes on or before this day'
            when status = 'bear_continuation' then
                'risk-off: '
                || concat_ws('; ',
                    case when equities_below_ma >= bear_min_below then
                        equities_below_ma || ' of 4 equity indices below their ' || cast(ma_days as integer)
                        || 'd MA (bear at >= ' || cast(bear_min_below as integer) || ')' end,
                    case when is_dollar_sharp then 'dollar index ' || printf('%+.2f%%', dollar_change_5d_pct)
                        || ' over ' || cast(lookback_days as integer) || 'd (sharp at >= '
                        || printf('%+.2f%%', dollar_sharp_pct) || ')' end,
                    case when is_yield_sharp then '10y yield ' || printf('%+.0fbp', yield_change_5d_bp)
                        || ' over ' || cast(lookback_days as integer) || 'd (sharp at >= '
                        || printf('%+.0fbp', yield_sharp_bp) || ')' end)
            when status = 'bull_confirmation' then
                'risk appetite holds: ' || equities_above_ma || ' of 4 equity indices above their '
                || cast(ma_days as integer) || 'd MA (bull at >= ' || cast(bull_min_above as integer)
                || '), dollar ' || printf('%+.2f%%', dollar_change_5d_pct) || ' and 10y '
                || printf('%+.0fbp', yield_change_5d_bp) || ' over ' || cast(lookback_days as integer)
                || 'd (not rising)'
            else
                'neither rule fired: ' || equities_above_ma || ' above / ' || equities_below_ma || ' below the '
                || cast(ma_days as integer) || 'd MA of ' || equities_with_ma || ' equity indices with a full window'
                || '; dollar ' || coalesce(printf('%+.2f%%', dollar_change_5d_pct), 'n/a') || ', 10y '
                || coalesce(printf('%+.0fbp', yield_change_5d_bp), 'n/a') || ' over '
                || cast(lookback_days as integer) || 'd'
                || case when series_present < 8 then ' (' || series_present || ' of 8 series available)' else '' end
        end                                                     as rule,
        sources                                                 as source,
        oldest_obs_date                                         as source_as_of,
        oldest_obs_date is null
            or datediff('day', oldest_obs_date, as_of_date) > (select max_lag_days from freshness)
                                                                as is_stale
    from classified
)

select * from final
