-- Dashboard rows for futures open interest (DESIGN.md §1), one per calendar day.
-- Bear continuation, either clause:
--   (a) re-leveraging: OI up >= rebuild % over 7 days while BTC rose over the same 7 days (DESIGN default);
--   (b) forced deleveraging: OI down by at least |deleveraging| % over 7 days while BTC closes below the
--       key level (added: a falling market flushing longs, as in the week to 5 Feb 2026; docs/derivatives.md).
-- Bull confirmation: OI stable (|7d change| <= stable %) and BTC closes above the key level.
with

calendar as (select * from {{ ref('int_calendar__days') }}),
daily as (select * from {{ ref('int_futures_open_interest__daily') }}),
freshness as (select * from {{ ref('source_freshness') }} where source_key = 'futures_open_interest'),

as_of as (
    select
        c.as_of_date,
        d.*
    from calendar as c
    asof left join daily as d
        on c.as_of_date >= d.oi_date
),

rules as (
    select
        {{ rule('open_interest', 'stable_abs_7d_change_pct') }}     as stable_pct,
        {{ rule('open_interest', 'rebuild_7d_change_pct') }}        as rebuild_pct,
        {{ rule('open_interest', 'deleveraging_7d_change_pct') }}   as deleveraging_pct,
        {{ rule('open_interest', 'key_level_usd') }}                as key_level_usd
),

classified as (
    select
        a.*,
        r.*,
        case
            when a.oi_date is null or a.oi_change_7d_pct is null then 'neutral'
            when a.oi_change_7d_pct >= r.rebuild_pct and a.btc_change_7d_pct > 0 then 'bear_continuation'
            when a.oi_change_7d_pct <= r.deleveraging_pct and a.btc_close_usd < r.key_level_usd then 'bear_continuation'
            when abs(a.oi_change_7d_pct) <= r.stable_pct and a.btc_close_usd > r.key_level_usd then 'bull_confirmation'
            else 'neutral'
        end as status
    from as_of as a
    cross join rules as r
),

final as (
    select
        as_of_date,
        'open_interest'                                         as indicator,
        'leverage'                                              as category,
        oi_usd                                                  as reading,
        'usd'                                                   as reading_unit,
        case when oi_date is null then 'no data'
             else printf('%.1f', oi_usd / 1e9) || 'bn USD on ' || strftime(oi_date, '%Y-%m-%d')
                  || '; 7d ' || coalesce(printf('%+.1f', oi_change_7d_pct) || ' %', 'n/a')
                  || '; 30d ' || coalesce(printf('%+.1f', oi_change_30d_pct) || ' %', 'n/a')
                  || '; BTC ' || coalesce(printf('%,.0f', btc_close_usd), 'n/a')
                  || ' (7d ' || coalesce(printf('%+.1f', btc_change_7d_pct) || ' %', 'n/a') || ')'
        end                                                     as reading_text,
        status,
        case
            when oi_date is null then 'no open interest data on or before this day'
            when oi_change_7d_pct is null then 'no OI 7 days earlier to compare with'
            when status = 'bear_continuation' and oi_change_7d_pct >= rebuild_pct then
                'OI rebuilding fast during a rebound: 7d ' || printf('%+.1f', oi_change_7d_pct) || ' % >= +'
                || printf('%.0f', rebuild_pct) || ' % while BTC rose ' || printf('%+.1f', btc_change_7d_pct)
                || ' %: next liquidation leg likely'
            when status = 'bear_continuation' then
                'forced deleveraging: 7d OI ' || printf('%+.1f', oi_change_7d_pct) || ' % <= '
                || printf('%.0f', deleveraging_pct) || ' % while BTC closed at ' || printf('%,.0f', btc_close_usd)
                || ' below the ' || printf('%,.0f', key_level_usd) || ' key level'
            when status = 'bull_confirmation' then
                'OI stable: 7d ' || printf('%+.1f', oi_change_7d_pct) || ' % within +/-' || printf('%.0f', stable_pct)
                || ' % and BTC closed at ' || printf('%,.0f', btc_close_usd) || ' above the '
                || printf('%,.0f', key_level_usd) || ' key level'
            else
                'neither rule fired: 7d OI ' || printf('%+.1f', oi_change_7d_pct) || ' % (stable within +/-'
                || printf('%.0f', stable_pct) || ' %, rebuild >= +' || printf('%.0f', rebuild_pct)
                || ' % with price up, deleveraging <= ' || printf('%.0f', deleveraging_pct)
                || ' % below the key level); BTC ' || coalesce(printf('%,.0f', btc_close_usd), 'n/a') || ' vs '
                || printf('%,.0f', key_level_usd)
        end                                                     as rule,
        source,
        oi_date                                                 as source_as_of,
        oi_date is null
            or datediff('day', oi_date, as_of_date) > (select max_lag_days from freshness)
                                                                as is_stale
    from classified
)

select * from final
