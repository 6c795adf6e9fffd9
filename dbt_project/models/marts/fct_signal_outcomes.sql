-- Signal history joined to what BTC did next: for each day and dashboard row (indicators and the regime),
-- BTC's close that day and 7 and 30 calendar days later, and the forward returns. Forward columns are null
-- while the future close is not yet in the warehouse. signal_state is the status, except for the regime row,
-- where it is the regime state (trend_reversal, relief_rally, washout_risk, undecided).
with

dashboard as (select * from {{ ref('signal_dashboard') }}),
price as (select * from {{ ref('int_btc_price__daily') }}),

final as (
    select
        d.as_of_date,
        d.indicator,
        d.category,
        d.status,
        case when d.indicator = 'regime' then split_part(d.reading_text, ':', 1) else d.status end
                                                                    as signal_state,
        d.reading,
        d.reading_unit,
        d.reading_text,
        d.is_stale,
        p0.close_usd                                                as btc_close_usd,
        p7.close_usd                                                as btc_close_7d_usd,
        p30.close_usd                                               as btc_close_30d_usd,
        p7.close_usd / p0.close_usd - 1                             as fwd_return_7d,
        p30.close_usd / p0.close_usd - 1                            as fwd_return_30d,
        case when p7.close_usd is null then null else p7.close_usd > p0.close_usd end
                                                                    as is_rise_7d,
        case when p30.close_usd is null then null else p30.close_usd > p0.close_usd end
                                                                    as is_rise_30d
    from dashboard as d
    left join price as p0 on p0.price_date = d.as_of_date
    left join price as p7 on p7.price_date = d.as_of_date + interval 7 day
    left join price as p30 on p30.price_date = d.as_of_date + interval 30 day
)

select * from final
