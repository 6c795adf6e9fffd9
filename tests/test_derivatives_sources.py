"""Derivatives sources: CoinGlass futures endpoints, Binance USDⓈ-M and Bybit — parsers and clients on real-shape
payloads, error envelopes, malformed input, and the replay servers honouring the real parameters (Bybit: replay
holds no history and says so)."""

import json
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from pipelines.settings import REPLAY_DATA_DIR
from pipelines.sources import binance_futures, bybit, coinglass
from pipelines.sources.http import HttpClient, RetryPolicy, SourceError, SourceHTTPError, SourceParseError
from pipelines.replay.transport import ReplayTransport

FEB5 = date(2026, 2, 5)


def replay_http() -> tuple[HttpClient, ReplayTransport]:
    transport = ReplayTransport(REPLAY_DATA_DIR)
    return HttpClient(transport=transport, sleep=lambda s: None), transport


def mock_http(handler) -> HttpClient:
    return HttpClient(transport=httpx.MockTransport(handler), sleep=lambda s: None,
                      retry=RetryPolicy(max_attempts=2, backoff_base_s=0))


def ms(d: date, hour: int = 0) -> int:
    return int(datetime(d.year, d.month, d.day, hour, tzinfo=UTC).timestamp() * 1000)


# ------------------------------------------------------------------ CoinGlass parsers
OI_RECORDS = [  # real shape: numbers (20251114 snapshot) or numeric strings (documented example)
    {"time": 1733529600000, "open": 61299990828, "high": 61903786048, "low": 61044293249, "close": 61077000000.5},
    {"time": 1733616000000, "open": "61077000000", "high": "62000000000", "low": "60000000000", "close": "61500000000"},
]


def test_coinglass_open_interest_parser_reads_numbers_and_numeric_strings():
    df = coinglass.parse_futures_open_interest(OI_RECORDS)
    assert df["oi_date"].to_list() == [date(2024, 12, 7), date(2024, 12, 8)]
    assert df["venue"].to_list() == ["all", "all"]
    assert df["oi_close_usd"].to_list() == [61077000000.5, 61500000000.0]
    assert json.loads(df["payload"][0])["high"] == 61903786048


def test_coinglass_funding_parser_keeps_percent_per_8h():
    df = coinglass.parse_futures_funding([{"time": ms(FEB5), "open": "0.009173", "high": 0.0092, "low": -0.0050,
                                           "close": -0.004957}])
    row = df.row(0, named=True)
    assert row["funding_date"] == FEB5 and row["funding_rate_pct"] == pytest.approx(-0.004957)
    assert row["funding_open_pct"] == pytest.approx(0.009173)
    assert row["funding_time"] == datetime(2026, 2, 5, tzinfo=UTC)


def test_coinglass_liquidation_parser_names_the_venue_set():
    df = coinglass.parse_futures_liquidations(
        [{"time": ms(FEB5), "aggregated_long_liquidation_usd": 1.0e9, "aggregated_short_liquidation_usd": 3.4e6}],
        "Binance, OKX")
    assert df.row(0, named=True)["venue"] == "binance,okx"
    assert df["long_liquidation_usd"][0] == 1.0e9


@pytest.mark.parametrize(
    ("records", "field", "value"),
    [
        ([{"open": 1, "high": 1, "low": 1, "close": 1}], "time", None),
        ([{"time": "yesterday", "open": 1, "high": 1, "low": 1, "close": 1}], "time", "yesterday"),
        ([{"time": 1733529600000, "open": 1, "high": 1, "low": 1}], "close", None),
        ([{"time": 1733529600000, "open": 1, "high": 1, "low": 1, "close": "n/a"}], "close", "n/a"),
        ([{"time": 1733529600000, "open": 1, "high": 1, "low": 1, "close": None}], "close", None),
        ([{"time": 1733529600000, "o": 1, "h": 1, "l": 1, "c": 1}], "open", None),  # renamed fields
        ([OI_RECORDS[0], OI_RECORDS[0]], "time", 1733529600000),  # duplicate day
        (["not an object"], "data[]", "not an object"),
    ],
)
def test_coinglass_open_interest_parser_rejects_malformed_records(records, field, value):
    with pytest.raises(SourceParseError) as err:
        coinglass.parse_futures_open_interest(records)
    assert err.value.source == "coinglass" and err.value.endpoint == coinglass.FUTURES_OI_HISTORY
    assert err.value.field == field and err.value.value == value


def test_coinglass_liquidation_parser_rejects_renamed_field():
    with pytest.raises(SourceParseError) as err:
        coinglass.parse_futures_liquidations([{"time": ms(FEB5), "longVolUsd": 1, "aggregated_short_liquidation_usd": 2}])
    assert err.value.field == "aggregated_long_liquidation_usd"


# ------------------------------------------------------------------ CoinGlass envelopes and errors
@pytest.mark.parametrize(
    ("status", "body", "kind", "text"),
    [
        (200, {"code": "40001", "msg": "Upgrade plan"}, SourceError, "API error code 40001: Upgrade plan"),
        (401, {"code": "401", "msg": "plan does not include this endpoint"}, SourceHTTPError, "HTTP 401"),
        (429, {"code": "429", "msg": "Too Many Requests"}, SourceHTTPError, "gave up after 2 attempts: HTTP 429"),
        (200, {"code": "0", "msg": "success"}, SourceParseError, "envelope has no 'data'"),
        (200, {"code": "0", "msg": "success", "data": {"list": []}}, SourceParseError, "expected a list"),
    ],
)
def test_coinglass_futures_error_envelopes_are_clear(status, body, kind, text):
    http = mock_http(lambda request: httpx.Response(status, json=body))
    client = coinglass.CoinGlassClient(http, "k")
    with pytest.raises(kind) as err:
        coinglass.futures_open_interest_history(client, FEB5, date(2026, 2, 6))
    assert text in str(err.value) and coinglass.FUTURES_OI_HISTORY in str(err.value)


def test_coinglass_truncated_json_is_a_parse_error():
    http = mock_http(lambda request: httpx.Response(200, content=b'{"code":"0","msg":"success","data":[{"time":17'))
    with pytest.raises(SourceParseError, match="not valid JSON"):
        coinglass.futures_funding_history(coinglass.CoinGlassClient(http, "k"), FEB5, date(2026, 2, 6))


def test_coinglass_requests_carry_the_real_parameters_and_chunk_long_windows():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.url.params))
        return httpx.Response(200, json={"code": "0", "msg": "success", "data": []})

    client = coinglass.CoinGlassClient(mock_http(handler), "k")
    coinglass.futures_liquidation_history(client, date(2021, 1, 1), date(2026, 1, 1), "Binance,OKX")
    assert len(seen) == 2  # 1826 days in chunks of at most 1000 bars
    first = seen[0]
    assert first["symbol"] == "BTC" and first["interval"] == "1d" and first["limit"] == "1000"
    assert first["exchange_list"] == "Binance,OKX"
    assert int(first["start_time"]) == ms(date(2021, 1, 1))
    assert int(seen[1]["start_time"]) == int(first["end_time"]) + 1
    assert int(seen[-1]["end_time"]) == ms(date(2026, 1, 1)) - 1


# ------------------------------------------------------------------ CoinGlass replay routes
def test_coinglass_replay_honours_window_and_limit():
    http, _ = replay_http()
    client = coinglass.CoinGlassClient(http, "replay")
    rows = coinglass.futures_open_interest_history(client, date(2026, 1, 29), date(2026, 2, 6))
    df = coinglass.parse_futures_open_interest(rows)
    assert df["oi_date"].to_list() == [date(2026, 1, 29) + (date(2026, 1, 2) - date(2026, 1, 1)) * i for i in range(8)]
    # the reference case: about 61bn a week before 5 Feb, about 49bn on 5 Feb
    by_day = dict(zip(df["oi_date"].to_list(), df["oi_close_usd"].to_list(), strict=True))
    assert by_day[date(2026, 1, 29)] == pytest.approx(61e9, rel=0.01)
    assert by_day[FEB5] == pytest.approx(49e9, rel=0.01)
    limited = client.get_data(coinglass.FUTURES_FUNDING_HISTORY, {"symbol": "BTC", "interval": "1d", "limit": 3,
                                                                  "end_time": ms(FEB5)})
    assert [r["time"] for r in limited] == [ms(date(2026, 2, 3)), ms(date(2026, 2, 4)), ms(FEB5)]


@pytest.mark.parametrize(
    ("params", "msg"),
    [
        ({"symbol": "ETH", "interval": "1d"}, "symbol"),
        ({"symbol": "BTC", "interval": "4h"}, "interval"),
        ({"symbol": "BTC", "interval": "1d", "limit": 5000}, "limit"),
    ],
)
def test_coinglass_replay_rejects_bad_parameters_with_an_error_code(params, msg):
    http, _ = replay_http()
    with pytest.raises(SourceError, match=f"API error code 400: .*{msg}"):
        coinglass.CoinGlassClient(http, "replay").get_data(coinglass.FUTURES_OI_HISTORY, params)


def test_coinglass_replay_liquidations_need_the_exchange_list():
    http, _ = replay_http()
    client = coinglass.CoinGlassClient(http, "replay")
    with pytest.raises(SourceError, match="exchange_list is required"):
        client.get_data(coinglass.FUTURES_LIQUIDATION_HISTORY, {"symbol": "BTC", "interval": "1d"})
    with pytest.raises(SourceError, match="Binance only"):
        coinglass.futures_liquidation_history(client, FEB5, date(2026, 2, 6), "Binance,OKX")
    rows = coinglass.futures_liquidation_history(client, FEB5, date(2026, 2, 6))
    assert [r["time"] for r in rows] == [ms(FEB5)]


def test_coinglass_replay_without_key_is_401():
    http, _ = replay_http()
    resp = http.get("coinglass", coinglass.BASE_URL + coinglass.FUTURES_OI_HISTORY, params={"symbol": "BTC"})
    assert resp.status_code == 401


# ------------------------------------------------------------------ Binance USDⓈ-M
BINANCE_FUNDING = [  # real rows (gravestone-data), real shape incl. markPrice
    {"symbol": "BTCUSDT", "fundingTime": 1770249600011, "fundingRate": "0.00009173", "markPrice": "73100.10"},
    {"symbol": "BTCUSDT", "fundingTime": 1770278400000, "fundingRate": "0.00000298", "markPrice": "70100.00"},
    {"symbol": "BTCUSDT", "fundingTime": 1770307200007, "fundingRate": "-0.00004957", "markPrice": "62900.00"},
]


def test_binance_funding_parser_converts_fraction_to_percent():
    df = binance_futures.parse_funding(BINANCE_FUNDING)
    assert df["funding_date"].to_list() == [FEB5, FEB5, FEB5]
    assert df["funding_rate_pct"].to_list() == pytest.approx([0.009173, 0.000298, -0.004957])
    assert df["venue"].unique().to_list() == ["binance"]


def test_binance_open_interest_snapshot_belongs_to_the_previous_day():
    df = binance_futures.parse_open_interest([{"symbol": "BTCUSDT", "sumOpenInterest": "80199.65700000",
                                               "sumOpenInterestValue": "5452680747.03495700", "timestamp": 1771632000000}])
    row = df.row(0, named=True)
    assert row["oi_date"] == date(2026, 2, 20)  # stamped 2026-02-21 00:00 UTC
    assert row["oi_close_btc"] == pytest.approx(80199.657) and row["oi_close_usd"] == pytest.approx(5452680747.035)


@pytest.mark.parametrize(
    ("records", "field"),
    [
        ([{"symbol": "BTCUSDT", "fundingTime": "1770307200011", "fundingRate": "0.0001"}], "fundingTime"),
        ([{"symbol": "BTCUSDT", "fundingTime": 1770307200011}], "fundingRate"),
        ([{"symbol": "BTCUSDT", "fundingTime": 1770307200011, "fundingRate": "abc"}], "fundingRate"),
        ([{"symbol": "ETHUSDT", "fundingTime": 1770307200011, "fundingRate": "0.0001"}], "symbol"),
        ([BINANCE_FUNDING[0], BINANCE_FUNDING[0]], "fundingTime"),
    ],
)
def test_binance_funding_parser_rejects_malformed_records(records, field):
    with pytest.raises(SourceParseError) as err:
        binance_futures.parse_funding(records)
    assert err.value.source == "binance" and err.value.field == field


def test_binance_error_body_is_reported():
    http = mock_http(lambda r: httpx.Response(400, json={"code": -1121, "msg": "Invalid symbol."}))
    with pytest.raises(SourceHTTPError, match=r"HTTP 400: code -1121 Invalid symbol\."):
        binance_futures.BinanceFuturesClient(http).funding_history(FEB5, date(2026, 2, 6))
    banned = mock_http(lambda r: httpx.Response(418, json={"code": -1003, "msg": "banned"}))
    with pytest.raises(SourceHTTPError, match="IP banned"):
        binance_futures.BinanceFuturesClient(banned).funding_history(FEB5, date(2026, 2, 6))


def test_binance_replay_paginates_funding_with_limit_and_start_time():
    http, transport = replay_http()
    rows = binance_futures.BinanceFuturesClient(http, live=False).funding_history(date(2024, 1, 11), date(2026, 3, 1))
    assert len(rows) == 780 * 3  # every 8h funding of the window, no duplicates
    pages = [r for r in transport.requests if r.url.path == binance_futures.FUNDING_RATE]
    assert len(pages) == 3 and all(p.url.params["limit"] == "1000" for p in pages)
    assert int(pages[1].url.params["startTime"]) == rows[999]["fundingTime"] + 1
    df = binance_futures.parse_funding(rows)
    assert df.filter(df["funding_date"] == FEB5)["funding_rate_pct"].mean() == pytest.approx(0.0015047, abs=1e-6)


def test_binance_replay_refuses_bad_parameters():
    http, _ = replay_http()
    for params in ({"symbol": "XYZ"}, {"symbol": "BTCUSDT", "limit": 1001}):
        resp = http.get("binance", binance_futures.BASE_URL + binance_futures.FUNDING_RATE, params=params)
        assert resp.status_code == 400 and resp.json()["code"] in (-1121, -1130)
    resp = http.get("binance", binance_futures.BASE_URL + binance_futures.OPEN_INTEREST_HIST,
                    params={"symbol": "BTCUSDT", "period": "5m"})
    assert resp.status_code == 400


def test_binance_live_open_interest_is_clamped_to_30_days():
    seen = []

    def handler(request):
        seen.append(dict(request.url.params))
        return httpx.Response(200, json=[])

    client = binance_futures.BinanceFuturesClient(mock_http(handler), live=True)
    assert client.open_interest_history(date(2024, 1, 1), date(2024, 2, 1)) == []  # all older than 30 days
    assert seen == []
    today = datetime.now(tz=UTC).date()
    client.open_interest_history(date(2024, 1, 1), today)
    assert int(seen[0]["startTime"]) >= ms(today) - 30 * 86_400_000 and seen[0]["period"] == "1d"


# ------------------------------------------------------------------ Bybit
def test_bybit_parsers_on_real_shapes():
    funding = bybit.parse_funding([{"symbol": "BTCUSDT", "fundingRate": "-0.00004957", "fundingRateTimestamp": "1770307200000"}])
    assert funding.row(0, named=True)["funding_rate_pct"] == pytest.approx(-0.004957)
    oi = bybit.parse_open_interest([{"openInterest": "52310.4", "timestamp": "1770336000000"}])
    assert oi.row(0, named=True)["oi_date"] == date(2026, 2, 5) and oi["oi_close_usd"][0] is None


@pytest.mark.parametrize(
    ("records", "field"),
    [
        ([{"openInterest": "1", "timestamp": 1.5}], "timestamp"),
        ([{"open_interest": "1", "timestamp": "1770336000000"}], "openInterest"),
        ([{"openInterest": "x", "timestamp": "1770336000000"}], "openInterest"),
        ([["52310.4", "1770336000000"]], "list[]"),
    ],
)
def test_bybit_open_interest_parser_rejects_malformed_records(records, field):
    with pytest.raises(SourceParseError) as err:
        bybit.parse_open_interest(records)
    assert err.value.source == "bybit" and err.value.field == field


def test_bybit_error_envelope_with_http_200_is_an_error():
    http = mock_http(lambda r: httpx.Response(200, json={"retCode": 10001, "retMsg": "params error", "result": {},
                                                         "retExtInfo": {}, "time": 1}))
    with pytest.raises(SourceError, match="retCode 10001: params error"):
        bybit.BybitClient(http).open_interest_history(FEB5, date(2026, 2, 6))


def _bybit_server(oi: list[dict], funding: list[dict]):
    """A fake of api.bybit.com in its real shapes: newest first, OI paged by an opaque cursor, funding by endTime."""
    def handler(request: httpx.Request) -> httpx.Response:
        q = request.url.params
        key, rows = (("timestamp", oi) if request.url.path == bybit.OPEN_INTEREST else ("fundingRateTimestamp", funding))
        rows = sorted((r for r in rows if int(q["startTime"]) <= int(r[key]) <= int(q["endTime"])),
                      key=lambda r: -int(r[key]))
        offset, limit = int(q.get("cursor") or 0), int(q["limit"])
        result = {"category": "linear", "list": rows[offset: offset + limit]}
        if request.url.path == bybit.OPEN_INTEREST:
            result |= {"symbol": "BTCUSDT", "nextPageCursor": str(offset + limit) if offset + limit < len(rows) else ""}
        return httpx.Response(200, json={"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": 1})
    return handler


def test_bybit_live_client_pages_oi_by_cursor_and_funding_backwards_by_end_time():
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(450)]
    oi = [{"openInterest": f"{50000 + i}.5", "timestamp": str(ms(d + timedelta(days=1)))} for i, d in enumerate(days)]
    funding = [{"symbol": "BTCUSDT", "fundingRate": "0.0001", "fundingRateTimestamp": str(ms(d, h))}
               for d in days for h in (0, 8, 16)]
    requests: list[httpx.Request] = []
    server = _bybit_server(oi, funding)
    client = bybit.BybitClient(mock_http(lambda r: requests.append(r) or server(r)))
    got = client.open_interest_history(days[0], days[-1] + timedelta(days=1))
    pages = [r for r in requests if r.url.path == bybit.OPEN_INTEREST]
    assert len(got) == 450 and len({r["timestamp"] for r in got}) == 450 and len(pages) == 3
    assert "cursor" not in pages[0].url.params and pages[1].url.params["cursor"] == "200"
    assert bybit.parse_open_interest(got)["oi_date"].to_list() == days
    rates = client.funding_history(days[0], days[-1] + timedelta(days=1))
    fpages = [r for r in requests if r.url.path == bybit.FUNDING_HISTORY]
    assert len(rates) == 450 * 3 and len({r["fundingRateTimestamp"] for r in rates}) == 450 * 3
    assert len(fpages) == 7 and int(fpages[1].url.params["endTime"]) < int(fpages[0].url.params["endTime"])


def test_bybit_replay_holds_no_history_and_the_planner_skips_it():
    """No public Bybit history exists: replay answers 404 replay-no-data (a clear error), and says so beforehand."""
    from pipelines.ingest.derivatives import plan_sources
    from pipelines.landing.tables import FUTURES_FUNDING, FUTURES_OPEN_INTEREST
    from pipelines.replay import bybit as bybit_replay
    from pipelines.resources import SourcesResource

    http, _ = replay_http()
    for call in (lambda c: c.open_interest_history(FEB5, date(2026, 2, 6)), lambda c: c.funding_history(FEB5, date(2026, 2, 6))):
        with pytest.raises(SourceHTTPError) as err:
            call(bybit.BybitClient(http))
        assert err.value.source == "bybit" and err.value.status == 404
        assert "retCode replay-no-data" in str(err.value) and "no Bybit history" in str(err.value)
    assert [bybit_replay.why_not(e).split(" (")[0] for e in bybit_replay.ENDPOINTS] == [
        f"replay holds no Bybit history for {e}" for e in (bybit.FUNDING_HISTORY, bybit.OPEN_INTEREST)]
    replay, live = SourcesResource(mode="replay", replay_dir=str(REPLAY_DATA_DIR)), SourcesResource(mode="live")
    for table in (FUTURES_OPEN_INTEREST, FUTURES_FUNDING):
        planned, notes = plan_sources("auto", False, table, replay.unavailable)
        assert planned == ["binance"]
        assert [n.split(":")[0] for n in notes] == ["bybit skipped", "okx skipped"]
        assert "replay holds no Bybit history" in notes[0]
        assert plan_sources("auto", False, table, live.unavailable) == (["binance", "bybit", "okx"], [])


def test_binance_replay_serves_the_observed_oi_from_2024_04_28():
    http, transport = replay_http()
    rows = binance_futures.BinanceFuturesClient(http, live=False).open_interest_history(date(2024, 1, 11), date(2026, 3, 1))
    df = binance_futures.parse_open_interest(rows)
    assert df.height == 672 and df["oi_date"].min() == date(2024, 4, 28) and df["oi_date"].max() == date(2026, 2, 28)
    assert df["oi_date"].n_unique() == 672  # every day, none twice
    assert len([r for r in transport.requests if r.url.path == binance_futures.OPEN_INTEREST_HIST]) == 2  # 500 a page


def test_replay_answers_are_byte_identical_for_identical_requests():
    """The landing archive keeps each distinct body once: a re-run must not add payload rows."""
    bodies = []
    for _ in range(2):
        http, _ = replay_http()
        params = {"symbol": "BTCUSDT", "period": "1d", "startTime": ms(FEB5), "endTime": ms(date(2026, 2, 10))}
        bodies.append(http.get("binance", binance_futures.BASE_URL + binance_futures.OPEN_INTEREST_HIST, params=params).content)
        bodies.append(http.get("binance", binance_futures.BASE_URL + binance_futures.FUNDING_RATE,
                               params={"symbol": "BTCUSDT", "startTime": ms(FEB5), "limit": 10}).content)
    assert bodies[0] == bodies[2] and bodies[1] == bodies[3]
