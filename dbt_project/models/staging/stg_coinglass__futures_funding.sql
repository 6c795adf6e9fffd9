-- CoinGlass OI-weighted BTC funding, one daily OHLC bar per day (% per 8h); the latest revision per day.
with

source as (
    select * from {{ source('raw', 'futures_funding') }}
    where source = 'coinglass'
),

latest as (
    select *
    from source
    qualify row_number() over (partition by funding_date, venue order by ingested_at desc) = 1
),

final as (
    select
        cast(funding_date as date)          as funding_date,
        venue,
        cast(funding_open_pct as double)    as funding_open_pct_8h,
        cast(funding_high_pct as double)    as funding_high_pct_8h,
        cast(funding_low_pct as double)     as funding_low_pct_8h,
        cast(funding_rate_pct as double)    as funding_close_pct_8h,
        source,
        ingested_at,
        payload_id
    from latest
)

select * from final
