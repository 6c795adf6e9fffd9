-- Dashboard rows for the perp funding rate, one per calendar day (rules: docs/derivatives.md).
-- Reading: the funding rate at the day's close, % per 8h (int_futures_funding__by_source states the one definition).
-- Bear continuation: funding negative, or it changed sign at least N times within M days.
-- Bull confirmation: funding TURNED positive after a negative or sign-flipping spell and has STAYED
--   positive for K days (a one-day blip is not a flip); the confirmation decays to neutral once the
--   positive run has lasted the hold plus the decay days. Funding that is simply positive, as it is on
--   most days (Binance's +0.01 %/8h interest component), is neutral.
with

daily as (select * from {{ ref('int_futures_funding__daily') }}),

as_of as ({{ as_of_calendar('daily', 'funding_date') }}),

rules as (
    select
        {{ rule('funding_rate', 'bull_positive_days') }}                as bull_days,
        {{ rule('funding_rate', 'bull_decay_days') }}                   as decay_days,
        {{ rule('funding_rate', 'bull_prior_spell_lookback_days') }}    as spell_lookback_days,
        {{ rule('funding_rate', 'bull_prior_spell_min_negative_days') }} as spell_min_negative_days,
        {{ rule('funding_rate', 'bear_sign_changes') }}                 as bear_sign_changes,
        {{ rule('funding_rate', 'bear_sign_change_window_days') }}      as bear_window_days
),

classified as (
    select
        as_of.*,
        rules.*,
        as_of.prior_spell_negative_days >= rules.spell_min_negative_days
            or as_of.prior_spell_sign_changes >= rules.bear_sign_changes                as follows_bear_spell,
        case
            when as_of.funding_date is null then 'no_data'
            when as_of.funding_pct_8h < 0 then 'bear_continuation'
            when as_of.sign_changes_in_window >= rules.bear_sign_changes then 'bear_continuation'
            when as_of.positive_streak_days >= rules.bull_days
                 and as_of.positive_streak_days < rules.bull_days + rules.decay_days
                 and (as_of.prior_spell_negative_days >= rules.spell_min_negative_days
                      or as_of.prior_spell_sign_changes >= rules.bear_sign_changes) then 'bull_confirmation'
            else 'neutral'
        end                                                                             as status
    from as_of
    cross join rules
),

final as (
    select
        as_of_date,
        'funding_rate'                                                  as indicator,
        'derivatives'                                                   as category,
        funding_pct_8h                                                  as reading,
        'pct_per_8h'                                                    as reading_unit,
        case when funding_date is null then 'no data'
             else {{ fmt_num('funding_pct_8h', 4) }} || ' % per 8h at the close of ' || {{ fmt_date('funding_date') }}
                  || ' (' || venues || case when venues not like '%+%' then ''  -- one venue (or CoinGlass's figure): no weights
                                            when is_oi_weighted then ', OI-weighted' else ', equal-weighted' end || ')'
                  || '; ' || sign_changes_in_window || ' sign changes in ' || {{ fmt_int('bear_window_days') }} || 'd'
                  || case when positive_streak_days > 0 then '; positive ' || positive_streak_days || 'd in a row'
                          when negative_streak_days > 0 then '; negative ' || negative_streak_days || 'd in a row'
                          else '' end
        end                                                             as reading_text,
        status,
        case
            when funding_date is null then 'no funding data on or before this day'
            when status = 'bear_continuation' and funding_pct_8h < 0 then
                'funding negative: ' || {{ fmt_num('funding_pct_8h', 4) }} || ' % per 8h (shorts pay longs)'
                || case when negative_streak_days > 1 then ', ' || negative_streak_days || ' days in a row' else '' end
            when status = 'bear_continuation' then
                'funding flips sign repeatedly: ' || sign_changes_in_window || ' sign changes in the last '
                || {{ fmt_int('bear_window_days') }} || ' days (>= ' || {{ fmt_int('bear_sign_changes') }} || ')'
            when status = 'bull_confirmation' then
                'funding turned positive and stayed: positive ' || positive_streak_days || ' days in a row (>= '
                || {{ fmt_int('bull_days') }} || ') after a spell with ' || prior_spell_negative_days
                || ' negative days and ' || prior_spell_sign_changes || ' sign changes in the '
                || {{ fmt_int('spell_lookback_days') }} || ' days before; reads bull for '
                || {{ fmt_int('decay_days') }} || ' days, then neutral'
            when positive_streak_days >= bull_days and follows_bear_spell then
                'neutral: funding has held positive ' || positive_streak_days || ' days since the turn, past the '
                || {{ fmt_int('decay_days') }} || '-day confirmation window (the turn is old news)'
            when positive_streak_days >= bull_days then
                'neutral: funding simply positive (' || positive_streak_days || ' days in a row) with no negative or '
                || 'flipping spell in the ' || {{ fmt_int('spell_lookback_days') }} || ' days before the run: the '
                || 'normal state of perp funding, not a turn'
            else
                'neutral: funding ' || {{ fmt_num('funding_pct_8h', 4) }} || ' % per 8h, positive '
                || positive_streak_days || ' of ' || {{ fmt_int('bull_days') }} || ' days needed for a turn, '
                || sign_changes_in_window || ' sign changes in ' || {{ fmt_int('bear_window_days') }} || ' days (< '
                || {{ fmt_int('bear_sign_changes') }} || ')'
        end                                                             as rule,
        source,
        funding_date                                                    as source_as_of,
        'futures_funding'                                               as freshness_key,
        coalesce(is_derived, false)                                     as is_derived,
        derived_inputs,
        case when funding_date is null then 'futures funding (no data on or before this day)' end
                                                                        as missing_inputs
    from classified
)

select * from final
