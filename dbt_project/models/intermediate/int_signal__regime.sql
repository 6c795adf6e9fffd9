-- The composite regime row (DESIGN.md §1), one per calendar day, read from the other indicators' rows by
-- their agreed names. Three conditions, in order:
--   1. macro risk appetite holds          macro_risk_appetite = bull_confirmation
--   2. ETF outflows slow or reverse       etf_net_flow <> bear_continuation (no run of heavy outflow days)
--   3. derivatives sentiment normalises   funding_rate = bull_confirmation and risk_reversal_25d = bull_confirmation
-- A condition whose input row is missing or stale is 'unknown': it is neither counted as holding nor as
-- failing, and the rule text names it. State (first match wins):
--   trend_reversal  all three hold
--   relief_rally    BTC closed up on the day and at most one condition holds, even counting the unknown ones
--   washout_risk    bear statuses dominate: at least washout_min_bear_share of the day's fresh indicator rows
--                   read bear_continuation, and bear outnumbers bull
--   undecided       otherwise (including: too many unknowns to tell)
-- status: trend_reversal -> bull_confirmation; relief_rally and washout_risk -> bear_continuation (a rebound
-- under fear is a bear-market rally); undecided -> neutral.
with

calendar as (select * from {{ ref('int_calendar__days') }}),
signals as (select * from {{ ref('int_signals__unioned') }}),
price as (select * from {{ ref('int_btc_price__daily') }}),

rules as (
    select {{ rule('regime', 'washout_min_bear_share') }} as washout_min_bear_share
),

inputs as (
    select
        c.as_of_date,
        m.status        as macro_status,
        m.is_stale      as macro_is_stale,
        m.source_as_of  as macro_as_of,
        e.status        as etf_status,
        e.is_stale      as etf_is_stale,
        e.source_as_of  as etf_as_of,
        f.status        as funding_status,
        f.is_stale      as funding_is_stale,
        f.source_as_of  as funding_as_of,
        k.status        as skew_status,
        k.is_stale      as skew_is_stale,
        k.source_as_of  as skew_as_of,
        p.status        as price_status,
        p.is_stale      as price_is_stale,
        p.reading       as close_usd,
        p.source_as_of  as price_as_of
    from calendar as c
    left join signals as m on m.as_of_date = c.as_of_date and m.indicator = 'macro_risk_appetite'
    left join signals as e on e.as_of_date = c.as_of_date and e.indicator = 'etf_net_flow'
    left join signals as f on f.as_of_date = c.as_of_date and f.indicator = 'funding_rate'
    left join signals as k on k.as_of_date = c.as_of_date and k.indicator = 'risk_reversal_25d'
    left join signals as p on p.as_of_date = c.as_of_date and p.indicator = 'price_vs_key_levels'
),

tally as (
    select
        as_of_date,
        count(*) filter (where not is_stale)                                         as fresh_rows,
        count(*) filter (where not is_stale and status = 'bear_continuation')        as bear_rows,
        count(*) filter (where not is_stale and status = 'bull_confirmation')        as bull_rows
    from signals
    group by as_of_date
),

conditions as (
    select
        i.*,
        pr.return_1d                                                                 as btc_return_1d,
        coalesce(t.fresh_rows, 0)                                                    as fresh_rows,
        coalesce(t.bear_rows, 0)                                                     as bear_rows,
        coalesce(t.bull_rows, 0)                                                     as bull_rows,
        -- each condition: true (holds), false (fails) or null (unknown: input missing or stale)
        case when i.macro_status is null or i.macro_is_stale then null
             else i.macro_status = 'bull_confirmation' end                           as macro_holds,
        case when i.etf_status is null or i.etf_is_stale then null
             else i.etf_status <> 'bear_continuation' end                            as etf_holds,
        case when i.funding_status is null or i.funding_is_stale
                  or i.skew_status is null or i.skew_is_stale then null
             else i.funding_status = 'bull_confirmation' and i.skew_status = 'bull_confirmation' end
                                                                                     as derivatives_holds,
        concat_ws(', ',
            case when i.macro_status is null then 'macro_risk_appetite missing'
                 when i.macro_is_stale then 'macro_risk_appetite stale (as of ' || i.macro_as_of || ')' end,
            case when i.etf_status is null then 'etf_net_flow missing'
                 when i.etf_is_stale then 'etf_net_flow stale (as of ' || i.etf_as_of || ')' end,
            case when i.funding_status is null then 'funding_rate missing'
                 when i.funding_is_stale then 'funding_rate stale (as of ' || i.funding_as_of || ')' end,
            case when i.skew_status is null then 'risk_reversal_25d missing'
                 when i.skew_is_stale then 'risk_reversal_25d stale (as of ' || i.skew_as_of || ')' end,
            case when i.price_status is null then 'price_vs_key_levels missing'
                 when i.price_is_stale then 'price_vs_key_levels stale (as of ' || i.price_as_of || ')' end
        )                                                                            as missing_inputs
    from inputs as i
    left join price as pr on pr.price_date = i.as_of_date and not coalesce(i.price_is_stale, true)
    left join tally as t on t.as_of_date = i.as_of_date
),

counted as (
    select
        c.*,
        r.washout_min_bear_share,
        coalesce(c.macro_holds::int, 0) + coalesce(c.etf_holds::int, 0) + coalesce(c.derivatives_holds::int, 0)
                                                                                     as conditions_holding,
        (c.macro_holds is null)::int + (c.etf_holds is null)::int + (c.derivatives_holds is null)::int
                                                                                     as conditions_unknown
    from conditions as c
    cross join rules as r
),

decided as (
    select
        *,
        case
            when conditions_holding = 3 then 'trend_reversal'
            when btc_return_1d > 0 and conditions_holding + conditions_unknown <= 1 then 'relief_rally'
            when fresh_rows > 0 and bear_rows >= washout_min_bear_share * fresh_rows and bear_rows > bull_rows
                then 'washout_risk'
            else 'undecided'
        end as regime_state
    from counted
),

final as (
    select
        as_of_date,
        'regime'                                                        as indicator,
        'composite'                                                     as category,
        cast(conditions_holding as double)                              as reading,
        'conditions holding (of 3)'                                     as reading_unit,
        regime_state || ': ' || conditions_holding || ' of 3 conditions hold'
            || case when conditions_unknown > 0 then '; ' || conditions_unknown || ' unknown' else '' end
                                                                        as reading_text,
        case regime_state
            when 'trend_reversal' then 'bull_confirmation'
            when 'relief_rally' then 'bear_continuation'
            when 'washout_risk' then 'bear_continuation'
            else 'neutral'
        end                                                             as status,
        '1 macro risk appetite: '
            || case when macro_holds then 'holds' when not macro_holds then 'fails (' || macro_status || ')'
                    else 'unknown' end
            || '; 2 ETF outflows slowing or reversing: '
            || case when etf_holds then 'holds (' || etf_status || ')' when not etf_holds then 'fails (' || etf_status || ')'
                    else 'unknown' end
            || '; 3 derivatives normalising (funding and 25d skew bull): '
            || case when derivatives_holds then 'holds'
                    when not derivatives_holds then 'fails (funding ' || funding_status || ', skew ' || skew_status || ')'
                    else 'unknown' end
            || '; BTC ' || coalesce(printf('%+.2f%%', 100 * btc_return_1d), 'n/a') || ' d/d'
            || '; ' || bear_rows || ' bear / ' || bull_rows || ' bull of ' || fresh_rows || ' fresh indicator rows'
            || case when missing_inputs <> '' then '; not judged: ' || missing_inputs else '' end
            || case when regime_state = 'undecided' and conditions_unknown > 0
                    then '; undecided because unknown inputs could change the count' else '' end
                                                                        as rule,
        'signal_dashboard'                                              as source,
        least(macro_as_of, etf_as_of, funding_as_of, skew_as_of, price_as_of)
                                                                        as source_as_of,
        coalesce(macro_is_stale, false) or coalesce(etf_is_stale, false) or coalesce(funding_is_stale, false)
            or coalesce(skew_is_stale, false) or coalesce(price_is_stale, true)
                                                                        as is_stale
    from decided
)

select * from final
