-- okx BTC-USDT-SWAP perpetual funding (realizedRate), one row per 8h funding (% per 8h); the latest revision (macro latest_revision) per instant.
with

source as (
    select * from {{ source('raw', 'futures_funding') }}
    where source = 'okx'
),

latest as ({{ latest_revision('source', ['funding_time', 'venue']) }}),

final as (
    select
        cast(funding_date as date)          as funding_date,
        cast(funding_time as timestamptz)   as funding_at,
        venue,
        symbol,
        cast(funding_rate_pct as double)    as funding_rate_pct_8h,
        source,
        cast(is_derived as boolean) as is_derived,
        ingested_at,
        payload_id
    from latest
)

select * from final
