"""Macro daily closes: FRED (SP500, NASDAQCOM, DJIA, DGS10 — the keyed JSON API when FRED_API_KEY is set, else or
when it fails the keyless CSV download) and Stooq (^sox, xauusd, xagusd, dx.f). One request per series over the
partition window; all eight series land in one transaction, or none.
"""

from collections.abc import Iterator
from datetime import date, timedelta

import polars as pl
from dagster import Config, MetadataValue
from pydantic import Field

from pipelines.calendar import trading_days
from pipelines.ingest import fallback
from pipelines.ingest.factory import Fetch, RawAsset, build
from pipelines.landing.load import Landed, Part
from pipelines.landing.tables import MACRO_DAILY_CLOSES
from pipelines.sources import fred, stooq

SERIES = [*fred.SERIES, *stooq.SERIES]
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


def _fred_series(f: Fetch, series_id: str) -> Part:
    start, end = f.window[0], f.last_inclusive
    key = f.settings.fred_api_key or ""

    def api() -> Part:
        obs = fred.fetch_observations(f.http, series_id, start, end, key)
        return Part(fred.SOURCE, fred.API_PATH, fred.parse_observations(obs, series_id))

    def csv() -> Part:
        return Part(fred.SOURCE, fred.CSV_PATH, fred.parse_csv(fred.fetch_csv(f.http, series_id, start, end), series_id))

    chain = fallback.plan(f.config.fred_mode, bool(key), ["api"], ["csv"], "fred_mode")
    _, part, notes = fallback.first_that_works([(n, {"api": api, "csv": csv}[n]) for n in chain], f.log,
                                               f"FRED {series_id}")
    f.notes.extend(notes)
    return part


def fetch(f: Fetch) -> Iterator[Part]:
    for series_id in fred.SERIES.values():
        yield _fred_series(f, series_id)
    for symbol in stooq.SERIES.values():
        yield Part(stooq.SOURCE, stooq.PATH, stooq.fetch_daily(f.http, symbol, f.window[0], f.last_inclusive))


def expectations() -> list:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToNotBeNull(column="close_value"),
        gxe.ExpectColumnValuesToNotBeNull(column="payload"),
        gxe.ExpectColumnValuesToBeBetween(column="close_value", min_value=0, strict_min=True),
        gxe.ExpectColumnValuesToBeInSet(column="series", value_set=SERIES),
        gxe.ExpectColumnValuesToBeInSet(column="source", value_set=["fred", "stooq"]),
    ]


def coverage(con) -> list:
    """Every US trading day between a series' first and last day is present (calendar aware)."""
    import pandas as pd  # as GX: only the check needs it
    import great_expectations.expectations as gxe

    rows = con.sql(f"select obs_date, series from raw.{MACRO_DAILY_CLOSES.name}").df()
    rows["obs_date"] = pd.to_datetime(rows["obs_date"]).dt.date
    present = {f"{s}:{d}" for s, d in zip(rows["series"], rows["obs_date"], strict=True)}
    expected: list[str] = []
    for series, days in rows.groupby("series")["obs_date"]:
        expected.extend(f"{series}:{d}" for d in expected_days(str(series), min(days), max(days)))
    # one row per expected (series, trading day), naming it where it has no row: the unexpected values are the
    # missing days (an expectation holding the ≈ 8,600 present days as its value set cost GX ≈ 1 s a check)
    frame = pd.DataFrame({"missing_series_day": [None if d in present else d for d in expected]}, dtype="object")
    return [("trading_days", frame, [gxe.ExpectColumnValuesToBeNull(column="missing_series_day")])]


def metadata(landed: Landed, f: Fetch) -> dict:
    per_series = landed.frame.group_by("series", "source", "symbol").agg(
        rows=pl.len(), first=pl.col("obs_date").min(), last=pl.col("obs_date").max()
    ).sort("series")
    return {
        "series": MetadataValue.md(
            "| series | source | symbol | rows | first | last |\n|---|---|---|---|---|---|\n"
            + "\n".join(f"| {s} | {src} | {sym} | {n} | {a} | {b} |" for s, src, sym, n, a, b in per_series.iter_rows())
        ),
    }


RAW_ASSETS = [
    RawAsset(
        MACRO_DAILY_CLOSES, fetch, config=MacroConfig, expectations=expectations, extra_batches=coverage,
        metadata=metadata,
        records_sql="select obs_date, series, symbol, close_value, source, payload, is_derived from raw.{table}",
        check_description="Great Expectations on raw.macro_daily_closes: not empty, closes positive, one row per "
        "(day, series), only the eight known series, and every US trading day between a series' first and last day "
        "present (weekends and NYSE holidays are not gaps; the 10y yield also skips the bond market's Columbus and "
        "Veterans Day).",
    )
]
raw_macro_daily_closes, raw_macro_daily_closes_gx = build(RAW_ASSETS[0])
