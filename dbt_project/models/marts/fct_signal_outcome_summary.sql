-- A backtest of the rules: per indicator and signal state, how often BTC rose or fell over the next 7 and
-- 30 days, the hit rate (bull_confirmation followed by a rise, bear_continuation by a fall; the regime's
-- trend_reversal counts as bull, relief_rally and washout_risk as bear; neutral/undecided have none) and
-- the mean and median forward return. Only fresh rows (is_stale = false) with a known outcome are counted.
with

outcomes as (select * from {{ ref('fct_signal_outcomes') }}),

fresh as (
    select
        *,
        case
            when status = 'bull_confirmation' then 'rise'
            when status = 'bear_continuation' then 'fall'
        end as expected_move
    from outcomes
    where not is_stale and btc_close_usd is not null
),

final as (
    select
        indicator,
        status,
        signal_state,
        any_value(expected_move)                                                    as expected_move,
        count(*)                                                                    as signal_days,
        min(as_of_date)                                                             as first_date,
        max(as_of_date)                                                             as last_date,
        count(fwd_return_7d)                                                        as days_with_7d_outcome,
        count(*) filter (where is_rise_7d)                                          as rises_7d,
        count(*) filter (where not is_rise_7d)                                      as falls_7d,
        case when any_value(expected_move) is null or count(fwd_return_7d) = 0 then null
             when any_value(expected_move) = 'rise' then count(*) filter (where is_rise_7d) / count(fwd_return_7d)
             else count(*) filter (where not is_rise_7d) / count(fwd_return_7d)
        end                                                                         as hit_rate_7d,
        avg(fwd_return_7d)                                                          as mean_fwd_return_7d,
        median(fwd_return_7d)                                                       as median_fwd_return_7d,
        count(fwd_return_30d)                                                       as days_with_30d_outcome,
        count(*) filter (where is_rise_30d)                                         as rises_30d,
        count(*) filter (where not is_rise_30d)                                     as falls_30d,
        case when any_value(expected_move) is null or count(fwd_return_30d) = 0 then null
             when any_value(expected_move) = 'rise' then count(*) filter (where is_rise_30d) / count(fwd_return_30d)
             else count(*) filter (where not is_rise_30d) / count(fwd_return_30d)
        end                                                                         as hit_rate_30d,
        avg(fwd_return_30d)                                                         as mean_fwd_return_30d,
        median(fwd_return_30d)                                                      as median_fwd_return_30d
    from fresh
    group by indicator, status, signal_state
)

select * from final
order by indicator, status, signal_state
