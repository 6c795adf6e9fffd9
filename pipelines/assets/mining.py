"""Bitcoin mining economics from mempool.space: raw landing assets and their quality checks.

* ``raw/mining_hashrate`` — daily network hashrate (H/s) and the difficulty in force at the day's end;
* ``raw/mining_difficulty_adjustments`` — one row per retarget (every 2016 blocks);
* ``raw/mining_block_rewards`` — per day: mean fees per block, subsidy per block, mempool's USD price;
* ``raw/mining_difficulty_estimate`` — one snapshot per day of the running epoch's estimated next change.

Each history asset makes ONE request per run: the smallest ``timePeriod`` the API offers that reaches
back to the window's start (plus a lookback), and lands the rows that fall in the partition window.
"""


from contextlib import nullcontext
from datetime import UTC, date, datetime, time, timedelta

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)
from dagster_duckdb import DuckDBResource

from pipelines.assets.common import RAW_RECORD_COLUMNS, land_records, partition_window
from pipelines.partitions import daily_partitions
from pipelines.quality import run_suite
from pipelines.resources import SourcesResource
from pipelines.sources import mempool
from pipelines.sources.replay import replay_clock

GROUP = "mining"
# A retarget changes the difficulty by at most ×4 / ÷4 by protocol; in practice far less. More than ±35 %
# in one epoch means a broken series (a unit change, a bad row), not mining.
MAX_EPOCH_CHANGE = 0.35
# How far before the window's start the history requests reach: the difficulty in force on the first
# day comes from the retarget before it (epochs last about 14 days).
LOOKBACK_DAYS = 35

HASHRATE_TABLE = "mining_hashrate"
HASHRATE_DDL = f"""
create schema if not exists raw;
create table if not exists raw.{HASHRATE_TABLE} (
    hashrate_date  date not null,      -- UTC day of mempool's daily hashrate estimate
    hashrate_hs    double not null,    -- network hashrate, hashes per second
    difficulty     double,             -- difficulty in force at the end of the day (latest retarget before it)
    {RAW_RECORD_COLUMNS}
)
"""
ADJUSTMENTS_TABLE = "mining_difficulty_adjustments"
ADJUSTMENTS_DDL = f"""
create schema if not exists raw;
create table if not exists raw.{ADJUSTMENTS_TABLE} (
    adjustment_date   date not null,          -- UTC day of the retarget block
    adjusted_at       timestamptz not null,   -- the retarget block's time
    height            bigint not null,        -- a multiple of 2016
    difficulty        double not null,        -- the new difficulty
    adjustment_ratio  double not null,        -- new / old difficulty
    {RAW_RECORD_COLUMNS}
)
"""
REWARDS_TABLE = "mining_block_rewards"
REWARDS_DDL = f"""
create schema if not exists raw;
create table if not exists raw.{REWARDS_TABLE} (
    reward_date              date not null,    -- UTC day
    avg_height               bigint not null,  -- mean block height of the day's buckets
    avg_fees_per_block_sats  double not null,  -- mean fee total per block, satoshis
    subsidy_per_block_btc    double not null,  -- protocol subsidy at avg_height (3.125 from block 840,000)
    fee_buckets              bigint not null,  -- buckets of the API's answer that fell on this day
    price_usd                double,           -- mempool's own BTC price at those blocks (not used for hash price)
    {RAW_RECORD_COLUMNS}
)
"""
ESTIMATE_TABLE = "mining_difficulty_estimate"
ESTIMATE_DDL = f"""
create schema if not exists raw;
create table if not exists raw.{ESTIMATE_TABLE} (
    snapshot_date          date not null,          -- the day the snapshot was taken for
    server_now_at          timestamptz not null,   -- the server's clock, recovered from the payload
    progress_pct           double not null,        -- share of the epoch's 2016 blocks mined
    difficulty_change_pct  double not null,        -- estimated next retarget, %
    estimated_retarget_at  timestamptz not null,
    remaining_blocks       bigint not null,
    previous_retarget_pct  double not null,
    previous_retarget_at   timestamptz not null,
    next_retarget_height   bigint not null,
    time_avg_ms            double not null,        -- mean block interval this epoch, ms
    {RAW_RECORD_COLUMNS}
)
"""


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _history_period(window: tuple[date, date], lookback_days: int) -> str:
    """The API's smallest period reaching back to the window's start (wall clock: live servers answer as of now)."""
    return mempool.choose_period(datetime.now(tz=UTC), window[0] - timedelta(days=lookback_days))


def _as_of_window_end(window: tuple[date, date]):
    """Replay answers as of the window's end; the live server ignores the replay clock."""
    return replay_clock(_day_start(window[1]) - timedelta(seconds=1))


def with_difficulty(hashrates: pl.DataFrame, adjustments: pl.DataFrame) -> pl.DataFrame:
    """Attach the difficulty in force at the end of each day (latest retarget before the next midnight)."""
    if not hashrates.height:
        return hashrates.with_columns(difficulty=pl.lit(None, dtype=pl.Float64))
    adj = adjustments.select("adjustment_date", "difficulty").sort("adjustment_date")
    joined = hashrates.sort("hashrate_date").join_asof(
        adj, left_on="hashrate_date", right_on="adjustment_date", strategy="backward"
    )
    return joined.select("hashrate_date", "hashrate_hs", "difficulty", "payload")


def _range(frame: pl.DataFrame, column: str) -> str:
    return f"{frame[column].min()} .. {frame[column].max()}" if frame.height else "none"


@asset(
    key=["raw", HASHRATE_TABLE],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"duckdb", "polars"},
    owners=["team:btc-signals"],
    description="Daily network hashrate (H/s) with the difficulty in force at the day's end, from mempool.space "
    "`GET /api/v1/mining/hashrate/{timePeriod}` (one request per run).",
)
def raw_mining_hashrate(
    context: AssetExecutionContext, duckdb: DuckDBResource, sources: SourcesResource
) -> MaterializeResult:
    window = partition_window(context)
    period = _history_period(window, LOOKBACK_DAYS)

    def fetch():
        with _as_of_window_end(window):
            endpoint, payload = mempool.MempoolClient(http).hashrate(period)
        frame = with_difficulty(
            mempool.parse_hashrate(endpoint, payload), mempool.parse_hashrate_difficulty(endpoint, payload)
        )
        return frame, mempool.SOURCE, endpoint, None

    with sources.http() as http, duckdb.get_connection() as con:
        frame, _, endpoint, _ = land_records(
            context, con, http, table=HASHRATE_TABLE, ddl=HASHRATE_DDL, date_column="hashrate_date",
            window=window, fetch=fetch,
        )
    last = frame.sort("hashrate_date").tail(1)
    return MaterializeResult(
        metadata={
            "endpoint": endpoint,
            "time_period": period,
            "mode": sources.settings().mode,
            "window": f"{window[0]} .. {window[1]} (exclusive)",
            "rows": frame.height,
            "days": _range(frame, "hashrate_date"),
            "last_hashrate_ehs": float(last["hashrate_hs"][0] / 1e18) if last.height else None,
        }
    )


@asset(
    key=["raw", ADJUSTMENTS_TABLE],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"duckdb", "polars"},
    owners=["team:btc-signals"],
    description="Difficulty retargets (time, height, new difficulty, new/old ratio) from mempool.space "
    "`GET /api/v1/mining/difficulty-adjustments/{timePeriod}` (one request per run).",
)
def raw_mining_difficulty_adjustments(
    context: AssetExecutionContext, duckdb: DuckDBResource, sources: SourcesResource
) -> MaterializeResult:
    window = partition_window(context)
    period = _history_period(window, 0)

    def fetch():
        with _as_of_window_end(window):
            endpoint, payload = mempool.MempoolClient(http).difficulty_adjustments(period)
        return mempool.parse_difficulty_adjustments(endpoint, payload), mempool.SOURCE, endpoint, None

    with sources.http() as http, duckdb.get_connection() as con:
        frame, _, endpoint, _ = land_records(
            context, con, http, table=ADJUSTMENTS_TABLE, ddl=ADJUSTMENTS_DDL, date_column="adjustment_date",
            window=window, fetch=fetch,
        )
    recent = frame.sort("height").tail(5)
    return MaterializeResult(
        metadata={
            "endpoint": endpoint,
            "time_period": period,
            "window": f"{window[0]} .. {window[1]} (exclusive)",
            "retargets": frame.height,
            "days": _range(frame, "adjustment_date"),
            "recent": MetadataValue.md(
                "| day | height | change |\n|---|---|---|\n"
                + "\n".join(
                    f"| {d} | {h:,} | {(r - 1) * 100:+.2f} % |"
                    for d, h, r in recent.select("adjustment_date", "height", "adjustment_ratio").iter_rows()
                )
            ),
        }
    )


@asset(
    key=["raw", REWARDS_TABLE],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"duckdb", "polars"},
    owners=["team:btc-signals"],
    description="Per day: mean fees per block (sats), subsidy per block (from the height) and mempool's USD price, "
    "from mempool.space `GET /api/v1/mining/blocks/fees/{timePeriod}` (one request per run; the period's "
    "buckets are averaged per UTC day).",
)
def raw_mining_block_rewards(
    context: AssetExecutionContext, duckdb: DuckDBResource, sources: SourcesResource
) -> MaterializeResult:
    window = partition_window(context)
    period = _history_period(window, 0)

    def fetch():
        with _as_of_window_end(window):
            endpoint, payload = mempool.MempoolClient(http).block_fees(period)
        return mempool.parse_block_fees(endpoint, payload), mempool.SOURCE, endpoint, None

    with sources.http() as http, duckdb.get_connection() as con:
        frame, _, endpoint, _ = land_records(
            context, con, http, table=REWARDS_TABLE, ddl=REWARDS_DDL, date_column="reward_date",
            window=window, fetch=fetch,
        )
    return MaterializeResult(
        metadata={
            "endpoint": endpoint,
            "time_period": period,
            "bucket_seconds": mempool.FEE_BUCKET_SECONDS[period],
            "window": f"{window[0]} .. {window[1]} (exclusive)",
            "days": frame.height,
            "range": _range(frame, "reward_date"),
        }
    )


def snapshot_days(window: tuple[date, date], mode: str, today: date) -> list[date]:
    """Days to snapshot the running epoch for. Replay: every day of the window (the replay clock is set to
    each day's end). Live: the server only answers for now: today if the window holds it, else yesterday when
    the window ends with it (the daily schedule runs just after the day closed: now is that day's end state)."""
    start, end = window
    if mode == "live":
        if start <= today < end:
            return [today]
        return [today - timedelta(days=1)] if end == today and start < end else []
    return [start + timedelta(days=i) for i in range((end - start).days)]


@asset(
    key=["raw", ESTIMATE_TABLE],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"duckdb", "polars"},
    owners=["team:btc-signals"],
    description="Snapshot per day of the running epoch's estimated next difficulty change, from mempool.space "
    "`GET /api/v1/difficulty-adjustment` (current state only: live runs snapshot today; replay snapshots each "
    "day of the window as of that day's end).",
)
def raw_mining_difficulty_estimate(
    context: AssetExecutionContext, duckdb: DuckDBResource, sources: SourcesResource
) -> MaterializeResult:
    window = partition_window(context)
    mode = sources.settings().mode
    days = snapshot_days(window, mode, datetime.now(tz=UTC).date())

    def fetch():
        client = mempool.MempoolClient(http)
        frames = []
        for day in days:
            clock = replay_clock(_day_start(day + timedelta(days=1)) - timedelta(seconds=1)) if mode == "replay" \
                else nullcontext()
            with clock:
                _, payload = client.difficulty_estimate()
            frames.append(mempool.parse_difficulty_estimate(payload, day))
        frame = pl.concat(frames) if frames else pl.DataFrame(schema=mempool.ESTIMATE_SCHEMA)
        return frame, mempool.SOURCE, mempool.DIFFICULTY_ESTIMATE, None

    if days:
        # replace only the days snapshotted: a live backfill over past days must not delete their snapshots
        landed = (days[0], days[-1] + timedelta(days=1))
        with sources.http() as http, duckdb.get_connection() as con:
            frame, _, endpoint, _ = land_records(
                context, con, http, table=ESTIMATE_TABLE, ddl=ESTIMATE_DDL, date_column="snapshot_date",
                window=landed, fetch=fetch,
            )
    else:
        frame, endpoint = pl.DataFrame(schema=mempool.ESTIMATE_SCHEMA), mempool.DIFFICULTY_ESTIMATE
        with duckdb.get_connection() as con:
            con.execute(ESTIMATE_DDL)
        context.log.warning(
            f"mining estimate: the live endpoint only serves today; nothing to snapshot in {window}, "
            "earlier snapshots left as they are"
        )
    last = frame.sort("snapshot_date").tail(1)
    return MaterializeResult(
        metadata={
            "endpoint": endpoint,
            "mode": mode,
            "window": f"{window[0]} .. {window[1]} (exclusive)",
            "snapshots": frame.height,
            "last_snapshot": str(last["snapshot_date"][0]) if last.height else "none",
            "last_estimate_pct": float(last["difficulty_change_pct"][0]) if last.height else None,
        }
    )


# ------------------------------------------------------------------------------------------ checks


@asset_check(
    asset=raw_mining_hashrate,
    blocking=True,
    description="Great Expectations on raw.mining_hashrate: not empty, one row per day, hashrate and difficulty "
    "positive, and the difficulty changing by less than ±35 % from one day to the next (one retarget at most).",
)
def raw_mining_hashrate_gx(duckdb: DuckDBResource) -> AssetCheckResult:
    import great_expectations.expectations as gxe

    with duckdb.get_connection() as con:
        rows = con.sql(
            f"""select hashrate_date, hashrate_hs, difficulty, payload,
                       difficulty / lag(difficulty) over (order by hashrate_date) - 1 as difficulty_change
                from raw.{HASHRATE_TABLE}"""
        ).df()
    return run_suite(
        "raw_mining_hashrate",
        [
            (
                "days",
                rows,
                [
                    gxe.ExpectTableRowCountToBeBetween(min_value=1),
                    gxe.ExpectColumnValuesToNotBeNull(column="hashrate_date"),
                    gxe.ExpectColumnValuesToBeUnique(column="hashrate_date"),
                    gxe.ExpectColumnValuesToNotBeNull(column="payload"),
                    gxe.ExpectColumnValuesToNotBeNull(column="hashrate_hs"),
                    gxe.ExpectColumnValuesToBeBetween(column="hashrate_hs", min_value=0, strict_min=True),
                    gxe.ExpectColumnValuesToNotBeNull(column="difficulty"),
                    gxe.ExpectColumnValuesToBeBetween(column="difficulty", min_value=0, strict_min=True),
                    gxe.ExpectColumnValuesToBeBetween(
                        column="difficulty_change", min_value=-MAX_EPOCH_CHANGE, max_value=MAX_EPOCH_CHANGE
                    ),
                ],
            )
        ],
    )


@asset_check(
    asset=raw_mining_difficulty_adjustments,
    blocking=True,
    description="Great Expectations on raw.mining_difficulty_adjustments: one row per retarget height, difficulty "
    "positive, each retarget's change (new/old - 1, and against the previous row) within ±35 %.",
)
def raw_mining_difficulty_adjustments_gx(duckdb: DuckDBResource) -> AssetCheckResult:
    import great_expectations.expectations as gxe

    with duckdb.get_connection() as con:
        rows = con.sql(
            f"""select adjustment_date, height, difficulty, adjustment_ratio - 1 as epoch_change,
                       difficulty / lag(difficulty) over (order by height) - 1 as change_vs_previous_row
                from raw.{ADJUSTMENTS_TABLE}"""
        ).df()
    band = {"min_value": -MAX_EPOCH_CHANGE, "max_value": MAX_EPOCH_CHANGE}
    return run_suite(
        "raw_mining_difficulty_adjustments",
        [
            (
                "retargets",
                rows,
                [
                    # no row-count floor: a window shorter than an epoch (about 14 days) may hold no retarget
                    gxe.ExpectColumnValuesToBeUnique(column="height"),
                    gxe.ExpectColumnValuesToBeUnique(column="adjustment_date"),
                    gxe.ExpectColumnValuesToBeBetween(column="difficulty", min_value=0, strict_min=True),
                    gxe.ExpectColumnValuesToBeBetween(column="epoch_change", **band),
                    gxe.ExpectColumnValuesToBeBetween(column="change_vs_previous_row", **band),
                ],
            )
        ],
    )


@asset_check(
    asset=raw_mining_block_rewards,
    blocking=True,
    description="Great Expectations on raw.mining_block_rewards: one row per day, fees not negative and below "
    "the subsidy-era record (10 BTC a block), subsidy one of the halving schedule's values.",
)
def raw_mining_block_rewards_gx(duckdb: DuckDBResource) -> AssetCheckResult:
    import great_expectations.expectations as gxe

    with duckdb.get_connection() as con:
        rows = con.sql(
            f"select reward_date, avg_height, avg_fees_per_block_sats, subsidy_per_block_btc from raw.{REWARDS_TABLE}"
        ).df()
    return run_suite(
        "raw_mining_block_rewards",
        [
            (
                "days",
                rows,
                [
                    gxe.ExpectColumnValuesToBeUnique(column="reward_date"),
                    gxe.ExpectColumnValuesToNotBeNull(column="avg_fees_per_block_sats"),
                    gxe.ExpectColumnValuesToBeBetween(
                        column="avg_fees_per_block_sats", min_value=0, max_value=10 * mempool.SATS_PER_BTC
                    ),
                    gxe.ExpectColumnValuesToBeInSet(column="subsidy_per_block_btc", value_set=[6.25, 3.125, 1.5625]),
                ],
            )
        ],
    )


@asset_check(
    asset=raw_mining_difficulty_estimate,
    blocking=True,
    description="Great Expectations on raw.mining_difficulty_estimate: one snapshot per day, progress 0..100 %, "
    "the estimated change within the protocol's -75..+300 %.",
)
def raw_mining_difficulty_estimate_gx(duckdb: DuckDBResource) -> AssetCheckResult:
    import great_expectations.expectations as gxe

    with duckdb.get_connection() as con:
        rows = con.sql(
            f"select snapshot_date, progress_pct, difficulty_change_pct, remaining_blocks from raw.{ESTIMATE_TABLE}"
        ).df()
    return run_suite(
        "raw_mining_difficulty_estimate",
        [
            (
                "snapshots",
                rows,
                [
                    gxe.ExpectColumnValuesToBeUnique(column="snapshot_date"),
                    gxe.ExpectColumnValuesToBeBetween(column="progress_pct", min_value=0, max_value=100),
                    gxe.ExpectColumnValuesToBeBetween(column="difficulty_change_pct", min_value=-75, max_value=300),
                    gxe.ExpectColumnValuesToBeBetween(column="remaining_blocks", min_value=1, max_value=2016),
                ],
            )
        ],
    )
