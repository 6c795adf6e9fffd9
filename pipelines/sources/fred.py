"""FRED (Federal Reserve Bank of St. Louis): daily closes of S&P 500, Nasdaq Composite, Dow Jones and the
US 10-year Treasury yield.

Two ways in, same numbers:

* keyless CSV download ``https://fred.stlouisfed.org/graph/fredgraph.csv?id=SP500&cosd=2024-01-11&coed=2026-02-28``
  answering ``observation_date,SP500`` then one ``YYYY-MM-DD,value`` row per weekday (older files say ``DATE``
  instead of ``observation_date``; both are accepted). ``cosd``/``coed`` bound the observation dates (inclusive);
* keyed JSON API ``https://api.stlouisfed.org/fred/series/observations?series_id=SP500&api_key=…&file_type=json
  &observation_start=…&observation_end=…`` answering ``{"realtime_start", …, "count", "offset", "limit",
  "observations": [{"realtime_start", "realtime_end", "date", "value"}, …]}``; errors come as
  ``{"error_code": 400, "error_message": "…"}``. The key is read from ``FRED_API_KEY`` only and is redacted
  from every log line, error and archived request.

FRED writes ``.`` (or, in some downloads, nothing) for a weekday without an observation (a market holiday):
such rows are not observations and are dropped. Anything else that is not a number raises
:class:`SourceParseError` naming the series, the field and the value.

Series taken from FRED: SP500, NASDAQCOM, DJIA and DGS10. FRED has no PHLX Semiconductor index, no gold or
silver price (the LBMA series were withdrawn) and no ICE dollar index (only the Fed's trade-weighted
indices): those four come from Stooq (:mod:`pipelines.sources.stooq`).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

import polars as pl

from pipelines.landing.tables import MACRO_DAILY_CLOSES
from pipelines.sources.http import HttpClient, SourceHTTPError, SourceParseError, decode_json, declare_rate_limit

SOURCE = "fred"
CSV_HOST = "fred.stlouisfed.org"
CSV_PATH = "/graph/fredgraph.csv"
CSV_URL = f"https://{CSV_HOST}{CSV_PATH}"
API_HOST = "api.stlouisfed.org"
API_PATH = "/fred/series/observations"
API_URL = f"https://{API_HOST}{API_PATH}"
API_PAGE_LIMIT = 100_000  # the API's maximum per request
MISSING = {".", ""}
DATE_HEADERS = {"observation_date", "DATE"}

# our series key -> FRED series id
SERIES: dict[str, str] = {
    "sp500": "SP500",
    "nasdaq_composite": "NASDAQCOM",
    "dow_jones": "DJIA",
    "us10y_yield": "DGS10",
}

# One row per observation. ``payload`` is the source's own record (JSON text).
OBSERVATION_SCHEMA = MACRO_DAILY_CLOSES.schema

# FRED asks for at most 120 requests a minute per key; the CSV host is a web page: be polite on both.
declare_rate_limit(CSV_HOST, 1.0)
declare_rate_limit(API_HOST, 0.6)


def _series_key(series_id: str) -> str:
    for key, sid in SERIES.items():
        if sid == series_id:
            return key
    raise ValueError(f"unknown FRED series {series_id!r}; known: {sorted(SERIES.values())}")


def _number(text: str, *, series_id: str, endpoint: str, day: str) -> float | None:
    cell = text.strip()
    if cell in MISSING:
        return None
    try:
        value = float(cell)
    except ValueError:
        raise SourceParseError(SOURCE, endpoint, f"value for {day} is not a number", field=series_id, value=text) from None
    if value != value:  # NaN
        raise SourceParseError(SOURCE, endpoint, f"value for {day} is not a number", field=series_id, value=text)
    return value


def _day(text: str, *, endpoint: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise SourceParseError(SOURCE, endpoint, "observation date is not YYYY-MM-DD", field=field, value=text) from None


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=OBSERVATION_SCHEMA, orient="row").sort("obs_date")


# --- keyless CSV ------------------------------------------------------------------------------------


def fetch_csv(http: HttpClient, series_id: str, start: date, end: date) -> str:
    """The fredgraph.csv body for ``series_id`` over [start, end] (inclusive)."""
    params = {"id": series_id, "cosd": start.isoformat(), "coed": end.isoformat()}
    response = http.get(SOURCE, CSV_URL, params=params, endpoint=CSV_PATH)
    if response.status_code >= 400:
        raise SourceHTTPError(
            SOURCE, CSV_PATH, f"HTTP {response.status_code} for series {series_id}", status=response.status_code,
            field="id", value=series_id,
        )
    return response.text


def parse_csv(text: str, series_id: str) -> pl.DataFrame:
    """``observation_date,<ID>`` rows → one row per observation; ``.`` rows (holidays) are dropped."""
    key = _series_key(series_id)
    if not text.strip():
        raise SourceParseError(SOURCE, CSV_PATH, f"empty body for series {series_id}", field="body", value=text)
    reader = csv.reader(io.StringIO(text.strip()))
    header = [c.strip() for c in next(reader)]
    if len(header) != 2 or header[0] not in DATE_HEADERS:
        raise SourceParseError(
            SOURCE, CSV_PATH, f"unexpected header for series {series_id}: expected 'observation_date,{series_id}'",
            field="header", value=",".join(header)[:200],
        )
    if header[1] != series_id:
        raise SourceParseError(
            SOURCE, CSV_PATH, f"value column is not the requested series {series_id}", field="header", value=header[1]
        )
    rows: list[dict[str, Any]] = []
    seen: set[date] = set()
    for line_no, rec in enumerate(reader, start=2):
        if not rec:
            continue
        if len(rec) != 2:
            raise SourceParseError(
                SOURCE, CSV_PATH, f"line {line_no} of {series_id} has {len(rec)} cells, expected 2", field="row", value=rec
            )
        day = _day(rec[0], endpoint=CSV_PATH, field=header[0])
        value = _number(rec[1], series_id=series_id, endpoint=CSV_PATH, day=rec[0])
        if day in seen:
            raise SourceParseError(SOURCE, CSV_PATH, f"{series_id} lists a day twice", field=header[0], value=rec[0])
        seen.add(day)
        if value is None:
            continue
        payload = json.dumps({header[0]: rec[0], series_id: rec[1]}, separators=(",", ":"))
        rows.append({"obs_date": day, "series": key, "symbol": series_id, "close_value": value, "payload": payload})
    return _frame(rows)


# --- keyed JSON API ---------------------------------------------------------------------------------


def fetch_observations(http: HttpClient, series_id: str, start: date, end: date, api_key: str) -> list[dict[str, Any]]:
    """All observations of ``series_id`` over [start, end], following ``offset`` pages."""
    if not api_key:
        raise SourceHTTPError(SOURCE, API_PATH, "FRED_API_KEY is not set", field="api_key", value=None)
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        params = {
            "series_id": series_id,
            "api_key": api_key,
            "file_type": "json",
            "observation_start": start.isoformat(),
            "observation_end": end.isoformat(),
            "sort_order": "asc",
            "limit": API_PAGE_LIMIT,
            "offset": offset,
        }
        response = http.get(SOURCE, API_URL, params=params, endpoint=API_PATH)
        body = decode_json(SOURCE, API_PATH, response)
        if response.status_code >= 400 or (isinstance(body, dict) and "error_code" in body):
            message = body.get("error_message", "no message") if isinstance(body, dict) else str(body)[:200]
            raise SourceHTTPError(
                SOURCE, API_PATH, f"HTTP {response.status_code} for series {series_id}: {message}",
                status=response.status_code, field="series_id", value=series_id,
            )
        if not isinstance(body, dict) or not isinstance(body.get("observations"), list):
            raise SourceParseError(
                SOURCE, API_PATH, f"no 'observations' list for series {series_id}", field="observations",
                value=sorted(body) if isinstance(body, dict) else type(body).__name__,
            )
        page = body["observations"]
        out.extend(page)
        count = body.get("count")
        offset += len(page)
        if not page or not isinstance(count, int) or offset >= count:
            return out


def parse_observations(observations: list[dict[str, Any]], series_id: str) -> pl.DataFrame:
    key = _series_key(series_id)
    rows: list[dict[str, Any]] = []
    seen: set[date] = set()
    for obs in observations:
        if not isinstance(obs, dict):
            raise SourceParseError(SOURCE, API_PATH, f"observation of {series_id} is not an object", field="observations", value=obs)
        for field in ("date", "value"):
            if field not in obs:
                raise SourceParseError(
                    SOURCE, API_PATH, f"observation of {series_id} has no {field!r}", field=field, value=sorted(obs)
                )
        day = _day(str(obs["date"]), endpoint=API_PATH, field="date")
        value = _number(str(obs["value"]), series_id=series_id, endpoint=API_PATH, day=str(obs["date"]))
        if day in seen:
            raise SourceParseError(SOURCE, API_PATH, f"{series_id} lists a day twice", field="date", value=obs["date"])
        seen.add(day)
        if value is None:
            continue
        payload = json.dumps(obs, separators=(",", ":"), sort_keys=True)
        rows.append({"obs_date": day, "series": key, "symbol": series_id, "close_value": value, "payload": payload})
    return _frame(rows)
