"""Replay server for farside.co.uk: the bundled flow table page."""

from __future__ import annotations

import httpx

from pipelines.replay.transport import ReplayData, replay_server
from pipelines.sources.farside import FLOW_TABLE_PATH, HOST


@replay_server(HOST)
def _replay(request: httpx.Request, data: ReplayData) -> httpx.Response:
    if request.url.path.rstrip("/") != FLOW_TABLE_PATH.rstrip("/"):
        return httpx.Response(404, text="Not Found")
    page = data.path("farside/bitcoin-etf-flow-all-data.html")
    return httpx.Response(200, content=page.read_bytes(), headers={"Content-Type": "text/html; charset=UTF-8"})
