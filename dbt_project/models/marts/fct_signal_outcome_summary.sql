-- A backtest of the rules, per indicator and signal state (docs/signals.md, "Backtest"):
--   signal_days / independent_runs  days in the state, and runs of consecutive days (a run counts once)
--   hit_rate_7d / _30d              bull_confirmation (regime: trend_reversal) followed by a rise, bear_continuation
--                                   (relief_rally, washout_risk) by a fall; null for neutral / undecided
--   base_rate_7d / _30d             the same move's share over ALL days the indicator had data (status not
--                                   no_data): what a coin that always says "rise" (or "fall") would score
--   lift_7d / _30d                  hit rate / base rate: 1.0 = no better than the base rate
--   run_hit_rate_7d                 the hit rate counting each run once (its first day's outcome)
-- Only rows with data (status <> 'no_data') and a BTC close are counted. IN-SAMPLE: the thresholds were
-- chosen looking at this same window; there is no held-out period, so treat lift as descriptive.
with

outcomes as (select * from {{ ref('fct_signal_outcomes') }}),

judged as (
    select
        *,
        case
            when status = 'bull_confirmation' then 'rise'
            when status = 'bear_continuation' then 'fall'
        end                                                                         as expected_move
    from outcomes
    where status <> 'no_data' and btc_close_usd is not null
),

base_rates as (
    select
        indicator,
        count(*) filter (where is_rise_7d) / nullif(count(fwd_return_7d), 0)        as rise_share_7d,
        count(*) filter (where is_rise_30d) / nullif(count(fwd_return_30d), 0)      as rise_share_30d,
        min(as_of_date)                                                             as window_first_date,
        max(as_of_date)                                                             as window_last_date
    from judged
    group by indicator
),

run_starts as (
    select *
    from judged
    qualify row_number() over (partition by indicator, run_id order by as_of_date) = 1
),

run_hits as (
    select
        indicator,
        signal_state,
        count(*) filter (where (expected_move = 'rise' and is_rise_7d) or (expected_move = 'fall' and not is_rise_7d))
            / nullif(count(fwd_return_7d) filter (where expected_move is not null), 0) as run_hit_rate_7d
    from run_starts
    group by indicator, signal_state
),

per_state as (
    select
        indicator,
        status,
        signal_state,
        any_value(expected_move)                                                    as expected_move,
        count(*)                                                                    as signal_days,
        count(distinct run_id)                                                      as independent_runs,
        count(*) filter (where is_derived)                                          as derived_days,
        min(as_of_date)                                                             as first_date,
        max(as_of_date)                                                             as last_date,
        count(fwd_return_7d)                                                        as days_with_7d_outcome,
        count(*) filter (where is_rise_7d)                                          as rises_7d,
        count(*) filter (where not is_rise_7d)                                      as falls_7d,
        avg(fwd_return_7d)                                                          as mean_fwd_return_7d,
        median(fwd_return_7d)                                                       as median_fwd_return_7d,
        count(fwd_return_30d)                                                       as days_with_30d_outcome,
        count(*) filter (where is_rise_30d)                                         as rises_30d,
        count(*) filter (where not is_rise_30d)                                     as falls_30d,
        avg(fwd_return_30d)                                                         as mean_fwd_return_30d,
        median(fwd_return_30d)                                                      as median_fwd_return_30d
    from judged
    group by indicator, status, signal_state
),

rated as (
    select
        per_state.*,
        case per_state.expected_move
            when 'rise' then per_state.rises_7d / nullif(per_state.days_with_7d_outcome, 0)
            when 'fall' then per_state.falls_7d / nullif(per_state.days_with_7d_outcome, 0)
        end                                                                         as hit_rate_7d,
        case per_state.expected_move
            when 'rise' then base_rates.rise_share_7d
            when 'fall' then 1 - base_rates.rise_share_7d
        end                                                                         as base_rate_7d,
        case per_state.expected_move
            when 'rise' then per_state.rises_30d / nullif(per_state.days_with_30d_outcome, 0)
            when 'fall' then per_state.falls_30d / nullif(per_state.days_with_30d_outcome, 0)
        end                                                                         as hit_rate_30d,
        case per_state.expected_move
            when 'rise' then base_rates.rise_share_30d
            when 'fall' then 1 - base_rates.rise_share_30d
        end                                                                         as base_rate_30d,
        run_hits.run_hit_rate_7d,
        base_rates.window_first_date,
        base_rates.window_last_date
    from per_state
    left join base_rates using (indicator)
    left join run_hits using (indicator, signal_state)
),

final as (
    select
        indicator,
        status,
        signal_state,
        expected_move,
        signal_days,
        independent_runs,
        derived_days,
        first_date,
        last_date,
        days_with_7d_outcome,
        rises_7d,
        falls_7d,
        hit_rate_7d,
        base_rate_7d,
        hit_rate_7d / nullif(base_rate_7d, 0)                                       as lift_7d,
        run_hit_rate_7d,
        mean_fwd_return_7d,
        median_fwd_return_7d,
        days_with_30d_outcome,
        rises_30d,
        falls_30d,
        hit_rate_30d,
        base_rate_30d,
        hit_rate_30d / nullif(base_rate_30d, 0)                                     as lift_30d,
        mean_fwd_return_30d,
        median_fwd_return_30d,
        'in-sample: ' || strftime(window_first_date, '%Y-%m-%d') || ' to ' || strftime(window_last_date, '%Y-%m-%d')
            || ', the same window the thresholds were chosen on; no held-out period'
                                                                                    as sample_note
    from rated
)

select * from final
order by indicator, status, signal_state
