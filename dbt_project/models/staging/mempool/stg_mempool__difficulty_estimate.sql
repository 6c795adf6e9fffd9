-- mempool.space running-epoch estimate, one snapshot per day, typed; the latest revision (macro latest_revision) per day.
with

source as (
    select * from {{ source('raw', 'mining_difficulty_estimate') }}
),

latest as ({{ latest_revision('source', ['snapshot_date']) }}),

final as (
    select
        cast(snapshot_date as date)                 as snapshot_date,
        cast(server_now_at as timestamptz)          as server_now_at,
        cast(progress_pct as double)                as progress_pct,
        cast(difficulty_change_pct as double)       as next_difficulty_change_pct,
        cast(estimated_retarget_at as timestamptz)  as estimated_retarget_at,
        cast(remaining_blocks as integer)           as remaining_blocks,
        cast(previous_retarget_pct as double)       as previous_retarget_pct,
        cast(next_retarget_height as bigint)        as next_retarget_height,
        -- current = taken during its day, or within 6 hours after it closed (the daily schedule's run);
        -- otherwise it came from a stalled view of the chain (e.g. replay past the dataset's end)
        cast(server_now_at as timestamptz) >= cast(snapshot_date as timestamp) at time zone 'UTC'
            and cast(server_now_at as timestamptz)
                < (cast(snapshot_date as timestamp) + interval 30 hour) at time zone 'UTC'
                                                    as is_current,
        source,
        cast(is_derived as boolean) as is_derived,
        ingested_at,
        payload_id
    from latest
)

select * from final
