-- The dashboard: per day and indicator, the reading, its status, the rule that decided it,
-- its source and freshness; then the composite regime row built from them.
with

indicators as (select * from {{ ref('int_signals__unioned') }}),
regime as (select * from {{ ref('int_signal__regime') }}),

final as (
    select * from indicators
    union all by name
    select * from regime
)

select * from final
order by as_of_date, indicator
