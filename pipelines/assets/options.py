"""Deribit BTC options: daily chain snapshots and DVOL history (raw landing) with their quality checks.

Deribit serves only the *current* chain, so a chain snapshot exists only for days on which the
pipeline took one:

* **live**: a run can snapshot only the day that has just closed — the partition day ``D`` when the
  run happens on ``D + 1`` (UTC), which is when the daily schedule runs. Earlier days of a backfill
  get no snapshot; the run's metadata lists them and the dashboard reads null for them with the
  reason. DVOL history (``get_volatility_index_data``) is loaded for every day as context.
* **replay**: the replay clock is set to ``D + 1`` 00:00 UTC (day ``D``'s close) for each day of the
  window that the bundled dataset covers (it emulates a deployment snapshotting daily since
  ``snapshots_start``, see pipelines/replay/data/deribit/README.md).
"""


import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pandas as pd
import polars as pl
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    BackfillPolicy,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)
from dagster_duckdb import DuckDBResource
from pydantic import Field

from pipelines.assets.common import RAW_RECORD_COLUMNS, _refuse_shrinking, partition_window
from pipelines.landing import archive_payload, replace_window, utcnow
from pipelines.options_math import MIN_EXPIRY_DAYS
from pipelines.partitions import daily_partitions
from pipelines.quality import run_suite
from pipelines.resources import SourcesResource
from pipelines.sources import deribit
from pipelines.sources.replay import replay_clock

CHAIN_TABLE = "deribit_option_chain"
DVOL_TABLE = "deribit_dvol"
CHAIN_DDL = f"""
create schema if not exists raw;
create table if not exists raw.{CHAIN_TABLE} (
    snapshot_date     date not null,         -- the UTC day whose close the snapshot describes
    snapshot_at       timestamptz not null,  -- server time of the book summary (JSON-RPC usOut)
    instrument_name   varchar not null,      -- e.g. BTC-27FEB26-70000-C
    expiry_at         timestamptz not null,
    strike            double not null,       -- USD
    option_type       varchar not null,      -- call | put
    mark_iv_pct       double,                -- mark implied volatility, % (55.1 = 55.1 %)
    delta             double,                -- forward delta, -1..1
    delta_source      varchar,               -- deribit_ticker | black76_mark_iv
    underlying_price  double,                -- the expiry's forward, USD
    underlying_index  varchar,
    index_price       double,                -- btc_usd index at the snapshot, USD
    open_interest     double,                -- contracts (1 BTC each)
    mark_price_btc    double,
    {RAW_RECORD_COLUMNS}
)
"""
DVOL_DDL = f"""
create schema if not exists raw;
create table if not exists raw.{DVOL_TABLE} (
    dvol_date  date not null,   -- UTC day of the daily candle
    open       double,          -- DVOL, annualised vol in %
    high       double,
    low        double,
    close      double,
    {RAW_RECORD_COLUMNS}
)
"""
IV_BOUNDS_PCT = (5.0, 300.0)
CHECK_TENORS_DAYS = (7, 30)
MIN_MARKED_SHARE = 0.99  # share of chain rows that must carry a mark IV and a delta


class OptionChainConfig(Config):
    delta_source: str = Field(
        default="model",
        description="model: Black-76 delta from each option's mark IV and forward (one request per snapshot); "
        "ticker: the exchange's delta from public/ticker for every option expiring within 200 days "
        "(one request per instrument, rate-limited).",
    )


def snapshot_days(window: tuple[date, date], mode: str, replay_dir, now: datetime) -> tuple[list[date], str]:
    """The days of ``window`` a chain snapshot can be taken for, and why the others cannot."""
    start, end = window
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    if mode == "replay":
        meta = json.loads((replay_dir / deribit.REPLAY_SUBDIR / deribit.SMILE_FILE).read_text())
        first, last = date.fromisoformat(meta["snapshots_start"]), date.fromisoformat(meta["snapshots_end"])
        return [d for d in days if first <= d <= last], (
            f"replay dataset emulates daily snapshots from {first} to {last}; Deribit serves only the current chain")
    just_closed = now.date() - timedelta(days=1)
    return [d for d in days if d == just_closed], (
        f"live: Deribit serves only the current chain, so only {just_closed} (closed at 00:00 UTC today) can be "
        "snapshotted by this run")


def _snapshot(client: deribit.DeribitClient, day: date, delta_source: str) -> tuple[pl.DataFrame, str]:
    instruments = deribit.parse_instruments(client.instruments())
    records, snapshot_at = client.book_summary()
    index_price = client.index_price()
    ticker_deltas = None
    if delta_source == "ticker":
        horizon = snapshot_at + timedelta(days=200)
        ticker_deltas = {name: client.ticker_delta(name) for name, (exp, _, _) in instruments.items()
                         if snapshot_at < exp <= horizon}
    frame = deribit.parse_book_summary(records, instruments, snapshot_at, day, index_price, ticker_deltas)
    return frame, deribit.GET_BOOK_SUMMARY


@asset(
    key=["raw", CHAIN_TABLE],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="options",
    kinds={"duckdb", "polars"},
    owners=["team:btc-signals"],
    description="Whole BTC option chain from Deribit (public/get_instruments + get_book_summary_by_currency + "
    "get_index_price), one snapshot per day at the day's close: instrument, expiry, strike, type, mark IV, delta, "
    "forward, open interest. Deribit serves only the current chain: past days cannot be snapshotted in live mode.",
)
def raw_deribit_option_chain(
    context: AssetExecutionContext, config: OptionChainConfig, duckdb: DuckDBResource, sources: SourcesResource
) -> MaterializeResult:
    if config.delta_source not in ("model", "ticker"):
        raise ValueError(f"delta_source must be 'model' or 'ticker', got {config.delta_source!r}")
    window = partition_window(context)
    settings = sources.settings()
    days, why = snapshot_days(window, settings.mode, settings.replay_dir, datetime.now(tz=UTC))
    # contiguous by construction (live: at most one day; replay: the window within the dataset's days)
    assert all((b - a).days == 1 for a, b in zip(days, days[1:])), days
    run_id = context.run.run_id
    frames: list[pl.DataFrame] = []
    with sources.http() as http, duckdb.get_connection() as con:
        client = deribit.DeribitClient(http)
        bodies: dict[str, str] = {}

        def archive(source: str, endpoint: str, params: dict[str, Any], response: httpx.Response) -> None:
            bodies[endpoint] = archive_payload(con, source=source, endpoint=endpoint, body=response.text,
                                               request_params=params, window=window, run_id=run_id)

        http.on_response = archive
        try:
            for day in days:
                bodies.clear()
                if settings.mode == "replay":
                    with replay_clock(datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)):
                        frame, endpoint = _snapshot(client, day, config.delta_source)
                else:
                    frame, endpoint = _snapshot(client, day, config.delta_source)
                frames.append(frame.with_columns(payload_id=pl.lit(bodies.get(endpoint, ""))))
        finally:
            http.on_response = None
        schema = {**deribit.CHAIN_SCHEMA, "payload_id": pl.String}
        frame = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
        frame = frame.with_columns(
            source=pl.lit(deribit.SOURCE),
            endpoint=pl.lit(deribit.GET_BOOK_SUMMARY),
            window_start=pl.lit(window[0]),
            window_end=pl.lit(window[1]),
            ingested_at=pl.lit(utcnow()),
            run_id=pl.lit(run_id),
        )
        # Only the days snapshotted by this run are replaced: a day that could not be snapshotted now
        # (a live backfill of the past) keeps whatever snapshot an earlier run took of it.
        con.execute(CHAIN_DDL)
        inserted = 0
        if days:
            inserted = replace_window(con, table=CHAIN_TABLE, date_column="snapshot_date", frame=frame,
                                      window=(days[0], days[-1] + timedelta(days=1)), ddl=CHAIN_DDL)
    all_days = [window[0] + timedelta(days=i) for i in range((window[1] - window[0]).days)]
    missing = [d for d in all_days if d not in set(days)]
    context.log.info(f"raw.{CHAIN_TABLE}: {len(days)} snapshots, {inserted} rows; {len(missing)} days without ({why})")
    return MaterializeResult(
        metadata={
            "source": deribit.SOURCE,
            "mode": settings.mode,
            "window": f"{window[0]} .. {window[1]} (exclusive)",
            "snapshots": len(days),
            "rows": inserted,
            "days_without_snapshot": len(missing),
            "no_snapshot_reason": why,
            "first_snapshot": str(days[0]) if days else "none",
            "last_snapshot": str(days[-1]) if days else "none",
            "delta_source": config.delta_source,
            "instruments_last_snapshot": frames[-1].height if frames else 0,
        }
    )


def chain_batches(rows: pd.DataFrame) -> list[tuple[str, pd.DataFrame, list[Any]]]:
    """The GX batches of the chain check (also used by the tests)."""
    import great_expectations.expectations as gxe

    rows = rows.copy()
    if len(rows):
        rows["days_to_expiry"] = (rows["expiry_at"] - rows["snapshot_at"]).dt.total_seconds() / 86400.0
    else:
        rows["days_to_expiry"] = pd.Series(dtype=float)
    used = rows[rows["days_to_expiry"] >= MIN_EXPIRY_DAYS]
    per_expiry = (
        used.groupby(["snapshot_date", "expiry_at"])
        .agg(calls=("option_type", lambda s: int((s == "call").sum())), puts=("option_type", lambda s: int((s == "put").sum())))
        .reset_index()
    )
    per_snapshot = rows.groupby("snapshot_date").size().rename("rows").reset_index()[["snapshot_date"]]
    for tenor in CHECK_TENORS_DAYS:
        below = used[used["days_to_expiry"] <= tenor].groupby("snapshot_date").size()
        above = used[used["days_to_expiry"] >= tenor].groupby("snapshot_date").size()
        per_snapshot[f"brackets_{tenor}d"] = per_snapshot["snapshot_date"].map(
            lambda d, b=below, a=above: bool(b.get(d, 0) > 0 and a.get(d, 0) > 0))
    return [
        (
            "records",
            rows,
            [
                gxe.ExpectColumnValuesToNotBeNull(column="snapshot_date"),
                gxe.ExpectColumnValuesToNotBeNull(column="instrument_name"),
                # a just-listed or halted instrument may lack a mark: tolerated while rare (the maths skips it)
                gxe.ExpectColumnValuesToNotBeNull(column="mark_iv_pct", mostly=MIN_MARKED_SHARE),
                gxe.ExpectColumnValuesToNotBeNull(column="delta", mostly=MIN_MARKED_SHARE),
                gxe.ExpectCompoundColumnsToBeUnique(column_list=["snapshot_date", "instrument_name"]),
                gxe.ExpectColumnValuesToBeBetween(column="mark_iv_pct", min_value=IV_BOUNDS_PCT[0], max_value=IV_BOUNDS_PCT[1]),
                gxe.ExpectColumnValuesToBeBetween(column="delta", min_value=-1.0, max_value=1.0),
                gxe.ExpectColumnValuesToBeInSet(column="option_type", value_set=["call", "put"]),
                gxe.ExpectColumnValuesToBeBetween(column="strike", min_value=0, strict_min=True),
            ],
        ),
        (
            "expiries_used",
            per_expiry,
            [
                gxe.ExpectColumnValuesToBeBetween(column="calls", min_value=2),
                gxe.ExpectColumnValuesToBeBetween(column="puts", min_value=2),
            ],
        ),
        (
            "snapshots",
            per_snapshot,
            [gxe.ExpectColumnValuesToBeInSet(column=f"brackets_{t}d", value_set=[True]) for t in CHECK_TENORS_DAYS],
        ),
    ]


@asset_check(
    asset=raw_deribit_option_chain,
    blocking=True,
    description="Great Expectations on raw.deribit_option_chain: mark IV within 5-300 %, deltas in [-1, 1], one row "
    "per (snapshot, instrument), at least two calls and two puts for every expiry used (>= 2 days), and in every "
    "snapshot expiries on both sides of 7 and 30 days.",
)
def raw_deribit_option_chain_gx(duckdb: DuckDBResource) -> AssetCheckResult:
    with duckdb.get_connection() as con:
        rows = con.sql(
            f"select snapshot_date, snapshot_at, instrument_name, expiry_at, strike, option_type, mark_iv_pct, delta "
            f"from raw.{CHAIN_TABLE}"
        ).df()
    return run_suite("raw_deribit_option_chain", chain_batches(rows))


@asset(
    key=["raw", DVOL_TABLE],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="options",
    kinds={"duckdb", "polars"},
    owners=["team:btc-signals"],
    description="Deribit's BTC volatility index (DVOL, 30-day implied vol, %) as daily OHLC candles from "
    "public/get_volatility_index_data (paginated with `continuation`): context for days without a chain snapshot.",
)
def raw_deribit_dvol(context: AssetExecutionContext, duckdb: DuckDBResource, sources: SourcesResource) -> MaterializeResult:
    window = partition_window(context)
    settings = sources.settings()
    start = datetime(window[0].year, window[0].month, window[0].day, tzinfo=UTC)
    end = datetime(window[1].year, window[1].month, window[1].day, tzinfo=UTC) - timedelta(milliseconds=1)
    run_id = context.run.run_id
    with sources.http() as http, duckdb.get_connection() as con:
        page_ids: list[str] = []

        def archive(source: str, endpoint: str, params: dict[str, Any], response: httpx.Response) -> None:
            page_ids.append(archive_payload(con, source=source, endpoint=endpoint, body=response.text,
                                            request_params=params, window=window, run_id=run_id))

        http.on_response = archive
        try:
            if settings.mode == "replay":
                # replay answers as of the window's end (deterministic bodies: a re-run archives nothing new)
                with replay_clock(datetime(window[1].year, window[1].month, window[1].day, tzinfo=UTC)):
                    candles = deribit.DeribitClient(http).dvol_history(start, end)
            else:
                candles = deribit.DeribitClient(http).dvol_history(start, end)
        finally:
            http.on_response = None
        today = datetime.now(tz=UTC).date()
        frame = deribit.parse_dvol(candles).filter(
            (pl.col("dvol_date") >= window[0]) & (pl.col("dvol_date") < window[1])
            # live: today's candle is still open
            & ((pl.col("dvol_date") < today) if settings.mode == "live" else pl.lit(True))
        )
        frame = frame.with_columns(
            source=pl.lit(deribit.SOURCE),
            endpoint=pl.lit(deribit.GET_VOLATILITY_INDEX),
            payload_id=pl.lit(",".join(page_ids)),
            window_start=pl.lit(window[0]),
            window_end=pl.lit(window[1]),
            ingested_at=pl.lit(utcnow()),
            run_id=pl.lit(run_id),
        )
        # an answer lacking days already loaded (truncated, an outage) is refused whole; good data stays
        _refuse_shrinking(con, DVOL_TABLE, "dvol_date", window, frame, deribit.SOURCE, deribit.GET_VOLATILITY_INDEX)
        inserted = replace_window(con, table=DVOL_TABLE, date_column="dvol_date", frame=frame, window=window, ddl=DVOL_DDL)
    expected = (window[1] - window[0]).days
    missing = sorted(set(window[0] + timedelta(days=i) for i in range(expected)) - set(frame["dvol_date"].to_list()))
    return MaterializeResult(
        metadata={
            "source": deribit.SOURCE,
            "endpoint": deribit.GET_VOLATILITY_INDEX,
            "mode": settings.mode,
            "window": f"{window[0]} .. {window[1]} (exclusive)",
            "pages": len(page_ids),
            "rows": inserted,
            "days_missing": len(missing),
            "first_missing_days": MetadataValue.json([str(d) for d in missing[:20]]),
            "last_close": float(frame.sort("dvol_date")["close"][-1]) if frame.height else None,
        }
    )


@asset_check(
    asset=raw_deribit_dvol,
    blocking=True,
    description="Great Expectations on raw.deribit_dvol: one row per day, closes within 5-300 %, low <= close <= high.",
)
def raw_deribit_dvol_gx(duckdb: DuckDBResource) -> AssetCheckResult:
    import great_expectations.expectations as gxe

    with duckdb.get_connection() as con:
        rows = con.sql(
            f"select dvol_date, open, high, low, close, (low <= close and close <= high and low <= open and open <= high) "
            f"as is_consistent from raw.{DVOL_TABLE}"
        ).df()
    return run_suite(
        "raw_deribit_dvol",
        [
            (
                "candles",
                rows,
                [
                    gxe.ExpectColumnValuesToNotBeNull(column="dvol_date"),
                    gxe.ExpectColumnValuesToBeUnique(column="dvol_date"),
                    gxe.ExpectColumnValuesToNotBeNull(column="close"),
                    gxe.ExpectColumnValuesToBeBetween(column="close", min_value=IV_BOUNDS_PCT[0], max_value=IV_BOUNDS_PCT[1]),
                    gxe.ExpectColumnValuesToBeInSet(column="is_consistent", value_set=[True]),
                ],
            )
        ],
    )
