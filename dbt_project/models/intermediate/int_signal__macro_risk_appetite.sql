-- Dashboard rows for macro risk appetite, one per calendar day (rules: docs/macro_and_regime.md). Reads the carried-forward
-- closes of int_macro__daily: weekends and holidays show the latest trading day's reading.
-- Bull: at least bull_min_equities_above of the four equity indices above their 20d MA, and the dollar
-- index and the 10y yield not rising over the 5-day lookback. Bear: at least bear_min_equities_below of
-- them below their 20d MA, or the dollar / 10y yield rising sharply over the lookback.
with

calendar as (select * from {{ ref('int_calendar__days') }}),
macro as (select * from {{ ref('int_macro__daily') }}),

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
        calendar.as_of_date,
        per_day.* exclude (as_of_date),
        rules.*
    from calendar
    left join per_day on per_day.as_of_date = calendar.as_of_date
    cross join rules
),

classified as (
    select
        *,
        coalesce(dollar_change_5d_pct >= dollar_sharp_pct, false)      as is_dollar_sharp,
        coalesce(yield_change_5d_bp >= yield_sharp_bp, false)          as is_yield_sharp,
        case
            when coalesce(series_present, 0) = 0 then 'no_data'
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
             else equities_above_ma || '/4 equities above ' || {{ fmt_int('ma_days') }} || 'd MA; closes of '
                  || {{ fmt_date('sp500_obs_date') }} || ' d/d: '
                  || 'S&P ' || {{ fmt_pct('sp500_1d_pct', 2, space=false) }}
                  || ', Nasdaq ' || {{ fmt_pct('nasdaq_1d_pct', 2, space=false) }}
                  || ', Dow ' || {{ fmt_pct('dow_1d_pct', 2, space=false) }}
                  || ', SOX ' || {{ fmt_pct('sox_1d_pct', 2, space=false) }}
                  || ', gold ' || {{ fmt_pct('gold_1d_pct', 2, space=false) }}
                  || ', silver ' || {{ fmt_pct('silver_1d_pct', 2, space=false) }}
                  || ', dollar ' || {{ fmt_pct('dollar_1d_pct', 2, space=false) }}
                  || ', 10y ' || {{ fmt_num('yield_1d_bp', 0) }} || 'bp'
                  || '; ' || {{ fmt_int('lookback_days') }} || 'd: dollar '
                  || {{ fmt_pct('dollar_change_5d_pct', 2, space=false) }}
                  || ', 10y ' || {{ fmt_num('yield_change_5d_bp', 0) }} || 'bp'
        end                                                     as reading_text,
        status,
        case
            when coalesce(series_present, 0) = 0 then 'no macro closes on or before this day'
            when status = 'bear_continuation' then
                'risk-off: '
                || concat_ws('; ',
                    case when equities_below_ma >= bear_min_below then
                        equities_below_ma || ' of 4 equity indices below their ' || {{ fmt_int('ma_days') }}
                        || 'd MA (bear at >= ' || {{ fmt_int('bear_min_below') }} || ')' end,
                    case when is_dollar_sharp then 'dollar index ' || {{ fmt_pct('dollar_change_5d_pct', 2, space=false) }}
                        || ' over ' || {{ fmt_int('lookback_days') }} || 'd (sharp at >= '
                        || {{ fmt_pct('dollar_sharp_pct', 2, space=false) }} || ')' end,
                    case when is_yield_sharp then '10y yield ' || {{ fmt_num('yield_change_5d_bp', 0) }} || 'bp'
                        || ' over ' || {{ fmt_int('lookback_days') }} || 'd (sharp at >= '
                        || {{ fmt_num('yield_sharp_bp', 0) }} || 'bp' || ')' end)
            when status = 'bull_confirmation' then
                'risk appetite holds: ' || equities_above_ma || ' of 4 equity indices above their '
                || {{ fmt_int('ma_days') }} || 'd MA (bull at >= ' || {{ fmt_int('bull_min_above') }}
                || '), dollar ' || {{ fmt_pct('dollar_change_5d_pct', 2, space=false) }} || ' and 10y '
                || {{ fmt_num('yield_change_5d_bp', 0) }} || 'bp' || ' over ' || {{ fmt_int('lookback_days') }}
                || 'd (not rising)'
            else
                'neutral: ' || equities_above_ma || ' above / ' || equities_below_ma || ' below the '
                || {{ fmt_int('ma_days') }} || 'd MA of ' || equities_with_ma || ' equity indices with a full window'
                || '; dollar ' || {{ fmt_pct('dollar_change_5d_pct', 2, space=false) }} || ', 10y '
                || {{ fmt_num('yield_change_5d_bp', 0) }} || 'bp' || ' over '
                || {{ fmt_int('lookback_days') }} || 'd'
                || case when series_present < 8 then ' (' || series_present || ' of 8 series available)' else '' end
        end                                                     as rule,
        sources                                                 as source,
        oldest_obs_date                                         as source_as_of,
        'macro'                                                 as freshness_key,
        false                                                   as is_derived,
        cast(null as varchar)                                   as derived_inputs,
        case when coalesce(series_present, 0) = 0 then 'macro closes (none on or before this day)'
             when series_present < 8 then (8 - series_present) || ' of the 8 macro series' end
                                                                as missing_inputs
    from classified
)

select * from final
