"""CoinGlass API v4 (https://open-api-v4.coinglass.com), authenticated with the ``CG-API-KEY`` header.

Every answer comes in an envelope ``{"code": "0", "msg": "success", "data": ...}``. A non-zero
``code`` can arrive with HTTP 200 (e.g. an exhausted plan or a bad parameter), so the envelope is
checked on every response. Timestamps are milliseconds since the epoch, UTC.

Endpoints used here:

* ``GET /api/etf/bitcoin/flow-history`` — daily net flows of the US spot bitcoin ETFs:
  ``[{"timestamp": 1704931200000, "flow_usd": 655300000, "price_usd": 46663.0,
  "etf_flows": [{"etf_ticker": "GBTC", "flow_usd": -95100000}, ...]}, ...]`` (USD).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from pipelines.landing.tables import ETF_FLOWS, FUTURES_FUNDING, FUTURES_LIQUIDATIONS, FUTURES_OPEN_INTEREST
from pipelines.sources.fields import DAY_MS, date_to_ms, number
from pipelines.sources.http import (
    HttpClient,
    SourceError,
    SourceHTTPError,
    SourceParseError,
    declare_rate_limit,
    decode_json,
)

SOURCE = "coinglass"
HOST = "open-api-v4.coinglass.com"
BASE_URL = f"https://{HOST}"
API_KEY_HEADER = "CG-API-KEY"
ETF_FLOW_HISTORY = "/api/etf/bitcoin/flow-history"
# The Hobbyist plan allows 30 requests a minute.
declare_rate_limit(HOST, 2.0)

ETF_FLOW_SCHEMA = ETF_FLOWS.schema
TOTAL_ISSUER = "TOTAL"


class CoinGlassClient:
    def __init__(self, http: HttpClient, api_key: str | None) -> None:
        self.http = http
        self.api_key = api_key

    def get_data(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET ``path`` and return the envelope's ``data`` after checking HTTP status and ``code``."""
        if not self.api_key:
            raise SourceError(SOURCE, path, "no API key: set COINGLASS_API_KEY to use CoinGlass")
        response = self.http.get(
            SOURCE, BASE_URL + path, params=params, headers={API_KEY_HEADER: self.api_key}, endpoint=path
        )
        if response.status_code in (401, 403):
            raise SourceHTTPError(
                SOURCE,
                path,
                f"HTTP {response.status_code}: API key rejected or the plan does not include this endpoint",
                status=response.status_code,
            )
        if response.status_code >= 400:
            raise SourceHTTPError(SOURCE, path, f"HTTP {response.status_code}", status=response.status_code)
        # the client hands on bodies with the key masked: an envelope that echoes it back shows ***
        return unwrap_envelope(path, decode_json(SOURCE, path, response))

    def etf_flow_history(self) -> list[dict[str, Any]]:
        data = self.get_data(ETF_FLOW_HISTORY)
        if not isinstance(data, list):
            raise SourceParseError(SOURCE, ETF_FLOW_HISTORY, "expected a list", field="data", value=type(data).__name__)
        return data


def unwrap_envelope(endpoint: str, body: Any) -> Any:
    if not isinstance(body, dict):
        raise SourceParseError(SOURCE, endpoint, "expected a JSON object envelope", field="body", value=type(body).__name__)
    if "code" not in body:
        raise SourceParseError(SOURCE, endpoint, "envelope has no 'code'", field="code", value=None)
    code = str(body["code"])
    if code != "0":
        raise SourceError(SOURCE, endpoint, f"API error code {code}: {body.get('msg')}", field="code", value=code)
    if "data" not in body or body["data"] is None:
        raise SourceParseError(SOURCE, endpoint, "envelope has no 'data'", field="data", value=None)
    return body["data"]


def ms_to_date(endpoint: str, value: Any, field: str = "timestamp") -> date:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SourceParseError(SOURCE, endpoint, "timestamp is not a number", field=field, value=value)
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC).date()
    except (OverflowError, OSError, ValueError):
        raise SourceParseError(SOURCE, endpoint, "timestamp out of range", field=field, value=value) from None


def _number_or_null(endpoint: str, record: dict[str, Any], key: str, where: str) -> float | None:
    return number(SOURCE, endpoint, record, key, where, nullable=True)


def parse_etf_flow_history(records: list[Any]) -> pl.DataFrame:
    """One row per (day, issuer) plus a ``TOTAL`` row per day; ``payload`` keeps the source record."""
    ep = ETF_FLOW_HISTORY
    rows: list[dict[str, Any]] = []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise SourceParseError(SOURCE, ep, f"record {i} is not an object", field="data[]", value=rec)
        if "timestamp" not in rec:
            raise SourceParseError(SOURCE, ep, f"record {i}: missing field", field="timestamp", value=None)
        day = ms_to_date(ep, rec["timestamp"])
        where = f"record for {day}"
        payload = json.dumps(rec, separators=(",", ":"), sort_keys=True)
        rows.append(
            {"flow_date": day, "issuer": TOTAL_ISSUER, "net_flow_usd": _number_or_null(ep, rec, "flow_usd", where), "payload": payload}
        )
        flows = rec.get("etf_flows")
        if not isinstance(flows, list):
            raise SourceParseError(SOURCE, ep, f"{where}: expected a list", field="etf_flows", value=flows)
        for item in flows:
            if not isinstance(item, dict):
                raise SourceParseError(SOURCE, ep, f"{where}: etf_flows item is not an object", field="etf_flows[]", value=item)
            ticker = item.get("etf_ticker")
            if not isinstance(ticker, str) or not ticker.strip():
                raise SourceParseError(SOURCE, ep, f"{where}: missing ticker", field="etf_ticker", value=ticker)
            rows.append(
                {
                    "flow_date": day,
                    "issuer": ticker.strip().upper(),
                    "net_flow_usd": _number_or_null(ep, item, "flow_usd", f"{where}, {ticker}"),
                    "payload": json.dumps(item, separators=(",", ":"), sort_keys=True),
                }
            )
    df = pl.DataFrame(rows, schema=ETF_FLOW_SCHEMA, orient="row") if rows else pl.DataFrame(schema=ETF_FLOW_SCHEMA)
    dupes = df.filter(pl.struct("flow_date", "issuer").is_duplicated())
    if dupes.height:
        first = dupes.row(0, named=True)
        raise SourceParseError(
            SOURCE, ep, "duplicate (day, issuer) in payload", field="timestamp", value=f"{first['flow_date']} {first['issuer']}"
        )
    return df



# --------------------------------------------------------------------------------------------
# Futures: aggregated open interest, aggregated liquidations, OI-weighted funding (BTC, daily).
#
# * ``GET /api/futures/open-interest/aggregated-history?symbol=BTC&interval=1d&start_time=&end_time=&limit=``
#   → ``[{"time": 1733529600000, "open": 61299990828, "high": ..., "low": ..., "close": 61077...}]``,
#   all exchanges, USD (numbers, or numeric strings in older answers).
# * ``GET /api/futures/liquidation/aggregated-history?exchange_list=Binance&symbol=BTC&interval=1d&...``
#   → ``[{"time": ..., "aggregated_long_liquidation_usd": 6083400.1, "aggregated_short_liquidation_usd": ...}]``,
#   summed over the exchanges in ``exchange_list`` (required by the API), USD.
# * ``GET /api/futures/funding-rate/oi-weight-history?symbol=BTC&interval=1d&...``
#   → ``[{"time": ..., "open": "0.009606", "high": ..., "low": ..., "close": ...}]``, open-interest-weighted
#   across exchanges, **percent** per 8h (0.01 = 0.01 %).
# ``time`` is the bar's open, ms UTC. ``limit`` is at most 1000 bars per request; longer windows are
# fetched in consecutive ``start_time``/``end_time`` chunks. The newest bar is still open.
# --------------------------------------------------------------------------------------------
FUTURES_OI_HISTORY = "/api/futures/open-interest/aggregated-history"
FUTURES_LIQUIDATION_HISTORY = "/api/futures/liquidation/aggregated-history"
FUTURES_FUNDING_HISTORY = "/api/futures/funding-rate/oi-weight-history"
FUTURES_SYMBOL = "BTC"
FUTURES_INTERVAL = "1d"
FUTURES_MAX_LIMIT = 1000
# Exchanges summed by the liquidation endpoint (its exchange_list parameter is required).
DEFAULT_LIQUIDATION_EXCHANGES = "Binance"
FUTURES_OI_SCHEMA = FUTURES_OPEN_INTEREST.schema
FUTURES_FUNDING_SCHEMA = FUTURES_FUNDING.schema
FUTURES_LIQUIDATION_SCHEMA = FUTURES_LIQUIDATIONS.schema
AGGREGATE_VENUE = "all"


def day_chunks(start: date, end: date, max_days: int) -> list[tuple[int, int]]:
    """[start, end) as consecutive (start_ms, end_ms inclusive) windows of at most ``max_days`` days."""
    chunks: list[tuple[int, int]] = []
    lo = date_to_ms(start)
    hi = date_to_ms(end)
    while lo < hi:
        top = min(hi, lo + max_days * DAY_MS)
        chunks.append((lo, top - 1))
        lo = top
    return chunks


def _futures_history(client: CoinGlassClient, path: str, start: date, end: date, extra: dict[str, Any]) -> list[Any]:
    records: list[Any] = []
    for lo, hi in day_chunks(start, end, FUTURES_MAX_LIMIT):
        params = {"symbol": FUTURES_SYMBOL, "interval": FUTURES_INTERVAL, "start_time": lo, "end_time": hi,
                  "limit": FUTURES_MAX_LIMIT, **extra}
        data = client.get_data(path, params)
        if not isinstance(data, list):
            raise SourceParseError(SOURCE, path, "expected a list", field="data", value=type(data).__name__)
        records.extend(data)
    return records


def futures_open_interest_history(client: CoinGlassClient, start: date, end: date) -> list[Any]:
    """Daily aggregated (all-exchange) BTC open interest OHLC in USD for days in [start, end)."""
    return _futures_history(client, FUTURES_OI_HISTORY, start, end, {"unit": "usd"})


def futures_funding_history(client: CoinGlassClient, start: date, end: date) -> list[Any]:
    """Daily OI-weighted BTC funding-rate OHLC (% per 8h) for days in [start, end)."""
    return _futures_history(client, FUTURES_FUNDING_HISTORY, start, end, {})


def futures_liquidation_history(
    client: CoinGlassClient, start: date, end: date, exchanges: str = DEFAULT_LIQUIDATION_EXCHANGES
) -> list[Any]:
    """Daily long/short BTC liquidations (USD) summed over ``exchanges`` for days in [start, end)."""
    return _futures_history(client, FUTURES_LIQUIDATION_HISTORY, start, end, {"exchange_list": exchanges})


def _records(endpoint: str, records: list[Any]) -> list[tuple[date, dict[str, Any], str]]:
    """(day, record, where) per record, checking shape and duplicates."""
    out: list[tuple[date, dict[str, Any], str]] = []
    seen: set[date] = set()
    if not isinstance(records, list):
        raise SourceParseError(SOURCE, endpoint, "expected a list", field="data", value=type(records).__name__)
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise SourceParseError(SOURCE, endpoint, f"record {i} is not an object", field="data[]", value=rec)
        if "time" not in rec:
            raise SourceParseError(SOURCE, endpoint, f"record {i}: missing field", field="time", value=None)
        day = ms_to_date(endpoint, rec["time"], field="time")
        if day in seen:
            raise SourceParseError(SOURCE, endpoint, "duplicate day in payload", field="time", value=rec["time"])
        seen.add(day)
        out.append((day, rec, f"record for {day}"))
    return out


def _required_number(endpoint: str, rec: dict[str, Any], key: str, where: str) -> float:
    value = _number_or_null(endpoint, rec, key, where)
    if value is None:
        raise SourceParseError(SOURCE, endpoint, f"{where}: null value", field=key, value=None)
    return value


def _payload(rec: dict[str, Any]) -> str:
    return json.dumps(rec, separators=(",", ":"), sort_keys=True)


def parse_futures_open_interest(records: list[Any]) -> pl.DataFrame:
    """One row per day (venue ``all``): aggregated OI open/high/low/close in USD."""
    ep = FUTURES_OI_HISTORY
    rows = []
    for day, rec, where in _records(ep, records):
        values = {k: _required_number(ep, rec, k, where) for k in ("open", "high", "low", "close")}
        rows.append({"oi_date": day, "venue": AGGREGATE_VENUE, "symbol": FUTURES_SYMBOL,
                     "oi_open_usd": values["open"], "oi_high_usd": values["high"], "oi_low_usd": values["low"],
                     "oi_close_usd": values["close"], "oi_close_btc": None, "payload": _payload(rec)})
    return pl.DataFrame(rows, schema=FUTURES_OI_SCHEMA, orient="row") if rows else pl.DataFrame(schema=FUTURES_OI_SCHEMA)


def parse_futures_funding(records: list[Any]) -> pl.DataFrame:
    """One row per day (venue ``all``): OI-weighted funding OHLC in % per 8h; ``funding_rate_pct`` = close."""
    ep = FUTURES_FUNDING_HISTORY
    rows = []
    for day, rec, where in _records(ep, records):
        values = {k: _required_number(ep, rec, k, where) for k in ("open", "high", "low", "close")}
        rows.append({"funding_date": day, "funding_time": datetime(day.year, day.month, day.day, tzinfo=UTC),
                     "venue": AGGREGATE_VENUE, "symbol": FUTURES_SYMBOL,
                     "funding_open_pct": values["open"], "funding_high_pct": values["high"],
                     "funding_low_pct": values["low"], "funding_rate_pct": values["close"], "payload": _payload(rec)})
    return (pl.DataFrame(rows, schema=FUTURES_FUNDING_SCHEMA, orient="row") if rows
            else pl.DataFrame(schema=FUTURES_FUNDING_SCHEMA))


def parse_futures_liquidations(records: list[Any], exchanges: str = DEFAULT_LIQUIDATION_EXCHANGES) -> pl.DataFrame:
    """One row per day: long and short liquidations in USD summed over ``exchanges``."""
    ep = FUTURES_LIQUIDATION_HISTORY
    venue = ",".join(sorted(e.strip().lower() for e in exchanges.split(",") if e.strip()))
    rows = []
    for day, rec, where in _records(ep, records):
        rows.append({"liquidation_date": day, "venue": venue, "symbol": FUTURES_SYMBOL,
                     "long_liquidation_usd": _required_number(ep, rec, "aggregated_long_liquidation_usd", where),
                     "short_liquidation_usd": _required_number(ep, rec, "aggregated_short_liquidation_usd", where),
                     "payload": _payload(rec)})
    return (pl.DataFrame(rows, schema=FUTURES_LIQUIDATION_SCHEMA, orient="row") if rows
            else pl.DataFrame(schema=FUTURES_LIQUIDATION_SCHEMA))
