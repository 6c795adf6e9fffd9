-- mempool.space daily network hashrate, typed; the latest revision (macro latest_revision) per day.
with

source as (
    select * from {{ source('raw', 'mining_hashrate') }}
),

latest as ({{ latest_revision('source', ['hashrate_date']) }}),

final as (
    select
        cast(hashrate_date as date)     as hashrate_date,
        cast(hashrate_hs as double)     as hashrate_hs,
        cast(difficulty as double)      as difficulty,
        source,
        cast(is_derived as boolean) as is_derived,
        ingested_at,
        payload_id
    from latest
)

select * from final
