"""Replay server for Bybit (``api.bybit.com``): the bundled dataset has **no Bybit history**, and says so.

No public copy of Bybit's linear BTCUSDT funding or open interest was found (``shared/reference-data/SOURCES.md``;
``pipelines/replay/data/bybit/README.md``). The replay once served placeholders (Binance's funding copied, 0.65 ×
Binance's OI); the dataset holds only real series, so they were dropped rather than shown as a venue. Every Bybit
request in replay mode is answered ``HTTP 404`` with a Bybit-style envelope whose ``retCode`` is
``replay-no-data``; the client reports it as one clear error naming the endpoint. The live Bybit client is
unchanged (tested on real-shape payloads).

As for OKX (:mod:`pipelines.replay.okx`): :func:`serves` / :func:`why_not` tell per endpoint whether replay has
data (never, today); ``SourcesResource.unavailable`` asks them, so the derivatives planner skips Bybit in replay
with a note instead of failing.
"""

from __future__ import annotations

import httpx

from pipelines.replay.okx import NO_DATA_CODE
from pipelines.replay.transport import ReplayData, json_response, replay_server
from pipelines.sources import bybit

REPLAY_FOLDER = "bybit"
ENDPOINTS = (bybit.FUNDING_HISTORY, bybit.OPEN_INTEREST)
SERVED: frozenset[str] = frozenset()  # endpoints the bundled dataset serves
# The envelope's server ``time``: the dataset's last instant (2026-03-01 00:00 UTC), so identical requests get
# identical bodies.
REPLAY_SERVER_TIME_MS = 1772323200000


def serves(endpoint: str) -> bool:
    """Whether the replay dataset has Bybit data for ``endpoint``."""
    return endpoint in SERVED


def why_not(endpoint: str) -> str | None:
    """Why replay cannot answer ``endpoint`` (None when it can): what a planner notes when it skips Bybit."""
    if serves(endpoint):
        return None
    return f"replay holds no Bybit history for {endpoint} (no public copy exists; Bybit is fetched live only)"


@replay_server(bybit.HOST)
def _replay(request: httpx.Request, data: ReplayData) -> httpx.Response:
    path = request.url.path
    if path not in ENDPOINTS:
        return httpx.Response(404, text="Not Found")
    return json_response({"retCode": NO_DATA_CODE, "retMsg": f"{why_not(path)}; see {REPLAY_FOLDER}/README.md in the "
                          "replay dataset; use live mode to fetch it", "result": {}, "retExtInfo": {},
                          "time": REPLAY_SERVER_TIME_MS}, status_code=404)
