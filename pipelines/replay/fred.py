"""Replay server for FRED: the keyless ``fredgraph.csv`` download (fred.stlouisfed.org) and the keyed JSON API
(api.stlouisfed.org), both from the bundled one-file-per-series CSVs."""

from __future__ import annotations

from datetime import date

import httpx

from pipelines.replay.transport import ReplayData, ReplayDataError, json_response, replay_server
from pipelines.sources.fred import API_HOST, API_PAGE_LIMIT, API_PATH, CSV_HOST, CSV_PATH

def _replay_rows(data: ReplayData, series_id: str) -> list[tuple[str, str]] | None:
    rel = f"fred/{series_id}.csv"
    if not series_id.isalnum() or not data.exists(rel):
        return None
    lines = data.text(rel).strip().splitlines()
    rows = [tuple(line.split(",", 1)) for line in lines[1:]]
    bad = next((i for i, r in enumerate(rows, start=2) if len(r) != 2 or len(r[0]) != 10), None)
    if bad is not None:
        raise ReplayDataError("fred", f"{series_id}.csv", f"line {bad} is not 'YYYY-MM-DD,value': {lines[bad - 1]!r}")
    return rows  # type: ignore[return-value]


def _in_range(day: str, start: str | None, end: str | None) -> bool:
    return (not start or day >= start) and (not end or day <= end)


@replay_server(CSV_HOST)
def _replay_csv(request: httpx.Request, data: ReplayData) -> httpx.Response:
    if request.url.path != CSV_PATH:
        return httpx.Response(404, text="Not Found")
    series_id = request.url.params.get("id", "")
    rows = _replay_rows(data, series_id)
    if rows is None:
        return httpx.Response(404, text=f"Series {series_id} not found", headers={"Content-Type": "text/plain"})
    start, end = request.url.params.get("cosd"), request.url.params.get("coed")
    body = f"observation_date,{series_id}\n" + "".join(f"{d},{v}\n" for d, v in rows if _in_range(d, start, end))
    return httpx.Response(200, text=body, headers={"Content-Type": "text/csv"})


@replay_server(API_HOST)
def _replay_api(request: httpx.Request, data: ReplayData) -> httpx.Response:
    params = request.url.params
    if request.url.path != API_PATH:
        return json_response({"error_code": 404, "error_message": "Not Found"}, 404)
    if not params.get("api_key"):
        return json_response(
            {"error_code": 400, "error_message": "Bad Request.  Variable api_key is not set."}, 400
        )
    if params.get("file_type") != "json":
        return httpx.Response(200, text="<?xml version=\"1.0\" encoding=\"utf-8\" ?><observations/>")
    series_id = params.get("series_id", "")
    rows = _replay_rows(data, series_id)
    if rows is None:
        return json_response({"error_code": 400, "error_message": "Bad Request.  The series does not exist."}, 400)
    start = params.get("observation_start") or "1776-07-04"
    end = params.get("observation_end") or "9999-12-31"
    limit = int(params.get("limit") or API_PAGE_LIMIT)
    offset = int(params.get("offset") or 0)
    selected = [(d, v) for d, v in rows if _in_range(d, start, end)]
    if params.get("sort_order") == "desc":
        selected.reverse()
    today = date.today().isoformat()
    page = selected[offset : offset + limit]
    return json_response(
        {
            "realtime_start": today,
            "realtime_end": today,
            "observation_start": start,
            "observation_end": end,
            "units": "lin",
            "output_type": 1,
            "file_type": "json",
            "order_by": "observation_date",
            "sort_order": params.get("sort_order") or "asc",
            "count": len(selected),
            "offset": offset,
            "limit": limit,
            "observations": [
                {"realtime_start": today, "realtime_end": today, "date": d, "value": v} for d, v in page
            ],
        }
    )
