-- One row per calendar day and macro series: the latest close on or before the day, carried forward
-- explicitly over weekends and holidays (is_carried_forward, obs_date = the trading day it comes from),
-- with the moving average and the changes measured over the series' own trading days.
with

calendar as (select * from {{ ref('int_calendar__days') }}),
fred as (select * from {{ ref('stg_fred__macro_closes') }}),
stooq as (select * from {{ ref('stg_stooq__macro_closes') }}),

observations as (
    select obs_date, series, symbol, close_value, source from fred
    union all
    select obs_date, series, symbol, close_value, source from stooq
),

rules as (
    select
        cast({{ rule('macro', 'equity_ma_days') }} as integer)         as ma_days,
        cast({{ rule('macro', 'rising_lookback_days') }} as integer)   as lookback_days
),

numbered as (
    select
        *,
        row_number() over (partition by series order by obs_date) as obs_number
    from observations
),

-- moving average over the last ma_days observations; null until a full window exists
moving_average as (
    select
        o.series,
        o.obs_date,
        avg(w.close_value)  as ma_close_value,
        count(*)            as ma_observations
    from numbered as o
    cross join rules as r
    inner join numbered as w
        on w.series = o.series
        and w.obs_number between o.obs_number - r.ma_days + 1 and o.obs_number
    group by o.series, o.obs_date, r.ma_days
    having count(*) = r.ma_days
),

features as (
    select
        o.obs_date,
        o.series,
        o.symbol,
        o.source,
        o.close_value,
        prev.obs_date                                       as previous_obs_date,
        prev.close_value                                    as previous_close_value,
        back.obs_date                                       as lookback_obs_date,
        back.close_value                                    as lookback_close_value,
        ma.ma_close_value                                   as ma_20d_value,
        100 * (o.close_value / prev.close_value - 1)        as change_1d_pct,
        100 * (o.close_value / back.close_value - 1)        as change_5d_pct,
        -- for the yield (a percentage): the changes in basis points; null for prices
        case when o.series = 'us10y_yield' then 100 * (o.close_value - back.close_value) end
                                                            as change_5d_bp,
        case when o.series = 'us10y_yield' then 100 * (o.close_value - prev.close_value) end
                                                            as change_1d_bp,
        o.close_value > ma.ma_close_value                   as is_above_ma_20d
    from numbered as o
    cross join rules as r
    left join numbered as prev
        on prev.series = o.series and prev.obs_number = o.obs_number - 1
    left join numbered as back
        on back.series = o.series and back.obs_number = o.obs_number - r.lookback_days
    left join moving_average as ma
        on ma.series = o.series and ma.obs_date = o.obs_date
),

series_list as (
    select distinct series from observations
),

spine as (
    select c.as_of_date, s.series
    from calendar as c
    cross join series_list as s
),

carried as (
    select
        s.as_of_date,
        s.series,
        f.*  exclude (series)
    from spine as s
    asof left join features as f
        on f.series = s.series and s.as_of_date >= f.obs_date
),

final as (
    select
        as_of_date,
        series,
        symbol,
        source,
        obs_date,
        obs_date is not null and obs_date <> as_of_date     as is_carried_forward,
        close_value,
        previous_obs_date,
        previous_close_value,
        change_1d_pct,
        change_1d_bp,
        ma_20d_value,
        is_above_ma_20d,
        lookback_obs_date,
        change_5d_pct,
        change_5d_bp
    from carried
)

select * from final
