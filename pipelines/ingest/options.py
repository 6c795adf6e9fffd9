"""Deribit BTC options: daily chain snapshots and DVOL history.

Deribit serves only the *current* chain, so a chain snapshot exists only for days on which one was taken:
:meth:`SourcesResource.snapshot_days` says which days of the window can be snapshotted — live, only the day that
has just closed (the daily schedule's run on D + 1); replay, the days the bundled dataset emulates a daily
snapshot for (``snapshots_start`` .. ``snapshots_end``, see pipelines/replay/data/deribit/README.md). Each
snapshot is taken ``as_of`` the day's close (a no-op live, where the run happens then). Earlier days of a live
backfill keep whatever snapshot an earlier run took; the dashboard reads null for days without one.
DVOL history (``get_volatility_index_data``) is loaded for every day as context.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl
from dagster import Config, MetadataValue
from pydantic import Field

from pipelines.ingest.factory import Fetch, RawAsset, build
from pipelines.landing.load import Landed, Part
from pipelines.landing.tables import DERIBIT_DVOL, DERIBIT_OPTION_CHAIN
from pipelines.options_math import MIN_EXPIRY_DAYS
from pipelines.replay.clock import as_of, day_close
from pipelines.sources import deribit

if TYPE_CHECKING:
    import pandas as pd

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


def _snapshot(client: deribit.DeribitClient, day, delta_source: str) -> pl.DataFrame:
    instruments = deribit.parse_instruments(client.instruments())
    records, snapshot_at = client.book_summary()
    index_price = client.index_price()
    ticker_deltas = None
    if delta_source == "ticker":
        horizon = snapshot_at + timedelta(days=200)
        ticker_deltas = {name: client.ticker_delta(name) for name, (exp, _, _) in instruments.items()
                         if snapshot_at < exp <= horizon}
    return deribit.parse_book_summary(records, instruments, snapshot_at, day, index_price, ticker_deltas)


def fetch_chain(f: Fetch) -> Iterator[Part]:
    if f.config.delta_source not in ("model", "ticker"):
        raise ValueError(f"delta_source must be 'model' or 'ticker', got {f.config.delta_source!r}")
    client = deribit.DeribitClient(f.http)
    for day in f.days:
        with as_of(day_close(day)):
            frame = _snapshot(client, day, f.config.delta_source)
        yield Part(deribit.SOURCE, deribit.GET_BOOK_SUMMARY, frame)


def chain_metadata(landed: Landed, f: Fetch) -> dict:
    days = f.days
    return {
        "source": deribit.SOURCE,
        "snapshots": len(days),
        "first_snapshot": str(days[0]) if days else "none",
        "last_snapshot": str(days[-1]) if days else "none",
        "delta_source": f.config.delta_source,
        "instruments_last_snapshot": landed.parts[-1].frame.height if landed.parts else 0,
    }


def chain_batches(rows: "pd.DataFrame") -> "list[tuple[str, pd.DataFrame, list[Any]]]":
    """The GX batches of the chain check: the chain's rows, the expiries used, the snapshots (used by the tests)."""
    import pandas as pd  # as GX: only the check needs it
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
        ("chain", rows, chain_expectations()),
        ("expiries_used", per_expiry, [gxe.ExpectColumnValuesToBeBetween(column="calls", min_value=2),
                                       gxe.ExpectColumnValuesToBeBetween(column="puts", min_value=2)]),
        ("snapshots", per_snapshot,
         [gxe.ExpectColumnValuesToBeInSet(column=f"brackets_{t}d", value_set=[True]) for t in CHECK_TENORS_DAYS]),
    ]


def chain_expectations() -> list:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToNotBeNull(column="snapshot_date"),
        gxe.ExpectColumnValuesToNotBeNull(column="instrument_name"),
        # a just-listed or halted instrument may lack a mark: tolerated while rare (the maths skips it)
        gxe.ExpectColumnValuesToNotBeNull(column="mark_iv_pct", mostly=MIN_MARKED_SHARE),
        gxe.ExpectColumnValuesToNotBeNull(column="delta", mostly=MIN_MARKED_SHARE),
        gxe.ExpectColumnValuesToBeBetween(column="mark_iv_pct", min_value=IV_BOUNDS_PCT[0], max_value=IV_BOUNDS_PCT[1]),
        gxe.ExpectColumnValuesToBeBetween(column="delta", min_value=-1.0, max_value=1.0),
        gxe.ExpectColumnValuesToBeInSet(column="option_type", value_set=["call", "put"]),
        gxe.ExpectColumnValuesToBeBetween(column="strike", min_value=0, strict_min=True),
    ]


CHAIN_COLUMNS = "snapshot_date, snapshot_at, instrument_name, expiry_at, strike, option_type, mark_iv_pct, delta"


def fetch_dvol(f: Fetch) -> Iterator[Part]:
    start = datetime(f.window[0].year, f.window[0].month, f.window[0].day, tzinfo=UTC)
    end = datetime(f.window[1].year, f.window[1].month, f.window[1].day, tzinfo=UTC) - timedelta(milliseconds=1)
    # as of the window's end: replay bodies are deterministic (a re-run archives nothing new)
    with as_of(end + timedelta(milliseconds=1)):
        candles = deribit.DeribitClient(f.http).dvol_history(start, end)
    published = f.sources.published_until(DERIBIT_DVOL.publication)  # the current day's candle is still open
    frame = deribit.parse_dvol(candles).filter(pl.col("dvol_date") <= published)
    yield Part(deribit.SOURCE, deribit.GET_VOLATILITY_INDEX, frame)


def dvol_metadata(landed: Landed, f: Fetch) -> dict:
    expected = (f.window[1] - f.window[0]).days
    present = set(landed.frame["dvol_date"].to_list())
    missing = sorted({f.window[0] + timedelta(days=i) for i in range(expected)} - present)
    return {
        "source": deribit.SOURCE,
        "endpoint": deribit.GET_VOLATILITY_INDEX,
        "days_missing": len(missing),
        "first_missing_days": MetadataValue.json([str(d) for d in missing[:20]]),
        "last_close": float(landed.frame.sort("dvol_date")["close"][-1]) if landed.frame.height else None,
    }


def dvol_expectations() -> list:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToNotBeNull(column="dvol_date"),
        gxe.ExpectColumnValuesToNotBeNull(column="close"),
        gxe.ExpectColumnValuesToBeBetween(column="close", min_value=IV_BOUNDS_PCT[0], max_value=IV_BOUNDS_PCT[1]),
        gxe.ExpectColumnValuesToBeInSet(column="is_consistent", value_set=[True]),
    ]


RAW_ASSETS = [
    RawAsset(
        DERIBIT_OPTION_CHAIN, fetch_chain, config=OptionChainConfig, snapshot="deribit_chain", not_empty=False,
        metadata=chain_metadata,
        records_sql=f"select {CHAIN_COLUMNS}, is_derived from raw.{{table}}",
        extra_batches=lambda con: chain_batches(con.sql(f"select {CHAIN_COLUMNS} from raw.{DERIBIT_OPTION_CHAIN.name}").df()),
        check_description="Great Expectations on raw.deribit_option_chain: mark IV within 5-300 %, deltas in "
        "[-1, 1], one row per (snapshot, instrument), at least two calls and two puts for every expiry used "
        "(>= 2 days), and in every snapshot expiries on both sides of 7 and 30 days.",
    ),
    RawAsset(
        DERIBIT_DVOL, fetch_dvol, expectations=dvol_expectations, metadata=dvol_metadata, not_empty=False,
        records_sql="select dvol_date, open, high, low, close, is_derived, (low <= close and close <= high and "
        "low <= open and open <= high) as is_consistent from raw.{table}",
        check_description="Great Expectations on raw.deribit_dvol: one row per day, closes within 5-300 %, "
        "low <= close <= high.",
    ),
]
raw_deribit_option_chain, raw_deribit_option_chain_gx = build(RAW_ASSETS[0])
raw_deribit_dvol, raw_deribit_dvol_gx = build(RAW_ASSETS[1])
