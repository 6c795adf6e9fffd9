-- CoinGlass OI-weighted BTC funding, one daily OHLC bar per day (% per 8h); the latest revision (macro latest_revision) per day.
with

source as (
    select * from {{ source('raw', 'futures_funding') }}
    where source = 'coinglass'
),

latest as ({{ latest_revision('source', ['funding_date', 'venue']) }}),

final as (
    select
        cast(funding_date as date)          as funding_date,
        venue,
        cast(funding_open_pct as double)    as funding_open_pct_8h,
        cast(funding_high_pct as double)    as funding_high_pct_8h,
        cast(funding_low_pct as double)     as funding_low_pct_8h,
        cast(funding_rate_pct as double)    as funding_close_pct_8h,
        source,
        cast(is_derived as boolean) as is_derived,
        ingested_at,
        payload_id
    from latest
)

select * from final
