-- Deribit BTC option chain snapshots, typed; the latest revision (macro latest_revision) per (snapshot day, instrument).
with

source as (
    select * from {{ source('raw', 'deribit_option_chain') }}
),

latest as ({{ latest_revision('source', ['snapshot_date', 'instrument_name']) }}),

final as (
    select
        cast(snapshot_date as date)          as snapshot_date,
        cast(snapshot_at as timestamptz)     as snapshot_at,
        instrument_name                      as instrument_name,
        cast(expiry_at as timestamptz)       as expiry_at,
        datediff('second', snapshot_at, expiry_at) / 86400.0
                                             as days_to_expiry,
        cast(strike as double)               as strike_usd,
        option_type                          as option_type,
        cast(mark_iv_pct as double)          as mark_iv_pct,
        cast(delta as double)                as delta,
        delta_source                         as delta_source,
        cast(underlying_price as double)     as forward_usd,
        underlying_index                     as underlying_index,
        cast(index_price as double)          as index_price_usd,
        cast(open_interest as double)        as open_interest_btc,
        cast(mark_price_btc as double)       as mark_price_btc,
        cast(is_derived as boolean)          as is_derived,
        ingested_at                          as ingested_at,
        payload_id                           as payload_id
    from latest
)

select * from final
