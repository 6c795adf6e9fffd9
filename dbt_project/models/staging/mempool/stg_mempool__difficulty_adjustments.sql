-- mempool.space difficulty retargets, typed; the latest revision (macro latest_revision) per retarget height.
with

source as (
    select * from {{ source('raw', 'mining_difficulty_adjustments') }}
),

latest as ({{ latest_revision('source', ['height']) }}),

final as (
    select
        cast(adjustment_date as date)                   as adjustment_date,
        cast(adjusted_at as timestamptz)                as adjusted_at,
        cast(height as bigint)                          as height,
        cast(difficulty as double)                      as difficulty,
        cast(adjustment_ratio as double)                as adjustment_ratio,
        (cast(adjustment_ratio as double) - 1) * 100    as difficulty_change_pct,
        source,
        cast(is_derived as boolean) as is_derived,
        ingested_at,
        payload_id
    from latest
)

select * from final
