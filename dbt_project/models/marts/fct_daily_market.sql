-- One row per calendar day with the key daily series side by side (wide), for charts and ad-hoc SQL.
with

calendar as (select * from {{ ref('int_calendar__days') }}),
etf as (select * from {{ ref('int_etf_flows__daily') }}),
price as (select * from {{ ref('int_btc_price__daily') }}),
mining as (select * from {{ ref('int_mining__daily') }}),
options as (select * from {{ ref('int_options__daily') }}),
dvol as (select * from {{ ref('stg_deribit__dvol') }}),
open_interest as (select * from {{ ref('int_futures_open_interest__daily') }}),
funding as (select * from {{ ref('int_futures_funding__daily') }}),
liquidations as (select * from {{ ref('int_futures_liquidations__daily') }}),

final as (
    select
        calendar.as_of_date,
        price.close_usd             as btc_close_usd,
        price.return_1d             as btc_return_1d,
        etf.net_flow_usd          as etf_net_flow_usd,
        etf.net_flow_5d_usd       as etf_net_flow_5d_usd,
        etf.net_flow_mtd_usd      as etf_net_flow_mtd_usd,
        etf.source                as etf_source,
        mining.hash_price_usd_per_phs_day,
        mining.hash_price_btc_per_phs_day,
        mining.hashrate_hs,
        mining.hashrate_7d_change_pct,
        mining.difficulty,
        mining.last_difficulty_change_pct,
        mining.next_difficulty_change_pct,
        mining.has_fee_data           as mining_has_fee_data,
        options.rr_25d_7d_vol_pts     as rr_25d_7d_vol_pts,
        options.rr_25d_30d_vol_pts    as rr_25d_30d_vol_pts,
        options.atm_iv_7d_pct         as atm_iv_7d_pct,
        options.atm_iv_30d_pct        as atm_iv_30d_pct,
        options.atm_iv_90d_pct        as atm_iv_90d_pct,
        options.term_slope_vol_pts    as iv_term_slope_vol_pts,
        dvol.dvol_close_pct        as dvol_close_pct,
        open_interest.oi_usd               as futures_oi_usd,
        open_interest.oi_change_7d_pct     as futures_oi_change_7d_pct,
        open_interest.source               as futures_oi_source,
        open_interest.venues               as futures_oi_venues,
        open_interest.is_derived           as futures_oi_is_derived,
        funding.funding_pct_8h        as funding_pct_8h,
        funding.is_derived            as funding_is_derived,
        liquidations.long_liquidation_usd  as long_liquidation_usd,
        liquidations.short_liquidation_usd as short_liquidation_usd
    from calendar
    left join etf on etf.flow_date = calendar.as_of_date
    left join price on price.price_date = calendar.as_of_date
    left join mining on mining.hashrate_date = calendar.as_of_date
    left join options on options.snapshot_date = calendar.as_of_date
    left join dvol on dvol.dvol_date = calendar.as_of_date
    left join open_interest on open_interest.oi_date = calendar.as_of_date
    left join funding on funding.funding_date = calendar.as_of_date
    left join liquidations on liquidations.liquidation_date = calendar.as_of_date
)

select * from final
