-- Dashboard rows for the 25-delta risk reversal, one per calendar day (rules: docs/options.md).
-- Reading: the 7-day constant-maturity 25d RR (call IV - put IV, vol points); the text adds the 30-day one.
-- Deribit serves only the current chain: a day without a snapshot reads no_data with the reason (and DVOL
-- as context); a snapshot that cannot produce the 7-day value reads no_data with the computation's reason.
-- Streaks count consecutive calendar days with a snapshot; a day without one breaks them.
with

calendar as (select * from {{ ref('int_calendar__days') }}),
daily as (select * from {{ ref('int_options__daily') }}),
dvol as (select * from {{ ref('stg_deribit__dvol') }}),

rules as (
    select
        {{ rule('risk_reversal_25d', 'bull_min_vol_pts') }}   as bull_min_vol_pts,
        {{ rule('risk_reversal_25d', 'bull_hold_days') }}     as bull_hold_days,
        {{ rule('risk_reversal_25d', 'bear_max_vol_pts') }}   as bear_max_vol_pts,
        {{ rule('risk_reversal_25d', 'bear_persist_days') }}  as bear_persist_days
),

bounds as (
    select min(daily.snapshot_date) as first_snapshot_date, min(calendar.as_of_date) as first_calendar_date
    from calendar
    left join daily on daily.snapshot_date = calendar.as_of_date
),

spine as (
    select
        calendar.as_of_date,
        daily.*,
        dvol.dvol_date,
        dvol.dvol_close_pct,
        max(daily.snapshot_date) over (order by calendar.as_of_date rows between unbounded preceding and current row)
                                                                    as last_snapshot_date
    from calendar
    left join daily on daily.snapshot_date = calendar.as_of_date
    asof left join dvol on calendar.as_of_date >= dvol.dvol_date
),

flagged as (
    select
        spine.*,
        rules.*,
        bounds.first_snapshot_date,
        bounds.first_calendar_date,
        coalesce(spine.rr_25d_7d_vol_pts >= rules.bull_min_vol_pts, false) as is_bull_day,
        coalesce(spine.rr_25d_7d_vol_pts <= rules.bear_max_vol_pts, false) as is_bear_day
    from spine
    cross join rules
    cross join bounds
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
            when rr_25d_7d_vol_pts is null then 'no_data'
            when bear_streak_days >= bear_persist_days then 'bear_continuation'
            when bull_streak_days >= bull_hold_days then 'bull_confirmation'
            else 'neutral'
        end                                                         as status,
        case when dvol_close_pct is null then ''
             else '; DVOL ' || {{ fmt_num('dvol_close_pct', 1, false) }} || ' on ' || {{ fmt_date('dvol_date') }}
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
            else '7d ' || {{ fmt_num('rr_25d_7d_vol_pts') }} || ' / 30d ' || {{ fmt_num('rr_25d_30d_vol_pts') }}
                || ' vol pts (25d call IV - put IV)' || dvol_text
        end                                                         as reading_text,
        status,
        case
            when snapshot_date is null then
                'no option chain snapshot for this day: Deribit serves only the current chain'
                || case
                    when first_snapshot_date is null then ' and none has been taken yet'
                    when as_of_date < first_snapshot_date then ' and snapshots begin on ' || {{ fmt_date('first_snapshot_date') }}
                    else ' and none was taken on this day'
                   end
            when rr_25d_7d_vol_pts is null then 'no 7-day constant-maturity risk reversal: ' || null_reason_7d
            when status = 'bear_continuation' then
                'deep negative skew persists: 7d 25d RR <= ' || {{ fmt_num('bear_max_vol_pts', 0) }} || ' vol pts for '
                || bear_streak_days || ' consecutive days (rule: ' || {{ fmt_int('bear_persist_days') }} || ')'
            when status = 'bull_confirmation' then
                'skew back near 0: 7d 25d RR >= ' || {{ fmt_num('bull_min_vol_pts', 0) }} || ' vol pts for '
                || bull_streak_days || ' consecutive days (rule: ' || {{ fmt_int('bull_hold_days') }} || ')'
            else
                'neutral: 7d 25d RR <= ' || {{ fmt_num('bear_max_vol_pts', 0) }} || ' for ' || bear_streak_days
                || ' of ' || {{ fmt_int('bear_persist_days') }} || ' days; >= ' || {{ fmt_num('bull_min_vol_pts', 0) }}
                || ' for ' || bull_streak_days || ' of ' || {{ fmt_int('bull_hold_days') }} || ' days'
        end                                                         as rule,
        'deribit'                                                   as source,
        last_snapshot_date                                          as source_as_of,
        'deribit_options'                                           as freshness_key,
        coalesce(is_derived, false)                                 as is_derived,
        case when is_derived then 'option chain (rendered from smile parameters)' end
                                                                    as derived_inputs,
        case when snapshot_date is null then 'option chain snapshot (none for this day)'
             when rr_25d_7d_vol_pts is null then '7-day 25-delta risk reversal (not computable from the chain)' end
                                                                    as missing_inputs
    from classified
)

select * from final
