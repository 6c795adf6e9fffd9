-- Signal history joined to what BTC did next: for each day and dashboard row (indicators and the regime),
-- BTC's close that day and 7 and 30 calendar days later, and the forward returns. Forward columns are null
-- while the future close is not yet in the warehouse. signal_state is the status, except for the regime row,
-- where it is the regime state (trend_reversal, relief_rally, washout_risk, undecided, no_data).
-- run_id numbers the runs of one signal_state per indicator: consecutive days in the same state share it,
-- so a 30-day bull run counts as one independent observation, not 30.
with

dashboard as (select * from {{ ref('signal_dashboard') }}),
price as (select * from {{ ref('int_btc_price__daily') }}),

stated as (
    select
        *,
        case when indicator = 'regime' then split_part(reading_text, ':', 1) else status end
                                                                    as signal_state
    from dashboard
),

runs as (
    select
        *,
        sum(case when signal_state is distinct from previous_state then 1 else 0 end)
            over (partition by indicator order by as_of_date rows unbounded preceding)
                                                                    as run_id
    from (
        select
            *,
            lag(signal_state) over (partition by indicator order by as_of_date) as previous_state
        from stated
    )
),

final as (
    select
        runs.as_of_date,
        runs.indicator,
        runs.category,
        runs.status,
        runs.signal_state,
        runs.run_id,
        runs.reading,
        runs.reading_unit,
        runs.reading_text,
        runs.is_stale,
        runs.is_derived,
        price_today.close_usd                                       as btc_close_usd,
        price_in_7d.close_usd                                       as btc_close_7d_usd,
        price_in_30d.close_usd                                      as btc_close_30d_usd,
        price_in_7d.close_usd / price_today.close_usd - 1           as fwd_return_7d,
        price_in_30d.close_usd / price_today.close_usd - 1          as fwd_return_30d,
        case when price_in_7d.close_usd is null then null else price_in_7d.close_usd > price_today.close_usd end
                                                                    as is_rise_7d,
        case when price_in_30d.close_usd is null then null else price_in_30d.close_usd > price_today.close_usd end
                                                                    as is_rise_30d
    from runs
    left join price as price_today on price_today.price_date = runs.as_of_date
    left join price as price_in_7d on price_in_7d.price_date = runs.as_of_date + interval 7 day
    left join price as price_in_30d on price_in_30d.price_date = runs.as_of_date + interval 30 day
)

select * from final
