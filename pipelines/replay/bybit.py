"""Replay server for api.bybit.com (bundled rows, oldest first on disk; answered newest first like the real API)."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from pipelines.replay.clock import replay_now
from pipelines.replay.transport import ReplayData, json_response, replay_server
from pipelines.sources.bybit import CATEGORY, FUNDING_HISTORY, HOST, MAX_LIMIT, OPEN_INTEREST, SYMBOL


REPLAY_FILES = {FUNDING_HISTORY: "funding_history_linear_BTCUSDT.json", OPEN_INTEREST: "open_interest_linear_BTCUSDT_1d.json"}


# The envelope's server ``time``: the replay dataset's last instant (2026-03-01 00:00 UTC), so that an
# identical request gets an identical body (the landing archive stores each distinct body once).
REPLAY_SERVER_TIME_MS = 1772323200000


def _envelope(result: dict[str, Any] | None, code: int = 0, msg: str = "OK") -> httpx.Response:
    return json_response({"retCode": code, "retMsg": msg, "result": result or {}, "retExtInfo": {},
                          "time": REPLAY_SERVER_TIME_MS})


@replay_server(HOST)
def _replay(request: httpx.Request, data: ReplayData) -> httpx.Response:
    path = request.url.path
    if path not in REPLAY_FILES:
        return httpx.Response(404, text="Not Found")
    q = request.url.params
    if q.get("category") != CATEGORY:
        return _envelope(None, 10001, "params error: category only support linear or inverse")
    if q.get("symbol") != SYMBOL:
        return _envelope(None, 10001, "params error: symbol invalid")
    try:
        limit = int(q.get("limit", MAX_LIMIT if path == FUNDING_HISTORY else 50))
        start = int(q["startTime"]) if "startTime" in q else None
        end = int(q["endTime"]) if "endTime" in q else None
    except ValueError:
        return _envelope(None, 10001, "params error: startTime, endTime and limit must be integers")
    if not 1 <= limit <= MAX_LIMIT:
        return _envelope(None, 10001, "params error: limit must be in [1, 200]")
    if path == FUNDING_HISTORY and start is not None and end is None:
        return _envelope(None, 10001, "params error: endTime is required when startTime is passed")
    if path == OPEN_INTEREST and q.get("intervalTime") != "1d":
        return _envelope(None, 10001, "params error: intervalTime invalid (replay holds 1d)")
    key = "fundingRateTimestamp" if path == FUNDING_HISTORY else "timestamp"
    if end is None:
        end = int(replay_now().timestamp() * 1000)
    rows = [r for r in data.json(f"bybit/{REPLAY_FILES[path]}")
            if (start is None or int(r[key]) >= start) and int(r[key]) <= end]
    rows.reverse()  # newest first
    if path == FUNDING_HISTORY:
        return _envelope({"category": CATEGORY, "list": rows[:limit]})
    offset = 0
    if q.get("cursor"):
        try:
            offset = int(base64.urlsafe_b64decode(q["cursor"].encode()).decode().removeprefix("page="))
        except ValueError:
            return _envelope(None, 10001, "params error: cursor invalid")
    page = rows[offset: offset + limit]
    more = offset + limit < len(rows)
    cursor = base64.urlsafe_b64encode(f"page={offset + limit}".encode()).decode() if more else ""
    return _envelope({"symbol": SYMBOL, "category": CATEGORY, "list": page, "nextPageCursor": cursor})
