-- Daily ETF panel: total net flow, 5-trading-day sum, month to date and the streak features the rules use.
with

by_issuer as (select * from {{ ref('int_etf_flows__by_issuer') }}),
coinglass as (select * from {{ ref('stg_coinglass__etf_flows') }} where is_total),
farside as (select * from {{ ref('stg_farside__etf_flows') }} where is_total),

issuer_sums as (
    select
        flow_date,
        any_value(source)                                   as source,
        sum(net_flow_usd)                                   as issuer_sum_usd,
        count(net_flow_usd)                                 as issuers_reporting
    from by_issuer
    group by flow_date
),

with_total as (
    -- the source's own total where it gives one, else the sum over issuers
    select
        s.flow_date,
        s.source,
        coalesce(case when s.source = 'coinglass' then cg.net_flow_usd else fs.net_flow_usd end, s.issuer_sum_usd)
                                                            as net_flow_usd,
        s.issuer_sum_usd,
        s.issuers_reporting
    from issuer_sums as s
    left join coinglass as cg using (flow_date)
    left join farside as fs using (flow_date)
),

rolling as (
    select
        *,
        sum(net_flow_usd) over (order by flow_date rows between 4 preceding and current row)
                                                            as net_flow_5d_usd,
        sum(net_flow_usd) over (partition by date_trunc('month', flow_date) order by flow_date)
                                                            as net_flow_mtd_usd,
        net_flow_usd <= {{ rule('etf_net_flow', 'bear_outflow_day_usd') }}
                                                            as is_heavy_outflow_day
    from with_total
),

streaks as (
    select
        *,
        sum(case when is_heavy_outflow_day then 0 else 1 end) over (order by flow_date) as streak_group
    from rolling
),

numbered as (
    select
        *,
        row_number() over (order by flow_date)             as day_number,
        lag(net_flow_usd) over (order by flow_date)        as previous_net_flow_usd
    from streaks
),

prior_window as (
    -- lowest 5-day sum over the previous N trading days (N from the seed): was there a run of outflows?
    select
        cur.flow_date,
        min(prev.net_flow_5d_usd)                           as min_prior_5d_usd
    from numbered as cur
    inner join numbered as prev
        on prev.day_number between cur.day_number - {{ rule('etf_net_flow', 'bull_prior_outflow_lookback_days') }}
                               and cur.day_number - 1
    group by cur.flow_date
),

final as (
    select
        flow_date,
        source,
        net_flow_usd,
        issuer_sum_usd,
        issuers_reporting,
        net_flow_5d_usd,
        net_flow_mtd_usd,
        is_heavy_outflow_day,
        cast(sum(case when is_heavy_outflow_day then 1 else 0 end)
            over (partition by streak_group order by flow_date rows between unbounded preceding and current row)
            as integer)                                     as heavy_outflow_streak_days,
        previous_net_flow_usd,
        p.min_prior_5d_usd
    from numbered
    left join prior_window as p using (flow_date)
)

select * from final
