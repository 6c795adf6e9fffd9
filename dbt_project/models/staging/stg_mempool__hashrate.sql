-- mempool.space daily network hashrate, typed; the latest revision per day.
with

source as (
    select * from {{ source('raw', 'mining_hashrate') }}
),

latest as (
    select *
    from source
    qualify row_number() over (partition by hashrate_date order by ingested_at desc) = 1
),

final as (
    select
        cast(hashrate_date as date)     as hashrate_date,
        cast(hashrate_hs as double)     as hashrate_hs,
        cast(difficulty as double)      as difficulty,
        source,
        ingested_at,
        payload_id
    from latest
)

select * from final
