"""Alerts: a JSON message to a webhook (and the log) when an indicator's status changes or a check fails.

Statuses are those of ``marts.signal_dashboard``: bull_confirmation, neutral, bear_continuation and
no_data. A change into ``no_data`` is a data problem, not a market signal: it is reported as such, with
the missing input the dashboard names (``missing_inputs``), and a change out of it as data restored.

The webhook URL comes from ``BTC_SIGNALS_ALERT_WEBHOOK_URL`` (Slack/Discord/Teams-compatible incoming
webhooks, or any HTTP endpoint). It can embed a token, so only its scheme and host are ever logged.
"""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import httpx

import pipelines.sources.http  # noqa: F401  (silences httpx's URL-logging request log)

log = logging.getLogger(__name__)
WEBHOOK_ENV = "BTC_SIGNALS_ALERT_WEBHOOK_URL"


def webhook_url() -> str | None:
    return os.environ.get(WEBHOOK_ENV) or None


def describe_url(url: str) -> str:
    u = httpx.URL(url)
    return f"{u.scheme}://{u.host}{':' + str(u.port) if u.port else ''}/…"


def status_changes(db_path: Path, as_of: date | None = None) -> list[dict[str, Any]]:
    """Indicators whose status on ``as_of`` (default: the dashboard's last day) differs from the day before."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        day = as_of or con.execute("select max(as_of_date) from marts.signal_dashboard").fetchone()[0]
        if day is None:
            return []
        rows = con.execute(
            """
            select cur.indicator, prev.status, cur.status, cur.reading_text, cur.rule, cur.source_as_of, cur.is_stale,
                   cur.is_derived, cur.missing_inputs
            from marts.signal_dashboard as cur
            join marts.signal_dashboard as prev
              on prev.indicator = cur.indicator and prev.as_of_date = cur.as_of_date - interval 1 day
            where cur.as_of_date = ? and prev.status is distinct from cur.status
            order by cur.indicator
            """,
            [day],
        ).fetchall()
    return [
        {
            "as_of_date": str(day),
            "indicator": ind,
            "previous_status": prev,
            "status": cur,
            "reading_text": text,
            "rule": rule,
            "source_as_of": str(src) if src else None,
            "is_stale": stale,
            "is_derived": derived,
            "missing_inputs": missing,
            "kind": change_kind(prev, cur),
        }
        for ind, prev, cur, text, rule, src, stale, derived, missing in rows
    ]


NO_DATA = "no_data"


def change_kind(previous: str | None, current: str) -> str:
    """``data_missing`` (into no_data), ``data_restored`` (out of it) or ``signal`` (between market statuses)."""
    if current == NO_DATA:
        return "data_missing"
    if previous == NO_DATA:
        return "data_restored"
    return "signal"


def describe_change(change: dict[str, Any]) -> str:
    kind = change.get("kind") or change_kind(change.get("previous_status"), change["status"])
    head = f"• {change['indicator']}: {change['previous_status']} → {change['status']}"
    if kind == "data_missing":
        return f"{head} (no data: {change.get('missing_inputs') or change['rule']})"
    derived = " [derived input]" if change.get("is_derived") else ""
    restored = "data restored; " if kind == "data_restored" else ""
    return f"{head} ({restored}{change['rule']}){derived}"


def format_text(payload: dict[str, Any]) -> str:
    if payload["type"] == "status_change":
        lines = [f"btc-signals {payload['as_of_date']}: {len(payload['changes'])} status change(s)"]
        lines += [describe_change(c) for c in payload["changes"]]
        return "\n".join(lines)
    return f"btc-signals: run {payload['run_id']} of {payload['job']} failed; failed checks: {', '.join(payload['failed_checks']) or 'none'}"


def post(url: str, payload: dict[str, Any], *, attempts: int = 3, timeout_s: float = 5.0) -> bool:
    """POST the payload as JSON (with a ``text`` field chat webhooks display). True when delivered."""
    body = {"text": format_text(payload), **payload}
    for attempt in range(1, attempts + 1):
        try:
            response = httpx.post(url, json=body, timeout=timeout_s)
            if response.status_code < 300:
                log.info("alert delivered to %s: %s", describe_url(url), body["text"].splitlines()[0])
                return True
            problem = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            problem = type(exc).__name__
        log.warning("alert to %s failed (attempt %d/%d): %s", describe_url(url), attempt, attempts, problem)
    return False
