-- The dashboard: per day and indicator, the reading, its status, the rule that decided it,
-- its source and freshness; plus the composite regime row once it exists.
with

indicators as (select * from {{ ref('int_signals__unioned') }}),

final as (
    select * from indicators
)

select * from final
order by as_of_date, indicator
