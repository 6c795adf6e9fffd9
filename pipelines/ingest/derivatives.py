"""Futures open interest, funding and liquidations (BTC).

Sources, per table (``source`` says which one a row came from, ``venue`` which market):

* CoinGlass v4 (API key): aggregated all-exchange OI (venue ``all``), OI-weighted funding (venue ``all``) and
  liquidations summed over ``liquidation_exchanges`` (venue e.g. ``binance``).
* Keyless: Binance USDⓈ-M and Bybit linear BTCUSDT — OI and 8h funding per venue; the intermediate layer sums OI
  and OI-weights funding across them. No exchange publishes a liquidation *history* without a key.

``auto`` fetches CoinGlass when ``COINGLASS_API_KEY`` is set *and* the exchanges (cheap, keyless), so dbt can
compare the two; without a key, the exchanges only. CoinGlass and the exchange pair may each fail alone (the
reason is recorded); the exchanges are all-or-none (a sum over a missing venue would be wrong). A load replaces
the window's rows of the sources it landed, so a source not fetched this time keeps its rows.
"""

from collections.abc import Callable, Iterator

import polars as pl
from dagster import Config, MetadataValue
from pydantic import Field

from pipelines.ingest import fallback
from pipelines.ingest.factory import Fetch, RawAsset, build, daily_gaps
from pipelines.landing.load import Landed, Part
from pipelines.landing.tables import FUTURES_FUNDING, FUTURES_LIQUIDATIONS, FUTURES_OPEN_INTEREST, RawTable
from pipelines.sources import binance_futures, bybit, coinglass

EXCHANGE_SOURCES = ("binance", "bybit")
SOURCES = ["coinglass", *EXCHANGE_SOURCES]
MAX_ABS_FUNDING_PCT_8H = 1.0


class DerivativesConfig(Config):
    source: str = Field(
        default="auto",
        description="auto: CoinGlass (when COINGLASS_API_KEY is set) and the keyless exchanges; "
        "'coinglass' or 'exchanges' (Binance + Bybit) to force one.",
    )
    liquidation_exchanges: str = Field(
        default=coinglass.DEFAULT_LIQUIDATION_EXCHANGES,
        description="CoinGlass exchange_list the liquidations are summed over, e.g. 'Binance,OKX,Bybit'.",
    )


def plan_sources(choice: str, has_key: bool, table: RawTable) -> list[str]:
    """Which of ``coinglass`` / ``exchanges`` a run fetches for ``table``."""
    if table is FUTURES_LIQUIDATIONS:
        if choice == "exchanges":
            raise ValueError("no exchange publishes a keyless liquidation history: use CoinGlass")
        return fallback.plan(choice, has_key, ["coinglass"], [], "derivatives")
    return fallback.plan(choice, has_key, ["coinglass"], ["exchanges"], "derivatives")


def _fetchers(f: Fetch, table: RawTable) -> dict[str, Callable[[], list[Part]]]:
    start, end = f.window
    cg = coinglass.CoinGlassClient(f.http, f.settings.coinglass_api_key)
    bn = binance_futures.BinanceFuturesClient(f.http, live=f.sources.mode == "live")
    bb = bybit.BybitClient(f.http)
    if table is FUTURES_OPEN_INTEREST:
        return {
            "coinglass": lambda: [Part("coinglass", coinglass.FUTURES_OI_HISTORY, coinglass.parse_futures_open_interest(
                coinglass.futures_open_interest_history(cg, start, end)))],
            "exchanges": lambda: [
                Part("binance", binance_futures.OPEN_INTEREST_HIST,
                     binance_futures.parse_open_interest(bn.open_interest_history(start, end))),
                Part("bybit", bybit.OPEN_INTEREST, bybit.parse_open_interest(bb.open_interest_history(start, end)))],
        }
    if table is FUTURES_FUNDING:
        return {
            "coinglass": lambda: [Part("coinglass", coinglass.FUTURES_FUNDING_HISTORY, coinglass.parse_futures_funding(
                coinglass.futures_funding_history(cg, start, end)))],
            "exchanges": lambda: [
                Part("binance", binance_futures.FUNDING_RATE, binance_futures.parse_funding(bn.funding_history(start, end))),
                Part("bybit", bybit.FUNDING_HISTORY, bybit.parse_funding(bb.funding_history(start, end)))],
        }
    exchanges = f.config.liquidation_exchanges
    return {"coinglass": lambda: [Part("coinglass", coinglass.FUTURES_LIQUIDATION_HISTORY, coinglass.parse_futures_liquidations(
        coinglass.futures_liquidation_history(cg, start, end, exchanges), exchanges))]}


def fetcher(table: RawTable) -> Callable[[Fetch], Iterator[Part]]:
    def fetch(f: Fetch) -> Iterator[Part]:
        planned = plan_sources(f.config.source, bool(f.settings.coinglass_api_key), table)
        if not planned:
            f.notes.append("no keyless source: set COINGLASS_API_KEY; nothing fetched, rows kept")
            f.log.warning(f"raw.{table.name}: no source without COINGLASS_API_KEY; nothing fetched, rows kept")
            return
        fetchers = _fetchers(f, table)
        got, notes = fallback.every_that_works([(n, fetchers[n]) for n in planned], f.log, "derivatives")
        f.notes.extend(notes)
        for _, parts in got:
            yield from parts

    return fetch


def metadata(landed: Landed, f: Fetch) -> dict:
    dc = landed.table.date_column
    per = landed.frame.group_by("source", "venue").agg(
        pl.len().alias("rows"), pl.col(dc).min().alias("first"), pl.col(dc).max().alias("last")).sort("source", "venue")
    return {"by_source_and_venue": MetadataValue.md(
        "| source | venue | rows | first | last |\n|---|---|---|---|---|\n"
        + "\n".join(f"| {s} | {v} | {n} | {a} | {b} |" for s, v, n, a, b in per.iter_rows()))}


def oi_expectations() -> list:
    import great_expectations.expectations as gxe

    pair = gxe.ExpectColumnPairValuesAToBeGreaterThanB
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="oi_value"),
        gxe.ExpectColumnValuesToBeBetween(column="oi_value", min_value=0, strict_min=True),
        gxe.ExpectColumnValuesToBeBetween(column="oi_close_usd", min_value=0, strict_min=True),
        gxe.ExpectColumnValuesToBeBetween(column="oi_low_usd", min_value=0, strict_min=True),
        pair(column_A="oi_high_usd", column_B="oi_close_usd", or_equal=True, ignore_row_if="either_value_is_missing"),
        pair(column_A="oi_close_usd", column_B="oi_low_usd", or_equal=True, ignore_row_if="either_value_is_missing"),
        gxe.ExpectColumnValuesToBeInSet(column="source", value_set=SOURCES),
    ]


def funding_expectations() -> list:
    import great_expectations.expectations as gxe

    bound = {"min_value": -MAX_ABS_FUNDING_PCT_8H, "max_value": MAX_ABS_FUNDING_PCT_8H}
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="funding_rate_pct"),
        gxe.ExpectColumnValuesToBeBetween(column="funding_rate_pct", **bound),
        gxe.ExpectColumnValuesToBeBetween(column="funding_high_pct", **bound),
        gxe.ExpectColumnValuesToBeBetween(column="funding_low_pct", **bound),
        gxe.ExpectColumnValuesToBeInSet(column="source", value_set=SOURCES),
    ]


def liquidation_expectations() -> list:
    import great_expectations.expectations as gxe

    band = {"min_value": 0, "max_value": 5e10}
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="long_liquidation_usd"),
        gxe.ExpectColumnValuesToNotBeNull(column="short_liquidation_usd"),
        gxe.ExpectColumnValuesToBeBetween(column="long_liquidation_usd", **band),
        gxe.ExpectColumnValuesToBeBetween(column="short_liquidation_usd", **band),
    ]


def _gaps(table: RawTable):
    return lambda con: [daily_gaps(con, table, by=("source", "venue"))]


def _spec(table: RawTable, expectations, description: str, **kw) -> RawAsset:
    return RawAsset(table, fetcher(table), config=DerivativesConfig, expectations=expectations,
                    extra_batches=_gaps(table), metadata=metadata, check_description=description, **kw)


RAW_ASSETS = [
    _spec(FUTURES_OPEN_INTEREST, oi_expectations,
          "GX on raw.futures_open_interest: not empty, one row per (day, source, venue), OI positive (USD or BTC "
          "present), OHLC consistent, known sources, and no missing day per source and venue.",
          records_sql="select * exclude (payload), coalesce(oi_close_usd, oi_close_btc) as oi_value from raw.{table}"),
    _spec(FUTURES_FUNDING, funding_expectations,
          "GX on raw.futures_funding: not empty, one row per (funding instant, source, venue), funding within ±1 % "
          "per 8h (rate, high and low), and no missing day per source and venue."),
    _spec(FUTURES_LIQUIDATIONS, liquidation_expectations,
          "GX on raw.futures_liquidations: one row per (day, venue), long and short liquidations non-negative and "
          "below 50bn USD, no missing day. Passes with a note while the table is empty (liquidations need a "
          "CoinGlass key).", not_empty=False,
          empty_note="no liquidation rows (no CoinGlass key): nothing to validate"),
]
raw_futures_open_interest, raw_futures_open_interest_gx = build(RAW_ASSETS[0])
raw_futures_funding, raw_futures_funding_gx = build(RAW_ASSETS[1])
raw_futures_liquidations, raw_futures_liquidations_gx = build(RAW_ASSETS[2])
