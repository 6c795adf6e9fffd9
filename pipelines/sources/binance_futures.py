"""Binance USDⓈ-M futures public market data (keyless): the fallback for CoinGlass's funding and OI.

Host ``https://fapi.binance.com``, no API key. Errors come as HTTP 4xx with ``{"code": -1121,
"msg": "Invalid symbol."}``; 429 (and 418, an IP ban after ignoring 429s) mean slow down.

* ``GET /fapi/v1/fundingRate?symbol=BTCUSDT&startTime=&endTime=&limit=`` (limit ≤ 1000, default 100):
  ``[{"symbol": "BTCUSDT", "fundingTime": 1770307200000, "fundingRate": "0.00009173",
  "markPrice": "63105.1"}]`` oldest first from ``startTime``. ``fundingRate`` is a fraction per 8h
  (0.0001 = 0.01 %); ``fundingTime`` is ms UTC (00:00, 08:00, 16:00, a few ms late).
  Pagination: next ``startTime`` = last ``fundingTime`` + 1.
* ``GET /futures/data/openInterestHist?symbol=BTCUSDT&period=1d&limit=&startTime=&endTime=``
  (limit ≤ 500, default 30): ``[{"symbol": "BTCUSDT", "sumOpenInterest": "80199.657",
  "sumOpenInterestValue": "5452680747.03", "timestamp": 1771632000000}]``. A row is a *snapshot* at
  ``timestamp``: the 1d row stamped D 00:00 is the open interest at the close of day D−1, and is
  stored under that day. **Binance serves only the last 30 days here**: older start times are
  clamped (live), so the keyless OI history grows one day per scheduled run from the day you start.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from pipelines.landing.tables import FUTURES_FUNDING, FUTURES_OPEN_INTEREST
from pipelines.sources.fields import DAY_MS, date_to_ms, error_detail, exchange_funding_row, number
from pipelines.sources.http import HttpClient, SourceHTTPError, SourceParseError, declare_rate_limit, decode_json

SOURCE = "binance"
HOST = "fapi.binance.com"
BASE_URL = f"https://{HOST}"
FUNDING_RATE = "/fapi/v1/fundingRate"
OPEN_INTEREST_HIST = "/futures/data/openInterestHist"
SYMBOL = "BTCUSDT"
VENUE = "binance"
FUNDING_MAX_LIMIT = 1000
OI_MAX_LIMIT = 500
OI_RETENTION_DAYS = 30
# Request weight limits are generous (2400/min); the openInterestHist family allows ~1000 per 5 min.
declare_rate_limit(HOST, 0.5)


class BinanceFuturesClient:
    def __init__(self, http: HttpClient, live: bool = True) -> None:
        self.http = http
        self.live = live

    def _get(self, path: str, params: dict[str, Any]) -> list[Any]:
        response = self.http.get(SOURCE, BASE_URL + path, params=params, endpoint=path)
        if response.status_code >= 400:
            detail = error_detail(response, "code", "msg")
            hint = " (IP banned for ignoring rate limits)" if response.status_code == 418 else ""
            raise SourceHTTPError(SOURCE, path, f"HTTP {response.status_code}{detail}{hint}", status=response.status_code)
        body = decode_json(SOURCE, path, response)
        if isinstance(body, dict) and "code" in body:
            raise SourceHTTPError(SOURCE, path, f"API error code {body.get('code')}: {body.get('msg')}")
        if not isinstance(body, list):
            raise SourceParseError(SOURCE, path, "expected a JSON array", field="body", value=type(body).__name__)
        return body

    def _paginate(self, path: str, params: dict[str, Any], start_ms: int, end_ms: int, limit: int,
                  time_key: str) -> list[Any]:
        rows: list[Any] = []
        cursor = start_ms
        while cursor <= end_ms:
            page = self._get(path, {**params, "startTime": cursor, "endTime": end_ms, "limit": limit})
            rows.extend(page)
            if len(page) < limit:
                break
            last = page[-1].get(time_key) if isinstance(page[-1], dict) else None
            if not isinstance(last, int) or last < cursor:
                raise SourceParseError(SOURCE, path, "pagination: last row has no usable time", field=time_key, value=last)
            cursor = last + 1
        return rows

    def funding_history(self, start: date, end: date) -> list[Any]:
        """Every 8h funding of BTCUSDT with fundingTime in days [start, end)."""
        return self._paginate(FUNDING_RATE, {"symbol": SYMBOL}, date_to_ms(start), date_to_ms(end) - 1,
                              FUNDING_MAX_LIMIT, "fundingTime")

    def open_interest_history(self, start: date, end: date) -> list[Any]:
        """Daily OI snapshots closing days [start, end) (stamped start+1 .. end at 00:00 UTC)."""
        lo, hi = date_to_ms(start) + DAY_MS, date_to_ms(end)
        if self.live:
            oldest = date_to_ms(datetime.now(tz=UTC).date() - timedelta(days=OI_RETENTION_DAYS - 1))
            lo = max(lo, oldest)
            if lo > hi:
                return []
        return self._paginate(OPEN_INTEREST_HIST, {"symbol": SYMBOL, "period": "1d"}, lo, hi, OI_MAX_LIMIT, "timestamp")


def _ms(endpoint: str, value: Any, field: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SourceParseError(SOURCE, endpoint, "timestamp is not an integer (ms)", field=field, value=value)
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise SourceParseError(SOURCE, endpoint, "timestamp out of range", field=field, value=value) from None


def _decimal(endpoint: str, rec: dict[str, Any], key: str, where: str) -> float:
    return number(SOURCE, endpoint, rec, key, where)  # type: ignore[return-value]


def _objects(endpoint: str, records: Any) -> list[dict[str, Any]]:
    if not isinstance(records, list):
        raise SourceParseError(SOURCE, endpoint, "expected a list", field="body", value=type(records).__name__)
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise SourceParseError(SOURCE, endpoint, f"record {i} is not an object", field="[]", value=rec)
        if rec.get("symbol") != SYMBOL:
            raise SourceParseError(SOURCE, endpoint, f"record {i}: unexpected symbol", field="symbol", value=rec.get("symbol"))
    return records


def parse_funding(records: list[Any]) -> pl.DataFrame:
    """One row per 8h funding; ``funding_rate_pct`` in % per 8h (the API's fraction × 100)."""
    ep = FUNDING_RATE
    rows = []
    for rec in _objects(ep, records):
        at = _ms(ep, rec.get("fundingTime"), "fundingTime")
        pct = _decimal(ep, rec, "fundingRate", f"funding at {at:%Y-%m-%d %H:%M}") * 100
        rows.append(exchange_funding_row(at, VENUE, SYMBOL, pct, rec))
    df = (pl.DataFrame(rows, schema=FUTURES_FUNDING.schema, orient="row") if rows
          else pl.DataFrame(schema=FUTURES_FUNDING.schema))
    dupes = df.filter(pl.col("funding_time").is_duplicated())
    if dupes.height:
        raise SourceParseError(SOURCE, ep, "duplicate fundingTime", field="fundingTime", value=str(dupes["funding_time"][0]))
    return df


def parse_open_interest(records: list[Any]) -> pl.DataFrame:
    """One row per day: OI at the day's close in BTC and USD (snapshot stamped the next 00:00 UTC)."""
    ep = OPEN_INTEREST_HIST
    rows = []
    for rec in _objects(ep, records):
        at = _ms(ep, rec.get("timestamp"), "timestamp")
        where = f"snapshot at {at:%Y-%m-%d %H:%M}"
        btc = _decimal(ep, rec, "sumOpenInterest", where)
        usd = _decimal(ep, rec, "sumOpenInterestValue", where)
        rows.append({"oi_date": (at - timedelta(milliseconds=1)).date(), "venue": VENUE, "symbol": SYMBOL,
                     "oi_open_usd": None, "oi_high_usd": None, "oi_low_usd": None, "oi_close_usd": usd,
                     "oi_close_btc": btc, "payload": json.dumps(rec, separators=(",", ":"), sort_keys=True)})
    df = pl.DataFrame(rows, schema=FUTURES_OPEN_INTEREST.schema, orient="row") if rows else pl.DataFrame(schema=FUTURES_OPEN_INTEREST.schema)
    dupes = df.filter(pl.col("oi_date").is_duplicated())
    if dupes.height:
        raise SourceParseError(SOURCE, ep, "two snapshots for one day", field="timestamp", value=str(dupes["oi_date"][0]))
    return df
