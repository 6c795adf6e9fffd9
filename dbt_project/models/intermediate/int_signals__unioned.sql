-- Every indicator's dashboard rows, one model per indicator (int_signal__<indicator>).
-- Adding an indicator: build int_signal__<name> with the columns below and add it here.
with

etf_net_flow as (select * from {{ ref('int_signal__etf_net_flow') }}),
funding_rate as (select * from {{ ref('int_signal__funding_rate') }}),
open_interest as (select * from {{ ref('int_signal__open_interest') }}),
liquidations as (select * from {{ ref('int_signal__liquidations') }}),
risk_reversal_25d as (select * from {{ ref('int_signal__risk_reversal_25d') }}),
iv_term_structure as (select * from {{ ref('int_signal__iv_term_structure') }}),
hash_price as (select * from {{ ref('int_signal__hash_price') }}),
macro_risk_appetite as (select * from {{ ref('int_signal__macro_risk_appetite') }}),
price_vs_key_levels as (select * from {{ ref('int_signal__price_vs_key_levels') }}),

unioned as (
    select * from etf_net_flow
    union all by name
    select * from funding_rate
    union all by name
    select * from open_interest
    union all by name
    select * from liquidations
    union all by name
    select * from risk_reversal_25d
    union all by name
    select * from iv_term_structure
    union all by name
    select * from hash_price
    union all by name
    select * from macro_risk_appetite
    union all by name
    select * from price_vs_key_levels
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
