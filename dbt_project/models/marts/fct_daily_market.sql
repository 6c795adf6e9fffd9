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
        c.as_of_date,
        p.close_usd             as btc_close_usd,
        p.return_1d             as btc_return_1d,
        e.net_flow_usd          as etf_net_flow_usd,
        e.net_flow_5d_usd       as etf_net_flow_5d_usd,
        e.net_flow_mtd_usd      as etf_net_flow_mtd_usd,
        e.source                as etf_source,
        m.hash_price_usd_per_phs_day,
        m.hash_price_btc_per_phs_day,
        m.hashrate_hs,
        m.hashrate_7d_change_pct,
        m.difficulty,
        m.last_difficulty_change_pct,
        m.next_difficulty_change_pct,
        m.has_fee_data           as mining_has_fee_data,
        o.rr_25d_7d_vol_pts     as rr_25d_7d_vol_pts,
        o.rr_25d_30d_vol_pts    as rr_25d_30d_vol_pts,
        o.atm_iv_7d_pct         as atm_iv_7d_pct,
        o.atm_iv_30d_pct        as atm_iv_30d_pct,
        o.atm_iv_90d_pct        as atm_iv_90d_pct,
        o.term_slope_vol_pts    as iv_term_slope_vol_pts,
        v.dvol_close_pct        as dvol_close_pct,
        oi.oi_usd               as futures_oi_usd,
        oi.oi_change_7d_pct     as futures_oi_change_7d_pct,
        oi.source               as futures_oi_source,
        f.funding_pct_8h        as funding_pct_8h,
        l.long_liquidation_usd  as long_liquidation_usd,
        l.short_liquidation_usd as short_liquidation_usd
    from calendar as c
    left join etf as e on e.flow_date = c.as_of_date
    left join price as p on p.price_date = c.as_of_date
    left join mining as m on m.hashrate_date = c.as_of_date
    left join options as o on o.snapshot_date = c.as_of_date
    left join dvol as v on v.dvol_date = c.as_of_date
    left join open_interest as oi on oi.oi_date = c.as_of_date
    left join funding as f on f.funding_date = c.as_of_date
    left join liquidations as l on l.liquidation_date = c.as_of_date
)

select * from final
