"""Replay server for Binance spot (api.binance.com and its mirrors): candles from binance/BTCUSDT-1d.json (see its
README), served with Binance's semantics for symbol, interval, startTime, endTime and limit (default 500, max 1000).

The candles are **not Binance's**: they are Yahoo Finance's BTC-USD, a multi-venue USD aggregate whose daily bar
closes at 00:00 UTC (no public copy of Binance's own BTCUSDT daily klines exists for the window). :data:`SERVED_AS`
is the name the rows carry in replay (``SourcesResource.source_name`` answers it; live rows say ``binance``).
"""

from __future__ import annotations

import httpx

from pipelines.replay.transport import ReplayData, json_response, replay_server
from pipelines.sources.binance_spot import HOSTS, KLINES, MAX_LIMIT, SYMBOL

SERVED_AS = "yahoo_btc_usd_aggregate"  # what replay's klines really are: Yahoo's BTC-USD 00:00 UTC aggregate close


def _replay(request: httpx.Request, data: ReplayData) -> httpx.Response:
    if request.url.path != KLINES:
        return json_response({"code": -1, "msg": "replay: unknown path"}, status_code=404)
    q = request.url.params
    if q.get("symbol") != SYMBOL:
        return json_response({"code": -1121, "msg": "Invalid symbol."}, status_code=400)
    if q.get("interval") != "1d":
        return json_response({"code": -1120, "msg": "Invalid interval."}, status_code=400)
    try:
        limit = min(int(q.get("limit", 500)), MAX_LIMIT)
        start = int(q["startTime"]) if "startTime" in q else None
        end = int(q["endTime"]) if "endTime" in q else None
    except ValueError:
        return json_response({"code": -1100, "msg": "Illegal characters found in a parameter."}, status_code=400)
    candles = data.json("binance/BTCUSDT-1d.json")
    if start is not None:
        candles = [c for c in candles if c[0] >= start]
    if end is not None:
        candles = [c for c in candles if c[0] <= end]
    if start is None and end is not None:
        candles = candles[-limit:]
    return json_response(candles[:limit])


replay_server(*HOSTS)(_replay)


