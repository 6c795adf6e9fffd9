-- One row per chain snapshot day: 7d/30d 25-delta risk reversal, 7d/30d/90d ATM IV, the term-structure
-- slope (front-month 30d ATM minus 90d ATM, vol points; > 0 = inverted), and why a value is null.
with

constant_maturity as (select * from {{ ref('int_options__constant_maturity') }}),
chain as (select * from {{ ref('stg_deribit__option_chain') }}),

provenance as (
    -- the replay option chains are rendered from smile parameters: derived, not observed
    select snapshot_date, bool_or(is_derived) as is_derived
    from chain
    group by snapshot_date
),

pivoted as (
    select
        snapshot_date,
        max(snapshot_at)                                                       as snapshot_at,
        max(case when tenor_days = 7 then rr_25d_vol_pts end)                  as rr_25d_7d_vol_pts,
        max(case when tenor_days = 30 then rr_25d_vol_pts end)                 as rr_25d_30d_vol_pts,
        max(case when tenor_days = 7 then atm_iv_pct end)                      as atm_iv_7d_pct,
        max(case when tenor_days = 30 then atm_iv_pct end)                     as atm_iv_30d_pct,
        max(case when tenor_days = 90 then atm_iv_pct end)                     as atm_iv_90d_pct,
        max(case when tenor_days = 7 then null_reason end)                     as null_reason_7d,
        max(case when tenor_days = 30 then null_reason end)                    as null_reason_30d,
        max(case when tenor_days = 90 then null_reason end)                    as null_reason_90d,
        max(expiries_used)                                                     as expiries_used
    from constant_maturity
    group by snapshot_date
),

final as (
    select
        pivoted.*,
        pivoted.atm_iv_30d_pct - pivoted.atm_iv_90d_pct     as term_slope_vol_pts,
        coalesce(provenance.is_derived, false)              as is_derived
    from pivoted
    left join provenance using (snapshot_date)
)

select * from final
