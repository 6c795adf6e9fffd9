"""Fault injection over a real socket: each fault either heals through a retry or fails with a clear
error naming source, endpoint and problem, and the warehouse never loses or duplicates a row.

Every test loads a good window first (2026-02-02..05 for ETF flows, January 2026 to 02-05 for the BTC
price), then re-loads the partition 2026-02-05 while the server misbehaves, and compares every raw
table before and after. The fault matrix with these test names is in docs/operations.md.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from .harness import FAKE_KEY, count, failure_message, range_tags, run_btc, run_etf, snapshot
from .server import (
    FaultServer,
    Hang,
    Reset,
    RetryAfter,
    Status,
    empty_body,
    json_edit,
    text_edit,
    truncated,
)

DAY = "2026-02-05"
ENDPOINTS = {
    "coinglass": "[coinglass] /api/etf/bitcoin/flow-history: ",
    "farside": "[farside] /bitcoin-etf-flow-all-data/: ",
    "binance": "[binance] /api/v3/klines: ",
}
GOOD_WINDOWS = {"coinglass": ("2026-02-02", "2026-02-05"), "farside": ("2026-02-02", "2026-02-05"),
                "binance": ("2026-01-01", "2026-02-05")}
KEYS = {"etf_flows": ("flow_date", "issuer"), "btc_price_daily": ("price_date",)}


@pytest.fixture(autouse=True)
def coinglass_key(monkeypatch):
    monkeypatch.setenv("COINGLASS_API_KEY", FAKE_KEY)


def run(route: str, db, server: FaultServer, **kw):
    if route == "binance":
        return run_btc(db, server, **kw)
    return run_etf(db, server, source=route, **kw)


def load_good(route: str, db, server: FaultServer) -> None:
    result = run(route, db, server, tags=range_tags(*GOOD_WINDOWS[route]))
    assert result.success, failure_message(result)
    server.reset_script()


def assert_consistent(db) -> None:
    """No duplicated key, and every record points at an archived payload."""
    for table, key in KEYS.items():
        if count(db, "select count(*) from information_schema.tables where table_schema='raw' and table_name=?", [table]):
            cols = ", ".join(key)
            dupes = count(db, f"select count(*) from (select {cols} from raw.{table} group by all having count(*) > 1)")
            assert dupes == 0, f"duplicated rows in raw.{table}"
            orphans = count(db, f"select count(*) from raw.{table} anti join raw.landing_payloads using (payload_id)")
            assert orphans == 0, f"raw.{table} rows without their archived payload"


def archive_growth(before: dict, after: dict) -> int:
    old, new = set(before.get("landing_payloads", [])), set(after.get("landing_payloads", []))
    assert old <= new, "the append-only archive lost a payload"
    return len(new - old)


def records(snap: dict) -> dict:
    return {k: v for k, v in snap.items() if k != "landing_payloads"}


# ------------------------------------------------------------------------------------------------
# Faults that heal: the retry succeeds, the partition is reloaded with the same rows.
# ------------------------------------------------------------------------------------------------
def http_date(seconds_from_now: int) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


@pytest.mark.parametrize(
    ("route", "fault"),
    [
        ("coinglass", Status(500)),
        ("farside", Status(502)),
        ("binance", Status(503)),
        ("farside", Hang(6.0)),  # read timeout
        ("coinglass", Reset()),
        ("binance", Reset()),
    ],
    ids=["coinglass-500", "farside-502", "binance-503", "farside-hung", "coinglass-reset", "binance-reset"],
)
def test_transient_fault_is_retried_and_the_reload_is_identical(tmp_path, server, sleeps, route, fault):
    db = tmp_path / "w.duckdb"
    load_good(route, db, server)
    before = snapshot(db, volatile=False)
    server.script(route, fault)
    result = run(route, db, server, partition=DAY)
    assert result.success, failure_message(result)
    assert [s.outcome for s in server.seen(route)] == [type(fault).__name__, "ok"]
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.05  # one full-jitter backoff of the first attempt
    after = snapshot(db, volatile=False)
    assert records(after) == records(before)
    # ETF endpoints take no parameters (same body, same archive row); the klines request for one day differs
    assert archive_growth(before, after) == (1 if route == "binance" else 0)
    assert_consistent(db)


@pytest.mark.parametrize(("retry_after", "low", "high"), [(lambda: "7", 7.0, 7.0), (lambda: http_date(5), 3.0, 5.5)],
                         ids=["delta-seconds", "http-date"])
def test_429_waits_as_long_as_retry_after_says(tmp_path, server, sleeps, retry_after, low, high):
    db = tmp_path / "w.duckdb"
    load_good("coinglass", db, server)
    before = snapshot(db, volatile=False)
    server.script("coinglass", RetryAfter(retry_after()))  # an HTTP date is made when the test runs
    result = run("coinglass", db, server, partition=DAY)
    assert result.success, failure_message(result)
    assert len(server.seen("coinglass")) == 2
    assert len(sleeps) == 1 and low <= sleeps[0] <= high
    assert snapshot(db, volatile=False) == before


def test_429_retry_after_is_really_waited_between_the_two_requests(tmp_path, server, sleeps):
    """Not just asked for: with real sleeping the server sees the retry no sooner than Retry-After."""
    sleeps.real = True
    db = tmp_path / "w.duckdb"
    load_good("farside", db, server)
    server.script("farside", RetryAfter(1))
    result = run("farside", db, server, partition=DAY)
    assert result.success, failure_message(result)
    first, second = server.seen("farside")
    assert second.at - first.at >= 1.0
    assert sleeps == [1.0]


def test_coinglass_down_falls_back_to_farside_with_the_same_rows(tmp_path, server, sleeps):
    db = tmp_path / "w.duckdb"
    load_good("farside", db, server)
    before = snapshot(db, volatile=False)
    server.always("coinglass", Status(500))
    result = run_etf(db, server, source="auto", partition=DAY)
    assert result.success, failure_message(result)
    assert len(server.seen("coinglass")) == 3 and len(server.seen("farside")) == 1
    reasons = result.asset_materializations_for_node("raw__etf_flows")[0].metadata["fallback_reasons"].value
    assert reasons == [ENDPOINTS["coinglass"] + "gave up after 3 attempts: HTTP 500"]
    assert snapshot(db, volatile=False) == before


def test_farside_columns_reordered_still_map_by_ticker(tmp_path, server, sleeps):
    """A layout change the parser is built for: the same funds in another column order give the same rows."""

    def swap_ibit_fbtc(html: str) -> str:
        def swap(m: re.Match) -> str:
            cells = re.findall(r"<t[hd]>.*?</t[hd]>", m.group(0))
            if len(cells) != 13:
                return m.group(0)
            cells[1], cells[2] = cells[2], cells[1]
            return "<tr>" + "".join(cells) + "</tr>"

        return re.sub(r"<tr>.*?</tr>", swap, html)

    db = tmp_path / "w.duckdb"
    load_good("farside", db, server)
    before = snapshot(db, volatile=False)
    server.always("farside", text_edit(swap_ibit_fbtc))
    result = run("farside", db, server, partition=DAY)
    assert result.success, failure_message(result)
    after = snapshot(db, volatile=False)
    assert archive_growth(before, after) == 1  # a different page, archived beside the first
    # same values per (day, issuer); only the record's own payload text (column order) differs
    strip = {t: [r[:3] + r[4:5] for r in rows] for t, rows in records(after).items()}
    assert strip == {t: [r[:3] + r[4:5] for r in rows] for t, rows in records(before).items()}


# ------------------------------------------------------------------------------------------------
# Faults that fail: a clear error naming source, endpoint and problem; the warehouse untouched.
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Failing:
    route: str
    setup: Callable[[FaultServer], None]
    problem: str  # regex on what follows "[source] endpoint: "
    requests: int  # how many requests the server saw
    archived: int  # bodies added to the append-only archive (the malformed one, kept for inspection)


def always(route, fault):
    return lambda srv: srv.always(route, fault)


def once(route, fault):
    return lambda srv: srv.script(route, fault)


def rename_in_records(old: str, new: str):
    def edit(body):
        for rec in body["data"]:
            rec[new] = rec.pop(old)
        return body

    return json_edit(edit)


FAILING = {
    "coinglass-503-persistent": Failing("coinglass", always("coinglass", Status(503)), r"gave up after 3 attempts: HTTP 503", 3, 0),
    "farside-429-persistent": Failing("farside", always("farside", RetryAfter(2)), r"gave up after 3 attempts: HTTP 429", 3, 0),
    "coinglass-hung": Failing("coinglass", always("coinglass", Hang(6.0)), r"gave up after 3 attempts: ReadTimeout", 3, 0),
    "binance-reset": Failing("binance", always("binance", Reset()),
                             r"gave up after 3 attempts: (ReadError|RemoteProtocolError)", 3, 0),
    "coinglass-truncated-json": Failing("coinglass", once("coinglass", truncated()), r"response is not valid JSON", 1, 1),
    "binance-truncated-json": Failing("binance", once("binance", truncated()), r"response is not valid JSON", 1, 1),
    "farside-truncated-html": Failing("farside", once("farside", truncated()),
                                      r"flow table is truncated \(no closing </table>\)", 1, 1),
    "coinglass-empty-200": Failing("coinglass", once("coinglass", empty_body()), r"empty response body \(HTTP 200\)", 1, 1),
    "farside-empty-200": Failing("farside", once("farside", empty_body()), r"empty response body \(HTTP 200\)", 1, 1),
    "binance-empty-200": Failing("binance", once("binance", empty_body()), r"empty response body \(HTTP 200\)", 1, 1),
    "coinglass-code-nonzero": Failing(
        "coinglass", once("coinglass", json_edit(lambda b: {"code": "40001", "msg": "Upgrade your plan", "data": None})),
        r"API error code 40001: Upgrade your plan \(field 'code', value '40001'\)", 1, 1),
    "coinglass-renamed-flow_usd": Failing("coinglass", once("coinglass", rename_in_records("flow_usd", "netflow_usd")),
                                          r"record for 2024-01-11: missing field \(field 'flow_usd', value None\)", 1, 1),
    "coinglass-renamed-timestamp": Failing("coinglass", once("coinglass", rename_in_records("timestamp", "date")),
                                           r"record 0: missing field \(field 'timestamp', value None\)", 1, 1),
    "binance-candle-as-object": Failing(
        "binance", once("binance", json_edit(lambda b: [{"openTime": c[0], "close": c[4]} for c in b])),
        r"candle open time is not an integer \(field 'openTime'", 1, 1),
    "farside-total-column-renamed": Failing(
        "farside", once("farside", text_edit(lambda h: h.replace("<th>Total</th>", "<th>Net</th>"))),
        r"flow table header not found: expected a row of tickers ending in 'Total'", 1, 1),
    "farside-extra-body-column": Failing(
        "farside", once("farside", text_edit(lambda h: h.replace("</span></td></tr>", "</span></td><td>1.0</td></tr>"))),
        r"row for 2024-01-11 has 14 cells, header has 13", 1, 1),
    "farside-date-format-changed": Failing(
        "farside", once("farside", text_edit(lambda h: h.replace("05 Feb 2026", "2026/02/05"))),
        r"row label is not a date \(field 'date', value '2026/02/05'\)", 1, 1),
    "coinglass-404": Failing("coinglass", once("coinglass", Status(404, b'{"code":"404","msg":"Not Found"}')),
                             r"HTTP 404", 1, 1),
}


@pytest.mark.parametrize("case", list(FAILING.values()), ids=list(FAILING))
def test_fault_fails_clearly_and_keeps_the_last_good_load(tmp_path, server, sleeps, case: Failing):
    db = tmp_path / "w.duckdb"
    load_good(case.route, db, server)
    before = snapshot(db)  # every column, ingested_at and run_id included: nothing may be rewritten
    case.setup(server)
    result = run(case.route, db, server, partition=DAY)
    assert not result.success
    message = failure_message(result)
    assert re.search(re.escape(ENDPOINTS[case.route]) + case.problem, message), message
    assert len(server.seen(case.route)) == case.requests
    after = snapshot(db)
    assert records(after) == records(before)
    assert archive_growth(before, after) == case.archived
    assert_consistent(db)
    assert not result.asset_materializations_for_node(
        "raw__btc_price_daily" if case.route == "binance" else "raw__etf_flows")
