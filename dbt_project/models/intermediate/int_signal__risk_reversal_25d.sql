-- Dashboard rows for the 25-delta risk reversal (DESIGN.md §1), one per calendar day.
-- Reading: the 7-day constant-maturity 25d RR (call IV - put IV, vol points); the text adds the 30-day one.
-- Deribit serves only the current chain: a day without a snapshot reads null with the reason (and DVOL
-- as context); a snapshot that cannot produce the 7-day value reads null with the computation's reason.
-- Streaks count consecutive calendar days with a snapshot; a day without one breaks them.
with

calendar as (select * from {{ ref('int_calendar__days') }}),
daily as (select * from {{ ref('int_options__daily') }}),
dvol as (select * from {{ ref('stg_deribit__dvol') }}),
freshness as (select * from {{ ref('source_freshness') }} where source_key = 'deribit_options'),

rules as (
    select
        {{ rule('risk_reversal_25d', 'bull_min_vol_pts') }}   as bull_min_vol_pts,
        {{ rule('risk_reversal_25d', 'bull_hold_days') }}     as bull_hold_days,
        {{ rule('risk_reversal_25d', 'bear_max_vol_pts') }}   as bear_max_vol_pts,
        {{ rule('risk_reversal_25d', 'bear_persist_days') }}  as bear_persist_days
),

bounds as (
    select min(snapshot_date) as first_snapshot_date, min(c.as_of_date) as first_calendar_date
    from calendar as c
    left join daily as d on d.snapshot_date = c.as_of_date
),

spine as (
    select
        c.as_of_date,
        d.*,
        v.dvol_date,
        v.dvol_close_pct,
        max(d.snapshot_date) over (order by c.as_of_date rows between unbounded preceding and current row)
                                                                    as last_snapshot_date
    from calendar as c
    left join daily as d on d.snapshot_date = c.as_of_date
    asof left join dvol as v on c.as_of_date >= v.dvol_date
),

flagged as (
    select
        s.*,
        r.*,
        b.first_snapshot_date,
        b.first_calendar_date,
        coalesce(s.rr_25d_7d_vol_pts >= r.bull_min_vol_pts, false) as is_bull_day,
        coalesce(s.rr_25d_7d_vol_pts <= r.bear_max_vol_pts, false) as is_bear_day
    from spine as s
    cross join rules as r
    cross join bounds as b
),

streaks as (
    select
        *,
        datediff('day',
            coalesce(max(case when not is_bull_day then as_of_date end)
                over (order by as_of_date rows between unbounded preceding and current row),
                first_calendar_date - 1),
            as_of_date)                                             as bull_streak_days,
        datediff('day',
            coalesce(max(case when not is_bear_day then as_of_date end)
                over (order by as_of_date rows between unbounded preceding and current row),
                first_calendar_date - 1),
            as_of_date)                                             as bear_streak_days
    from flagged
),

classified as (
    select
        *,
        case
            when rr_25d_7d_vol_pts is null then 'neutral'
            when bear_streak_days >= bear_persist_days then 'bear_continuation'
            when bull_streak_days >= bull_hold_days then 'bull_confirmation'
            else 'neutral'
        end                                                         as status,
        case when dvol_close_pct is null then ''
             else '; DVOL ' || printf('%.1f', dvol_close_pct) || ' on ' || strftime(dvol_date, '%Y-%m-%d')
        end                                                         as dvol_text
    from streaks
),

final as (
    select
        as_of_date,
        'risk_reversal_25d'                                         as indicator,
        'options'                                                   as category,
        rr_25d_7d_vol_pts                                           as reading,
        'vol_pts'                                                   as reading_unit,
        case
            when snapshot_date is null then 'no chain snapshot' || dvol_text
            when rr_25d_7d_vol_pts is null then 'n/a (no 7d value)'
                || coalesce('; 30d ' || printf('%+.1f', rr_25d_30d_vol_pts) || ' vol pts', '') || dvol_text
            else '7d ' || printf('%+.1f', rr_25d_7d_vol_pts) || ' / 30d '
                || coalesce(printf('%+.1f', rr_25d_30d_vol_pts), 'n/a') || ' vol pts (25d call IV - put IV)'
                || dvol_text
        end                                                         as reading_text,
        status,
        case
            when snapshot_date is null then
                'no option chain snapshot for this day: Deribit serves only the current chain'
                || case
                    when first_snapshot_date is null then ' and none has been taken yet'
                    when as_of_date < first_snapshot_date then ' and snapshots begin on '
                        || strftime(first_snapshot_date, '%Y-%m-%d')
                    else ' and none was taken on this day'
                   end
            when rr_25d_7d_vol_pts is null then 'no 7-day constant-maturity risk reversal: ' || null_reason_7d
            when status = 'bear_continuation' then
                'deep negative skew persists: 7d 25d RR <= ' || printf('%.0f', bear_max_vol_pts) || ' vol pts for '
                || bear_streak_days || ' consecutive days (rule: ' || cast(bear_persist_days as integer) || ')'
            when status = 'bull_confirmation' then
                'skew back near 0: 7d 25d RR >= ' || printf('%.0f', bull_min_vol_pts) || ' vol pts for '
                || bull_streak_days || ' consecutive days (rule: ' || cast(bull_hold_days as integer) || ')'
            else
                'neither rule fired: 7d 25d RR <= ' || printf('%.0f', bear_max_vol_pts) || ' for ' || bear_streak_days
                || ' of ' || cast(bear_persist_days as integer) || ' days; >= ' || printf('%.0f', bull_min_vol_pts)
                || ' for ' || bull_streak_days || ' of ' || cast(bull_hold_days as integer) || ' days'
        end                                                         as rule,
        'deribit'                                                   as source,
        last_snapshot_date                                          as source_as_of,
        last_snapshot_date is null
            or datediff('day', last_snapshot_date, as_of_date) > (select max_lag_days from freshness)
                                                                    as is_stale
    from classified
)

select * from final
