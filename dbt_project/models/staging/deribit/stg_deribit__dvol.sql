-- Deribit BTC volatility index (DVOL, 30-day implied vol in %), one row per UTC day; latest revision.
with

source as (
    select * from {{ source('raw', 'deribit_dvol') }}
),

latest as ({{ latest_revision('source', ['dvol_date']) }}),

final as (
    select
        cast(dvol_date as date)     as dvol_date,
        cast(open as double)        as dvol_open_pct,
        cast(high as double)        as dvol_high_pct,
        cast(low as double)         as dvol_low_pct,
        cast(close as double)       as dvol_close_pct,
        cast(is_derived as boolean) as is_derived,
        ingested_at                 as ingested_at
    from latest
)

select * from final
