"""Futures open interest, funding and liquidations (BTC): raw landing assets and their checks.

Sources, per table (``source`` column says which one a row came from, ``venue`` which market):

* CoinGlass v4 (API key): aggregated all-exchange OI (venue ``all``), OI-weighted funding (venue
  ``all``) and liquidations summed over ``liquidation_exchanges`` (venue e.g. ``binance``).
* Keyless fallback: Binance USDⓈ-M and Bybit linear BTCUSDT — OI and 8h funding per venue; the
  intermediate layer sums OI and OI-weights funding across them. No exchange publishes a
  liquidation *history* without a key, so liquidations need CoinGlass.

``auto`` fetches CoinGlass when ``COINGLASS_API_KEY`` is set *and* the exchanges (cheap, keyless), so
the cross-source check can compare the two; without a key it fetches the exchanges only. Each source
is one request window over the partitions of the run (paginated where the API needs it); the
records of all sources are landed in one transaction, replacing the window's rows.
"""

from datetime import date
from typing import Any

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
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

from pipelines.assets.common import RAW_RECORD_COLUMNS, partition_window
from pipelines.landing import archive_payload, utcnow
from pipelines.partitions import daily_partitions
from pipelines.quality import run_suite
from pipelines.resources import SourcesResource
from pipelines.sources import binance_futures, bybit, coinglass
from pipelines.sources.http import HttpClient, SourceError

OI_TABLE = "futures_open_interest"
FUNDING_TABLE = "futures_funding"
LIQUIDATION_TABLE = "futures_liquidations"
OI_DDL = f"""
create schema if not exists raw;
create table if not exists raw.{OI_TABLE} (
    oi_date       date not null,       -- UTC day whose close the open interest is
    venue         varchar not null,    -- all (CoinGlass aggregate) | binance | bybit
    symbol        varchar not null,    -- BTC (CoinGlass) | BTCUSDT (exchange perpetual)
    oi_open_usd   double,              -- CoinGlass daily OHLC, USD (null for exchanges)
    oi_high_usd   double,
    oi_low_usd    double,
    oi_close_usd  double,              -- USD at the day's close (null for Bybit, which reports BTC)
    oi_close_btc  double,              -- BTC at the day's close (null for CoinGlass)
    {RAW_RECORD_COLUMNS}
)
"""
FUNDING_DDL = f"""
create schema if not exists raw;
create table if not exists raw.{FUNDING_TABLE} (
    funding_date      date not null,          -- UTC day
    funding_time      timestamptz not null,   -- exchanges: the 8h funding instant; CoinGlass: the day's 00:00
    venue             varchar not null,       -- all (CoinGlass OI-weighted) | binance | bybit
    symbol            varchar not null,
    funding_open_pct  double,                 -- CoinGlass daily OHLC, % per 8h (null for exchanges)
    funding_high_pct  double,
    funding_low_pct   double,
    funding_rate_pct  double not null,        -- % per 8h: the funding (exchanges) or the day's close (CoinGlass)
    {RAW_RECORD_COLUMNS}
)
"""
LIQUIDATION_DDL = f"""
create schema if not exists raw;
create table if not exists raw.{LIQUIDATION_TABLE} (
    liquidation_date       date not null,     -- UTC day
    venue                  varchar not null,  -- the exchanges summed, lower case, comma separated
    symbol                 varchar not null,
    long_liquidation_usd   double not null,
    short_liquidation_usd  double not null,
    {RAW_RECORD_COLUMNS}
)
"""
CHOICES = ("auto", "coinglass", "exchanges")
EXCHANGE_SOURCES = ("binance", "bybit")
MAX_ABS_FUNDING_PCT_8H = 1.0
# Cross-source tolerances (docs/derivatives.md): funding in percentage points per 8h; OI as the
# difference between the two 7-day changes in percentage points (levels differ by design: the
# fallback covers two venues, CoinGlass all of them).
FUNDING_TOLERANCE_PCT_PTS = 0.01
OI_7D_CHANGE_TOLERANCE_PCT_PTS = 5.0
CROSS_SOURCE_MAX_SHARE_OUTSIDE = 0.10


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




def plan_sources(choice: str, has_key: bool, table: str) -> list[str]:
    """Which sources a run fetches for ``table``."""
    if choice not in CHOICES:
        raise ValueError(f"derivatives source must be one of {CHOICES}, got {choice!r}")
    if table == LIQUIDATION_TABLE:
        if choice == "exchanges":
            raise ValueError("no exchange publishes a keyless liquidation history: use CoinGlass")
        return ["coinglass"] if (has_key or choice == "coinglass") else []
    if choice == "coinglass":
        return ["coinglass"]
    if choice == "exchanges":
        return list(EXCHANGE_SOURCES)
    return ["coinglass", *EXCHANGE_SOURCES] if has_key else list(EXCHANGE_SOURCES)


def fetchers_for(table: str, http: HttpClient, key: str | None, live: bool, window: tuple[date, date],
                 exchanges: str) -> dict[str, tuple[str, Any]]:
    start, end = window
    cg = coinglass.CoinGlassClient(http, key)
    bn = binance_futures.BinanceFuturesClient(http, live=live)
    bb = bybit.BybitClient(http)
    if table == OI_TABLE:
        return {
            "coinglass": (coinglass.FUTURES_OI_HISTORY,
                          lambda: coinglass.parse_futures_open_interest(coinglass.futures_open_interest_history(cg, start, end))),
            "binance": (binance_futures.OPEN_INTEREST_HIST,
                        lambda: binance_futures.parse_open_interest(bn.open_interest_history(start, end))),
            "bybit": (bybit.OPEN_INTEREST, lambda: bybit.parse_open_interest(bb.open_interest_history(start, end))),
        }
    if table == FUNDING_TABLE:
        return {
            "coinglass": (coinglass.FUTURES_FUNDING_HISTORY,
                          lambda: coinglass.parse_futures_funding(coinglass.futures_funding_history(cg, start, end))),
            "binance": (binance_futures.FUNDING_RATE, lambda: binance_futures.parse_funding(bn.funding_history(start, end))),
            "bybit": (bybit.FUNDING_HISTORY, lambda: bybit.parse_funding(bb.funding_history(start, end))),
        }
    return {
        "coinglass": (coinglass.FUTURES_LIQUIDATION_HISTORY,
                      lambda: coinglass.parse_futures_liquidations(
                          coinglass.futures_liquidation_history(cg, start, end, exchanges), exchanges)),
    }


def fetch_sources(planned: list[str], fetchers: dict[str, tuple[str, Any]], log) -> tuple[dict[str, pl.DataFrame], list[str]]:
    """Run the planned fetches. In auto mode CoinGlass and the exchange set may each fail alone
    (noted); the exchanges are all-or-none (a sum over a missing venue would be wrong)."""
    frames: dict[str, pl.DataFrame] = {}
    notes: list[str] = []
    errors: list[SourceError] = []
    groups = [[s] for s in planned if s == "coinglass"] + ([[s for s in planned if s != "coinglass"]]
                                                          if any(s != "coinglass" for s in planned) else [])
    for group in groups:
        try:
            got = {name: fetchers[name][1]() for name in group}
        except SourceError as exc:
            errors.append(exc)
            notes.append(str(exc))
            log.warning(f"derivatives: {exc}")
            continue
        frames.update(got)
    if not frames and errors:
        if len(errors) > 1:
            first = errors[-1]
            raise SourceError(first.source, first.endpoint, f"{first.problem} (after: {'; '.join(notes[:-1])})",
                              field=first.field, value=first.value) from first
        raise errors[0]
    return frames, notes


def replace_sources(con, *, table: str, ddl: str, date_column: str, window: tuple[date, date],
                    frame: pl.DataFrame, key_column: str | None = None) -> int:
    """In one transaction: delete the window's rows *of the sources in ``frame``* and insert ``frame``.

    Rows of a source that was not fetched this time (e.g. CoinGlass failed, the exchanges landed)
    stay. A source whose answer lacks a (venue, key) already loaded for the window (key: the record's
    instant, default its day) is refused whole: a partial answer must not replace good data.
    """
    key = key_column or date_column
    start, end = window
    outside = frame.filter((pl.col(date_column) < start) | (pl.col(date_column) >= end))
    if outside.height:
        raise ValueError(f"{outside.height} rows of raw.{table} fall outside the window {start}..{end}")
    con.execute(ddl)
    fetched = sorted(set(frame["source"].to_list()))
    got = set(frame.select("source", "venue", key).iter_rows())
    loaded = con.execute(
        f"select distinct source, venue, {key} from raw.{table} "
        f"where {date_column} >= ? and {date_column} < ? and list_contains(?, source)",
        [start, end, fetched],
    ).fetchall()
    missing = sorted(set(loaded) - got, key=lambda r: (r[0], r[1], r[2]))
    if missing:
        src, venue, _ = missing[0]
        raise SourceError(src, "-", f"the answer lacks {len(missing)} (venue, {key}) already loaded for {start}..{end}; "
                          "keeping the loaded data (partial or truncated answer?)", field=date_column,
                          value=[f"{v} {d}" for _, v, d in missing[:5]])
    from pipelines.provenance import with_is_derived  # TEMP (superseded by the ingest branch)

    frame = with_is_derived(con, table, date_column, frame)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from raw.{table} where {date_column} >= ? and {date_column} < ? and list_contains(?, source)",
                    [start, end, fetched])
        con.register("_incoming", frame.to_arrow())
        cols = ", ".join(frame.columns)
        con.execute(f"insert into raw.{table} ({cols}) select {cols} from _incoming")
        con.unregister("_incoming")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return frame.height


def land_sources(context: AssetExecutionContext, con, http: HttpClient, *, table: str, ddl: str, date_column: str,
                 window: tuple[date, date], planned: list[str], fetchers: dict[str, tuple[str, Any]]
                 ) -> tuple[pl.DataFrame, list[str]]:
    """Like ``land_records`` for several sources: archive every body before parsing, then replace the
    window's rows of the fetched sources in ONE transaction (whole or nothing)."""
    run_id = context.run.run_id
    payload_ids: dict[str, str] = {}

    def archive(source: str, endpoint: str, params: dict[str, Any], response) -> None:
        payload_ids[source] = archive_payload(con, source=source, endpoint=endpoint, body=response.text,
                                              request_params=params, window=window, run_id=run_id)

    http.on_response = archive
    try:
        frames, notes = fetch_sources(planned, fetchers, context.log)
    finally:
        http.on_response = None
    start, end = window
    now = utcnow()
    parts = [
        f.filter((pl.col(date_column) >= start) & (pl.col(date_column) < end)).with_columns(
            source=pl.lit(name), endpoint=pl.lit(fetchers[name][0]), payload_id=pl.lit(payload_ids.get(name, "")),
            window_start=pl.lit(start), window_end=pl.lit(end), ingested_at=pl.lit(now), run_id=pl.lit(run_id),
        )
        for name, f in frames.items()
    ]
    frame = pl.concat(parts)
    if frame.height == 0:
        con.execute(ddl)
        raise SourceError(",".join(sorted(frames)), "-", f"no records for {start}..{end}: nothing landed")
    inserted = replace_sources(con, table=table, ddl=ddl, date_column=date_column, window=window, frame=frame,
                               key_column="funding_time" if table == FUNDING_TABLE else None)
    context.log.info(f"raw.{table}: replaced {start}..{end} with {inserted} rows from {sorted(frames)}")
    return frame, notes


def _materialize(context, config: DerivativesConfig, duckdb: DuckDBResource, sources: SourcesResource,
                 table: str, ddl: str, date_column: str) -> MaterializeResult:
    window = partition_window(context)
    settings = sources.settings()
    planned = plan_sources(config.source, bool(settings.coinglass_api_key), table)
    with sources.http() as http, duckdb.get_connection() as con:
        if not planned:
            con.execute(ddl)
            context.log.warning(f"raw.{table}: no source without COINGLASS_API_KEY; nothing fetched, rows kept")
            return MaterializeResult(metadata={"rows": 0, "sources": MetadataValue.json([]), "mode": settings.mode,
                                               "skipped": "no keyless source: set COINGLASS_API_KEY"})
        fetchers = fetchers_for(table, http, settings.coinglass_api_key, settings.mode == "live", window,
                                config.liquidation_exchanges)
        frame, notes = land_sources(context, con, http, table=table, ddl=ddl, date_column=date_column,
                                    window=window, planned=planned, fetchers=fetchers)
    per = frame.group_by("source", "venue").agg(pl.len().alias("rows"), pl.col(date_column).min().alias("first"),
                                                pl.col(date_column).max().alias("last")).sort("source", "venue")
    return MaterializeResult(
        metadata={
            "rows": frame.height,
            "mode": settings.mode,
            "window": f"{window[0]} .. {window[1]} (exclusive)",
            "sources": MetadataValue.json(sorted(set(frame["source"].to_list()))),
            "fallback_reasons": MetadataValue.json(notes),
            "by_source_and_venue": MetadataValue.md(
                "| source | venue | rows | first | last |\n|---|---|---|---|---|\n"
                + "\n".join(f"| {s} | {v} | {n} | {a} | {b} |" for s, v, n, a, b in per.iter_rows())
            ),
        }
    )


ASSET_KW = dict(partitions_def=daily_partitions, backfill_policy=BackfillPolicy.single_run(), group_name="derivatives",
                kinds={"duckdb", "polars"}, owners=["team:btc-signals"])


@asset(key=["raw", OI_TABLE], **ASSET_KW,
       description="BTC futures open interest per day: CoinGlass all-exchange aggregate (OHLC, USD; venue 'all') "
       "and/or the keyless venues Binance USDⓈ-M and Bybit (close, USD or BTC). Binance keeps only 30 days.")
def raw_futures_open_interest(context: AssetExecutionContext, config: DerivativesConfig, duckdb: DuckDBResource,
                              sources: SourcesResource) -> MaterializeResult:
    return _materialize(context, config, duckdb, sources, OI_TABLE, OI_DDL, "oi_date")


@asset(key=["raw", FUNDING_TABLE], **ASSET_KW,
       description="BTC perpetual funding, % per 8h: CoinGlass OI-weighted daily OHLC (venue 'all') and/or every "
       "8h funding of Binance USDⓈ-M and Bybit BTCUSDT.")
def raw_futures_funding(context: AssetExecutionContext, config: DerivativesConfig, duckdb: DuckDBResource,
                        sources: SourcesResource) -> MaterializeResult:
    return _materialize(context, config, duckdb, sources, FUNDING_TABLE, FUNDING_DDL, "funding_date")


@asset(key=["raw", LIQUIDATION_TABLE], **ASSET_KW,
       description="BTC futures long and short liquidations per day, USD, from CoinGlass (summed over the configured "
       "exchange_list). Needs COINGLASS_API_KEY: without it the asset fetches nothing and keeps the rows it has.")
def raw_futures_liquidations(context: AssetExecutionContext, config: DerivativesConfig, duckdb: DuckDBResource,
                             sources: SourcesResource) -> MaterializeResult:
    return _materialize(context, config, duckdb, sources, LIQUIDATION_TABLE, LIQUIDATION_DDL, "liquidation_date")


# ------------------------------------------------------------------------------------------------
# Quality: blocking GX suites, and the non-blocking cross-source comparison.
# ------------------------------------------------------------------------------------------------
def _latest(table: str, keys: str) -> str:
    return f"select * exclude (payload) from raw.{table} qualify row_number() over (partition by {keys} order by ingested_at desc) = 1"


def _gaps_sql(table: str, date_column: str) -> str:
    """Per (source, venue): days between its first and last day that have no row."""
    return f"""
        with spans as (select source, venue, min({date_column}) as lo, max({date_column}) as hi
                       from raw.{table} group by all),
        spine as (select source, venue, unnest(generate_series(lo, hi, interval 1 day))::date as d from spans)
        select s.source, s.venue, s.d as missing_date
        from spine as s
        anti join raw.{table} as r on r.source = s.source and r.venue = s.venue and r.{date_column} = s.d"""


def _table_exists(con, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = 'raw' and table_name = ?",
                            [table]).fetchall()[0][0])


def _gap_batch(con, table: str, date_column: str):
    import great_expectations.expectations as gxe

    gaps = con.sql(f"select count(*) as missing_days from ({_gaps_sql(table, date_column)})").df()
    return ("gaps", gaps, [gxe.ExpectColumnValuesToBeBetween(column="missing_days", min_value=0, max_value=0)])


@asset_check(asset=raw_futures_open_interest, blocking=True,
             description="GX on raw.futures_open_interest: not empty, one row per (day, source, venue), OI positive "
             "(USD or BTC present), OHLC consistent, known sources, and no missing day per source and venue.")
def raw_futures_open_interest_gx(duckdb: DuckDBResource) -> AssetCheckResult:
    import great_expectations.expectations as gxe

    with duckdb.get_connection() as con:
        rows = con.sql(f"select *, coalesce(oi_close_usd, oi_close_btc) as oi_value from raw.{OI_TABLE}").df()
        gap = _gap_batch(con, OI_TABLE, "oi_date")
    return run_suite("raw_futures_open_interest", [
        ("records", rows, [
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["oi_date", "source", "venue"]),
            gxe.ExpectColumnValuesToNotBeNull(column="oi_value"),
            gxe.ExpectColumnValuesToBeBetween(column="oi_value", min_value=0, strict_min=True),
            gxe.ExpectColumnValuesToBeBetween(column="oi_close_usd", min_value=0, strict_min=True),
            gxe.ExpectColumnValuesToBeBetween(column="oi_low_usd", min_value=0, strict_min=True),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="oi_high_usd", column_B="oi_close_usd", or_equal=True,
                                                        ignore_row_if="either_value_is_missing"),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="oi_close_usd", column_B="oi_low_usd", or_equal=True,
                                                        ignore_row_if="either_value_is_missing"),
            gxe.ExpectColumnValuesToBeInSet(column="source", value_set=["coinglass", *EXCHANGE_SOURCES]),
        ]),
        gap,
    ])


@asset_check(asset=raw_futures_funding, blocking=True,
             description="GX on raw.futures_funding: not empty, one row per (funding instant, source, venue), funding "
             "within ±1 % per 8h (rate, high and low), and no missing day per source and venue.")
def raw_futures_funding_gx(duckdb: DuckDBResource) -> AssetCheckResult:
    import great_expectations.expectations as gxe

    bound = MAX_ABS_FUNDING_PCT_8H
    with duckdb.get_connection() as con:
        rows = con.sql(f"select * exclude (payload) from raw.{FUNDING_TABLE}").df()
        gap = _gap_batch(con, FUNDING_TABLE, "funding_date")
    return run_suite("raw_futures_funding", [
        ("records", rows, [
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["funding_time", "source", "venue"]),
            gxe.ExpectColumnValuesToNotBeNull(column="funding_rate_pct"),
            gxe.ExpectColumnValuesToBeBetween(column="funding_rate_pct", min_value=-bound, max_value=bound),
            gxe.ExpectColumnValuesToBeBetween(column="funding_high_pct", min_value=-bound, max_value=bound),
            gxe.ExpectColumnValuesToBeBetween(column="funding_low_pct", min_value=-bound, max_value=bound),
            gxe.ExpectColumnValuesToBeInSet(column="source", value_set=["coinglass", *EXCHANGE_SOURCES]),
        ]),
        gap,
    ])


@asset_check(asset=raw_futures_liquidations, blocking=True,
             description="GX on raw.futures_liquidations: one row per (day, venue), long and short liquidations "
             "non-negative and below 50bn USD, no missing day. Passes with a note while the table is empty "
             "(liquidations need a CoinGlass key).")
def raw_futures_liquidations_gx(duckdb: DuckDBResource) -> AssetCheckResult:
    import great_expectations.expectations as gxe

    with duckdb.get_connection() as con:
        con.execute(LIQUIDATION_DDL)
        rows = con.sql(f"select * exclude (payload) from raw.{LIQUIDATION_TABLE}").df()
        gap = _gap_batch(con, LIQUIDATION_TABLE, "liquidation_date")
    if rows.empty:
        return AssetCheckResult(passed=True, description="no liquidation rows (no CoinGlass key): nothing to validate",
                                metadata={"rows_validated": 0})
    return run_suite("raw_futures_liquidations", [
        ("records", rows, [
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["liquidation_date", "venue"]),
            gxe.ExpectColumnValuesToNotBeNull(column="long_liquidation_usd"),
            gxe.ExpectColumnValuesToNotBeNull(column="short_liquidation_usd"),
            gxe.ExpectColumnValuesToBeBetween(column="long_liquidation_usd", min_value=0, max_value=5e10),
            gxe.ExpectColumnValuesToBeBetween(column="short_liquidation_usd", min_value=0, max_value=5e10),
        ]),
        gap,
    ])


FALLBACK_FUNDING_SQL = f"""
-- The keyless aggregate: each venue's daily mean funding, weighted by the venue's OI in USD that day
-- (Bybit's BTC OI valued at Binance's USD/BTC ratio); equal weights where a venue's OI is missing.
with funding as ({_latest(FUNDING_TABLE, 'funding_time, source, venue')}),
oi as ({_latest(OI_TABLE, 'oi_date, source, venue')}),
venue_day as (
    select funding_date as d, venue, avg(funding_rate_pct) as funding_pct
    from funding where source in ('binance', 'bybit') group by all
),
px as (select oi_date as d, oi_close_usd / oi_close_btc as usd_per_btc from oi where source = 'binance'),
venue_oi as (
    select o.oi_date as d, o.venue, coalesce(o.oi_close_usd, o.oi_close_btc * px.usd_per_btc) as oi_usd
    from oi as o left join px on px.d = o.oi_date where o.source in ('binance', 'bybit')
),
weighted as (
    select v.d, count(*) as venues,
           case when count(w.oi_usd) = count(*) then sum(v.funding_pct * w.oi_usd) / sum(w.oi_usd)
                else avg(v.funding_pct) end as fallback_pct,
           sum(w.oi_usd) as fallback_oi_usd
    from venue_day as v left join venue_oi as w on w.d = v.d and w.venue = v.venue
    group by v.d
)
select * from weighted where venues = 2
"""


def _cross_source(con, kind: str) -> tuple[pl.DataFrame, float, str]:
    if kind == "funding":
        sql = f"""
            with fb as ({FALLBACK_FUNDING_SQL}),
            cg as (select funding_date as d, funding_rate_pct as coinglass_pct
                   from ({_latest(FUNDING_TABLE, 'funding_time, source, venue')}) where source = 'coinglass')
            select fb.d as day, cg.coinglass_pct as coinglass, fb.fallback_pct as fallback,
                   abs(cg.coinglass_pct - fb.fallback_pct) as abs_diff
            from fb join cg on cg.d = fb.d order by day"""
        return con.sql(sql).pl(), FUNDING_TOLERANCE_PCT_PTS, "pct pts per 8h"
    sql = f"""
        with oi as ({_latest(OI_TABLE, 'oi_date, source, venue')}),
        px as (select oi_date as d, oi_close_usd / oi_close_btc as usd_per_btc from oi where source = 'binance'),
        fb as (select o.oi_date as d, sum(coalesce(o.oi_close_usd, o.oi_close_btc * px.usd_per_btc)) as oi_usd,
                      count(*) as venues
               from oi as o left join px on px.d = o.oi_date where o.source in ('binance', 'bybit') group by all
               having count(*) = 2),
        cg as (select oi_date as d, oi_close_usd as oi_usd from oi where source = 'coinglass'),
        both_ as (select fb.d, cg.oi_usd as cg_usd, fb.oi_usd as fb_usd from fb join cg on cg.d = fb.d),
        changes as (
            select b.d as day, 100 * (b.cg_usd / p.cg_usd - 1) as coinglass, 100 * (b.fb_usd / p.fb_usd - 1) as fallback
            from both_ as b join both_ as p on p.d = b.d - interval 7 day)
        select *, abs(coinglass - fallback) as abs_diff from changes order by day"""
    return con.sql(sql).pl(), OI_7D_CHANGE_TOLERANCE_PCT_PTS, "pct pts of 7-day OI change"


def cross_source_result(con, kind: str) -> AssetCheckResult:
    for t in (OI_TABLE, FUNDING_TABLE):
        if not _table_exists(con, t):
            return AssetCheckResult(passed=True, severity=AssetCheckSeverity.WARN,
                                    description=f"raw.{t} not loaded yet: nothing to compare")
    diffs, tol, unit = _cross_source(con, kind)
    if diffs.height == 0:
        return AssetCheckResult(passed=True, severity=AssetCheckSeverity.WARN,
                                description="no day with both CoinGlass and the full keyless fallback: nothing to compare")
    outside = diffs.filter(pl.col("abs_diff") > tol)
    share = outside.height / diffs.height
    latest = diffs.tail(1).row(0, named=True)
    passed = share <= CROSS_SOURCE_MAX_SHARE_OUTSIDE and latest["abs_diff"] <= tol
    worst = diffs.sort("abs_diff", descending=True).head(5)
    return AssetCheckResult(
        passed=passed,
        severity=AssetCheckSeverity.WARN,
        description=(f"{kind}: {outside.height} of {diffs.height} common days differ by more than {tol} {unit} "
                     f"({share:.0%}; allowed {CROSS_SOURCE_MAX_SHARE_OUTSIDE:.0%}); latest {latest['day']}: "
                     f"CoinGlass {latest['coinglass']:.4f} vs fallback {latest['fallback']:.4f}"),
        metadata={
            "common_days": diffs.height,
            "days_outside_tolerance": outside.height,
            "tolerance": f"{tol} {unit}",
            "worst_days": MetadataValue.md("| day | CoinGlass | fallback | abs diff |\n|---|---|---|---|\n" + "\n".join(
                f"| {d} | {c:.4f} | {f:.4f} | {a:.4f} |" for d, c, f, a in worst.iter_rows())),
        },
    )


@asset_check(asset=raw_futures_funding, blocking=False, additional_deps=[raw_futures_open_interest],
             description="Cross-source (warn only): the keyless fallback's OI-weighted funding vs CoinGlass's, on days "
             f"with both; warns when more than {CROSS_SOURCE_MAX_SHARE_OUTSIDE:.0%} of days, or the latest, differ by "
             f"more than {FUNDING_TOLERANCE_PCT_PTS} pct pts per 8h.")
def raw_futures_funding_cross_source(duckdb: DuckDBResource) -> AssetCheckResult:
    with duckdb.get_connection() as con:
        return cross_source_result(con, "funding")


@asset_check(asset=raw_futures_open_interest, blocking=False,
             description="Cross-source (warn only): 7-day OI change of the keyless fallback (Binance + Bybit) vs "
             f"CoinGlass's all-exchange aggregate; warns when more than {CROSS_SOURCE_MAX_SHARE_OUTSIDE:.0%} of days, "
             f"or the latest, differ by more than {OI_7D_CHANGE_TOLERANCE_PCT_PTS} pct pts.")
def raw_futures_open_interest_cross_source(duckdb: DuckDBResource) -> AssetCheckResult:
    with duckdb.get_connection() as con:
        return cross_source_result(con, "open_interest")
