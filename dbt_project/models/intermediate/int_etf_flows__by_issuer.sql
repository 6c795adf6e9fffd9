-- One row per trading day and issuer, from the preferred source of that day
-- (CoinGlass where it has the day, else Farside). Holiday / no-data days are dropped.
with

coinglass as (select * from {{ ref('stg_coinglass__etf_flows') }}),
farside as (select * from {{ ref('stg_farside__etf_flows') }}),

unioned as (
    select *, 1 as source_priority from coinglass
    union all
    select *, 2 as source_priority from farside
),

day_source as (
    -- a (day, source) counts only if at least one issuer reported a figure
    select flow_date, source, min(source_priority) as source_priority
    from unioned
    where not is_total and net_flow_usd is not null
    group by flow_date, source
),

chosen as (
    select flow_date, source
    from day_source
    qualify row_number() over (partition by flow_date order by source_priority) = 1
),

final as (
    select
        u.flow_date,
        u.issuer,
        u.net_flow_usd,
        u.source
    from unioned as u
    inner join chosen as c using (flow_date, source)
    where not u.is_total
)

select * from final
