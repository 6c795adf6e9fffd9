"""Replay server for OKX (``www.okx.com``): the bundled dataset has **no OKX history**, and says so.

No public copy of OKX's BTC-USDT-SWAP funding, open interest or liquidation orders was found
(``shared/reference-data/SOURCES.md``; ``pipelines/replay/data/okx/README.md``), and the replay dataset
holds only real series, so nothing is invented here. Every OKX request in replay mode is answered
``HTTP 404`` with an OKX-style body ``{"code": "replay-no-data", "msg": "...", "data": []}``. The client
turns that into one clear :class:`~pipelines.sources.http.SourceHTTPError` naming the endpoint
(``[okx] /api/v5/...: HTTP 404: code replay-no-data replay holds no OKX history ...``); a 404 is not
retried. A 404 and not an empty ``data`` list: an empty list would read as "OKX answered, no
liquidations / no funding that day", which replay cannot claim.

Callers that plan sources should not ask at all: :func:`why_not` says why replay has no data for an
endpoint; ``SourcesResource.unavailable`` asks it, so the derivatives planner skips OKX in replay (and
notes why) instead of failing.
"""

from __future__ import annotations

import httpx

from pipelines.sources import okx
from pipelines.replay.transport import NO_DATA_CODE, ReplayData, json_response, no_history_reason, replay_server

REPLAY_FOLDER = "okx"
ENDPOINTS = (okx.FUNDING_HISTORY, okx.OPEN_INTEREST_HISTORY, okx.LIQUIDATION_ORDERS)


def why_not(endpoint: str) -> str:
    """Why replay cannot answer ``endpoint``: what a planner notes when it skips OKX. Liquidation orders can
    never be bundled: OKX keeps ~24 h, so their history starts when a user starts collecting."""
    if endpoint == okx.LIQUIDATION_ORDERS:
        return ("replay holds no OKX liquidation orders (OKX keeps ~24 h: keyless liquidation history starts when "
                "a user starts collecting live)")
    return no_history_reason("OKX", endpoint)


@replay_server(okx.HOST)
def _replay(request: httpx.Request, data: ReplayData) -> httpx.Response:
    path = request.url.path
    if path not in ENDPOINTS:
        return json_response({"code": "50000", "msg": f"replay: no route for {path}", "data": []}, status_code=404)
    why = ("replay holds no OKX history (no public copy exists; liquidation orders are kept ~24 h by OKX), "
           f"see {REPLAY_FOLDER}/README.md in the replay dataset; use live mode to collect it")
    return json_response({"code": NO_DATA_CODE, "msg": why, "data": []}, status_code=404)
