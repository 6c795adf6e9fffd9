"""Replay server for stooq.com: the bundled daily CSV per symbol, filtered by ``d1``/``d2`` like Stooq."""

from __future__ import annotations

import httpx

from pipelines.replay.transport import ReplayData, replay_server
from pipelines.sources.stooq import HOST, NO_DATA, PATH


@replay_server(HOST)
def _replay(request: httpx.Request, data: ReplayData) -> httpx.Response:
    if request.url.path.rstrip("/") != PATH.rstrip("/"):
        return httpx.Response(404, text="Not Found")
    params = request.url.params
    symbol = params.get("s", "").lower()
    name = symbol.lstrip("^")
    rel = f"stooq/{name}.csv"
    no_data = httpx.Response(200, text=NO_DATA, headers={"Content-Type": "text/plain"})
    if not name or "/" in name or not data.exists(rel) or params.get("i", "d") != "d":
        return no_data
    d1, d2 = params.get("d1"), params.get("d2")
    lines = data.text(rel).strip().splitlines()
    body = [
        line for line in lines[1:]
        if (not d1 or line[:10].replace("-", "") >= d1) and (not d2 or line[:10].replace("-", "") <= d2)
    ]
    if not body:
        return no_data
    text = lines[0] + "\n" + "\n".join(body) + "\n"
    return httpx.Response(
        200, text=text, headers={"Content-Type": "text/csv", "Content-Disposition": f"attachment;filename={name}_d.csv"}
    )
