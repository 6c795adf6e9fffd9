"""Replay server for mempool.space's mining API, answering as of the ``as_of`` clock and keeping only the rows
inside ``[now - timePeriod, now]`` as the real server filters."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx

from pipelines.replay.clock import replay_now
from pipelines.replay.transport import ReplayData, json_response, replay_server
from pipelines.sources.mempool import (
    BLOCK_FEES,
    DIFFICULTY_ADJUSTMENTS,
    DIFFICULTY_ESTIMATE,
    HASHRATE,
    HOST,
    PERIOD_NAMES,
    period_start,
)

_CACHE: dict[tuple, dict[str, Any]] = {}


def _file(data: ReplayData, name: str, *, provenance: bool = True) -> Any:
    """One bundled file, parsed once per version (keyed by path, size and mtime: edits are picked up)."""
    path = data.path(f"mempool/{name}.json", provenance=provenance)
    key = (str(path), path.stat().st_mtime_ns, path.stat().st_size)
    if key not in _CACHE:
        _CACHE[key] = data.json(f"mempool/{name}.json", provenance=provenance)
    return _CACHE[key]


def estimate_range(replay_dir: Path) -> tuple[date, date]:
    """First and last day the bundled running-epoch snapshots cover."""
    days = sorted(_file(ReplayData(replay_dir), "difficulty_estimates"))
    return date.fromisoformat(days[0]), date.fromisoformat(days[-1])


def _in_period(ts: float, start: datetime | None, now: datetime) -> bool:
    return (start is None or ts >= start.timestamp()) and ts <= now.timestamp()


def _estimate(data: ReplayData, now: datetime) -> httpx.Response:
    # the latest snapshot the chain state allows: past the dataset's end, the last one (a stalled view)
    estimates = _file(data, "difficulty_estimates")
    today = now.date().isoformat()
    latest = max((d for d in estimates if d <= today), default=None)
    if latest is None:
        return httpx.Response(404, text="replay: no chain state before the dataset starts")
    return json_response(estimates[latest])


def _hashrate(data: ReplayData, start: datetime | None, now: datetime) -> httpx.Response:
    # the difficulty[] array uses only the retargets' real values (new difficulty, ratio): not a derived input
    all_adjustments = _file(data, "difficulty_adjustments", provenance=False)
    adjustments = [a for a in all_adjustments if _in_period(a[0], start, now)]
    all_hashrates = _file(data, "hashrates")
    current = [r for r in all_hashrates if r["timestamp"] <= now.timestamp()]
    current_adj = [a for a in all_adjustments if a[0] <= now.timestamp()]
    return json_response(
        {
            "hashrates": [r for r in all_hashrates if _in_period(r["timestamp"], start, now)],
            "difficulty": [{"time": t, "height": h, "difficulty": d, "adjustment": a} for t, h, d, a in adjustments],
            "currentHashrate": current[-1]["avgHashrate"] if current else 0,
            "currentDifficulty": current_adj[-1][2] if current_adj else 0,
        }
    )


@replay_server(HOST)
def _replay(request: httpx.Request, data: ReplayData) -> httpx.Response:
    """A fake mempool.space answering as of the replay clock. The bundled block-fee history has one
    bucket per day whatever the period (see pipelines/replay/data/mempool/README.md)."""
    path = request.url.path
    now = replay_now()
    if path == DIFFICULTY_ESTIMATE:
        return _estimate(data, now)
    parts = path.rstrip("/").split("/")
    period = parts[-1]
    base = "/".join(parts[:-1]) + "/{period}"
    if base not in (HASHRATE, DIFFICULTY_ADJUSTMENTS, BLOCK_FEES):
        return httpx.Response(404, text=f"Cannot GET {path}")
    if period not in PERIOD_NAMES:
        # the real server treats an unknown period like 'all' in SQL but answers 200; be strict in replay
        return httpx.Response(400, text=f"replay: unknown time period {period!r}")
    start = period_start(now, period)
    if base == DIFFICULTY_ADJUSTMENTS:
        adjustments = [a for a in _file(data, "difficulty_adjustments") if _in_period(a[0], start, now)]
        return json_response(sorted(adjustments, key=lambda a: -a[1]))
    if base == BLOCK_FEES:
        return json_response([r for r in _file(data, "block_fees") if _in_period(r["timestamp"], start, now)])
    return _hashrate(data, start, now)
