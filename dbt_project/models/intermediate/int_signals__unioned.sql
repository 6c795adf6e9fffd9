-- Every indicator's dashboard rows, one model per indicator (int_signal__<indicator>).
-- Adding an indicator: build int_signal__<name> with the columns below and add it here.
with

etf_net_flow as (select * from {{ ref('int_signal__etf_net_flow') }}),
funding_rate as (select * from {{ ref('int_signal__funding_rate') }}),
open_interest as (select * from {{ ref('int_signal__open_interest') }}),
liquidations as (select * from {{ ref('int_signal__liquidations') }}),

unioned as (
    select * from etf_net_flow
    union all
    select * from funding_rate
    union all
    select * from open_interest
    union all
    select * from liquidations
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
