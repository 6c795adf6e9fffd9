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
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import polars as pl

from pipelines.sources.http import (
    HttpClient,
    SourceError,
    SourceHTTPError,
    SourceParseError,
    declare_rate_limit,
    decode_json,
    redact_error,
)
from pipelines.sources.replay import json_response, not_found, replay_handler

SOURCE = "coinglass"
HOST = "open-api-v4.coinglass.com"
BASE_URL = f"https://{HOST}"
API_KEY_HEADER = "CG-API-KEY"
ETF_FLOW_HISTORY = "/api/etf/bitcoin/flow-history"
# The Hobbyist plan allows 30 requests a minute.
declare_rate_limit(HOST, 2.0)

# Shared by every ETF flow parser (coinglass and farside): one row per (flow_date, issuer).
ETF_FLOW_SCHEMA = {
    "flow_date": pl.Date,
    "issuer": pl.String,
    "net_flow_usd": pl.Float64,
    "payload": pl.String,
}
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
        try:
            return unwrap_envelope(path, decode_json(SOURCE, path, response))
        except SourceError as exc:  # the body may echo the key back (e.g. in ``msg``): never show it
            clean = redact_error(exc, self.http.secrets)
            if clean is exc:
                raise
            raise clean from None

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
    if key not in record:
        raise SourceParseError(SOURCE, endpoint, f"{where}: missing field", field=key, value=None)
    value = record[key]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SourceParseError(SOURCE, endpoint, f"{where}: not a number", field=key, value=value)
    try:
        return float(value)
    except ValueError:
        raise SourceParseError(SOURCE, endpoint, f"{where}: not a number", field=key, value=value) from None


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
# Replay server. Routes are keyed by path so that other CoinGlass endpoints can register theirs.
# --------------------------------------------------------------------------------------------
ReplayRoute = Callable[[httpx.Request, Path], httpx.Response]
REPLAY_ROUTES: dict[str, ReplayRoute] = {}


def replay_route(path: str) -> Callable[[ReplayRoute], ReplayRoute]:
    def decorate(fn: ReplayRoute) -> ReplayRoute:
        REPLAY_ROUTES[path] = fn
        return fn

    return decorate


@replay_handler(HOST)
def _replay(request: httpx.Request, replay_dir: Path) -> httpx.Response:
    if not request.headers.get(API_KEY_HEADER):
        return json_response({"code": "401", "msg": "API key missing"}, status_code=401)
    route = REPLAY_ROUTES.get(request.url.path)
    if route is None:
        return not_found(request)
    return route(request, replay_dir)


@replay_route(ETF_FLOW_HISTORY)
def _replay_etf_flow_history(request: httpx.Request, replay_dir: Path) -> httpx.Response:
    path = replay_dir / "coinglass" / "etf_bitcoin_flow_history.json"
    return httpx.Response(200, content=path.read_bytes(), headers={"Content-Type": "application/json"})
