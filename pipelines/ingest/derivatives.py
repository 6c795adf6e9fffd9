"""Futures open interest, funding and liquidations (BTC).

Sources, per table (``source`` says which one a row came from, ``venue`` which market):

* CoinGlass v4 (API key): aggregated all-exchange OI (venue ``all``), OI-weighted funding (venue ``all``) and
  liquidations summed over ``liquidation_exchanges`` (venue e.g. ``binance``).
* Keyless venues: Binance USDⓈ-M and Bybit linear BTCUSDT and OKX BTC-USDT-SWAP — OI and 8h
  funding per venue; the intermediate layer sums OI and OI-weights funding over the venues present each day
  (the row names them, e.g. ``binance+bybit+okx``) and computes changes within the same venue set.
* Keyless liquidations: OKX's recent liquidation orders (kept ~24 h), collected live only, summed per day; a
  window is landed only when the orders fetched reach back before its first day's start (proven fully covered).

``auto`` fetches CoinGlass when ``COINGLASS_API_KEY`` is set *and* the keyless venues (cheap), so dbt can
compare the two; without a key, the venues only. A venue the mode cannot serve (Bybit and OKX in replay: no
public history of either exists, so none is bundled, and replay's keyless rows are Binance's alone) is skipped by
the planner, which asks :meth:`SourcesResource.unavailable`, and the run's notes say so. CoinGlass and the keyless venues planned may each fail alone (the reason is recorded); the venues planned
are all-or-none (a venue that answers badly is an error, not a silently thinner sum). A load replaces the
window's rows of the sources it landed, so a source not fetched this time keeps its rows.
"""

from collections.abc import Callable, Iterator
from datetime import timedelta

import polars as pl
from dagster import Config, MetadataValue
from pydantic import Field

from pipelines.ingest import fallback
from pipelines.ingest.factory import Fetch, RawAsset, build, daily_gaps
from pipelines.landing.load import Landed, Part, day_range
from pipelines.landing.tables import FUTURES_FUNDING, FUTURES_LIQUIDATIONS, FUTURES_OPEN_INTEREST, RawTable
from pipelines.sources import binance_futures, bybit, coinglass, okx
from pipelines.sources.fields import date_to_ms

KEYLESS_VENUES = ("binance", "bybit", "okx")
KEYLESS_LIQUIDATION_VENUES = ("okx",)  # the only keyless REST source of recent liquidation orders (sources/okx.py)
SOURCES = ["coinglass", *KEYLESS_VENUES]
MAX_ABS_FUNDING_PCT_8H = 1.0
# The endpoint each keyless venue answers per table (what SourcesResource.unavailable is asked about).
VENUE_ENDPOINTS = {
    FUTURES_OPEN_INTEREST.name: {"binance": binance_futures.OPEN_INTEREST_HIST, "bybit": bybit.OPEN_INTEREST,
                                 "okx": okx.OPEN_INTEREST_HISTORY},
    FUTURES_FUNDING.name: {"binance": binance_futures.FUNDING_RATE, "bybit": bybit.FUNDING_HISTORY,
                           "okx": okx.FUNDING_HISTORY},
    FUTURES_LIQUIDATIONS.name: {"okx": okx.LIQUIDATION_ORDERS},
}


class DerivativesConfig(Config):
    source: str = Field(
        default="auto",
        description="auto: CoinGlass (when COINGLASS_API_KEY is set) and the keyless venues; 'coinglass', "
        "'exchanges' (every keyless venue: Binance, Bybit, OKX; OKX only for liquidations) or one venue to force it.",
    )
    liquidation_exchanges: str = Field(
        default=coinglass.DEFAULT_LIQUIDATION_EXCHANGES,
        description="CoinGlass exchange_list the liquidations are summed over, e.g. 'Binance,OKX,Bybit'.",
    )


def plan_sources(choice: str, has_key: bool, table: RawTable,
                 unavailable: Callable[[str, str], str | None] = lambda source, endpoint: None,
                 ) -> tuple[list[str], list[str]]:
    """Which of ``coinglass`` and the keyless venues a run fetches for ``table``, and a note per venue skipped
    because the mode cannot serve it (``unavailable(source, endpoint)``: :meth:`SourcesResource.unavailable`)."""
    venues = list(KEYLESS_LIQUIDATION_VENUES if table is FUTURES_LIQUIDATIONS else KEYLESS_VENUES)
    if choice in KEYLESS_VENUES and choice not in venues:
        raise ValueError(f"{choice} publishes no keyless liquidation history: use CoinGlass or "
                         f"{', '.join(venues)}")
    planned = [choice] if choice in venues else fallback.plan(choice, has_key, ["coinglass"], ["exchanges"], "derivatives")
    planned = [v for p in planned for v in (venues if p == "exchanges" else [p])]
    endpoints = VENUE_ENDPOINTS[table.name]
    skipped = {v: why for v in planned if v in endpoints and (why := unavailable(v, endpoints[v])) is not None}
    return [v for v in planned if v not in skipped], [f"{v} skipped: {why}" for v, why in skipped.items()]


def _okx_liquidations(f: Fetch, client: okx.OkxClient) -> list[Part]:
    """OKX's recent orders summed per day, landed only when the orders fetched fully cover every closed day of the
    window (the oldest order is before the first day's start). Otherwise nothing from OKX, and the note names
    the days not covered: OKX keeps ~24 h, so only yesterday's partition can be collected (the daily schedule),
    and a wider window (a backfill) lands nothing from OKX rather than failing or landing a partial window."""
    start, end = f.window
    now_ms = int(f.sources.now().timestamp() * 1000)
    orders = okx.parse_liquidations(client.liquidation_orders(date_to_ms(start), min(date_to_ms(end), now_ms)))
    oldest = okx.oldest_order_ms(orders)
    closed = [d for d in day_range(f.window) if date_to_ms(d + timedelta(days=1)) <= now_ms]
    uncovered = [d for d in closed if oldest is None or date_to_ms(d) <= oldest]
    if uncovered or not closed:
        reach = ("no order" if oldest is None
                 else f"the oldest order fetched is at {okx.at_utc(oldest):%Y-%m-%d %H:%M:%S} UTC")
        days = f"{uncovered[0]}..{uncovered[-1]}" if uncovered else "none closed"
        f.notes.append(f"okx liquidations: {len(uncovered)} day(s) of {start}..{end} not fully covered ({days}; {reach}; "
                       "OKX keeps ~24 h of orders, collect yesterday's partition alone, as the daily schedule does); "
                       "nothing landed from OKX")
        return []
    return [Part(okx.SOURCE, okx.LIQUIDATION_ORDERS, okx.daily_liquidation_sums(orders, closed),
                 note={"orders": orders.height, "oldest_order": okx.at_utc(oldest).isoformat()})]


def _fetchers(f: Fetch, table: RawTable) -> dict[str, Callable[[], list[Part]]]:
    start, end = f.window
    cg = coinglass.CoinGlassClient(f.http, f.settings.coinglass_api_key)
    bn = binance_futures.BinanceFuturesClient(f.http, live=f.sources.mode == "live")
    bb = bybit.BybitClient(f.http)
    ok = okx.OkxClient(f.http)
    if table is FUTURES_OPEN_INTEREST:
        return {
            "coinglass": lambda: [Part("coinglass", coinglass.FUTURES_OI_HISTORY, coinglass.parse_futures_open_interest(
                coinglass.futures_open_interest_history(cg, start, end)))],
            "binance": lambda: [Part("binance", binance_futures.OPEN_INTEREST_HIST,
                                     binance_futures.parse_open_interest(bn.open_interest_history(start, end)))],
            "bybit": lambda: [Part("bybit", bybit.OPEN_INTEREST, bybit.parse_open_interest(bb.open_interest_history(start, end)))],
            "okx": lambda: [Part(okx.SOURCE, okx.OPEN_INTEREST_HISTORY, okx.parse_open_interest(
                ok.open_interest_history(start, end, today=f.sources.now().date())))],
        }
    if table is FUTURES_FUNDING:
        return {
            "coinglass": lambda: [Part("coinglass", coinglass.FUTURES_FUNDING_HISTORY, coinglass.parse_futures_funding(
                coinglass.futures_funding_history(cg, start, end)))],
            "binance": lambda: [Part("binance", binance_futures.FUNDING_RATE,
                                     binance_futures.parse_funding(bn.funding_history(start, end)))],
            "bybit": lambda: [Part("bybit", bybit.FUNDING_HISTORY, bybit.parse_funding(bb.funding_history(start, end)))],
            "okx": lambda: [Part(okx.SOURCE, okx.FUNDING_HISTORY, okx.parse_funding(ok.funding_history(start, end)))],
        }
    exchanges = f.config.liquidation_exchanges
    return {"coinglass": lambda: [Part("coinglass", coinglass.FUTURES_LIQUIDATION_HISTORY, coinglass.parse_futures_liquidations(
        coinglass.futures_liquidation_history(cg, start, end, exchanges), exchanges))],
        "okx": lambda: _okx_liquidations(f, ok)}


def fetcher(table: RawTable) -> Callable[[Fetch], Iterator[Part]]:
    def fetch(f: Fetch) -> Iterator[Part]:
        planned, skipped = plan_sources(f.config.source, bool(f.settings.coinglass_api_key), table, f.sources.unavailable)
        f.notes.extend(skipped)
        for note in skipped:
            f.log.info(f"raw.{table.name}: {note}")
        if not planned:
            f.notes.append("no source this run (set COINGLASS_API_KEY, or collect live); nothing fetched, rows kept")
            f.log.warning(f"raw.{table.name}: no source to fetch in {f.sources.mode} mode without COINGLASS_API_KEY; "
                          "nothing fetched, rows kept")
            return
        fetchers = _fetchers(f, table)
        venues = [n for n in planned if n != "coinglass"]
        options = [("coinglass", fetchers["coinglass"])] if "coinglass" in planned else []
        if venues:  # the keyless venues planned, all or none: a malformed or failed venue fails them together
            options.append(("+".join(venues), lambda: [p for v in venues for p in fetchers[v]()]))
        got, notes = fallback.every_that_works(options, f.log, "derivatives")
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
          "CoinGlass key, or live collection from OKX, whose history starts when collecting starts).", not_empty=False,
          empty_note="no liquidation rows (no CoinGlass key, no live OKX collection yet): nothing to validate"),
]
raw_futures_open_interest, raw_futures_open_interest_gx = build(RAW_ASSETS[0])
raw_futures_funding, raw_futures_funding_gx = build(RAW_ASSETS[1])
raw_futures_liquidations, raw_futures_liquidations_gx = build(RAW_ASSETS[2])
