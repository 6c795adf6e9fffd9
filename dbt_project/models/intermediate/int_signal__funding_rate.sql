-- Dashboard rows for the perp funding rate (DESIGN.md §1), one per calendar day.
-- Bear continuation: funding negative, or it changed sign at least N times within M days.
-- Bull confirmation: positive at least K days in a row (a one-day blip is not a flip).
with

calendar as (select * from {{ ref('int_calendar__days') }}),
daily as (select * from {{ ref('int_futures_funding__daily') }}),
freshness as (select * from {{ ref('source_freshness') }} where source_key = 'futures_funding'),

as_of as (
    select
        c.as_of_date,
        d.*
    from calendar as c
    asof left join daily as d
        on c.as_of_date >= d.funding_date
),

rules as (
    select
        {{ rule('funding_rate', 'bull_positive_days') }}            as bull_days,
        {{ rule('funding_rate', 'bear_sign_changes') }}             as bear_sign_changes,
        {{ rule('funding_rate', 'bear_sign_change_window_days') }}  as bear_window_days
),

classified as (
    select
        a.*,
        r.*,
        case
            when a.funding_date is null then 'neutral'
            when a.funding_pct_8h < 0 then 'bear_continuation'
            when a.sign_changes_in_window >= r.bear_sign_changes then 'bear_continuation'
            when a.positive_streak_days >= r.bull_days then 'bull_confirmation'
            else 'neutral'
        end as status
    from as_of as a
    cross join rules as r
),

final as (
    select
        as_of_date,
        'funding_rate'                                          as indicator,
        'derivatives'                                           as category,
        funding_pct_8h                                          as reading,
        'pct_per_8h'                                            as reading_unit,
        case when funding_date is null then 'no data'
             else printf('%+.4f', funding_pct_8h) || ' % per 8h on ' || strftime(funding_date, '%Y-%m-%d')
                  || case when is_oi_weighted then ' (OI-weighted)' else ' (equal-weighted venues)' end
                  || '; ' || sign_changes_in_window || ' sign changes in ' || cast(bear_window_days as integer) || 'd'
                  || case when positive_streak_days > 0 then '; positive ' || positive_streak_days || 'd in a row'
                          when negative_streak_days > 0 then '; negative ' || negative_streak_days || 'd in a row'
                          else '' end
        end                                                     as reading_text,
        status,
        case
            when funding_date is null then 'no funding data on or before this day'
            when status = 'bear_continuation' and funding_pct_8h < 0 then
                'funding negative: ' || printf('%+.4f', funding_pct_8h) || ' % per 8h (shorts pay longs)'
                || case when negative_streak_days > 1 then ', ' || negative_streak_days || ' days in a row' else '' end
            when status = 'bear_continuation' then
                'funding flips sign repeatedly: ' || sign_changes_in_window || ' sign changes in the last '
                || cast(bear_window_days as integer) || ' days (>= ' || cast(bear_sign_changes as integer) || ')'
            when status = 'bull_confirmation' then
                'funding positive ' || positive_streak_days || ' days in a row (>= ' || cast(bull_days as integer) || ')'
            else
                'neither rule fired: funding ' || printf('%+.4f', funding_pct_8h) || ' % per 8h, positive '
                || positive_streak_days || ' of ' || cast(bull_days as integer) || ' days needed, '
                || sign_changes_in_window || ' sign changes in ' || cast(bear_window_days as integer) || ' days (< '
                || cast(bear_sign_changes as integer) || ')'
        end                                                     as rule,
        source,
        funding_date                                            as source_as_of,
        funding_date is null
            or datediff('day', funding_date, as_of_date) > (select max_lag_days from freshness)
                                                                as is_stale
    from classified
)

select * from final
