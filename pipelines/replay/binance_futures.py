"""Replay server for fapi.binance.com: the bundled rows, filtered by symbol/startTime/endTime/limit like the real
one. Deliberate difference: the real openInterestHist keeps 30 days; the bundled dataset keeps the whole replay
window (playing the part of what a daily schedule would have accumulated)."""

from __future__ import annotations

import httpx

from pipelines.replay.clock import replay_now
from pipelines.replay.transport import ReplayData, json_response, replay_server
from pipelines.sources.binance_futures import FUNDING_MAX_LIMIT, FUNDING_RATE, HOST, OI_MAX_LIMIT, OPEN_INTEREST_HIST, SYMBOL


REPLAY_FILES = {FUNDING_RATE: "fundingRate_BTCUSDT.json", OPEN_INTEREST_HIST: "openInterestHist_BTCUSDT_1d.json"}


def _bad(code: int, msg: str) -> httpx.Response:
    return json_response({"code": code, "msg": msg}, status_code=400)


@replay_server(HOST)
def _replay(request: httpx.Request, data: ReplayData) -> httpx.Response:
    path = request.url.path
    if path not in REPLAY_FILES:
        return json_response({"code": -5000, "msg": f"Path {path}, Method GET is invalid"}, status_code=404)
    q = request.url.params
    if q.get("symbol") != SYMBOL:
        return _bad(-1121, "Invalid symbol.")
    max_limit, default_limit, key = ((FUNDING_MAX_LIMIT, 100, "fundingTime") if path == FUNDING_RATE
                                     else (OI_MAX_LIMIT, 30, "timestamp"))
    if path == OPEN_INTEREST_HIST and q.get("period") != "1d":
        return _bad(-1102, "Mandatory parameter 'period' was not sent, was empty/null, or malformed (replay holds 1d).")
    try:
        limit = int(q.get("limit", default_limit))
        start = int(q["startTime"]) if "startTime" in q else None
        end = int(q["endTime"]) if "endTime" in q else None
    except ValueError:
        return _bad(-1100, "Illegal characters found in a parameter.")
    if not 1 <= limit <= max_limit:
        return _bad(-1130, "Data sent for parameter 'limit' is not valid.")
    if start is not None and end is not None and start > end:
        return _bad(-1130, "Data sent for parameter 'startTime' is not valid.")
    rows = data.json(f"binance_futures/{REPLAY_FILES[path]}")
    if end is None and start is None:
        end = int(replay_now().timestamp() * 1000)
    rows = [r for r in rows if (start is None or r[key] >= start) and (end is None or r[key] <= end)]
    # From startTime: the oldest `limit` rows; otherwise the newest `limit` up to endTime.
    return json_response(rows[:limit] if start is not None else rows[-limit:])
