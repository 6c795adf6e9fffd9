"""The loopback server itself: real-shape answers with the real query semantics, and faults that are
what they claim to be (so the suite's verdicts rest on something true)."""

from __future__ import annotations

import time

import httpx
import pytest

from pipelines.sources import binance_spot, coinglass, farside

from .server import FaultServer, Hang, Reset, RetryAfter, truncated

JAN_1_2026_MS = 1767225600000
DAY_MS = 86_400_000


def get(server: FaultServer, host: str, path: str, **kw) -> httpx.Response:
    with httpx.Client(timeout=2.0) as client:
        return client.get(server.base_url + path, headers={"X-Forwarded-Host": host, **kw.pop("headers", {})}, **kw)


def test_binds_loopback_on_an_ephemeral_port(server):
    host, port = server.base_url.removeprefix("http://").split(":")
    assert host == "127.0.0.1" and int(port) > 0


def test_klines_honour_start_end_and_limit(server):
    params = {"symbol": "BTCUSDT", "interval": "1d", "startTime": JAN_1_2026_MS, "endTime": JAN_1_2026_MS + 9 * DAY_MS}
    ten = get(server, binance_spot.HOSTS[0], binance_spot.KLINES, params=params).json()
    assert [c[0] for c in ten] == [JAN_1_2026_MS + i * DAY_MS for i in range(10)]
    three = get(server, binance_spot.HOSTS[0], binance_spot.KLINES, params={**params, "limit": 3}).json()
    assert three == ten[:3]
    bad = get(server, binance_spot.HOSTS[0], binance_spot.KLINES, params={**params, "symbol": "NOPE"})
    assert bad.status_code == 400 and bad.json()["code"] == -1121


def test_coinglass_envelope_and_key_header(server):
    assert get(server, coinglass.HOST, coinglass.ETF_FLOW_HISTORY).status_code == 401
    body = get(server, coinglass.HOST, coinglass.ETF_FLOW_HISTORY, headers={"CG-API-KEY": "k"}).json()
    assert body["code"] == "0" and {"timestamp", "flow_usd", "etf_flows"} <= set(body["data"][0])


def test_farside_page_and_unknown_paths(server):
    page = get(server, farside.HOST, farside.FLOW_TABLE_PATH)
    assert page.status_code == 200 and '<table class="etf">' in page.text
    assert get(server, farside.HOST, "/elsewhere").status_code == 404


def test_scripted_faults_are_consumed_in_order_then_normal(server):
    server.script("farside", RetryAfter(3), truncated(0.1))
    first = get(server, farside.HOST, farside.FLOW_TABLE_PATH)
    second = get(server, farside.HOST, farside.FLOW_TABLE_PATH)
    third = get(server, farside.HOST, farside.FLOW_TABLE_PATH)
    assert (first.status_code, first.headers["Retry-After"]) == (429, "3")
    assert second.status_code == 200 and len(second.content) == len(third.content) // 10
    assert third.text.rstrip().endswith("</html>")
    assert [s.outcome for s in server.seen("farside")] == ["Status", "Transform", "ok"]


def test_reset_is_a_transport_error_and_hang_a_read_timeout(server):
    server.script("coinglass", Reset())
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        get(server, coinglass.HOST, coinglass.ETF_FLOW_HISTORY)
    server.script("coinglass", Hang(5.0))
    started = time.monotonic()
    with httpx.Client(timeout=httpx.Timeout(0.3)) as client, pytest.raises(httpx.ReadTimeout):
        client.get(server.base_url + coinglass.ETF_FLOW_HISTORY, headers={"X-Forwarded-Host": coinglass.HOST})
    assert time.monotonic() - started < 2.0


def test_stop_releases_a_hung_connection_promptly():
    srv = FaultServer().start()
    srv.always("farside", Hang(9.0))
    with httpx.Client(timeout=httpx.Timeout(0.2)) as client, pytest.raises(httpx.ReadTimeout):
        client.get(srv.base_url + farside.FLOW_TABLE_PATH, headers={"X-Forwarded-Host": farside.HOST})
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 2.0
