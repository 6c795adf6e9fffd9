-- The dashboard: per day and indicator, the reading, its status, the rule that decided it,
-- its source and freshness. Each indicator's rows are built in its own int_signal__* model.
with

etf_net_flow as (select * from {{ ref('int_signal__etf_net_flow') }}),

unioned as (
    select * from etf_net_flow
),

final as (
    select
        as_of_date,
        indicator,
        category,
        reading,
        reading_unit,
        reading_text,
        status,
        rule,
        source,
        source_as_of,
        is_stale
    from unioned
)

select * from final
order by as_of_date, indicator
