-- mempool.space difficulty retargets, typed; the latest revision per retarget height.
with

source as (
    select * from {{ source('raw', 'mining_difficulty_adjustments') }}
),

latest as (
    select *
    from source
    qualify row_number() over (partition by height order by ingested_at desc) = 1
),

final as (
    select
        cast(adjustment_date as date)                   as adjustment_date,
        cast(adjusted_at as timestamptz)                as adjusted_at,
        cast(height as bigint)                          as height,
        cast(difficulty as double)                      as difficulty,
        cast(adjustment_ratio as double)                as adjustment_ratio,
        (cast(adjustment_ratio as double) - 1) * 100    as difficulty_change_pct,
        source,
        ingested_at,
        payload_id
    from latest
)

select * from final
