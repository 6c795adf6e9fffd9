-- Dashboard rows for the implied-vol term structure (DESIGN.md §1), one per calendar day.
-- Reading: front-month (30-day constant maturity) ATM IV minus 90-day ATM IV, vol points.
-- Above the seed threshold (0) the curve is inverted (front above back: bear continuation); below it
-- the slope is normal (upward: bull confirmation). No snapshot or no value: null with the reason.
with

calendar as (select * from {{ ref('int_calendar__days') }}),
daily as (select * from {{ ref('int_options__daily') }}),
freshness as (select * from {{ ref('source_freshness') }} where source_key = 'deribit_options'),

rules as (
    select {{ rule('iv_term_structure', 'inverted_max_vol_pts') }} as inverted_above_vol_pts
),

spine as (
    select
        c.as_of_date,
        d.*,
        max(d.snapshot_date) over (order by c.as_of_date rows between unbounded preceding and current row)
                                                                    as last_snapshot_date,
        min(d.snapshot_date) over ()                                as first_snapshot_date
    from calendar as c
    left join daily as d on d.snapshot_date = c.as_of_date
),

classified as (
    select
        s.*,
        r.*,
        case
            when s.term_slope_vol_pts is null then 'neutral'
            when s.term_slope_vol_pts > r.inverted_above_vol_pts then 'bear_continuation'
            when s.term_slope_vol_pts < r.inverted_above_vol_pts then 'bull_confirmation'
            else 'neutral'
        end                                                         as status,
        case
            when s.term_slope_vol_pts is null then null
            when s.term_slope_vol_pts > r.inverted_above_vol_pts then 'inverted'
            when s.term_slope_vol_pts < r.inverted_above_vol_pts then 'normal'
            else 'flat'
        end                                                         as shape
    from spine as s
    cross join rules as r
),

final as (
    select
        as_of_date,
        'iv_term_structure'                                         as indicator,
        'options'                                                   as category,
        term_slope_vol_pts                                          as reading,
        'vol_pts'                                                   as reading_unit,
        case
            when snapshot_date is null then 'no chain snapshot'
            when term_slope_vol_pts is null then 'n/a'
            else shape || ': 30d ATM ' || printf('%.1f', atm_iv_30d_pct) || '% vs 90d ' || printf('%.1f', atm_iv_90d_pct)
                || '% (' || printf('%+.1f', term_slope_vol_pts) || ' vol pts)'
                || coalesce('; 7d ATM ' || printf('%.1f', atm_iv_7d_pct) || '%', '')
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
            when term_slope_vol_pts is null then
                'no term-structure slope: ' || coalesce('30d: ' || null_reason_30d, '')
                || case when null_reason_30d is not null and null_reason_90d is not null then '; ' else '' end
                || coalesce('90d: ' || null_reason_90d, '')
            when status = 'bear_continuation' then
                'inverted: front-month ATM IV above 90-day ATM IV by more than '
                || printf('%.0f', inverted_above_vol_pts) || ' vol pts'
            when status = 'bull_confirmation' then
                'normal (upward) slope: front-month ATM IV below 90-day ATM IV'
            else 'flat: front-month ATM IV equals 90-day ATM IV'
        end                                                         as rule,
        'deribit'                                                   as source,
        last_snapshot_date                                          as source_as_of,
        last_snapshot_date is null
            or datediff('day', last_snapshot_date, as_of_date) > (select max_lag_days from freshness)
                                                                    as is_stale
    from classified
)

select * from final
