-- Dashboard rows for the hash price + difficulty indicator (DESIGN.md §1), one per calendar day.
-- bull: a difficulty adjustment landed recently and hashrate stabilised (7d change within ± the seed's band);
-- bear: hash price at a new N-day low, or the 7-day hashrate falling by more than the seed's threshold.
with

calendar as (select * from {{ ref('int_calendar__days') }}),
daily as (select * from {{ ref('int_mining__daily') }}),
freshness as (select * from {{ ref('source_freshness') }} where source_key = 'mining'),

as_of as (
    select
        c.as_of_date,
        d.*
    from calendar as c
    asof left join daily as d
        on c.as_of_date >= d.hashrate_date
),

rules as (
    select
        {{ rule('hash_price', 'stable_abs_7d_hashrate_change_pct') }}  as stable_pct,
        {{ rule('hash_price', 'bear_7d_hashrate_drop_pct') }}          as drop_pct,
        {{ rule('hash_price', 'low_lookback_days') }}                  as low_days,
        {{ rule('hash_price', 'adjustment_landed_within_days') }}      as landed_days
),

classified as (
    select
        a.*,
        r.*,
        a.hashrate_7d_change_pct < -r.drop_pct                          as is_hashrate_falling,
        a.days_since_last_adjustment <= r.landed_days                   as has_adjustment_landed,
        abs(a.hashrate_7d_change_pct) <= r.stable_pct                   as is_hashrate_stable,
        case
            when a.hashrate_date is null then 'neutral'
            when a.is_new_low or a.hashrate_7d_change_pct < -r.drop_pct then 'bear_continuation'
            when a.days_since_last_adjustment <= r.landed_days
                 and abs(a.hashrate_7d_change_pct) <= r.stable_pct then 'bull_confirmation'
            else 'neutral'
        end                                                             as status
    from as_of as a
    cross join rules as r
),

texts as (
    select
        *,
        coalesce(printf('%+.1f %%', hashrate_7d_change_pct), 'n/a')     as trend_text,
        coalesce(printf('%.2f', hash_price_usd_per_phs_day), 'n/a')     as price_text,
        coalesce(printf('%.2f', prior_low_usd_per_phs_day), 'n/a')      as low_text,
        coalesce(printf('%+.2f %% on %s', last_difficulty_change_pct, strftime(last_adjustment_date, '%Y-%m-%d')),
                 'n/a (no retarget loaded before this day)')           as last_text,
        coalesce(cast(days_since_last_adjustment as varchar), 'n/a')    as days_since_text,
        case when next_difficulty_change_pct is null then 'n/a'
             else printf('%+.2f %%', next_difficulty_change_pct)
                  || coalesce(' (~' || strftime(estimated_retarget_at, '%Y-%m-%d') || ')', '')
        end                                                             as next_text
    from classified
),

final as (
    select
        as_of_date,
        'hash_price'                                                    as indicator,
        'mining'                                                        as category,
        hash_price_usd_per_phs_day                                      as reading,
        'usd_per_phs_per_day'                                           as reading_unit,
        case when hashrate_date is null then 'no mining data'
             else 'hash price ' || price_text || ' USD/PH/s/day'
                  || coalesce(printf(' (%.6f BTC)', hash_price_btc_per_phs_day), '')
                  || ' on ' || strftime(hashrate_date, '%Y-%m-%d')
                  || case when btc_close_usd is null then ' [no BTC price that day]' else '' end
                  || case when not has_fee_data then ' [subsidy only: no fee data that day]' else '' end
                  || printf('; hashrate %.0f EH/s, 7d mean ', hashrate_hs / 1e18) || trend_text || ' w/w'
                  || '; difficulty last ' || last_text || ', next est. ' || next_text
        end                                                             as reading_text,
        status,
        case
            when hashrate_date is null then 'no hashrate data on or before this day'
            when status = 'bear_continuation' then
                concat_ws('; ',
                    case when is_new_low then 'hash price ' || price_text || ' is a new ' || cast(low_days as integer)
                         || '-day low (previous low ' || low_text || ')' end,
                    case when is_hashrate_falling then '7d mean hashrate ' || trend_text || ' falls more than '
                         || printf('%.0f %%', drop_pct) || ' (miners switching off)' end)
            when status = 'bull_confirmation' then
                'difficulty adjustment landed ' || days_since_text || ' days ago (' || last_text
                || ', within ' || cast(landed_days as integer) || ' days) and 7d mean hashrate ' || trend_text
                || ' is within ±' || printf('%.0f %%', stable_pct)
            else
                'neither rule fired: hash price ' || price_text || ' vs ' || cast(low_days as integer)
                || '-day low ' || low_text
                || case when not has_full_low_lookback then ' (lookback not yet covered)' else '' end
                || '; 7d mean hashrate ' || trend_text
                || ' (bear below -' || printf('%.0f %%', drop_pct) || ', stable within ±' || printf('%.0f %%', stable_pct)
                || '); last adjustment ' || days_since_text || ' days ago'
        end                                                             as rule,
        source,
        hashrate_date                                                   as source_as_of,
        hashrate_date is null
            or datediff('day', hashrate_date, as_of_date) > (select max_lag_days from freshness)
                                                                        as is_stale
    from texts
)

select * from final
