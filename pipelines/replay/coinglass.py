"""Replay server for open-api-v4.coinglass.com (routes keyed by path).

It demands a ``CG-API-KEY`` header (any value; a missing key answers HTTP 401 as CoinGlass does) and wraps the
bundled daily series (the ``data`` arrays, oldest first) in the v4 envelope after applying ``symbol``,
``interval``, ``start_time``/``end_time``, ``limit`` and, for liquidations, ``exchange_list``.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from pipelines.replay.transport import ReplayData, json_response, not_found, replay_server
from pipelines.sources.coinglass import (
    API_KEY_HEADER,
    ETF_FLOW_HISTORY,
    FUTURES_FUNDING_HISTORY,
    FUTURES_INTERVAL,
    FUTURES_LIQUIDATION_HISTORY,
    FUTURES_MAX_LIMIT,
    FUTURES_OI_HISTORY,
    FUTURES_SYMBOL,
    HOST,
)


ReplayRoute = Callable[[httpx.Request, ReplayData], httpx.Response]
REPLAY_ROUTES: dict[str, ReplayRoute] = {}


def replay_route(path: str) -> Callable[[ReplayRoute], ReplayRoute]:
    def decorate(fn: ReplayRoute) -> ReplayRoute:
        REPLAY_ROUTES[path] = fn
        return fn

    return decorate


@replay_server(HOST)
def _replay(request: httpx.Request, data: ReplayData) -> httpx.Response:
    if not request.headers.get(API_KEY_HEADER):
        return json_response({"code": "401", "msg": "API key missing"}, status_code=401)
    route = REPLAY_ROUTES.get(request.url.path)
    if route is None:
        return not_found(request)
    return route(request, data)


@replay_route(ETF_FLOW_HISTORY)
def _replay_etf_flow_history(request: httpx.Request, data: ReplayData) -> httpx.Response:
    path = data.path("coinglass/etf_bitcoin_flow_history.json")
    return httpx.Response(200, content=path.read_bytes(), headers={"Content-Type": "application/json"})

# Replay: the bundled daily series (the ``data`` arrays, oldest first), filtered like the real API.
FUTURES_REPLAY_FILES = {
    FUTURES_OI_HISTORY: "futures_open_interest_aggregated_history_BTC_1d.json",
    FUTURES_FUNDING_HISTORY: "futures_funding_rate_oi_weight_history_BTC_1d.json",
    FUTURES_LIQUIDATION_HISTORY: "futures_liquidation_aggregated_history_BTC_Binance_1d.json",
}
REPLAY_LIQUIDATION_EXCHANGES = {"binance"}


def _error(code: str, msg: str) -> httpx.Response:
    # CoinGlass reports bad parameters with HTTP 200 and a non-zero code.
    return json_response({"code": code, "msg": msg})


def _replay_futures(request: httpx.Request, data: ReplayData) -> httpx.Response:
    q = request.url.params
    path = request.url.path
    if q.get("symbol") != FUTURES_SYMBOL:
        return _error("400", f"symbol {q.get('symbol')!r} is not supported (replay holds BTC)")
    if q.get("interval") != FUTURES_INTERVAL:
        return _error("400", f"interval {q.get('interval')!r}: the replay dataset holds 1d bars only")
    if path == FUTURES_LIQUIDATION_HISTORY:
        wanted = {e.strip().lower() for e in (q.get("exchange_list") or "").split(",") if e.strip()}
        if not wanted:
            return _error("400", "exchange_list is required")
        if wanted != REPLAY_LIQUIDATION_EXCHANGES:
            return _error("400", f"exchange_list {q.get('exchange_list')!r}: the replay dataset holds Binance only")
    try:
        limit = int(q.get("limit", FUTURES_MAX_LIMIT))
        start = int(q["start_time"]) if "start_time" in q else None
        end = int(q["end_time"]) if "end_time" in q else None
    except ValueError:
        return _error("400", "limit, start_time and end_time must be integers")
    if not 1 <= limit <= FUTURES_MAX_LIMIT:
        return _error("400", f"limit must be between 1 and {FUTURES_MAX_LIMIT}")
    bars = data.json(f"coinglass/{FUTURES_REPLAY_FILES[path]}")
    rows = [r for r in bars if (start is None or r["time"] >= start) and (end is None or r["time"] <= end)]
    # More bars than `limit` in the window: the newest ones, as without a window.
    return json_response({"code": "0", "msg": "success", "data": rows[-limit:]})


for _path in FUTURES_REPLAY_FILES:
    replay_route(_path)(_replay_futures)
