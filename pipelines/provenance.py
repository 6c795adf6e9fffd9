"""TEMP (superseded by the ingest branch): the raw column ``is_derived``.

True when the bundled replay dataset's provenance says the record is derived, not observed:
``replay_data/<source>/provenance.csv`` (columns file, day, origin, how; origin real|derived) for
CoinGlass, Binance futures and Bybit, and every Deribit option-chain row (rendered from
``smile_params.json``). Live records are observed: false.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import polars as pl

from pipelines.settings import load_settings

# (raw table, source) -> (replay_data folder, file)
FILES = {
    ("futures_open_interest", "coinglass"): ("coinglass", "futures_open_interest_aggregated_history_BTC_1d.json"),
    ("futures_open_interest", "binance"): ("binance_futures", "openInterestHist_BTCUSDT_1d.json"),
    ("futures_open_interest", "bybit"): ("bybit", "open_interest_linear_BTCUSDT_1d.json"),
    ("futures_funding", "coinglass"): ("coinglass", "futures_funding_rate_oi_weight_history_BTC_1d.json"),
    ("futures_funding", "binance"): ("binance_futures", "fundingRate_BTCUSDT.json"),
    ("futures_funding", "bybit"): ("bybit", "funding_history_linear_BTCUSDT.json"),
    ("futures_liquidations", "coinglass"): ("coinglass", "futures_liquidation_aggregated_history_BTC_Binance_1d.json"),
}
ALWAYS_DERIVED = {"deribit_option_chain"}


@cache
def _derived_days(replay_dir: Path, folder: str, file: str) -> frozenset[str]:
    path = replay_dir / folder / "provenance.csv"
    if not path.exists():
        return frozenset()
    with path.open(newline="") as fh:
        return frozenset(r["day"] for r in csv.DictReader(fh) if r["file"] == file and r["origin"] == "derived")


def with_is_derived(con, table: str, date_column: str, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the boolean column ``is_derived`` when ``raw.<table>`` has one (kept if the caller set it)."""
    has_column = con.execute(
        "select count(*) from information_schema.columns "
        "where table_schema = 'raw' and table_name = ? and column_name = 'is_derived'",
        [table],
    ).fetchone()[0]
    if "is_derived" in frame.columns or not has_column:
        return frame
    settings = load_settings()
    if settings.mode != "replay" or frame.height == 0:
        return frame.with_columns(is_derived=pl.lit(False))
    if table in ALWAYS_DERIVED:
        return frame.with_columns(is_derived=pl.lit(True))
    flags = []
    for source, day in frame.select(pl.col("source"), pl.col(date_column).cast(pl.String)).iter_rows():
        where = FILES.get((table, source))
        flags.append(where is not None and day in _derived_days(settings.replay_dir, *where))
    return frame.with_columns(is_derived=pl.Series(flags, dtype=pl.Boolean))
