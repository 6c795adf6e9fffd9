-- okx futures open interest per day, typed; the latest revision (macro latest_revision) per (day, venue).
with

source as (
    select * from {{ source('raw', 'futures_open_interest') }}
    where source = 'okx'
),

latest as ({{ latest_revision('source', ['oi_date', 'venue']) }}),

final as (
    select
        cast(oi_date as date)           as oi_date,
        venue,
        symbol,
        cast(oi_open_usd as double)     as oi_open_usd,
        cast(oi_high_usd as double)     as oi_high_usd,
        cast(oi_low_usd as double)      as oi_low_usd,
        cast(oi_close_usd as double)    as oi_close_usd,
        cast(oi_close_btc as double)    as oi_close_btc,
        source,
        cast(is_derived as boolean) as is_derived,
        ingested_at,
        payload_id
    from latest
)

select * from final
