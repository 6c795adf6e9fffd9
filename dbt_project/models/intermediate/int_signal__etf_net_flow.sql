-- Dashboard rows for the spot ETF net flow indicator, one per calendar day (rules: docs/signals.md).
-- Weekends and holidays carry the latest trading day's reading; source_as_of says which day that was.
-- Bear continuation: N heavy outflow days (<= the seed's threshold) in a row.
-- Bull confirmation: the 5-day sum back at or above the bull minimum after a run of outflows (the
-- 5-day sum was negative at some point in the lookback).
with

daily as (select * from {{ ref('int_etf_flows__daily') }}),

as_of as ({{ as_of_calendar('daily', 'flow_date') }}),

rules as (
    select
        {{ rule('etf_net_flow', 'bear_outflow_day_usd') }}             as heavy_outflow_usd,
        {{ rule('etf_net_flow', 'bear_consecutive_days') }}            as bear_days,
        {{ rule('etf_net_flow', 'bull_5d_sum_min_usd') }}              as bull_5d_min_usd,
        {{ rule('etf_net_flow', 'bull_prior_outflow_lookback_days') }} as lookback_days
),

classified as (
    select
        as_of.*,
        rules.*,
        case
            when as_of.flow_date is null then 'no_data'
            when as_of.heavy_outflow_streak_days >= rules.bear_days then 'bear_continuation'
            when as_of.net_flow_5d_usd >= rules.bull_5d_min_usd and as_of.min_prior_5d_usd < 0 then 'bull_confirmation'
            else 'neutral'
        end                                                     as status
    from as_of
    cross join rules
),

final as (
    select
        as_of_date,
        'etf_net_flow'                                          as indicator,
        'capital_flow'                                          as category,
        net_flow_usd                                            as reading,
        'usd'                                                   as reading_unit,
        case when flow_date is null then 'no data'
             else {{ fmt_musd('net_flow_usd') }} || ' USD on ' || {{ fmt_date('flow_date') }}
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
                || {{ fmt_musd('min_prior_5d_usd') }} || ' in the previous ' || {{ fmt_int('lookback_days') }}
                || ' trading days'
            else
                'neutral: heavy-outflow streak ' || heavy_outflow_streak_days || ' of '
                || {{ fmt_int('bear_days') }} || ' days <= ' || {{ fmt_musd('heavy_outflow_usd') }}
                || '; 5-day sum ' || {{ fmt_musd('net_flow_5d_usd') }}
                || case when coalesce(min_prior_5d_usd, 0) >= 0 then ' with no run of outflows before it' else '' end
        end                                                     as rule,
        source,
        flow_date                                               as source_as_of,
        'etf_flows'                                             as freshness_key,
        false                                                   as is_derived,
        cast(null as varchar)                                   as derived_inputs,
        case when flow_date is null then 'spot ETF flows (no data on or before this day)' end
                                                                as missing_inputs
    from classified
)

select * from final
