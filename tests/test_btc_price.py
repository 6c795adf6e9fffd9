"""Binance spot daily klines: parser, pagination and the replay server's parameter handling."""

from datetime import date

import httpx
import pytest

from pipelines.settings import REPLAY_DATA_DIR
from pipelines.sources import binance_spot
from pipelines.sources.http import HttpClient, SourceHTTPError, SourceParseError
from pipelines.replay.transport import ReplayTransport

CANDLE = [1770249600000, "73019.70", "73100.00", "60200.00", "62702.10", "1234.5", 1770335999999, "77400000.0", 10, "0", "0", "0"]


def replay_client():
    transport = ReplayTransport(REPLAY_DATA_DIR)
    return HttpClient(transport=transport), transport


def test_parse_klines_real_shape():
    df = binance_spot.parse_klines([CANDLE])
    r = df.row(0, named=True)
    assert r["price_date"] == date(2026, 2, 5)
    assert (r["open_usd"], r["high_usd"], r["low_usd"], r["close_usd"]) == (73019.7, 73100.0, 60200.0, 62702.1)


@pytest.mark.parametrize(
    ("candle", "field"),
    [(CANDLE[:4], "candle"), (["x", *CANDLE[1:]], "openTime"), ([CANDLE[0], "73019.70", "oops", *CANDLE[3:]], "high_usd")],
)
def test_parse_klines_malformed(candle, field):
    with pytest.raises(SourceParseError) as exc:
        binance_spot.parse_klines([candle])
    assert exc.value.field == field and exc.value.source == "binance"


def test_replay_window_and_reference_close():
    http, transport = replay_client()
    df = binance_spot.parse_klines(binance_spot.fetch_daily_klines(http, date(2026, 2, 1), date(2026, 2, 8)))
    assert df["price_date"].to_list() == [date(2026, 2, d) for d in range(1, 8)]
    assert df.filter(df["price_date"] == date(2026, 2, 5))["close_usd"][0] == pytest.approx(62702.10, abs=0.01)
    assert len(transport.requests) == 1
    q = transport.requests[0].url.params
    assert q["symbol"] == "BTCUSDT" and q["interval"] == "1d" and q["limit"] == "1000"


def test_pagination_follows_pages(monkeypatch):
    monkeypatch.setattr(binance_spot, "MAX_LIMIT", 100)
    http, transport = replay_client()
    df = binance_spot.parse_klines(binance_spot.fetch_daily_klines(http, date(2024, 1, 11), date(2026, 3, 1)))
    assert df.height == 780  # every day of the window, once
    assert len(transport.requests) == 8  # 7 full pages of 100 and one of 80


def test_replay_honours_limit_and_rejects_bad_symbol():
    http, _ = replay_client()
    r = http.get("binance", "https://api.binance.com/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1d", "limit": 3, "startTime": 0})
    assert len(r.json()) == 3
    r = http.get("binance", "https://api.binance.com/api/v3/klines", params={"symbol": "NOPE", "interval": "1d"})
    assert r.status_code == 400 and r.json()["code"] == -1121


class Sequence(httpx.BaseTransport):
    def __init__(self, *responses):
        self.responses = list(responses)
        self.hosts = []

    def handle_request(self, request):
        self.hosts.append(request.url.host)
        return self.responses.pop(0)


def test_location_refusal_switches_to_the_market_data_host():
    t = Sequence(httpx.Response(451, json={"code": 0, "msg": "restricted location"}), httpx.Response(200, json=[CANDLE]))
    out = binance_spot.fetch_daily_klines(HttpClient(transport=t), date(2026, 2, 5), date(2026, 2, 6))
    assert out == [CANDLE]
    assert t.hosts == ["api.binance.com", "data-api.binance.vision"]


def test_error_status_is_a_clear_error():
    t = Sequence(httpx.Response(400, json={"code": -1121, "msg": "Invalid symbol."}))
    with pytest.raises(SourceHTTPError, match=r"\[binance\] /api/v3/klines: HTTP 400"):
        binance_spot.fetch_daily_klines(HttpClient(transport=t), date(2026, 2, 5), date(2026, 2, 6))
