"""Stooq daily CSV: PHLX Semiconductor index, gold and silver spot and the US dollar index.

Request: ``https://stooq.com/q/d/l/?s=^sox&d1=20240111&d2=20260228&i=d`` (``d1``/``d2`` inclusive, YYYYMMDD;
``i=d`` daily). Answer: ``Date,Open,High,Low,Close,Volume`` then one ``YYYY-MM-DD,…`` row per trading day
(some instruments have no ``Volume`` column). Quirks handled:

* an unknown symbol, or a window without a single bar, is answered ``200 OK`` with the text body ``No data``;
  :func:`fetch_daily` turns that into a :class:`SourceParseError` naming the symbol when the window holds a US
  trading day, and into an empty frame otherwise (a weekend-only window really has no bars);
* Stooq answers other text with 200 too (``Exceeded the daily hits limit``; since 2025 also ``Get your apikey``
  pages for some clients): any body that is not the CSV header raises a clear error quoting the body;
* a renamed or reordered header, a row with the wrong cell count or a non-numeric close raise
  :class:`SourceParseError` naming the symbol, the field and the value.

Symbols: ``^sox`` (PHLX Semiconductor), ``xauusd`` / ``xagusd`` (gold and silver **spot**, US$ per troy
ounce; currency quotes come without a ``Volume`` column), ``dx.f`` (ICE US dollar index). FRED has none of these (see :mod:`pipelines.sources.fred`).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from typing import Any

import polars as pl

from pipelines.calendar import trading_days
from pipelines.landing.tables import MACRO_DAILY_CLOSES
from pipelines.sources.http import HttpClient, SourceHTTPError, SourceParseError, declare_rate_limit

SOURCE = "stooq"
HOST = "stooq.com"
PATH = "/q/d/l/"
URL = f"https://{HOST}{PATH}"
NO_DATA = "No data"
HEADER = ["Date", "Open", "High", "Low", "Close", "Volume"]

# our series key -> Stooq symbol
SERIES: dict[str, str] = {
    "sox": "^sox",
    "gold": "xauusd",  # spot XAU/USD (was gc.f, COMEX front-month futures)
    "silver": "xagusd",  # spot XAG/USD (was si.f)
    "dollar_index": "dx.f",
}
# Stooq limits daily downloads per client: space the requests out.
declare_rate_limit(HOST, 2.0)


def _series_key(symbol: str) -> str:
    for key, sym in SERIES.items():
        if sym == symbol:
            return key
    raise ValueError(f"unknown Stooq symbol {symbol!r}; known: {sorted(SERIES.values())}")


def fetch_csv(http: HttpClient, symbol: str, start: date, end: date) -> str:
    """The daily CSV body for ``symbol`` over [start, end] (inclusive)."""
    params = {"s": symbol, "d1": start.strftime("%Y%m%d"), "d2": end.strftime("%Y%m%d"), "i": "d"}
    response = http.get(SOURCE, URL, params=params, endpoint=PATH)
    if response.status_code >= 400:
        raise SourceHTTPError(
            SOURCE, PATH, f"HTTP {response.status_code} for symbol {symbol}", status=response.status_code,
            field="s", value=symbol,
        )
    return response.text


def parse_csv(text: str, symbol: str) -> pl.DataFrame:
    """Stooq daily CSV → one row per bar (close only; the whole row is kept as payload).

    ``No data`` gives an empty frame (the caller decides whether that is plausible)."""
    key = _series_key(symbol)
    body = text.strip()
    if body == NO_DATA:
        return pl.DataFrame([], schema=MACRO_DAILY_CLOSES.schema, orient="row")
    if not body:
        raise SourceParseError(SOURCE, PATH, f"empty body for symbol {symbol}", field="body", value=text)
    reader = csv.reader(io.StringIO(body))
    header = [c.strip() for c in next(reader)]
    if header[:5] != HEADER[:5] or header[5:] not in ([], ["Volume"]):
        problem = (
            f"not a CSV for symbol {symbol}" if len(header) < 2
            else f"unexpected header for symbol {symbol}: expected {','.join(HEADER)}"
        )
        raise SourceParseError(SOURCE, PATH, problem, field="header", value=",".join(header)[:200])
    rows: list[dict[str, Any]] = []
    seen: set[date] = set()
    for line_no, rec in enumerate(reader, start=2):
        if not rec:
            continue
        if len(rec) != len(header):
            raise SourceParseError(
                SOURCE, PATH, f"line {line_no} of {symbol} has {len(rec)} cells, header has {len(header)}",
                field="row", value=rec,
            )
        try:
            day = datetime.strptime(rec[0].strip(), "%Y-%m-%d").date()
        except ValueError:
            raise SourceParseError(SOURCE, PATH, f"date of {symbol} is not YYYY-MM-DD", field="Date", value=rec[0]) from None
        try:
            close = float(rec[4])
        except ValueError:
            raise SourceParseError(SOURCE, PATH, f"close of {symbol} on {day} is not a number", field="Close", value=rec[4]) from None
        if day in seen:
            raise SourceParseError(SOURCE, PATH, f"{symbol} lists a day twice", field="Date", value=rec[0])
        seen.add(day)
        payload = json.dumps(dict(zip(header, rec, strict=True)), separators=(",", ":"))
        rows.append({"obs_date": day, "series": key, "symbol": symbol, "close_value": close, "payload": payload})
    return pl.DataFrame(rows, schema=MACRO_DAILY_CLOSES.schema, orient="row").sort("obs_date")


def fetch_daily(http: HttpClient, symbol: str, start: date, end: date) -> pl.DataFrame:
    """Fetch and parse; ``No data`` over a window that holds a US trading day is an error naming the symbol."""
    text = fetch_csv(http, symbol, start, end)
    frame = parse_csv(text, symbol)
    if text.strip() == NO_DATA and trading_days(start, end):
        raise SourceParseError(
            SOURCE, PATH, f"'No data' for symbol {symbol} over {start}..{end}, which holds US trading days "
            "(unknown symbol?)", field="s", value=symbol,
        )
    return frame
