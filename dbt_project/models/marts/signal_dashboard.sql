-- The dashboard: per day and indicator, the reading, its status, the rule that decided it, its source,
-- freshness and whether an input is derived; then the composite regime row built from them.
-- Columns are documented in _marts.yml (and the README's table).
with

indicators as (select * from {{ ref('int_signals__unioned') }}),
regime as (select * from {{ ref('int_signal__regime') }}),

unioned as (
    select * from indicators
    union all by name
    select * from regime
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
        is_stale,
        is_derived,
        missing_inputs,
        coalesce(is_partial, missing_inputs is not null)    as is_partial
    from unioned
)

select * from final
order by as_of_date, indicator
