-- Dashboard rows for the implied-vol term structure, one per calendar day (rules: docs/options.md).
-- Reading: front-month (30-day constant maturity) ATM IV minus 90-day ATM IV, vol points.
-- Above the seed threshold (0) the curve is inverted (front above back: bear continuation); below it
-- the slope is normal (upward: bull confirmation). No snapshot or no value: no_data with the reason.
with

calendar as (select * from {{ ref('int_calendar__days') }}),
daily as (select * from {{ ref('int_options__daily') }}),

rules as (
    select {{ rule('iv_term_structure', 'inverted_max_vol_pts') }} as inverted_above_vol_pts
),

spine as (
    select
        calendar.as_of_date,
        daily.*,
        max(daily.snapshot_date) over (order by calendar.as_of_date rows between unbounded preceding and current row)
                                                                    as last_snapshot_date,
        min(daily.snapshot_date) over ()                            as first_snapshot_date
    from calendar
    left join daily on daily.snapshot_date = calendar.as_of_date
),

classified as (
    select
        spine.*,
        rules.*,
        case
            when spine.term_slope_vol_pts is null then 'no_data'
            when spine.term_slope_vol_pts > rules.inverted_above_vol_pts then 'bear_continuation'
            when spine.term_slope_vol_pts < rules.inverted_above_vol_pts then 'bull_confirmation'
            else 'neutral'
        end                                                         as status,
        case
            when spine.term_slope_vol_pts is null then null
            when spine.term_slope_vol_pts > rules.inverted_above_vol_pts then 'inverted'
            when spine.term_slope_vol_pts < rules.inverted_above_vol_pts then 'normal'
            else 'flat'
        end                                                         as shape
    from spine
    cross join rules
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
            else shape || ': 30d ATM ' || {{ fmt_num('atm_iv_30d_pct', 1, false) }} || '% vs 90d '
                || {{ fmt_num('atm_iv_90d_pct', 1, false) }} || '% (' || {{ fmt_num('term_slope_vol_pts') }} || ' vol pts)'
                || coalesce('; 7d ATM ' || printf('%.1f', atm_iv_7d_pct) || '%', '')
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
            when term_slope_vol_pts is null then
                'no term-structure slope: ' || coalesce('30d: ' || null_reason_30d, '')
                || case when null_reason_30d is not null and null_reason_90d is not null then '; ' else '' end
                || coalesce('90d: ' || null_reason_90d, '')
            when status = 'bear_continuation' then
                'inverted: front-month ATM IV above 90-day ATM IV by more than '
                || {{ fmt_num('inverted_above_vol_pts', 0, false) }} || ' vol pts'
            when status = 'bull_confirmation' then
                'normal (upward) slope: front-month ATM IV below 90-day ATM IV'
            else 'flat: front-month ATM IV equals 90-day ATM IV'
        end                                                         as rule,
        'deribit'                                                   as source,
        last_snapshot_date                                          as source_as_of,
        'deribit_options'                                           as freshness_key,
        coalesce(is_derived, false)                                 as is_derived,
        case when is_derived then 'option chain (rendered from smile parameters)' end
                                                                    as derived_inputs,
        case when snapshot_date is null then 'option chain snapshot (none for this day)'
             when term_slope_vol_pts is null then 'ATM IV at 30 or 90 days (not computable from the chain)' end
                                                                    as missing_inputs
    from classified
)

select * from final
