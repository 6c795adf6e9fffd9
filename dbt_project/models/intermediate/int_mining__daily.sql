-- Daily mining panel: hash price, hashrate trend, 90-day low and the last/next difficulty change.
--
-- hash price (USD per PH/s per day) = (subsidy + fees earned per day, BTC) × BTC close (USD) ÷ hashrate (PH/s)
-- where "per day" is the protocol's 144 blocks (one per 600 s): subsidy per day = 144 × subsidy per block and
-- fees per day = 144 × the day's mean fees per block, and the hashrate is the one the difficulty in force
-- implies: difficulty × 2^32 ÷ 600 s (the network hashrate the protocol targets). mempool.space's daily
-- hashrate *estimate* counts one day's blocks and is noisy (daily log changes of the hash price: ~12 % s.d. against ~3.8 %
-- for the difficulty-based figure), so it drives only the 7-day-mean trend and a context column.
-- See docs/mining.md for the worked check on 2026-02-05.
with

hashrate as (select * from {{ ref('stg_mempool__hashrate') }}),
rewards as (select * from {{ ref('stg_mempool__block_rewards') }}),
adjustments as (select * from {{ ref('stg_mempool__difficulty_adjustments') }}),
estimates as (select * from {{ ref('stg_mempool__difficulty_estimate') }}),
price as (select * from {{ ref('int_btc_price__daily') }}),

rules as (
    select {{ rule('hash_price', 'low_lookback_days') }} as low_lookback_days
),

revenue as (
    select
        hashrate.hashrate_date,
        hashrate.hashrate_hs,
        hashrate.hashrate_hs / 1e15                                        as hashrate_phs,
        hashrate.difficulty,
        -- the hashrate the difficulty implies (2^32 hashes per difficulty unit per block, one block per 600 s);
        -- the day's estimate only where no difficulty is known
        coalesce(hashrate.difficulty * pow(2, 32) / 600 / 1e15, hashrate.hashrate_hs / 1e15)
                                                                    as difficulty_hashrate_phs,
        -- protocol constants: the subsidy halved to 3.125 BTC at block 840,000 (mined 2024-04-20 00:09 UTC)
        coalesce(rewards.subsidy_per_block_btc,
                 case when hashrate.hashrate_date >= date '2024-04-20' then 3.125 else 6.25 end)
                                                                    as subsidy_per_block_btc,
        rewards.avg_fees_per_block_sats,
        rewards.reward_date is not null                                   as has_fee_data,
        price.close_usd                                                 as btc_close_usd,
        hashrate.source
    from hashrate
    left join rewards on rewards.reward_date = hashrate.hashrate_date
    left join price on price.price_date = hashrate.hashrate_date
),

hash_price as (
    select
        *,
        144 * subsidy_per_block_btc                                 as subsidy_btc_per_day,
        144 * coalesce(avg_fees_per_block_sats, 0) / 1e8            as fees_btc_per_day,
        144 * (subsidy_per_block_btc + coalesce(avg_fees_per_block_sats, 0) / 1e8)
                                                                    as revenue_btc_per_day,
        144 * (subsidy_per_block_btc + coalesce(avg_fees_per_block_sats, 0) / 1e8) / difficulty_hashrate_phs
                                                                    as hash_price_btc_per_phs_day,
        144 * (subsidy_per_block_btc + coalesce(avg_fees_per_block_sats, 0) / 1e8) * btc_close_usd
            / difficulty_hashrate_phs                               as hash_price_usd_per_phs_day,
        -- the same on the day's noisy hashrate estimate (context only)
        144 * (subsidy_per_block_btc + coalesce(avg_fees_per_block_sats, 0) / 1e8) * btc_close_usd / hashrate_phs
                                                                    as hash_price_on_estimate_usd_per_phs_day,
        -- daily hashrate estimates are noisy (they count the day's blocks): the trend uses 7-day means
        avg(hashrate_hs) over (order by hashrate_date range between interval 6 days preceding and current row)
                                                                    as hashrate_7d_avg_hs
    from revenue
),

trend as (
    -- 7-day mean against the 7-day mean one week earlier (a date join, so missing days don't shift it)
    select
        cur.hashrate_date,
        (cur.hashrate_7d_avg_hs / prev.hashrate_7d_avg_hs - 1) * 100 as hashrate_7d_change_pct
    from hash_price as cur
    inner join hash_price as prev on prev.hashrate_date = cur.hashrate_date - interval 7 day
),

prior_low as (
    -- lowest hash price over the previous N days (N from the seed), and how many days that covers
    select
        cur.hashrate_date,
        min(prev.hash_price_usd_per_phs_day)                        as prior_low_usd_per_phs_day,
        count(prev.hash_price_usd_per_phs_day)                      as prior_low_days,
        -- the lookback counts as covered when the history reaches back to its start (a week's slack for missing days)
        datediff('day', min(prev.hashrate_date), cur.hashrate_date) >= max(rules.low_lookback_days) - 7
                                                                    as has_full_low_lookback
    from hash_price as cur
    cross join rules
    inner join hash_price as prev
        on prev.hashrate_date >= cur.hashrate_date - cast(rules.low_lookback_days as integer)
       and prev.hashrate_date < cur.hashrate_date
    group by cur.hashrate_date
),

with_last_adjustment as (
    select
        hash_price.*,
        adjustments.adjustment_date                                           as last_adjustment_date,
        adjustments.height                                                    as last_adjustment_height,
        adjustments.difficulty_change_pct                                     as last_difficulty_change_pct
    from hash_price
    asof left join adjustments on hash_price.hashrate_date >= adjustments.adjustment_date
),

final as (
    select
        with_last_adjustment.hashrate_date,
        with_last_adjustment.source,
        with_last_adjustment.hashrate_hs,
        with_last_adjustment.hashrate_phs,
        with_last_adjustment.difficulty_hashrate_phs,
        with_last_adjustment.hashrate_7d_avg_hs,
        trend.hashrate_7d_change_pct,
        with_last_adjustment.difficulty,
        with_last_adjustment.subsidy_per_block_btc,
        with_last_adjustment.avg_fees_per_block_sats,
        with_last_adjustment.has_fee_data,
        with_last_adjustment.subsidy_btc_per_day,
        with_last_adjustment.fees_btc_per_day,
        with_last_adjustment.revenue_btc_per_day,
        with_last_adjustment.btc_close_usd,
        with_last_adjustment.hash_price_btc_per_phs_day,
        with_last_adjustment.hash_price_usd_per_phs_day,
        with_last_adjustment.hash_price_on_estimate_usd_per_phs_day,
        prior_low.prior_low_usd_per_phs_day,
        coalesce(prior_low.prior_low_days, 0)                               as prior_low_days,
        coalesce(prior_low.has_full_low_lookback, false)                    as has_full_low_lookback,
        coalesce(prior_low.has_full_low_lookback, false)
            and with_last_adjustment.hash_price_usd_per_phs_day <= prior_low.prior_low_usd_per_phs_day
                                                                    as is_new_low,
        with_last_adjustment.last_adjustment_date,
        with_last_adjustment.last_adjustment_height,
        with_last_adjustment.last_difficulty_change_pct,
        datediff('day', with_last_adjustment.last_adjustment_date, with_last_adjustment.hashrate_date)    as days_since_last_adjustment,
        estimates.next_difficulty_change_pct,
        estimates.estimated_retarget_at,
        estimates.progress_pct                                              as epoch_progress_pct,
        estimates.is_current                                                as is_estimate_current
    from with_last_adjustment
    left join trend using (hashrate_date)
    left join prior_low using (hashrate_date)
    left join estimates on estimates.snapshot_date = with_last_adjustment.hashrate_date
)

select * from final
