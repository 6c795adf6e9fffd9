"""mempool.space public mining API (https://mempool.space/docs/api/rest, keyless).

Endpoints used (``{timePeriod}`` is one of ``24h 3d 1w 1m 3m 6m 1y 2y 3y 4y all``; the server filters
``time BETWEEN NOW() - INTERVAL <period> AND NOW()``; timestamps are seconds since the epoch, UTC):

* ``GET /api/v1/mining/hashrate/{timePeriod}`` →
  ``{"hashrates": [{"timestamp": 1770249600, "avgHashrate": 8.94e20}, ...],   # one per day, H/s
  "difficulty": [{"time": 1770475080, "height": 935424, "difficulty": 1.2586e14, "adjustment": 0.888}, ...],
  "currentHashrate": 9.1e20, "currentDifficulty": 1.2586e14}``. ``difficulty`` lists the retargets
  in the period (``adjustment`` = new / old difficulty, a ratio).
* ``GET /api/v1/mining/difficulty-adjustments/{timePeriod}`` → ``[[time, height, difficulty, adjustment], ...]``,
  newest first (one row per retarget).
* ``GET /api/v1/mining/blocks/fees/{timePeriod}`` → ``[{"avgHeight": 935000, "timestamp": 1770292800,
  "avgFees": 4270833, "USD": 62702.1}, ...]``: blocks grouped into buckets of ``24h/3d``: 1 block,
  ``1w`` 5 min, ``1m`` 30 min, ``3m`` 2 h, ``6m`` 3 h, ``1y``/``2y`` 8 h, ``3y``/``4y`` 12 h, ``all`` 24 h;
  ``avgFees`` is the mean fee total per block in the bucket, in satoshis (an integer); ``USD`` is
  mempool's BTC price at those blocks. Bucket boundaries divide UTC days evenly.
* ``GET /api/v1/difficulty-adjustment`` → the running epoch as of the server's *now*:
  ``{"progressPercent", "difficultyChange" (%), "estimatedRetargetDate" (ms), "remainingBlocks",
  "remainingTime" (ms), "previousRetarget" (%), "previousTime" (s), "nextRetargetHeight",
  "timeAvg" (ms), "adjustedTimeAvg" (ms), "timeOffset", "expectedBlocks"}``. It has no date parameter:
  the server's now is ``(estimatedRetargetDate - remainingTime) / 1000``.

Every parser raises :class:`SourceParseError` naming the endpoint, field and value when the payload
is not in this shape (an HTML error page, truncated JSON, a renamed or missing field).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from pipelines.landing.tables import (
    MINING_BLOCK_REWARDS,
    MINING_DIFFICULTY_ADJUSTMENTS,
    MINING_DIFFICULTY_ESTIMATE,
)
from pipelines.sources.http import HttpClient, SourceHTTPError, SourceParseError, declare_rate_limit, decode_json

SOURCE = "mempool"
HOST = "mempool.space"
BASE_URL = f"https://{HOST}"
HASHRATE = "/api/v1/mining/hashrate/{period}"
DIFFICULTY_ADJUSTMENTS = "/api/v1/mining/difficulty-adjustments/{period}"
BLOCK_FEES = "/api/v1/mining/blocks/fees/{period}"
DIFFICULTY_ESTIMATE = "/api/v1/difficulty-adjustment"
# mempool.space asks API users to stay well below its (undocumented) per-IP limits.
declare_rate_limit(HOST, 1.0)

# The periods the real API offers, smallest first: (name, months, days) of the SQL INTERVAL it subtracts.
TIME_PERIODS: list[tuple[str, int, int]] = [
    ("24h", 0, 1), ("3d", 0, 3), ("1w", 0, 7), ("1m", 1, 0), ("3m", 3, 0), ("6m", 6, 0),
    ("1y", 12, 0), ("2y", 24, 0), ("3y", 36, 0), ("4y", 48, 0),
]
ALL = "all"
PERIOD_NAMES = [p[0] for p in TIME_PERIODS] + [ALL]
# Seconds per bucket of the block fee/reward history for each period (mempool's getTimeRange).
FEE_BUCKET_SECONDS = {"24h": 1, "3d": 1, "1w": 300, "1m": 1800, "3m": 7200, "6m": 10800,
                      "1y": 28800, "2y": 28800, "3y": 43200, "4y": 43200, ALL: 86400}

EPOCH_BLOCKS = 2016
HALVING_INTERVAL = 210_000
SATS_PER_BTC = 100_000_000

HASHRATE_SCHEMA = {"hashrate_date": pl.Date, "hashrate_hs": pl.Float64, "payload": pl.String}
ADJUSTMENT_SCHEMA = MINING_DIFFICULTY_ADJUSTMENTS.schema
FEES_SCHEMA = MINING_BLOCK_REWARDS.schema
ESTIMATE_SCHEMA = MINING_DIFFICULTY_ESTIMATE.schema


def subsidy_btc(height: int) -> float:
    """Block subsidy at a height: 50 BTC halved every 210,000 blocks (3.125 from block 840,000)."""
    return 50.0 / (2 ** (height // HALVING_INTERVAL))


def _sub_months(ts: datetime, months: int) -> datetime:
    y, m = divmod(ts.month - 1 - months, 12)
    year, month = ts.year + y, m + 1
    day = min(ts.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31,
                       31, 30, 31, 30, 31][month - 1])
    return ts.replace(year=year, month=month, day=day)


def period_start(now: datetime, period: str) -> datetime | None:
    """``NOW() - INTERVAL <period>`` as MySQL computes it (calendar months clamp to the month's end); None = all."""
    if period == ALL:
        return None
    for name, months, days in TIME_PERIODS:
        if name == period:
            return _sub_months(now, months) - timedelta(days=days)
    raise ValueError(f"unknown mempool.space time period {period!r}; expected one of {PERIOD_NAMES}")


def choose_period(now: datetime, since: date) -> str:
    """The smallest period the API offers whose window, ending now, starts on or before ``since``."""
    since_dt = datetime(since.year, since.month, since.day, tzinfo=UTC)
    for name, _, _ in TIME_PERIODS:
        start = period_start(now, name)
        if start is not None and start <= since_dt:
            return name
    return ALL


class MempoolClient:
    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def _get(self, template: str, period: str | None = None) -> Any:
        if period is not None and period not in PERIOD_NAMES:
            raise ValueError(f"unknown mempool.space time period {period!r}; expected one of {PERIOD_NAMES}")
        path = template.format(period=period) if period is not None else template
        response = self.http.get(SOURCE, BASE_URL + path, endpoint=path)
        if response.status_code >= 400:
            raise SourceHTTPError(
                SOURCE, path, f"HTTP {response.status_code}: {response.text[:120]!r}", status=response.status_code
            )
        return decode_json(SOURCE, path, response)

    def hashrate(self, period: str) -> tuple[str, Any]:
        return HASHRATE.format(period=period), self._get(HASHRATE, period)

    def difficulty_adjustments(self, period: str) -> tuple[str, Any]:
        return DIFFICULTY_ADJUSTMENTS.format(period=period), self._get(DIFFICULTY_ADJUSTMENTS, period)

    def block_fees(self, period: str) -> tuple[str, Any]:
        return BLOCK_FEES.format(period=period), self._get(BLOCK_FEES, period)

    def difficulty_estimate(self) -> tuple[str, Any]:
        return DIFFICULTY_ESTIMATE, self._get(DIFFICULTY_ESTIMATE)


# ----------------------------------------------------------------------------------------- parsing


def _number(endpoint: str, record: Any, field: str, *, positive: bool = False, integer: bool = False) -> float:
    if not isinstance(record, dict):
        raise SourceParseError(SOURCE, endpoint, "expected an object", field="record", value=record)
    if field not in record:
        raise SourceParseError(SOURCE, endpoint, "missing field", field=field, value=record)
    value = record[field]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SourceParseError(SOURCE, endpoint, "not a finite number", field=field, value=value)
    if positive and value <= 0:
        raise SourceParseError(SOURCE, endpoint, "must be positive", field=field, value=value)
    if integer and value != int(value):
        raise SourceParseError(SOURCE, endpoint, "not an integer", field=field, value=value)
    return value


def _timestamp(endpoint: str, record: dict, field: str) -> datetime:
    """Seconds since the epoch; a millisecond value (13 digits) is a changed unit and rejected."""
    value = _number(endpoint, record, field, positive=True)
    if value > 1e11:
        raise SourceParseError(SOURCE, endpoint, "timestamp is not in seconds", field=field, value=value)
    return datetime.fromtimestamp(value, tz=UTC)


def _dump(record: Any) -> str:
    return json.dumps(record, separators=(",", ":"))


def parse_hashrate(endpoint: str, payload: Any) -> pl.DataFrame:
    """Daily network hashrate (H/s) from the ``hashrates`` array of the hashrate endpoint."""
    if not isinstance(payload, dict):
        raise SourceParseError(SOURCE, endpoint, "expected an object", field="body", value=type(payload).__name__)
    rows = payload.get("hashrates")
    if not isinstance(rows, list):
        raise SourceParseError(SOURCE, endpoint, "missing or not a list", field="hashrates", value=rows)
    out: dict[date, dict[str, Any]] = {}
    for rec in rows:
        day = _timestamp(endpoint, rec, "timestamp").date()
        hs = _number(endpoint, rec, "avgHashrate", positive=True)
        if day in out:
            raise SourceParseError(SOURCE, endpoint, f"two hashrates for {day}", field="timestamp", value=rec)
        out[day] = {"hashrate_date": day, "hashrate_hs": float(hs), "payload": _dump(rec)}
    return pl.DataFrame(list(out.values()), schema=HASHRATE_SCHEMA, orient="row").sort("hashrate_date")


def _adjustment_row(endpoint: str, rec: dict) -> dict[str, Any]:
    at = _timestamp(endpoint, rec, "time")
    height = int(_number(endpoint, rec, "height", positive=True, integer=True))
    if height % EPOCH_BLOCKS:
        raise SourceParseError(SOURCE, endpoint, "retarget height is not a multiple of 2016", field="height",
                               value=height)
    return {
        "adjustment_date": at.date(),
        "adjusted_at": at,
        "height": height,
        "difficulty": float(_number(endpoint, rec, "difficulty", positive=True)),
        "adjustment_ratio": float(_number(endpoint, rec, "adjustment", positive=True)),
        "payload": _dump(rec),
    }


def parse_hashrate_difficulty(endpoint: str, payload: Any) -> pl.DataFrame:
    """The retargets listed in the ``difficulty`` array of the hashrate endpoint."""
    if not isinstance(payload, dict):
        raise SourceParseError(SOURCE, endpoint, "expected an object", field="body", value=type(payload).__name__)
    rows = payload.get("difficulty")
    if not isinstance(rows, list):
        raise SourceParseError(SOURCE, endpoint, "missing or not a list", field="difficulty", value=rows)
    return _adjustments_frame(endpoint, [_adjustment_row(endpoint, r) for r in rows])


def parse_difficulty_adjustments(endpoint: str, payload: Any) -> pl.DataFrame:
    """``[[time, height, difficulty, adjustment], ...]`` → one row per retarget."""
    if not isinstance(payload, list):
        raise SourceParseError(SOURCE, endpoint, "expected a list", field="body", value=type(payload).__name__)
    rows = []
    for rec in payload:
        if not isinstance(rec, list) or len(rec) != 4:
            raise SourceParseError(SOURCE, endpoint, "expected [time, height, difficulty, adjustment]",
                                   field="row", value=rec)
        row = _adjustment_row(endpoint, dict(zip(("time", "height", "difficulty", "adjustment"), rec, strict=True)))
        row["payload"] = _dump(rec)
        rows.append(row)
    return _adjustments_frame(endpoint, rows)


def _adjustments_frame(endpoint: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=ADJUSTMENT_SCHEMA, orient="row").sort("height")
    dupes = frame.filter(pl.col("height").is_duplicated())
    if dupes.height:
        raise SourceParseError(SOURCE, endpoint, "retarget listed twice", field="height",
                               value=dupes["height"].to_list())
    return frame


def parse_block_fees(endpoint: str, payload: Any) -> pl.DataFrame:
    """Per UTC day: mean fees per block (the mean of the day's bucket means, satoshis), mean height,
    the subsidy at that height, how many buckets the day had and mempool's mean USD price."""
    if not isinstance(payload, list):
        raise SourceParseError(SOURCE, endpoint, "expected a list", field="body", value=type(payload).__name__)
    days: dict[date, list[dict[str, Any]]] = {}
    for rec in payload:
        day = _timestamp(endpoint, rec, "timestamp").date()
        fees = _number(endpoint, rec, "avgFees")
        if fees < 0:
            raise SourceParseError(SOURCE, endpoint, "negative fees", field="avgFees", value=fees)
        height = _number(endpoint, rec, "avgHeight", positive=True)
        usd = rec.get("USD") if isinstance(rec, dict) else None
        if usd is not None and (isinstance(usd, bool) or not isinstance(usd, int | float)):
            raise SourceParseError(SOURCE, endpoint, "not a number", field="USD", value=usd)
        days.setdefault(day, []).append({"fees": fees, "height": height, "usd": usd, "rec": rec})
    out = []
    for day, items in sorted(days.items()):
        height = round(sum(i["height"] for i in items) / len(items))
        prices = [i["usd"] for i in items if i["usd"]]
        out.append(
            {
                "reward_date": day,
                "avg_height": height,
                "avg_fees_per_block_sats": sum(i["fees"] for i in items) / len(items),
                "subsidy_per_block_btc": subsidy_btc(height),
                "fee_buckets": len(items),
                "price_usd": sum(prices) / len(prices) if prices else None,
                "payload": _dump([i["rec"] for i in items]),
            }
        )
    return pl.DataFrame(out, schema=FEES_SCHEMA, orient="row")


def parse_difficulty_estimate(payload: Any, snapshot_date: date) -> pl.DataFrame:
    """One row: the running epoch's estimate, with the server's own clock recovered from the payload."""
    ep = DIFFICULTY_ESTIMATE
    if not isinstance(payload, dict):
        raise SourceParseError(SOURCE, ep, "expected an object", field="body", value=type(payload).__name__)
    retarget_ms = _number(ep, payload, "estimatedRetargetDate", positive=True)
    remaining_ms = _number(ep, payload, "remainingTime")
    previous = _number(ep, payload, "previousTime", positive=True)
    # mempool's interface comment says ms but the server sends the retarget block's time in seconds
    previous_at = datetime.fromtimestamp(previous / 1000 if previous > 1e11 else previous, tz=UTC)
    progress = _number(ep, payload, "progressPercent")
    if not 0 <= progress <= 100:
        raise SourceParseError(SOURCE, ep, "outside 0..100", field="progressPercent", value=progress)
    change = _number(ep, payload, "difficultyChange")
    if not -75 <= change <= 300:
        raise SourceParseError(SOURCE, ep, "outside the protocol's -75..+300 %", field="difficultyChange", value=change)
    row = {
        "snapshot_date": snapshot_date,
        "server_now_at": datetime.fromtimestamp((retarget_ms - remaining_ms) / 1000, tz=UTC),
        "progress_pct": float(progress),
        "difficulty_change_pct": float(change),
        "estimated_retarget_at": datetime.fromtimestamp(retarget_ms / 1000, tz=UTC),
        "remaining_blocks": int(_number(ep, payload, "remainingBlocks", integer=True)),
        "previous_retarget_pct": float(_number(ep, payload, "previousRetarget")),
        "previous_retarget_at": previous_at,
        "next_retarget_height": int(_number(ep, payload, "nextRetargetHeight", positive=True, integer=True)),
        "time_avg_ms": float(_number(ep, payload, "timeAvg", positive=True)),
        "payload": _dump(payload),
    }
    return pl.DataFrame([row], schema=ESTIMATE_SCHEMA, orient="row")
