-- BTC perpetual funding per UTC day (% per 8h): the funding rate at the day's close (its last settlement),
-- one definition for every source (int_futures_funding__by_source states it). CoinGlass when present, else the keyless fallback.
-- Then the sign streaks and the spell before the positive run that the funding rule reads
-- (docs/derivatives.md).
with

by_source as (select * from {{ ref('int_futures_funding__by_source') }}),
rules as (
    select
        {{ rule('funding_rate', 'bear_sign_change_window_days') }}  as sign_change_window_days,
        {{ rule('funding_rate', 'positive_above_pct_8h') }}         as positive_above_pct_8h,
        {{ rule('funding_rate', 'bull_prior_spell_lookback_days') }} as spell_lookback_days
),

chosen as (
    select * exclude (preference, source_kind)
    from by_source
    qualify row_number() over (partition by funding_date order by preference) = 1
),
signed as (
    select
        chosen.*,
        case when chosen.funding_pct_8h > rules.positive_above_pct_8h then 1
             when chosen.funding_pct_8h < 0 then -1
             else 0 end                                                 as funding_sign
    from chosen
    cross join rules
),

flagged as (
    select
        *,
        lag(funding_sign) over (order by funding_date)                  as previous_sign,
        coalesce(funding_sign <> 0 and lag(funding_sign) over (order by funding_date) <> 0
                 and funding_sign <> lag(funding_sign) over (order by funding_date), false)
                                                                        as is_sign_change,
        count(*) filter (where funding_sign <= 0) over (order by funding_date rows unbounded preceding)
                                                                        as positive_run_id,
        count(*) filter (where funding_sign >= 0) over (order by funding_date rows unbounded preceding)
                                                                        as negative_run_id
    from signed
),

streaks as (
    select
        *,
        case when funding_sign > 0
             then count(*) filter (where funding_sign > 0) over (partition by positive_run_id order by funding_date)
             else 0 end                                                 as positive_streak_days,
        case when funding_sign < 0
             then count(*) filter (where funding_sign < 0) over (partition by negative_run_id order by funding_date)
             else 0 end                                                 as negative_streak_days
    from flagged
),

final as (
    select
        streaks.funding_date,
        streaks.funding_pct_8h,
        streaks.is_oi_weighted,
        streaks.source,
        streaks.venues,
        streaks.is_derived,
        streaks.derived_inputs,
        streaks.funding_sign,
        streaks.is_sign_change,
        streaks.positive_streak_days,
        streaks.negative_streak_days,
        -- sign changes between consecutive days within the trailing N days (N from the seed): N days hold
        -- N - 1 day-to-day transitions, the last on this day
        (select count(*) filter (where window_day.is_sign_change)
         from flagged as window_day
         where window_day.funding_date > streaks.funding_date - (cast(rules.sign_change_window_days as integer) - 1)
           and window_day.funding_date <= streaks.funding_date)                         as sign_changes_in_window,
        -- the spell before the current positive streak: negative days and sign changes in the lookback
        -- that ends the day before the streak began (what the bull rule needs to call it a turn)
        (select count(*) filter (where spell_day.funding_sign < 0)
         from flagged as spell_day
         where streaks.positive_streak_days > 0
           and spell_day.funding_date < streaks.funding_date - cast(streaks.positive_streak_days - 1 as integer)
           and spell_day.funding_date >= streaks.funding_date - cast(streaks.positive_streak_days - 1 as integer)
                                         - cast(rules.spell_lookback_days as integer))  as prior_spell_negative_days,
        (select count(*) filter (where spell_day.is_sign_change)
         from flagged as spell_day
         where streaks.positive_streak_days > 0
           and spell_day.funding_date < streaks.funding_date - cast(streaks.positive_streak_days - 1 as integer)
           and spell_day.funding_date >= streaks.funding_date - cast(streaks.positive_streak_days - 1 as integer)
                                         - cast(rules.spell_lookback_days as integer))  as prior_spell_sign_changes
    from streaks
    cross join rules
)

select * from final
