"""Bybit v5 public market data (keyless), linear BTCUSDT perpetual: the second fallback venue.

Host ``https://api.bybit.com``. Every answer is ``{"retCode": 0, "retMsg": "OK", "result": {...},
"retExtInfo": {}, "time": 1770...}``; a non-zero ``retCode`` (e.g. 10001 params error) arrives with
HTTP 200. Numbers and timestamps (ms) are strings. Lists come newest first.

* ``GET /v5/market/funding/history?category=linear&symbol=BTCUSDT&startTime=&endTime=&limit=``
  (limit ≤ 200): ``result.list = [{"symbol": "BTCUSDT", "fundingRate": "-0.00004957",
  "fundingRateTimestamp": "1770307200000"}]``, a fraction per 8h. No cursor: ``startTime`` alone is
  refused, so pages walk backwards by moving ``endTime`` below the oldest row received.
* ``GET /v5/market/open-interest?category=linear&symbol=BTCUSDT&intervalTime=1d&startTime=&endTime=&limit=&cursor=``
  (limit ≤ 200): ``result.list = [{"openInterest": "52310.4", "timestamp": "1770336000000"}]`` in
  **BTC** (linear contracts are quoted in the base coin), ``result.nextPageCursor`` for the next page
  (empty at the end). A row is a snapshot at ``timestamp``: the 1d row stamped D 00:00 is the open
  interest at the close of day D−1 and is stored under that day. USD is computed downstream with the
  BTC daily close.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from pipelines.landing.tables import FUTURES_FUNDING, FUTURES_OPEN_INTEREST
from pipelines.sources.fields import DAY_MS, date_to_ms, error_detail, exchange_funding_row, number
from pipelines.sources.http import HttpClient, SourceError, SourceHTTPError, SourceParseError, declare_rate_limit, decode_json

SOURCE = "bybit"
HOST = "api.bybit.com"
BASE_URL = f"https://{HOST}"
FUNDING_HISTORY = "/v5/market/funding/history"
OPEN_INTEREST = "/v5/market/open-interest"
CATEGORY = "linear"
SYMBOL = "BTCUSDT"
VENUE = "bybit"
MAX_LIMIT = 200
MAX_PAGES = 1000
declare_rate_limit(HOST, 0.2)


class BybitClient:
    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def _result(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        response = self.http.get(SOURCE, BASE_URL + path, params=params, endpoint=path)
        if response.status_code >= 400:
            detail = error_detail(response, "retCode", "retMsg")
            raise SourceHTTPError(SOURCE, path, f"HTTP {response.status_code}{detail}", status=response.status_code)
        body = decode_json(SOURCE, path, response)
        if not isinstance(body, dict) or "retCode" not in body:
            raise SourceParseError(SOURCE, path, "expected an object with 'retCode'", field="retCode", value=None)
        if body["retCode"] != 0:
            raise SourceError(SOURCE, path, f"API error retCode {body['retCode']}: {body.get('retMsg')}",
                              field="retCode", value=body["retCode"])
        result = body.get("result")
        if not isinstance(result, dict) or not isinstance(result.get("list"), list):
            raise SourceParseError(SOURCE, path, "result has no 'list'", field="result.list", value=result)
        return result

    def funding_history(self, start: date, end: date) -> list[Any]:
        """Every 8h funding with fundingRateTimestamp in days [start, end), oldest first."""
        lo, hi = date_to_ms(start), date_to_ms(end) - 1
        rows: list[Any] = []
        for _ in range(MAX_PAGES):
            if hi < lo:
                break
            page = self._result(FUNDING_HISTORY, {"category": CATEGORY, "symbol": SYMBOL, "startTime": lo,
                                                  "endTime": hi, "limit": MAX_LIMIT})["list"]
            rows.extend(page)
            if len(page) < MAX_LIMIT:
                break
            oldest = min(_int_ms(FUNDING_HISTORY, r, "fundingRateTimestamp") for r in page)
            hi = oldest - 1
        return sorted(rows, key=lambda r: int(r["fundingRateTimestamp"]))

    def open_interest_history(self, start: date, end: date) -> list[Any]:
        """Daily OI snapshots closing days [start, end), oldest first (cursor pagination)."""
        params: dict[str, Any] = {"category": CATEGORY, "symbol": SYMBOL, "intervalTime": "1d",
                                  "startTime": date_to_ms(start) + DAY_MS, "endTime": date_to_ms(end), "limit": MAX_LIMIT}
        rows: list[Any] = []
        for _ in range(MAX_PAGES):
            result = self._result(OPEN_INTEREST, params)
            rows.extend(result["list"])
            cursor = result.get("nextPageCursor")
            if not cursor or not result["list"]:
                break
            params = {**params, "cursor": cursor}
        return sorted(rows, key=lambda r: int(r["timestamp"]) if isinstance(r, dict) and str(r.get("timestamp", "")).isdigit() else 0)


def _int_ms(endpoint: str, rec: Any, key: str) -> int:
    value = rec.get(key) if isinstance(rec, dict) else None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise SourceParseError(SOURCE, endpoint, "timestamp is not an integer string (ms)", field=key, value=value)


def _decimal(endpoint: str, rec: dict[str, Any], key: str, where: str) -> float:
    return number(SOURCE, endpoint, rec, key, where)  # type: ignore[return-value]


def _at(endpoint: str, rec: Any, key: str, i: int) -> datetime:
    if not isinstance(rec, dict):
        raise SourceParseError(SOURCE, endpoint, f"record {i} is not an object", field="list[]", value=rec)
    return datetime.fromtimestamp(_int_ms(endpoint, rec, key) / 1000, tz=UTC)


def parse_funding(records: list[Any]) -> pl.DataFrame:
    ep = FUNDING_HISTORY
    rows = []
    for i, rec in enumerate(records):
        at = _at(ep, rec, "fundingRateTimestamp", i)
        if rec.get("symbol") != SYMBOL:
            raise SourceParseError(SOURCE, ep, f"record {i}: unexpected symbol", field="symbol", value=rec.get("symbol"))
        pct = _decimal(ep, rec, "fundingRate", f"funding at {at:%Y-%m-%d %H:%M}") * 100
        rows.append(exchange_funding_row(at, VENUE, SYMBOL, pct, rec))
    df = (pl.DataFrame(rows, schema=FUTURES_FUNDING.schema, orient="row") if rows
          else pl.DataFrame(schema=FUTURES_FUNDING.schema))
    if df.filter(pl.col("funding_time").is_duplicated()).height:
        raise SourceParseError(SOURCE, ep, "duplicate fundingRateTimestamp", field="fundingRateTimestamp",
                               value=str(df.filter(pl.col("funding_time").is_duplicated())["funding_time"][0]))
    return df


def parse_open_interest(records: list[Any]) -> pl.DataFrame:
    ep = OPEN_INTEREST
    rows = []
    for i, rec in enumerate(records):
        at = _at(ep, rec, "timestamp", i)
        btc = _decimal(ep, rec, "openInterest", f"snapshot at {at:%Y-%m-%d %H:%M}")
        rows.append({"oi_date": (at - timedelta(milliseconds=1)).date(), "venue": VENUE, "symbol": SYMBOL,
                     "oi_open_usd": None, "oi_high_usd": None, "oi_low_usd": None, "oi_close_usd": None,
                     "oi_close_btc": btc, "payload": json.dumps(rec, separators=(",", ":"), sort_keys=True)})
    df = pl.DataFrame(rows, schema=FUTURES_OPEN_INTEREST.schema, orient="row") if rows else pl.DataFrame(schema=FUTURES_OPEN_INTEREST.schema)
    if df.filter(pl.col("oi_date").is_duplicated()).height:
        raise SourceParseError(SOURCE, ep, "two snapshots for one day", field="timestamp",
                               value=str(df.filter(pl.col("oi_date").is_duplicated())["oi_date"][0]))
    return df
