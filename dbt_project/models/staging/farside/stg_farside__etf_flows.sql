-- Farside ETF flows (US$m converted to USD at landing), typed; the latest revision (macro latest_revision) per (day, issuer).
with

source as (
    select * from {{ source('raw', 'etf_flows') }}
    where source = 'farside'
),

latest as ({{ latest_revision('source', ['flow_date', 'issuer']) }}),

final as (
    select
        cast(flow_date as date)        as flow_date,
        upper(issuer)                  as issuer,
        issuer = 'TOTAL'               as is_total,
        cast(net_flow_usd as double)   as net_flow_usd,
        'farside'                    as source,
        cast(is_derived as boolean)    as is_derived,
        ingested_at                    as ingested_at,
        payload_id                     as payload_id
    from latest
)

select * from final
