-- Dashboard rows for the spot ETF net flow indicator (DESIGN.md §1), one per calendar day.
-- Weekends and holidays carry the latest trading day's reading; source_as_of says which day that was.
with

calendar as (select * from {{ ref('int_calendar__days') }}),
daily as (select * from {{ ref('int_etf_flows__daily') }}),
freshness as (select * from {{ ref('source_freshness') }} where source_key = 'etf_flows'),

as_of as (
    select
        c.as_of_date,
        d.*
    from calendar as c
    asof left join daily as d
        on c.as_of_date >= d.flow_date
),

rules as (
    select
        {{ rule('etf_net_flow', 'bear_outflow_day_usd') }}             as heavy_outflow_usd,
        {{ rule('etf_net_flow', 'bear_consecutive_days') }}            as bear_days,
        {{ rule('etf_net_flow', 'bull_5d_sum_min_usd') }}              as bull_5d_min_usd,
        {{ rule('etf_net_flow', 'bull_prior_outflow_lookback_days') }} as lookback_days
),

classified as (
    select
        a.*,
        r.*,
        case
            when a.flow_date is null then 'neutral'
            when a.heavy_outflow_streak_days >= r.bear_days then 'bear_continuation'
            when a.net_flow_5d_usd >= r.bull_5d_min_usd and a.min_prior_5d_usd < 0 then 'bull_confirmation'
            else 'neutral'
        end as status
    from as_of as a
    cross join rules as r
),

final as (
    select
        as_of_date,
        'etf_net_flow'                                          as indicator,
        'capital_flow'                                          as category,
        net_flow_usd                                            as reading,
        'usd'                                                   as reading_unit,
        case when flow_date is null then 'no data'
             else {{ fmt_musd('net_flow_usd') }} || ' USD on ' || strftime(flow_date, '%Y-%m-%d')
                  || '; 5d ' || {{ fmt_musd('net_flow_5d_usd') }}
                  || '; MTD ' || {{ fmt_musd('net_flow_mtd_usd') }}
        end                                                     as reading_text,
        status,
        case
            when flow_date is null then 'no ETF flow data on or before this day'
            when status = 'bear_continuation' then
                'outflows accelerate: ' || heavy_outflow_streak_days || ' consecutive trading days <= '
                || {{ fmt_musd('heavy_outflow_usd') }} || ' (latest ' || {{ fmt_musd('net_flow_usd') }}
                || ', previous ' || {{ fmt_musd('previous_net_flow_usd') }} || ')'
            when status = 'bull_confirmation' then
                'outflows turned to inflow: 5-day sum ' || {{ fmt_musd('net_flow_5d_usd') }} || ' >= '
                || {{ fmt_musd('bull_5d_min_usd') }} || ' after a 5-day sum as low as '
                || {{ fmt_musd('min_prior_5d_usd') }} || ' in the previous ' || cast(lookback_days as integer)
                || ' trading days'
            else
                'neither rule fired: heavy-outflow streak ' || heavy_outflow_streak_days || ' of '
                || cast(bear_days as integer) || ' days <= ' || {{ fmt_musd('heavy_outflow_usd') }}
                || '; 5-day sum ' || {{ fmt_musd('net_flow_5d_usd') }}
                || case when coalesce(min_prior_5d_usd, 0) >= 0 then ' with no run of outflows before it' else '' end
        end                                                     as rule,
        source,
        flow_date                                               as source_as_of,
        flow_date is null
            or datediff('day', flow_date, as_of_date) > (select max_lag_days from freshness)
                                                                as is_stale
    from classified
)

select * from final
