-- Every indicator's dashboard rows (before the regime row), with the scaffold they share computed once:
--   is_stale        the newest input (source_as_of) is older than the source's allowed lag (seed source_freshness)
--   status          an indicator model says what its rule reads on the data it has; here a row with no input
--                   (source_as_of null) or a stale input becomes 'no_data': missing data is never neutral and a
--                   stale row never keeps a directional status
--   missing_inputs  which input is missing or stale (null when the row is complete)
--   is_derived      an input of the row on that day is derived, not observed; reading_text then says so
-- Adding an indicator: build int_signal__<name> with the columns of `unioned` below and add it here.
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
freshness as (select * from {{ ref('source_freshness') }}),

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

judged as (
    select
        unioned.*,
        freshness.max_lag_days,
        unioned.source_as_of is not null
            and datediff('day', unioned.source_as_of, unioned.as_of_date) > freshness.max_lag_days  as is_stale_input,
        unioned.source_as_of is null or unioned.status = 'no_data'                                  as is_missing_input
    from unioned
    left join freshness on freshness.source_key = unioned.freshness_key
),

final as (
    select
        as_of_date,
        indicator,
        category,
        reading,
        reading_unit,
        reading_text
            || case when is_stale_input then ' [stale: data of ' || {{ fmt_date('source_as_of') }} || ']' else '' end
            || case when coalesce(is_derived, false) then ' [derived input: ' || derived_inputs || ']' else '' end
                                                                            as reading_text,
        case when is_missing_input or is_stale_input then 'no_data' else status end
                                                                            as status,
        case
            when is_stale_input and not is_missing_input then
                'no_data: the newest ' || freshness_key || ' data is from ' || {{ fmt_date('source_as_of') }} || ', '
                || datediff('day', source_as_of, as_of_date) || ' days old (allowed lag '
                || max_lag_days || ' days); the last reading said: ' || rule
            else rule
        end                                                                 as rule,
        source,
        source_as_of,
        is_missing_input or is_stale_input                                  as is_stale,
        coalesce(is_derived, false)                                         as is_derived,
        case
            when is_stale_input and not is_missing_input then
                coalesce(missing_inputs || '; ', '') || freshness_key || ' stale since ' || {{ fmt_date('source_as_of') }}
            else missing_inputs
        end                                                                 as missing_inputs
    from judged
)

select * from final
