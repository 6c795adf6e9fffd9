-- Dashboard rows for futures open interest, one per calendar day (rules: docs/derivatives.md).
-- The price conditions read the same day's levels as price_vs_key_levels (int_btc_price__key_levels),
-- never a fixed price. Bear continuation, either clause:
--   (a) re-leveraging: OI up >= rebuild % over 7 days while BTC rose over the same 7 days;
--   (b) forced deleveraging: OI down by at least |deleveraging| % over 7 days while BTC closes below the
--       day's support band (a falling market flushing longs, as in the week to 5 Feb 2026).
-- Bull confirmation: OI stable (|7d change| <= stable %) and BTC closes above the day's key level.
with

daily as (select * from {{ ref('int_futures_open_interest__daily') }}),
levels as (select * from {{ ref('int_btc_price__key_levels') }}),

as_of as ({{ as_of_calendar('daily', 'oi_date') }}),

rules as (
    select
        {{ rule('open_interest', 'stable_abs_7d_change_pct') }}     as stable_pct,
        {{ rule('open_interest', 'rebuild_7d_change_pct') }}        as rebuild_pct,
        {{ rule('open_interest', 'deleveraging_7d_change_pct') }}   as deleveraging_pct
),

classified as (
    select
        as_of.*,
        rules.*,
        levels.key_level_usd,
        levels.support_band_low_usd,
        levels.is_dated_level,
        case
            when as_of.oi_date is null or as_of.oi_change_7d_pct is null then 'no_data'
            when as_of.oi_change_7d_pct >= rules.rebuild_pct and as_of.btc_change_7d_pct > 0 then 'bear_continuation'
            when as_of.oi_change_7d_pct <= rules.deleveraging_pct
                 and as_of.btc_close_usd < levels.support_band_low_usd then 'bear_continuation'
            when abs(as_of.oi_change_7d_pct) <= rules.stable_pct
                 and as_of.btc_close_usd > levels.key_level_usd then 'bull_confirmation'
            else 'neutral'
        end                                                             as status
    from as_of
    cross join rules
    left join levels on levels.price_date = as_of.oi_date
),

final as (
    select
        as_of_date,
        'open_interest'                                                 as indicator,
        'leverage'                                                      as category,
        oi_usd                                                          as reading,
        'usd'                                                           as reading_unit,
        case when oi_date is null then 'no data'
             else {{ fmt_bnusd('oi_usd') }} || ' USD on ' || {{ fmt_date('oi_date') }} || ', ' || venues
                  || '; 7d ' || {{ fmt_pct('oi_change_7d_pct') }} || '; 30d ' || {{ fmt_pct('oi_change_30d_pct') }}
                  || '; BTC ' || {{ fmt_usd('btc_close_usd') }} || ' (7d ' || {{ fmt_pct('btc_change_7d_pct') }} || ')'
        end                                                             as reading_text,
        status,
        case
            when oi_date is null then 'no open interest data on or before this day'
            when oi_change_7d_pct is null then 'no OI 7 days earlier to compare with'
            when status = 'bear_continuation' and oi_change_7d_pct >= rebuild_pct then
                'OI rebuilding fast during a rebound: 7d ' || {{ fmt_pct('oi_change_7d_pct') }} || ' >= +'
                || {{ fmt_pct('rebuild_pct', 0, false) }} || ' while BTC rose ' || {{ fmt_pct('btc_change_7d_pct') }}
                || ': next liquidation leg likely'
            when status = 'bear_continuation' then
                'forced deleveraging: 7d OI ' || {{ fmt_pct('oi_change_7d_pct') }} || ' <= '
                || {{ fmt_pct('deleveraging_pct', 0) }} || ' while BTC closed at ' || {{ fmt_usd('btc_close_usd') }}
                || ' below the support band bottom ' || {{ fmt_usd('support_band_low_usd') }}
                || case when is_dated_level then ' (dated)' else ' (derived range low)' end
            when status = 'bull_confirmation' then
                'OI stable: 7d ' || {{ fmt_pct('oi_change_7d_pct') }} || ' within +/-' || {{ fmt_pct('stable_pct', 0, false) }}
                || ' and BTC closed at ' || {{ fmt_usd('btc_close_usd') }} || ' above the key level '
                || {{ fmt_usd('key_level_usd') }} || case when is_dated_level then ' (dated)' else ' (derived range high)' end
            else
                'neutral: 7d OI ' || {{ fmt_pct('oi_change_7d_pct') }} || ' (stable within +/-'
                || {{ fmt_pct('stable_pct', 0, false) }} || ', rebuild >= +' || {{ fmt_pct('rebuild_pct', 0, false) }}
                || ' with price up, deleveraging <= ' || {{ fmt_pct('deleveraging_pct', 0) }}
                || ' below the support band); BTC ' || {{ fmt_usd('btc_close_usd') }} || ' vs key level '
                || {{ fmt_usd('key_level_usd') }} || ', band bottom ' || {{ fmt_usd('support_band_low_usd') }}
        end                                                             as rule,
        source,
        oi_date                                                         as source_as_of,
        'futures_open_interest'                                         as freshness_key,
        coalesce(is_derived, false)                                     as is_derived,
        derived_inputs,
        case when oi_date is null then 'futures open interest (no data on or before this day)'
             when oi_change_7d_pct is null then 'futures open interest 7 days earlier' end
                                                                        as missing_inputs
    from classified
)

select * from final
