-- The composite regime row, one per calendar day (docs/macro_and_regime.md), read from the other
-- indicators' rows by their agreed names. Three conditions, in order:
--   1. macro risk appetite holds        macro_risk_appetite reads bull_confirmation
--   2. ETF outflows slow or reverse     etf_net_flow reads bull_confirmation, or it is not bear and the
--                                       5-trading-day sum is at or above the bull minimum (no net outflow)
--   3. derivatives normalise            funding positive and not bear, and the 25d risk reversal at or above
--                                       its bull minimum and not bear; judged on funding alone while no skew
--                                       is available (before the first chain snapshot)
-- A condition whose input row reads no_data (missing or stale) is not judged. The regime gives a verdict
-- every day from the conditions it can judge, marks it partial and names what is missing:
--   trend_reversal  every judged condition holds, and at least two are judged
--   relief_rally    BTC closed up on the day and at most one judged condition holds
--   washout_risk    bear statuses dominate: at least washout_min_bear_share of the day's judged indicator
--                   rows read bear_continuation, and bear outnumbers bull
--   undecided       otherwise
-- status: trend_reversal -> bull_confirmation; relief_rally and washout_risk -> bear_continuation (a rebound
-- under fear is a bear-market rally); undecided -> neutral; nothing judged -> no_data.
with

signals as (select * from {{ ref('int_signals__unioned') }}),
etf_daily as (select * from {{ ref('int_etf_flows__daily') }}),
price as (select * from {{ ref('int_btc_price__daily') }}),

etf_as_of as ({{ as_of_calendar('etf_daily', 'flow_date') }}),

rules as (
    select
        {{ rule('regime', 'washout_min_bear_share') }}          as washout_min_bear_share,
        {{ rule('regime', 'trend_reversal_min_judged') }}       as trend_reversal_min_judged,
        {{ rule('etf_net_flow', 'bull_5d_sum_min_usd') }}       as etf_5d_min_usd,
        {{ rule('risk_reversal_25d', 'bull_min_vol_pts') }}     as skew_min_vol_pts
),

wide as (
    select
        as_of_date,
        max(status) filter (where indicator = 'macro_risk_appetite')    as macro_status,
        max(status) filter (where indicator = 'etf_net_flow')           as etf_status,
        max(status) filter (where indicator = 'funding_rate')           as funding_status,
        max(reading) filter (where indicator = 'funding_rate')          as funding_pct_8h,
        max(status) filter (where indicator = 'risk_reversal_25d')      as skew_status,
        max(reading) filter (where indicator = 'risk_reversal_25d')     as skew_vol_pts,
        count(*) filter (where status <> 'no_data')                     as judged_rows,
        count(*) filter (where status = 'bear_continuation')            as bear_rows,
        count(*) filter (where status = 'bull_confirmation')            as bull_rows,
        bool_or(is_derived) filter (where status <> 'no_data')          as is_derived,
        string_agg(distinct indicator, ', ' order by indicator) filter (where status <> 'no_data' and is_derived)
                                                                        as derived_inputs,
        min(source_as_of) filter (where indicator in
            ('macro_risk_appetite', 'etf_net_flow', 'funding_rate', 'risk_reversal_25d') and status <> 'no_data')
                                                                        as source_as_of
    from signals
    group by as_of_date
),

conditions as (
    select
        wide.*,
        etf_as_of.net_flow_5d_usd,
        price.return_1d                                                 as btc_return_1d,
        rules.*,
        -- each condition: true (holds), false (fails) or null (not judged: its input reads no_data)
        case when wide.macro_status = 'no_data' then null
             else wide.macro_status = 'bull_confirmation' end           as macro_holds,
        case when wide.etf_status = 'no_data' then null
             else wide.etf_status = 'bull_confirmation'
                  or (wide.etf_status <> 'bear_continuation' and etf_as_of.net_flow_5d_usd >= rules.etf_5d_min_usd)
        end                                                             as etf_holds,
        case when wide.funding_status = 'no_data' then null
             else wide.funding_status <> 'bear_continuation' and wide.funding_pct_8h > 0 end
                                                                        as funding_holds,
        case when wide.skew_status = 'no_data' then null
             else wide.skew_status <> 'bear_continuation' and wide.skew_vol_pts >= rules.skew_min_vol_pts end
                                                                        as skew_holds
    from wide
    cross join rules
    left join etf_as_of on etf_as_of.as_of_date = wide.as_of_date
    left join price on price.price_date = wide.as_of_date
),

counted as (
    select
        *,
        case when funding_holds is null and skew_holds is null then null
             else coalesce(funding_holds, true) and coalesce(skew_holds, true) end
                                                                        as derivatives_holds,
        concat_ws(', ',
            case when macro_status = 'no_data' then 'macro_risk_appetite' end,
            case when etf_status = 'no_data' then 'etf_net_flow' end,
            case when funding_status = 'no_data' then 'funding_rate' end,
            case when skew_status = 'no_data' then 'risk_reversal_25d' end)
                                                                        as missing_list
    from conditions
),

decided as (
    select
        *,
        (macro_holds is not null)::int + (etf_holds is not null)::int + (derivatives_holds is not null)::int
                                                                        as conditions_judged,
        coalesce(macro_holds::int, 0) + coalesce(etf_holds::int, 0) + coalesce(derivatives_holds::int, 0)
                                                                        as conditions_holding
    from counted
),

stated as (
    select
        *,
        case
            when conditions_judged = 0 and judged_rows = 0 then 'no_data'
            when conditions_judged >= trend_reversal_min_judged and conditions_holding = conditions_judged
                then 'trend_reversal'
            when btc_return_1d > 0 and conditions_holding <= 1 then 'relief_rally'
            when judged_rows > 0 and bear_rows >= washout_min_bear_share * judged_rows and bear_rows > bull_rows
                then 'washout_risk'
            else 'undecided'
        end                                                             as regime_state,
        missing_list <> ''                                              as is_partial
    from decided
),

final as (
    select
        as_of_date,
        'regime'                                                        as indicator,
        'composite'                                                     as category,
        cast(conditions_holding as double)                              as reading,
        'conditions holding (of 3)'                                     as reading_unit,
        regime_state || ': ' || conditions_holding || ' of ' || conditions_judged || ' judged conditions hold'
            || case when is_partial then ' (partial: not judged from ' || missing_list || ')' else '' end
            || case when is_derived then ' [derived input: ' || derived_inputs || ']' else '' end
                                                                        as reading_text,
        case regime_state
            when 'trend_reversal' then 'bull_confirmation'
            when 'relief_rally' then 'bear_continuation'
            when 'washout_risk' then 'bear_continuation'
            when 'no_data' then 'no_data'
            else 'neutral'
        end                                                             as status,
        '1 macro risk appetite: '
            || case when macro_holds then 'holds' when not macro_holds then 'fails (' || macro_status || ')'
                    else 'not judged (no data)' end
            || '; 2 ETF outflows slowing or reversing: '
            || case when etf_holds then 'holds (' || etf_status || ') with 5d ' || {{ fmt_musd('net_flow_5d_usd') }}
                    when not etf_holds then 'fails (' || etf_status || ') with 5d ' || {{ fmt_musd('net_flow_5d_usd') }}
                    else 'not judged (no data)' end
            || '; 3 derivatives normalising (funding positive, 25d skew >= ' || {{ fmt_num('skew_min_vol_pts', 0) }} || '): '
            || case when derivatives_holds then 'holds' when not derivatives_holds then 'fails' else 'not judged' end
            || ' (funding ' || funding_status || ' ' || {{ fmt_num('funding_pct_8h', 4) }} || ' %/8h, skew '
            || skew_status || ' ' || {{ fmt_num('skew_vol_pts') }}
            || case when derivatives_holds is not null and skew_holds is null then '; judged on funding alone' else '' end
            || ')'
            || '; BTC ' || {{ fmt_pct('100 * btc_return_1d', 2) }} || ' d/d'
            || '; ' || bear_rows || ' bear / ' || bull_rows || ' bull of ' || judged_rows || ' indicator rows with data'
                                                                        as rule,
        'signal_dashboard'                                              as source,
        source_as_of,
        regime_state = 'no_data'                                        as is_stale,
        coalesce(is_derived, false)                                     as is_derived,
        case when is_partial then missing_list end                      as missing_inputs,
        is_partial
    from stated
)

select * from final
