-- Dashboard rows for the hash price + difficulty indicator, one per calendar day (rules: docs/mining.md).
-- Reading: hash price on the difficulty-implied hashrate (int_mining__daily), USD per PH/s per day.
-- Bull: a DOWNWARD difficulty adjustment landed within the seed's days (miners' revenue per hash rises)
--   and the 7-day mean hashrate is stable (change within ± the seed's band).
-- Bear: hash price at a new N-day low, or the 7-day mean hashrate falling by more than the seed's threshold.
with

daily as (select * from {{ ref('int_mining__daily') }}),

as_of as ({{ as_of_calendar('daily', 'hashrate_date') }}),

rules as (
    select
        {{ rule('hash_price', 'stable_abs_7d_hashrate_change_pct') }}  as stable_pct,
        {{ rule('hash_price', 'bear_7d_hashrate_drop_pct') }}          as drop_pct,
        {{ rule('hash_price', 'low_lookback_days') }}                  as low_days,
        {{ rule('hash_price', 'adjustment_landed_within_days') }}      as landed_days
),

classified as (
    select
        as_of.*,
        rules.*,
        as_of.hashrate_7d_change_pct < -rules.drop_pct                              as is_hashrate_falling,
        as_of.days_since_last_adjustment <= rules.landed_days
            and as_of.last_difficulty_change_pct < 0                                as has_downward_adjustment_landed,
        abs(as_of.hashrate_7d_change_pct) <= rules.stable_pct                       as is_hashrate_stable,
        case
            when as_of.hashrate_date is null or as_of.hash_price_usd_per_phs_day is null then 'no_data'
            when as_of.is_new_low or as_of.hashrate_7d_change_pct < -rules.drop_pct then 'bear_continuation'
            when as_of.days_since_last_adjustment <= rules.landed_days
                 and as_of.last_difficulty_change_pct < 0
                 and abs(as_of.hashrate_7d_change_pct) <= rules.stable_pct then 'bull_confirmation'
            else 'neutral'
        end                                                                         as status
    from as_of
    cross join rules
),

texts as (
    select
        *,
        {{ fmt_pct('hashrate_7d_change_pct') }}                                     as trend_text,
        {{ fmt_num('hash_price_usd_per_phs_day', 2, false) }}                       as price_text,
        {{ fmt_num('prior_low_usd_per_phs_day', 2, false) }}                        as low_text,
        coalesce({{ fmt_pct('last_difficulty_change_pct', 2) }} || ' on ' || strftime(last_adjustment_date, '%Y-%m-%d'),
                 'n/a (no retarget loaded before this day)')                        as last_text,
        {{ fmt_int('days_since_last_adjustment') }}                                 as days_since_text,
        case when next_difficulty_change_pct is null then 'n/a'
             else {{ fmt_pct('next_difficulty_change_pct', 2) }}
                  || coalesce(' (~' || strftime(estimated_retarget_at, '%Y-%m-%d') || ')', '')
        end                                                                         as next_text
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
                  || ' on ' || {{ fmt_date('hashrate_date') }} || ', on the difficulty-implied hashrate '
                  || {{ fmt_num('difficulty_hashrate_phs / 1000', 0, false) }} || ' EH/s ('
                  || {{ fmt_num('hash_price_on_estimate_usd_per_phs_day', 2, false) }}
                  || ' USD/PH/s/day on the day''s noisy hashrate estimate)'
                  || case when btc_close_usd is null then ' [no BTC price that day]' else '' end
                  || case when not has_fee_data then ' [subsidy only: no fee data that day]' else '' end
                  || '; hashrate estimate ' || {{ fmt_num('hashrate_hs / 1e18', 0, false) }} || ' EH/s, 7d mean '
                  || trend_text || ' w/w'
                  || '; difficulty last ' || last_text || ', next est. ' || next_text
        end                                                             as reading_text,
        status,
        case
            when hashrate_date is null then 'no hashrate data on or before this day'
            when hash_price_usd_per_phs_day is null then 'no hash price: no BTC close for ' || {{ fmt_date('hashrate_date') }}
            when status = 'bear_continuation' then
                concat_ws('; ',
                    case when is_new_low then 'hash price ' || price_text || ' is a new ' || {{ fmt_int('low_days') }}
                         || '-day low (previous low ' || low_text || ')' end,
                    case when is_hashrate_falling then '7d mean hashrate ' || trend_text || ' falls more than '
                         || {{ fmt_pct('drop_pct', 0, false) }} || ' (miners switching off)' end)
            when status = 'bull_confirmation' then
                'downward difficulty adjustment landed ' || days_since_text || ' days ago (' || last_text
                || ', within ' || {{ fmt_int('landed_days') }} || ' days) and 7d mean hashrate ' || trend_text
                || ' is within ±' || {{ fmt_pct('stable_pct', 0, false) }}
            else
                'neutral: hash price ' || price_text || ' vs ' || {{ fmt_int('low_days') }}
                || '-day low ' || low_text
                || case when not has_full_low_lookback then ' (lookback not yet covered)' else '' end
                || '; 7d mean hashrate ' || trend_text
                || ' (bear below -' || {{ fmt_pct('drop_pct', 0, false) }} || ', stable within ±'
                || {{ fmt_pct('stable_pct', 0, false) }} || '); last adjustment ' || last_text || ', '
                || days_since_text || ' days ago (bull needs a downward one within '
                || {{ fmt_int('landed_days') }} || ' days)'
        end                                                             as rule,
        source,
        hashrate_date                                                   as source_as_of,
        'mining'                                                        as freshness_key,
        false                                                           as is_derived,
        cast(null as varchar)                                           as derived_inputs,
        case when hashrate_date is null then 'mempool.space hashrate (no data on or before this day)'
             when hash_price_usd_per_phs_day is null then 'BTC close of ' || {{ fmt_date('hashrate_date') }} end
                                                                        as missing_inputs
    from texts
)

select * from final
