"""Epoch-millisecond helpers shared by the clients of APIs that speak milliseconds (UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime

DAY_MS = 86_400_000


def date_to_ms(day: date) -> int:
    """The day's 00:00 UTC in milliseconds since the epoch."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
