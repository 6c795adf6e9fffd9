"""Bitcoin mining economics from mempool.space.

* ``raw/mining_hashrate`` — daily network hashrate (H/s) and the difficulty in force at the day's end;
* ``raw/mining_difficulty_adjustments`` — one row per retarget (every 2016 blocks);
* ``raw/mining_block_rewards`` — per day: mean fees per block, subsidy per block, mempool's USD price;
* ``raw/mining_difficulty_estimate`` — one snapshot per day of the running epoch's estimated next change.

Each history asset makes ONE request per run: the smallest ``timePeriod`` the API offers that reaches back to the
window's start (plus a lookback), as of the window's end, and lands the rows that fall in the partition window.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import polars as pl
from dagster import MetadataValue

from pipelines.ingest.factory import Fetch, RawAsset, build
from pipelines.landing.load import Landed, Part
from pipelines.landing.tables import (
    MINING_BLOCK_REWARDS,
    MINING_DIFFICULTY_ADJUSTMENTS,
    MINING_DIFFICULTY_ESTIMATE,
    MINING_HASHRATE,
)
from pipelines.replay.clock import as_of, day_close
from pipelines.sources import mempool

# A retarget changes the difficulty by at most ×4 / ÷4 by protocol; in practice far less. More than ±35 % in one
# epoch means a broken series (a unit change, a bad row), not mining.
MAX_EPOCH_CHANGE = 0.35
# How far before the window's start the history requests reach: the difficulty in force on the first day comes
# from the retarget before it (epochs last about 14 days).
LOOKBACK_DAYS = 35


def _period(window: tuple[date, date], lookback_days: int) -> str:
    """The API's smallest period reaching back to the window's start (wall clock: live servers answer as of now)."""
    return mempool.choose_period(datetime.now(tz=UTC), window[0] - timedelta(days=lookback_days))


def _window_end(window: tuple[date, date]):
    """Replay answers as of the window's end; live servers ignore the clock."""
    return as_of(day_close(window[1] - timedelta(days=1)) - timedelta(seconds=1))


def with_difficulty(hashrates: pl.DataFrame, adjustments: pl.DataFrame) -> pl.DataFrame:
    """Attach the difficulty in force at the end of each day (latest retarget before the next midnight)."""
    if not hashrates.height:
        return hashrates.with_columns(difficulty=pl.lit(None, dtype=pl.Float64))
    adj = adjustments.select("adjustment_date", "difficulty").sort("adjustment_date")
    joined = hashrates.sort("hashrate_date").join_asof(
        adj, left_on="hashrate_date", right_on="adjustment_date", strategy="backward"
    )
    return joined.select("hashrate_date", "hashrate_hs", "difficulty", "payload")


def fetch_hashrate(f: Fetch) -> Iterator[Part]:
    with _window_end(f.window):
        endpoint, payload = mempool.MempoolClient(f.http).hashrate(_period(f.window, LOOKBACK_DAYS))
    frame = with_difficulty(mempool.parse_hashrate(endpoint, payload), mempool.parse_hashrate_difficulty(endpoint, payload))
    yield Part(mempool.SOURCE, endpoint, frame)


def fetch_adjustments(f: Fetch) -> Iterator[Part]:
    with _window_end(f.window):
        endpoint, payload = mempool.MempoolClient(f.http).difficulty_adjustments(_period(f.window, 0))
    yield Part(mempool.SOURCE, endpoint, mempool.parse_difficulty_adjustments(endpoint, payload))


def fetch_rewards(f: Fetch) -> Iterator[Part]:
    with _window_end(f.window):
        endpoint, payload = mempool.MempoolClient(f.http).block_fees(_period(f.window, 0))
    yield Part(mempool.SOURCE, endpoint, mempool.parse_block_fees(endpoint, payload))


def fetch_estimate(f: Fetch) -> Iterator[Part]:
    """One snapshot per day, as of the day's last second (live: the run just after the day closed)."""
    client = mempool.MempoolClient(f.http)
    for day in f.days:
        with as_of(day_close(day) - timedelta(seconds=1)):
            _, payload = client.difficulty_estimate()
        yield Part(mempool.SOURCE, mempool.DIFFICULTY_ESTIMATE, mempool.parse_difficulty_estimate(payload, day))


def _period_meta(landed: Landed, f: Fetch) -> dict:
    return {"endpoint": landed.parts[0].endpoint if landed.parts else "none",
            "time_period": _period(f.window, LOOKBACK_DAYS if landed.table is MINING_HASHRATE else 0)}


def hashrate_metadata(landed: Landed, f: Fetch) -> dict:
    last = landed.frame.sort("hashrate_date").tail(1)
    return {**_period_meta(landed, f), "last_hashrate_ehs": float(last["hashrate_hs"][0] / 1e18) if last.height else None}


def adjustments_metadata(landed: Landed, f: Fetch) -> dict:
    recent = landed.frame.sort("height").tail(5)
    return {**_period_meta(landed, f), "retargets": landed.frame.height, "recent": MetadataValue.md(
        "| day | height | change |\n|---|---|---|\n" + "\n".join(
            f"| {d} | {h:,} | {(r - 1) * 100:+.2f} % |"
            for d, h, r in recent.select("adjustment_date", "height", "adjustment_ratio").iter_rows()))}


def rewards_metadata(landed: Landed, f: Fetch) -> dict:
    meta = _period_meta(landed, f)
    return {**meta, "bucket_seconds": mempool.FEE_BUCKET_SECONDS[meta["time_period"]]}


def estimate_metadata(landed: Landed, f: Fetch) -> dict:
    last = landed.frame.sort("snapshot_date").tail(1)
    return {"endpoint": mempool.DIFFICULTY_ESTIMATE, "snapshots": landed.frame.height,
            "last_estimate_pct": float(last["difficulty_change_pct"][0]) if last.height else None}


def _gx():
    import great_expectations.expectations as gxe

    return gxe


def hashrate_expectations() -> list:
    gxe, band = _gx(), {"min_value": -MAX_EPOCH_CHANGE, "max_value": MAX_EPOCH_CHANGE}
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="hashrate_date"),
        gxe.ExpectColumnValuesToNotBeNull(column="payload"),
        gxe.ExpectColumnValuesToNotBeNull(column="hashrate_hs"),
        gxe.ExpectColumnValuesToBeBetween(column="hashrate_hs", min_value=0, strict_min=True),
        gxe.ExpectColumnValuesToNotBeNull(column="difficulty"),
        gxe.ExpectColumnValuesToBeBetween(column="difficulty", min_value=0, strict_min=True),
        gxe.ExpectColumnValuesToBeBetween(column="difficulty_change", **band),
    ]


def adjustments_expectations() -> list:
    gxe, band = _gx(), {"min_value": -MAX_EPOCH_CHANGE, "max_value": MAX_EPOCH_CHANGE}
    # no row-count floor: a window shorter than an epoch (about 14 days) may hold no retarget
    return [
        gxe.ExpectColumnValuesToBeUnique(column="adjustment_date"),
        gxe.ExpectColumnValuesToBeBetween(column="difficulty", min_value=0, strict_min=True),
        gxe.ExpectColumnValuesToBeBetween(column="epoch_change", **band),
        gxe.ExpectColumnValuesToBeBetween(column="change_vs_previous_row", **band),
    ]


def rewards_expectations() -> list:
    gxe = _gx()
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="avg_fees_per_block_sats"),
        gxe.ExpectColumnValuesToBeBetween(column="avg_fees_per_block_sats", min_value=0,
                                          max_value=10 * mempool.SATS_PER_BTC),
        gxe.ExpectColumnValuesToBeInSet(column="subsidy_per_block_btc", value_set=[6.25, 3.125, 1.5625]),
    ]


def estimate_expectations() -> list:
    gxe = _gx()
    return [
        gxe.ExpectColumnValuesToBeBetween(column="progress_pct", min_value=0, max_value=100),
        gxe.ExpectColumnValuesToBeBetween(column="difficulty_change_pct", min_value=-75, max_value=300),
        gxe.ExpectColumnValuesToBeBetween(column="remaining_blocks", min_value=1, max_value=2016),
    ]


RAW_ASSETS = [
    RawAsset(
        MINING_HASHRATE, fetch_hashrate, expectations=hashrate_expectations, metadata=hashrate_metadata,
        records_sql="select hashrate_date, hashrate_hs, difficulty, payload, is_derived, difficulty / lag(difficulty) "
        "over (order by hashrate_date) - 1 as difficulty_change from raw.{table}",
        check_description="Great Expectations on raw.mining_hashrate: not empty, one row per day, hashrate and "
        "difficulty positive, and the difficulty changing by less than ±35 % from one day to the next.",
    ),
    RawAsset(
        MINING_DIFFICULTY_ADJUSTMENTS, fetch_adjustments, expectations=adjustments_expectations, not_empty=False,
        metadata=adjustments_metadata,
        records_sql="select adjustment_date, height, difficulty, is_derived, adjustment_ratio - 1 as epoch_change, "
        "difficulty / lag(difficulty) over (order by height) - 1 as change_vs_previous_row from raw.{table}",
        check_description="Great Expectations on raw.mining_difficulty_adjustments: one row per retarget height, "
        "difficulty positive, each retarget's change (new/old - 1, and against the previous row) within ±35 %.",
    ),
    RawAsset(
        MINING_BLOCK_REWARDS, fetch_rewards, expectations=rewards_expectations, not_empty=False,
        metadata=rewards_metadata,
        check_description="Great Expectations on raw.mining_block_rewards: one row per day, fees not negative and "
        "below the subsidy-era record (10 BTC a block), subsidy one of the halving schedule's values.",
    ),
    RawAsset(
        MINING_DIFFICULTY_ESTIMATE, fetch_estimate, expectations=estimate_expectations, not_empty=False,
        snapshot="mempool_estimate", metadata=estimate_metadata,
        check_description="Great Expectations on raw.mining_difficulty_estimate: one snapshot per day, progress "
        "0..100 %, the estimated change within the protocol's -75..+300 %.",
    ),
]
raw_mining_hashrate, raw_mining_hashrate_gx = build(RAW_ASSETS[0])
raw_mining_difficulty_adjustments, raw_mining_difficulty_adjustments_gx = build(RAW_ASSETS[1])
raw_mining_block_rewards, raw_mining_block_rewards_gx = build(RAW_ASSETS[2])
raw_mining_difficulty_estimate, raw_mining_difficulty_estimate_gx = build(RAW_ASSETS[3])
