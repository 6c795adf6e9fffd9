"""Binance spot market data (keyless): BTC daily candles, the price every indicator is read against.

``GET /api/v3/klines?symbol=BTCUSDT&interval=1d&startTime=<ms>&endTime=<ms>&limit=<≤1000>`` answers
an array of candles, each an array::

    [1738713600000, "98654.11", "99144.00", "96150.21", "96593.30", "19734.21",  # open time, O, H, L, C, base volume
     1738799999999, "1925012345.67", 3745123, "9678.12", "944123456.78", "0"]     # close time, quote volume, trades, taker buy base/quote, ignore

Prices are strings; times are milliseconds UTC. Errors come as ``{"code": -1121, "msg": "Invalid symbol."}``
with HTTP 400. ``api.binance.com`` refuses some locations with HTTP 451; the market-data-only host
``data-api.binance.vision`` serves the same endpoint and is tried next.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from pipelines.landing.tables import BTC_PRICE
from pipelines.sources.fields import DAY_MS
from pipelines.sources.http import HttpClient, SourceHTTPError, SourceParseError, declare_rate_limit, decode_json

SOURCE = "binance"
HOSTS = ("api.binance.com", "data-api.binance.vision")
KLINES = "/api/v3/klines"
SYMBOL = "BTCUSDT"
MAX_LIMIT = 1000
for _host in HOSTS:
    declare_rate_limit(_host, 0.25)  # klines weigh 2 of the 6,000 weight a minute; stay far below

KLINE_SCHEMA = BTC_PRICE.schema


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def fetch_daily_klines(http: HttpClient, start: date, end: date, symbol: str = SYMBOL,
                       source: str = SOURCE) -> list[list[Any]]:
    """Daily candles opening in [start, end), following Binance's 1000-candle pages. ``source``: the name the
    answers are filed and errors reported under (``SourcesResource.source_name``: replay serves another series)."""
    out: list[list[Any]] = []
    cursor, stop = _ms(start), _ms(end) - 1
    host = HOSTS[0]
    while cursor <= stop:
        params = {"symbol": symbol, "interval": "1d", "startTime": cursor, "endTime": stop, "limit": MAX_LIMIT}
        response = http.get(source, f"https://{host}{KLINES}", params=params, endpoint=KLINES)
        if response.status_code in (403, 451) and host == HOSTS[0]:
            host = HOSTS[1]  # location refused: the market-data host serves the same data
            continue
        if response.status_code >= 400:
            body = response.text[:200]
            raise SourceHTTPError(source, KLINES, f"HTTP {response.status_code}: {body}", status=response.status_code)
        page = decode_json(source, KLINES, response)
        if not isinstance(page, list):
            raise SourceParseError(source, KLINES, "expected a JSON array of candles", field="body", value=page)
        if not page:
            break
        out.extend(page)
        last_open = page[-1][0] if isinstance(page[-1], list) and page[-1] else None
        if not isinstance(last_open, int):
            raise SourceParseError(source, KLINES, "candle open time is not an integer", field="openTime", value=last_open)
        if len(page) < MAX_LIMIT:
            break
        cursor = last_open + DAY_MS
    return out


def parse_klines(candles: list[Any]) -> pl.DataFrame:
    rows = []
    for i, c in enumerate(candles):
        if not isinstance(c, list) or len(c) < 6:
            raise SourceParseError(SOURCE, KLINES, f"candle {i} is not an array of at least 6 fields", field="candle", value=c)
        if not isinstance(c[0], int):
            raise SourceParseError(SOURCE, KLINES, f"candle {i}: open time is not an integer", field="openTime", value=c[0])
        day = datetime.fromtimestamp(c[0] / 1000, tz=UTC).date()
        values = {}
        for name, idx in (("open_usd", 1), ("high_usd", 2), ("low_usd", 3), ("close_usd", 4), ("volume_btc", 5)):
            try:
                values[name] = float(c[idx])
            except (TypeError, ValueError):
                raise SourceParseError(SOURCE, KLINES, f"candle for {day}: not a number", field=name, value=c[idx]) from None
        rows.append({"price_date": day, **values, "payload": json.dumps(c, separators=(",", ":"))})
    df = pl.DataFrame(rows, schema=KLINE_SCHEMA, orient="row") if rows else pl.DataFrame(schema=KLINE_SCHEMA)
    dupes = df.filter(pl.col("price_date").is_duplicated())
    if dupes.height:
        raise SourceParseError(SOURCE, KLINES, "duplicate candle", field="openTime", value=str(dupes["price_date"][0]))
    return df.sort("price_date")
