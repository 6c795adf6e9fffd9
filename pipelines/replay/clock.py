"""The one "as of" clock.

Endpoints that only serve the *current* state (an option chain, the running difficulty epoch) have no date
parameter. An asset that snapshots such an endpoint, or wants a re-run to get byte-identical answers, wraps its
requests in ``with as_of(instant):``. Replay servers answer as of that instant; live servers ignore it (the real
server's "now" is the only one there is), so the call is a no-op live and no asset needs to know the mode.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

_AS_OF: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("as_of", default=None)


@contextlib.contextmanager
def as_of(instant: datetime) -> Iterator[None]:
    token = _AS_OF.set(instant if instant.tzinfo else instant.replace(tzinfo=UTC))
    try:
        yield
    finally:
        _AS_OF.reset(token)


def replay_now() -> datetime:
    """The instant a replay server answers as of (the wall clock when no ``as_of`` is in force)."""
    return _AS_OF.get() or datetime.now(tz=UTC)


def day_close(day: date) -> datetime:
    """The instant day ``day`` closes: ``day + 1`` 00:00 UTC."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)
