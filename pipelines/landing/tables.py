"""Every raw table, declared once: name, group, date and key columns, schema (→ DDL and polars schema),
description, publication time and allowed lag. The factory (pipelines/ingest/factory.py) builds each raw asset
and its blocking check from these; the landing (pipelines/landing/load.py) writes them; the schedules and the
freshness checks read publication and lag from here; parsers build their frames with :meth:`RawTable.frame`.

Every table also carries the record columns (:data:`RECORD_COLUMNS`): where the row came from, the archived body
it was parsed from, the run, and ``is_derived`` — true when the bundled replay dataset's provenance says the row's
input was derived rather than observed (always false for live data; see pipelines/replay/provenance.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from pipelines.partitions import HISTORY_START as _HISTORY_START

HISTORY_START = date.fromisoformat(_HISTORY_START)

POLARS_TYPES = {
    "date": pl.Date,
    "varchar": pl.String,
    "double": pl.Float64,
    "bigint": pl.Int64,
    "boolean": pl.Boolean,
    "timestamptz": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    comment: str = ""
    not_null: bool = False

    @property
    def dtype(self) -> pl.DataType:
        return POLARS_TYPES[self.sql_type]


def col(name: str, sql_type: str, comment: str = "", *, not_null: bool = False) -> Column:
    return Column(name, sql_type, comment, not_null)


def req(name: str, sql_type: str, comment: str = "") -> Column:
    return Column(name, sql_type, comment, True)


# After each table's own columns (filled by the landing, not by parsers).
RECORD_COLUMNS = (
    req("source", "varchar", "coinglass | farside | binance | ..."),
    req("endpoint", "varchar"),
    req("payload", "varchar", "the source's own record, JSON text"),
    req("payload_id", "varchar", "raw.landing_payloads row(s) the record came from"),
    req("window_start", "date", "request window [start, end)"),
    req("window_end", "date"),
    req("ingested_at", "timestamptz"),
    req("run_id", "varchar"),
    req("is_derived", "boolean", "replay dataset provenance says the input is derived, not observed; false live"),
)


@dataclass(frozen=True)
class Publication:
    """When a source's day D is available (UTC on D+1), and how many days a reading may lag before it is late."""

    hour_utc: int
    minute: int
    note: str
    max_lag_days: int

    @property
    def max_lateness_hours(self) -> int:
        """Hours after the day closes beyond which no new load means the source is late (freshness checks)."""
        return 24 * self.max_lag_days + self.hour_utc + math.ceil(self.minute / 60)


@dataclass(frozen=True)
class RawTable:
    name: str
    group: str
    date_column: str
    key_columns: tuple[str, ...]  # one row per key (per source when scope="source"): uniqueness and shrink refusal
    columns: tuple[Column, ...]
    description: str
    publication: Publication
    calendar: str = "daily"  # daily: a row every day | us_trading: NYSE days | sparse: no per-day expectation
    scope: str | None = None  # "source": a load replaces only the window's rows of the sources it landed
    freshness_key: str | None = None  # the row of dbt's source_freshness seed this table's lag feeds
    history_start: date = HISTORY_START  # first day the source has data for
    shrink: tuple[str, ...] = ()  # what a new answer must still contain of the window's loaded rows (default: days)

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return (*self.columns, *RECORD_COLUMNS)

    @property
    def ddl(self) -> str:
        cols = self.all_columns
        lines = []
        for i, c in enumerate(cols):
            null = " not null" if c.not_null else ""
            comment = f"  -- {c.comment}" if c.comment else ""
            lines.append(f"    {c.name} {c.sql_type}{null}{',' if i < len(cols) - 1 else ''}{comment}")
        body = "\n".join(lines)
        return f"create schema if not exists raw;\ncreate table if not exists raw.{self.name} (\n{body}\n)"

    @property
    def shrink_key(self) -> tuple[str, ...]:
        """What a new answer must still contain of the window's loaded rows (default: the date column)."""
        return self.shrink or (self.date_column,)

    @property
    def schema(self) -> dict[str, pl.DataType]:
        """The parser's frame: the table's own columns plus ``payload``."""
        return {**{c.name: c.dtype for c in self.columns}, "payload": pl.String}

    def frame(self, rows: list[dict[str, Any]]) -> pl.DataFrame:
        return pl.DataFrame(rows, schema=self.schema, orient="row") if rows else pl.DataFrame(schema=self.schema)



# ------------------------------------------------------------------------------------------- the tables
BTC_PRICE = RawTable(
    name="btc_price_daily", group="btc_price", date_column="price_date", key_columns=("price_date",),
    columns=(
        req("price_date", "date", "UTC day the candle opens"),
        req("open_usd", "double"), req("high_usd", "double"), req("low_usd", "double"),
        req("close_usd", "double", "close at 24:00 UTC"),
        req("volume_btc", "double"),
    ),
    description="BTC/USDT daily candles (UTC days) from Binance spot `api/v3/klines`, paginated 1,000 a page. "
    "Feeds the price conditions of the OI and price-level rules, hash price and the forward returns.",
    publication=Publication(0, 5, "the daily candle closes at 00:00 UTC", 2), freshness_key="btc_price",
)
ETF_FLOWS = RawTable(
    name="etf_flows", group="etf_flows", date_column="flow_date", key_columns=("flow_date", "issuer"),
    columns=(
        req("flow_date", "date", "US trading day the flow belongs to"),
        req("issuer", "varchar", "ETF ticker, or TOTAL for the all-funds total the source reports"),
        col("net_flow_usd", "double", "USD; null = the source has no figure (not launched, holiday)"),
    ),
    description="US spot bitcoin ETF daily net flows in USD, per issuer and in total (issuer TOTAL). "
    "Primary: CoinGlass v4 `etf/bitcoin/flow-history`; keyless fallback: Farside's flow table. "
    "Append-only landing: each run replaces the rows of the partitions it covers, in one transaction.",
    publication=Publication(13, 0, "issuers report the next US morning", 4), calendar="us_trading",
    freshness_key="etf_flows",
)
_DERIVATIVES = Publication(0, 10, "exchanges close the day at 00:00 UTC", 2)
FUTURES_OPEN_INTEREST = RawTable(
    name="futures_open_interest", group="derivatives", date_column="oi_date",
    key_columns=("oi_date", "source", "venue"), shrink=("source", "venue", "oi_date"), scope="source",
    columns=(
        req("oi_date", "date", "UTC day whose close the open interest is"),
        req("venue", "varchar", "all (CoinGlass aggregate) | binance | bybit | okx"),
        req("symbol", "varchar", "BTC (CoinGlass) | BTCUSDT | BTC-USDT-SWAP (exchange perpetual)"),
        col("oi_open_usd", "double", "CoinGlass daily OHLC, USD (null for exchanges)"),
        col("oi_high_usd", "double"), col("oi_low_usd", "double"),
        col("oi_close_usd", "double", "USD at the day's close (null for Bybit, which reports BTC)"),
        col("oi_close_btc", "double", "BTC at the day's close (null for CoinGlass)"),
    ),
    description="BTC futures open interest per day: CoinGlass all-exchange aggregate (OHLC, USD; venue 'all') "
    "and/or the keyless venues Binance USDⓈ-M, Bybit and OKX (close, USD or BTC). Binance keeps only 30 days; OKX's "
    "1Dutc bars go back to 2024-01-01 and are fetched live only (replay bundles no OKX history).",
    publication=_DERIVATIVES, freshness_key="futures_open_interest",
    history_start=date(2024, 4, 28),  # the first observed Binance OI day (replay); CoinGlass's aggregate from 2024-12-07
)
FUTURES_FUNDING = RawTable(
    name="futures_funding", group="derivatives", date_column="funding_date",
    key_columns=("funding_time", "source", "venue"), shrink=("source", "venue", "funding_time"), scope="source",
    columns=(
        req("funding_date", "date", "UTC day"),
        req("funding_time", "timestamptz", "exchanges: the 8h funding instant; CoinGlass: the day's 00:00"),
        req("venue", "varchar", "all (CoinGlass OI-weighted) | binance | bybit | okx"),
        req("symbol", "varchar"),
        col("funding_open_pct", "double", "CoinGlass daily OHLC, % per 8h (null for exchanges)"),
        col("funding_high_pct", "double"), col("funding_low_pct", "double"),
        req("funding_rate_pct", "double", "% per 8h: the funding (exchanges) or the day's close (CoinGlass)"),
    ),
    description="BTC perpetual funding, % per 8h: CoinGlass OI-weighted daily OHLC (venue 'all') and/or every "
    "8h funding of Binance USDⓈ-M and Bybit BTCUSDT and OKX BTC-USDT-SWAP (OKX: ~3 months kept, live only).",
    publication=_DERIVATIVES, freshness_key="futures_funding",
)
FUTURES_LIQUIDATIONS = RawTable(
    name="futures_liquidations", group="derivatives", date_column="liquidation_date",
    key_columns=("liquidation_date", "venue"), shrink=("source", "venue", "liquidation_date"), scope="source",
    columns=(
        req("liquidation_date", "date", "UTC day"),
        req("venue", "varchar", "CoinGlass: the exchanges summed, lower case, comma separated; okx: OKX alone"),
        req("symbol", "varchar"),
        req("long_liquidation_usd", "double"), req("short_liquidation_usd", "double"),
    ),
    description="BTC futures long and short liquidations per day, USD, from CoinGlass (summed over the configured "
    "exchange_list; needs COINGLASS_API_KEY) and/or, keyless and live only, OKX BTC-USDT-SWAP liquidation orders "
    "summed per day. OKX keeps ~24 h of orders, so the daily run shortly after 00:00 UTC (the publication time "
    "below) lands yesterday only when the orders fetched reach back before its start; that history starts when "
    "collecting starts. Replay without a key: nothing fetched, rows kept.",
    publication=_DERIVATIVES, freshness_key="futures_liquidations",
)
_OPTIONS = Publication(0, 15, "chain snapshot shortly after 00:00 UTC", 1)
DERIBIT_OPTION_CHAIN = RawTable(
    name="deribit_option_chain", group="options", date_column="snapshot_date",
    key_columns=("snapshot_date", "instrument_name"), calendar="sparse",
    columns=(
        req("snapshot_date", "date", "the UTC day whose close the snapshot describes"),
        req("snapshot_at", "timestamptz", "server time of the book summary (JSON-RPC usOut)"),
        req("instrument_name", "varchar", "e.g. BTC-27FEB26-70000-C"),
        req("expiry_at", "timestamptz"),
        req("strike", "double", "USD"),
        req("option_type", "varchar", "call | put"),
        col("mark_iv_pct", "double", "mark implied volatility, % (55.1 = 55.1 %)"),
        col("delta", "double", "forward delta, -1..1"),
        col("delta_source", "varchar", "deribit_ticker | black76_mark_iv"),
        col("underlying_price", "double", "the expiry's forward, USD"),
        col("underlying_index", "varchar"),
        col("index_price", "double", "btc_usd index at the snapshot, USD"),
        col("open_interest", "double", "contracts (1 BTC each)"),
        col("mark_price_btc", "double"),
    ),
    description="Whole BTC option chain from Deribit (public/get_instruments + get_book_summary_by_currency + "
    "get_index_price), one snapshot per day at the day's close: instrument, expiry, strike, type, mark IV, delta, "
    "forward, open interest. Deribit serves only the current chain: past days cannot be snapshotted in live mode.",
    publication=_OPTIONS, freshness_key="deribit_options",
)
DERIBIT_DVOL = RawTable(
    name="deribit_dvol", group="options", date_column="dvol_date", key_columns=("dvol_date",), calendar="sparse",
    columns=(
        req("dvol_date", "date", "UTC day of the daily candle"),
        col("open", "double", "DVOL, annualised vol in %"), col("high", "double"), col("low", "double"),
        col("close", "double"),
    ),
    description="Deribit's BTC volatility index (DVOL, 30-day implied vol, %) as daily OHLC candles from "
    "public/get_volatility_index_data (paginated with `continuation`): context for days without a chain snapshot.",
    publication=_OPTIONS,
)
_MINING = Publication(0, 20, "blocks of the day are final after 00:00 UTC", 3)
MINING_HASHRATE = RawTable(
    name="mining_hashrate", group="mining", date_column="hashrate_date", key_columns=("hashrate_date",),
    calendar="sparse",  # mempool's daily estimate has gaps (the replay source misses 2025-11-13 .. 15)
    columns=(
        req("hashrate_date", "date", "UTC day of mempool's daily hashrate estimate"),
        req("hashrate_hs", "double", "network hashrate, hashes per second"),
        col("difficulty", "double", "difficulty in force at the end of the day (latest retarget before it)"),
    ),
    description="Daily network hashrate (H/s) with the difficulty in force at the day's end, from mempool.space "
    "`GET /api/v1/mining/hashrate/{timePeriod}` (one request per run).",
    publication=_MINING, freshness_key="mining",
)
MINING_DIFFICULTY_ADJUSTMENTS = RawTable(
    name="mining_difficulty_adjustments", group="mining", date_column="adjustment_date", key_columns=("height",),
    calendar="sparse",
    columns=(
        req("adjustment_date", "date", "UTC day of the retarget block"),
        req("adjusted_at", "timestamptz", "the retarget block's time"),
        req("height", "bigint", "a multiple of 2016"),
        req("difficulty", "double", "the new difficulty"),
        req("adjustment_ratio", "double", "new / old difficulty"),
    ),
    description="Difficulty retargets (time, height, new difficulty, new/old ratio) from mempool.space "
    "`GET /api/v1/mining/difficulty-adjustments/{timePeriod}` (one request per run).",
    publication=_MINING,
)
MINING_BLOCK_REWARDS = RawTable(
    name="mining_block_rewards", group="mining", date_column="reward_date", key_columns=("reward_date",),
    calendar="sparse",
    columns=(
        req("reward_date", "date", "UTC day"),
        req("avg_height", "bigint", "mean block height of the day's buckets"),
        req("avg_fees_per_block_sats", "double", "mean fee total per block, satoshis"),
        req("subsidy_per_block_btc", "double", "protocol subsidy at avg_height (3.125 from block 840,000)"),
        req("fee_buckets", "bigint", "buckets of the API's answer that fell on this day"),
        col("price_usd", "double", "mempool's own BTC price at those blocks (not used for hash price)"),
    ),
    description="Per day: mean fees per block (sats), subsidy per block (from the height) and mempool's USD price, "
    "from mempool.space `GET /api/v1/mining/blocks/fees/{timePeriod}` (one request per run; the period's "
    "buckets are averaged per UTC day).",
    publication=_MINING,
)
MINING_DIFFICULTY_ESTIMATE = RawTable(
    name="mining_difficulty_estimate", group="mining", date_column="snapshot_date", key_columns=("snapshot_date",),
    calendar="sparse",
    columns=(
        req("snapshot_date", "date", "the day the snapshot was taken for"),
        req("server_now_at", "timestamptz", "the server's clock, recovered from the payload"),
        req("progress_pct", "double", "share of the epoch's 2016 blocks mined"),
        req("difficulty_change_pct", "double", "estimated next retarget, %"),
        req("estimated_retarget_at", "timestamptz"),
        req("remaining_blocks", "bigint"),
        req("previous_retarget_pct", "double"),
        req("previous_retarget_at", "timestamptz"),
        req("next_retarget_height", "bigint"),
        req("time_avg_ms", "double", "mean block interval this epoch, ms"),
    ),
    description="Snapshot per day of the running epoch's estimated next difficulty change, from mempool.space "
    "`GET /api/v1/difficulty-adjustment` (current state only: live runs snapshot today; replay snapshots each "
    "day the bundled dataset covers, as of that day's end).",
    publication=_MINING,
)
MACRO_DAILY_CLOSES = RawTable(
    name="macro_daily_closes", group="macro", date_column="obs_date", key_columns=("obs_date", "series"),
    shrink=("series", "obs_date"), calendar="us_trading",
    columns=(
        req("obs_date", "date", "trading day of the close (US market or the instrument's exchange)"),
        req("series", "varchar", "sp500 | nasdaq_composite | dow_jones | sox | gold | silver | dollar_index | us10y_yield"),
        req("symbol", "varchar", "the source's own identifier (FRED series id, Stooq symbol)"),
        req("close_value", "double", "index points, USD per troy ounce (gold, silver), percent (us10y_yield)"),
    ),
    description="Daily closes of S&P 500, Nasdaq Composite, Dow Jones, US 10y yield (FRED) and SOX, gold, silver, "
    "US dollar index (Stooq). One request per series over the partition window; the window's rows are replaced "
    "in one transaction.",
    publication=Publication(1, 0, "after the US close (21:00 UTC) of day D", 4),  # weekends + holidays
    freshness_key="macro",
)

# The declarations, in the order the code location lists them (pipelines/definitions.py).
TABLES = (
    BTC_PRICE, ETF_FLOWS, FUTURES_OPEN_INTEREST, FUTURES_FUNDING, FUTURES_LIQUIDATIONS, DERIBIT_OPTION_CHAIN,
    DERIBIT_DVOL, MINING_HASHRATE, MINING_DIFFICULTY_ADJUSTMENTS, MINING_BLOCK_REWARDS, MINING_DIFFICULTY_ESTIMATE,
    MACRO_DAILY_CLOSES,
)
DEFAULT_PUBLICATION = Publication(0, 30, "shortly after 00:00 UTC", 1)


def publication_by_group() -> dict[str, Publication]:
    """Per source group, the publication of its tables (the latest lag when they differ)."""
    out: dict[str, Publication] = {}
    for table in TABLES:
        known = out.get(table.group)
        if known is None or table.publication.max_lag_days > known.max_lag_days:
            out[table.group] = table.publication
    return out


def source_freshness() -> dict[str, int]:
    """dbt's ``source_freshness`` seed, as the declarations say it: {source_key: max_lag_days}."""
    return {t.freshness_key: t.publication.max_lag_days for t in TABLES if t.freshness_key}
