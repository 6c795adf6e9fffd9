-- mempool.space fees and subsidy per block by UTC day, typed; the latest revision (macro latest_revision) per day.
with

source as (
    select * from {{ source('raw', 'mining_block_rewards') }}
),

latest as ({{ latest_revision('source', ['reward_date']) }}),

final as (
    select
        cast(reward_date as date)                   as reward_date,
        cast(avg_height as bigint)                  as avg_height,
        cast(avg_fees_per_block_sats as double)     as avg_fees_per_block_sats,
        cast(subsidy_per_block_btc as double)       as subsidy_per_block_btc,
        cast(fee_buckets as integer)                as fee_buckets,
        cast(price_usd as double)                   as mempool_price_usd,
        source,
        cast(is_derived as boolean) as is_derived,
        ingested_at,
        payload_id
    from latest
)

select * from final
