"""Field helpers shared by the parsers: epoch milliseconds (UTC) and numbers that arrive as JSON numbers or
numeric strings, with errors naming the source, endpoint, field and value."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from pipelines.sources.http import SourceParseError

DAY_MS = 86_400_000


def date_to_ms(day: date) -> int:
    """The day's 00:00 UTC in milliseconds since the epoch."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def number(source: str, endpoint: str, record: dict[str, Any], key: str, where: str, *,
           nullable: bool = False) -> float | None:
    """``record[key]`` as a float (a number or a numeric string); null allowed only when ``nullable``."""
    if key not in record:
        raise SourceParseError(source, endpoint, f"{where}: missing field", field=key, value=None)
    value = record[key]
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SourceParseError(source, endpoint, f"{where}: not a number", field=key, value=value)
    try:
        return float(value)
    except ValueError:
        raise SourceParseError(source, endpoint, f"{where}: not a number", field=key, value=value) from None


def payload(record: Any) -> str:
    """A record's own JSON text, stable (sorted keys, no spaces)."""
    return json.dumps(record, separators=(",", ":"), sort_keys=True)


def exchange_funding_row(at: datetime, venue: str, symbol: str, pct: float, record: Any) -> dict[str, Any]:
    """One 8h funding of an exchange as a raw.futures_funding row (no daily OHLC: those are CoinGlass's)."""
    return {"funding_date": at.date(), "funding_time": at, "venue": venue, "symbol": symbol,
            "funding_open_pct": None, "funding_high_pct": None, "funding_low_pct": None,
            "funding_rate_pct": pct, "payload": payload(record)}


def error_detail(response: Any, code_key: str, msg_key: str) -> str:
    """What an HTTP error answer says, for the error message: ``": <code_key> <code> <msg>"`` from a JSON error
    envelope (e.g. Binance's ``code``/``msg``, Bybit's ``retCode``/``retMsg``), else the body's first 200
    characters, else nothing."""
    try:
        body = response.json()
    except ValueError:
        return f": {response.text[:200]}" if response.text.strip() else ""
    if isinstance(body, dict) and code_key in body:
        return f": {code_key} {body[code_key]} {body.get(msg_key)}"
    return ""
