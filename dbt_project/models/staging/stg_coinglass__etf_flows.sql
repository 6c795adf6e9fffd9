-- CoinGlass ETF flows, typed; the latest revision per (day, issuer).
with

source as (
    select * from {{ source('raw', 'etf_flows') }}
    where source = 'coinglass'
),

latest as (
    select *
    from source
    qualify row_number() over (partition by flow_date, issuer order by ingested_at desc) = 1
),

final as (
    select
        cast(flow_date as date)        as flow_date,
        upper(issuer)                  as issuer,
        issuer = 'TOTAL'               as is_total,
        cast(net_flow_usd as double)   as net_flow_usd,
        'coinglass'                    as source,
        ingested_at                    as ingested_at,
        payload_id                     as payload_id
    from latest
)

select * from final
