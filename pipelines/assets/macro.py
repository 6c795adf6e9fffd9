"""Macro daily closes (S&P 500, Nasdaq Composite, Dow Jones, SOX, gold, silver, US dollar index, US 10y yield):
raw landing asset and its blocking quality check.

FRED serves SP500, NASDAQCOM, DJIA and DGS10 (the keyed JSON API when FRED_API_KEY is set, else — or when the
API fails — the keyless CSV download); Stooq serves ^sox, gc.f, si.f and dx.f. One request per series covers
the whole partition window. Every response body is archived in raw.landing_payloads before parsing, then the
window's rows of raw.macro_daily_closes are replaced in one transaction: all eight series load, or none.
"""


from datetime import date, timedelta
from typing import Any

import httpx
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

from pipelines.assets.common import RAW_RECORD_COLUMNS, partition_window
from pipelines.calendar import trading_days
from pipelines.landing import archive_payload, replace_window, utcnow
from pipelines.partitions import daily_partitions
from pipelines.quality import run_suite
from pipelines.resources import SourcesResource
from pipelines.settings import Settings
from pipelines.sources import fred, stooq
from pipelines.sources.http import HttpClient, SourceError

TABLE = "macro_daily_closes"
DDL = f"""
create schema if not exists raw;
create table if not exists raw.{TABLE} (
    obs_date      date not null,       -- trading day of the close (US market or the instrument's exchange)
    series        varchar not null,    -- sp500 | nasdaq_composite | dow_jones | sox | gold | silver | dollar_index | us10y_yield
    symbol        varchar not null,    -- the source's own identifier (FRED series id, Stooq symbol)
    close_value   double not null,     -- index points, USD per troy ounce (gold, silver), percent (us10y_yield)
    {RAW_RECORD_COLUMNS}
)
"""
SERIES = [*fred.SERIES, *stooq.SERIES]
FRED_MODES = ("auto", "api", "csv")
# The US Treasury market (hence DGS10) also closes on these two bank holidays, when NYSE trades.
BOND_ONLY_SERIES = {"us10y_yield"}


class MacroConfig(Config):
    fred_mode: str = Field(
        default="auto",
        description="auto: FRED's JSON API when FRED_API_KEY is set (falling back to the keyless CSV download), "
        "else the CSV download; or force 'api' / 'csv'.",
    )


def bond_market_extra_holidays(start: date, end: date) -> set[date]:
    """Columbus Day (second Monday of October) and Veterans Day (11 Nov, Monday when on a Sunday)."""
    out: set[date] = set()
    for year in range(start.year, end.year + 1):
        first = date(year, 10, 1)
        out.add(first + timedelta(days=(0 - first.weekday()) % 7 + 7))
        vet = date(year, 11, 11)
        if vet.weekday() == 6:
            vet += timedelta(days=1)
        if vet.weekday() < 5:
            out.add(vet)
    return {d for d in out if start <= d <= end}


def expected_days(series: str, start: date, end: date) -> list[date]:
    days = trading_days(start, end)
    if series in BOND_ONLY_SERIES:
        extra = bond_market_extra_holidays(start, end)
        days = [d for d in days if d not in extra]
    return days


def fetch_fred_series(http: HttpClient, settings: Settings, mode: str, series_id: str, start: date, end: date, log) -> tuple[pl.DataFrame, str, list[str]]:
    """(frame, endpoint, notes) for one FRED series, API first when a key is set."""
    if mode not in FRED_MODES:
        raise ValueError(f"fred_mode must be one of {FRED_MODES}, got {mode!r}")
    use_api = mode == "api" or (mode == "auto" and bool(settings.fred_api_key))
    notes: list[str] = []
    if use_api:
        try:
            obs = fred.fetch_observations(http, series_id, start, end, settings.fred_api_key or "")
            return fred.parse_observations(obs, series_id), fred.API_PATH, notes
        except SourceError as exc:
            if mode == "api":
                raise
            notes.append(str(exc))
            log.warning(f"FRED API for {series_id}: {exc}; falling back to the CSV download")
    text = fred.fetch_csv(http, series_id, start, end)
    return fred.parse_csv(text, series_id), fred.CSV_PATH, notes


def fetch_macro(
    http: HttpClient, settings: Settings, mode: str, start: date, end: date, log, archived: dict[str, str] | None = None
) -> tuple[pl.DataFrame, list[str]]:
    """Every series over [start, end] (inclusive), each row tagged with its source, endpoint and payload id
    (``archived["last"]``: the id the archiving ``http.on_response`` hook gave the series' last response)."""
    archived = archived if archived is not None else {}
    frames: list[pl.DataFrame] = []
    notes: list[str] = []
    for series_id in fred.SERIES.values():
        frame, endpoint, n = fetch_fred_series(http, settings, mode, series_id, start, end, log)
        notes.extend(n)
        frames.append(frame.with_columns(source=pl.lit("fred"), endpoint=pl.lit(endpoint),
                                         payload_id=pl.lit(archived.get("last", ""))))
    for symbol in stooq.SERIES.values():
        frame = stooq.fetch_daily(http, symbol, start, end)
        frames.append(frame.with_columns(source=pl.lit("stooq"), endpoint=pl.lit(stooq.PATH),
                                         payload_id=pl.lit(archived.get("last", ""))))
    return pl.concat(frames, how="vertical"), notes


def refuse_shrinking(con, frame: pl.DataFrame, window: tuple[date, date]) -> None:
    """Per series: a response that lacks days already loaded for the window is partial (truncated, not yet
    published, an outage); replacing would lose good closes, so the whole load is refused."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'raw' and table_name = ?", [TABLE]
    ).fetchone()[0]
    if not exists:
        return
    loaded = con.execute(
        f"select distinct series, obs_date from raw.{TABLE} where obs_date >= ? and obs_date < ?", list(window)
    ).fetchall()
    fetched = set(zip(frame["series"].to_list(), frame["obs_date"].to_list(), strict=True))
    missing = sorted(set(loaded) - fetched)
    if missing:
        series = missing[0][0]
        source, endpoint = ("fred", fred.CSV_PATH) if series in fred.SERIES else ("stooq", stooq.PATH)
        raise SourceError(
            source,
            endpoint,
            f"the response lacks {len(missing)} close(s) already loaded for {window[0]}..{window[1]}; "
            "keeping the loaded data (partial or truncated answer?)",
            field="series:obs_date",
            value=[f"{s}:{d}" for s, d in missing[:5]],
        )


@asset(
    key=["raw", TABLE],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="macro",
    kinds={"duckdb", "polars"},
    owners=["team:btc-signals"],
    description="Daily closes of S&P 500, Nasdaq Composite, Dow Jones, US 10y yield (FRED) and SOX, gold, silver, "
    "US dollar index (Stooq). One request per series over the partition window; the window's rows are replaced "
    "in one transaction.",
)
def raw_macro_daily_closes(
    context: AssetExecutionContext, config: MacroConfig, duckdb: DuckDBResource, sources: SourcesResource
) -> MaterializeResult:
    start, end = partition_window(context)
    settings = sources.settings()
    run_id = context.run.run_id
    with sources.http() as http, duckdb.get_connection() as con:

        archived: dict[str, str] = {}

        def archive(source: str, endpoint: str, params: dict[str, Any], response: httpx.Response) -> None:
            archived["last"] = archive_payload(
                con, source=source, endpoint=endpoint, body=response.text, request_params=params,
                window=(start, end), run_id=run_id,
            )

        http.on_response = archive
        try:
            frame, notes = fetch_macro(
                http, settings, config.fred_mode, start, end - timedelta(days=1), context.log, archived
            )
        finally:
            http.on_response = None
        frame = frame.filter((pl.col("obs_date") >= start) & (pl.col("obs_date") < end)).with_columns(
            window_start=pl.lit(start),
            window_end=pl.lit(end),
            ingested_at=pl.lit(utcnow()),
            run_id=pl.lit(run_id),
        )
        refuse_shrinking(con, frame, (start, end))
        inserted = replace_window(con, table=TABLE, date_column="obs_date", frame=frame, window=(start, end), ddl=DDL)
    context.log.info(f"raw.{TABLE}: replaced {start}..{end} with {inserted} rows")
    per_series = frame.group_by("series", "source", "symbol").agg(
        rows=pl.len(), first=pl.col("obs_date").min(), last=pl.col("obs_date").max()
    ).sort("series")
    return MaterializeResult(
        metadata={
            "mode": settings.mode,
            "window": f"{start} .. {end} (exclusive)",
            "rows": frame.height,
            "fallback_reasons": MetadataValue.json(notes),
            "series": MetadataValue.md(
                "| series | source | symbol | rows | first | last |\n|---|---|---|---|---|---|\n"
                + "\n".join(f"| {s} | {src} | {sym} | {n} | {a} | {b} |" for s, src, sym, n, a, b in per_series.iter_rows())
            ),
        }
    )


@asset_check(
    asset=raw_macro_daily_closes,
    blocking=True,
    description="Great Expectations on raw.macro_daily_closes: not empty, closes positive, one row per (day, series), "
    "only the eight known series, and every US trading day between a series' first and last day present "
    "(weekends and NYSE holidays are not gaps; the 10y yield also skips the bond market's Columbus and Veterans Day).",
)
def raw_macro_daily_closes_gx(duckdb: DuckDBResource) -> AssetCheckResult:
    import great_expectations.expectations as gxe
    import pandas as pd

    with duckdb.get_connection() as con:
        rows = con.sql(f"select obs_date, series, symbol, close_value, source, payload from raw.{TABLE}").df()
    rows["obs_date"] = pd.to_datetime(rows["obs_date"]).dt.date
    present = {f"{s}:{d}" for s, d in zip(rows["series"], rows["obs_date"], strict=True)}
    expected: list[str] = []
    for series, days in rows.groupby("series")["obs_date"]:
        expected.extend(f"{series}:{d}" for d in expected_days(str(series), min(days), max(days)))
    coverage = pd.DataFrame({"series_day": expected}, dtype="object")
    return run_suite(
        "raw_macro_daily_closes",
        [
            (
                "records",
                rows,
                [
                    gxe.ExpectTableRowCountToBeBetween(min_value=1),
                    gxe.ExpectColumnValuesToNotBeNull(column="obs_date"),
                    gxe.ExpectColumnValuesToNotBeNull(column="series"),
                    gxe.ExpectColumnValuesToNotBeNull(column="close_value"),
                    gxe.ExpectColumnValuesToNotBeNull(column="payload"),
                    gxe.ExpectCompoundColumnsToBeUnique(column_list=["obs_date", "series"]),
                    gxe.ExpectColumnValuesToBeBetween(column="close_value", min_value=0, strict_min=True),
                    gxe.ExpectColumnValuesToBeInSet(column="series", value_set=SERIES),
                    gxe.ExpectColumnValuesToBeInSet(column="source", value_set=["fred", "stooq"]),
                ],
            ),
            (
                "trading_days",
                coverage,
                [gxe.ExpectColumnValuesToBeInSet(column="series_day", value_set=sorted(present))],
            ),
        ],
    )
