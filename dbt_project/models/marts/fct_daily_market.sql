-- One row per calendar day with the key daily series side by side (wide), for charts and ad-hoc SQL.
with

calendar as (select * from {{ ref('int_calendar__days') }}),
etf as (select * from {{ ref('int_etf_flows__daily') }}),

final as (
    select
        c.as_of_date,
        e.net_flow_usd          as etf_net_flow_usd,
        e.net_flow_5d_usd       as etf_net_flow_5d_usd,
        e.net_flow_mtd_usd      as etf_net_flow_mtd_usd,
        e.source                as etf_source
    from calendar as c
    left join etf as e on e.flow_date = c.as_of_date
)

select * from final
