"""Replay server for Bybit (``api.bybit.com``): the bundled dataset has **no Bybit history**, and says so.

No public copy of Bybit's linear BTCUSDT funding or open interest was found (``shared/reference-data/SOURCES.md``;
``pipelines/replay/data/bybit/README.md``). The replay once served placeholders (Binance's funding copied, 0.65 ×
Binance's OI); the dataset holds only real series, so they were dropped rather than shown as a venue. Every Bybit
request in replay mode is answered ``HTTP 404`` with a Bybit-style envelope whose ``retCode`` is
``replay-no-data``; the client reports it as one clear error naming the endpoint. The live Bybit client is
unchanged (tested on real-shape payloads).

As for OKX (:mod:`pipelines.replay.okx`): :func:`why_not` says why replay has no data for an endpoint;
``SourcesResource.unavailable`` asks it, so the derivatives planner skips Bybit in replay with a note instead of
failing.
"""

from __future__ import annotations

import httpx

from pipelines.replay.transport import NO_DATA_CODE, ReplayData, json_response, no_history_reason, replay_server
from pipelines.sources import bybit

REPLAY_FOLDER = "bybit"
ENDPOINTS = (bybit.FUNDING_HISTORY, bybit.OPEN_INTEREST)
# The envelope's server ``time``: the dataset's last instant (2026-03-01 00:00 UTC), so identical requests get
# identical bodies.
REPLAY_SERVER_TIME_MS = 1772323200000


def why_not(endpoint: str) -> str:
    """Why replay cannot answer ``endpoint``: what a planner notes when it skips Bybit."""
    return no_history_reason("Bybit", endpoint)


@replay_server(bybit.HOST)
def _replay(request: httpx.Request, data: ReplayData) -> httpx.Response:
    path = request.url.path
    if path not in ENDPOINTS:
        return httpx.Response(404, text="Not Found")
    return json_response({"retCode": NO_DATA_CODE, "retMsg": f"{why_not(path)}; see {REPLAY_FOLDER}/README.md in the "
                          "replay dataset; use live mode to fetch it", "result": {}, "retExtInfo": {},
                          "time": REPLAY_SERVER_TIME_MS}, status_code=404)
