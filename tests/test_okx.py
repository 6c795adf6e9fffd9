"""OKX v5 client and parsers on payloads in OKX's real shape: success, empty page, error envelope, renamed
field, pagination; and the replay server that says it has no OKX history."""

import json
from datetime import UTC, date, datetime

import httpx
import pytest

from pipelines.replay import okx as okx_replay
from pipelines.settings import REPLAY_DATA_DIR
from pipelines.sources import okx
from pipelines.sources.http import HOST_MIN_INTERVAL_S, HttpClient, RetryPolicy, SourceError, SourceHTTPError, SourceParseError
from pipelines.replay.transport import ReplayTransport


def ms(d: date, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC).timestamp() * 1000)


def envelope(data, code="0", msg=""):
    return {"code": code, "msg": msg, "data": data}


class FakeOkx:
    """A mock of www.okx.com over a fixed list of rows, newest first, honouring after/before/end/begin/limit
    as the docs describe (exclusive cursors)."""

    def __init__(self, funding=(), oi=(), liquidations=()):
        self.funding = sorted(funding, key=lambda r: -int(r["fundingTime"]))
        self.oi = sorted(oi, key=lambda r: -int(r[0]))
        self.liq = sorted(liquidations, key=lambda d: -int(d["ts"]))
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        q = request.url.params
        limit = int(q.get("limit", 100))
        if request.url.path == okx.FUNDING_HISTORY:
            rows = [r for r in self.funding if "after" not in q or int(r["fundingTime"]) < int(q["after"])]
            return httpx.Response(200, json=envelope(rows[:limit]))
        if request.url.path == okx.OPEN_INTEREST_HISTORY:
            assert q["period"] == "1Dutc" and q["instId"] == "BTC-USDT-SWAP"
            rows = [r for r in self.oi if "end" not in q or int(r[0]) < int(q["end"])]
            return httpx.Response(200, json=envelope(rows[:limit]))
        if request.url.path == okx.LIQUIDATION_ORDERS:
            assert (q["instType"], q["uly"], q["state"]) == ("SWAP", "BTC-USDT", "filled")
            details = [d for d in self.liq if "after" not in q or int(d["ts"]) < int(q["after"])][:limit]
            data = [{"details": details, "instFamily": "BTC-USDT", "instId": "BTC-USDT-SWAP", "instType": "SWAP",
                     "totalLoss": "0", "uly": "BTC-USDT"}] if details else []
            return httpx.Response(200, json=envelope(data))
        return httpx.Response(404, text="Not Found")


def client_for(handler) -> okx.OkxClient:
    http = HttpClient(transport=httpx.MockTransport(handler), sleep=lambda s: None,
                      retry=RetryPolicy(max_attempts=2, backoff_base_s=0))
    return okx.OkxClient(http)


def funding_row(t: int, rate: str = "0.0000746572360545") -> dict:
    return {"formulaType": "noRate", "fundingRate": "0.0000746604960499", "fundingTime": str(t),
            "instId": "BTC-USDT-SWAP", "instType": "SWAP", "method": "next_period", "realizedRate": rate}


def order(t: int, pos_side: str, side: str, sz: str, px: str) -> dict:
    return {"bkLoss": "0", "bkPx": px, "ccy": "", "posSide": pos_side, "side": side, "sz": sz, "ts": str(t)}


FEB = [date(2026, 2, d) for d in range(1, 8)]


# ------------------------------------------------------------------ funding
def test_funding_parser_reads_realized_rate_as_percent_per_8h():
    df = okx.parse_funding([funding_row(ms(date(2026, 2, 5), 8), "-0.00013688")])
    row = df.row(0, named=True)
    assert row["funding_rate_pct"] == pytest.approx(-0.013688)
    assert row["funding_date"] == date(2026, 2, 5) and row["funding_time"].hour == 8
    assert row["venue"] == "okx" and row["symbol"] == "BTC-USDT-SWAP"
    assert json.loads(row["payload"])["fundingRate"] == "0.0000746604960499"  # the whole record is kept


def test_funding_history_pages_back_with_after_and_keeps_the_window(monkeypatch):
    times = [ms(d, h) for d in FEB for h in (0, 8, 16)]  # 21 fundings
    fake = FakeOkx(funding=[funding_row(t) for t in times])
    client = client_for(fake)
    monkeypatch.setattr(okx, "FUNDING_MAX_LIMIT", 5)
    rows = client.funding_history(date(2026, 2, 2), date(2026, 2, 5))
    assert [int(r["fundingTime"]) for r in rows] == [ms(d, h) for d in FEB[1:4] for h in (0, 8, 16)]
    afters = [int(r.url.params["after"]) for r in fake.requests]
    assert afters[0] == ms(date(2026, 2, 5)) and afters == sorted(afters, reverse=True) and len(afters) == 2


def test_funding_empty_page_is_an_empty_frame():
    client = client_for(FakeOkx())
    rows = client.funding_history(date(2026, 2, 2), date(2026, 2, 5))
    assert rows == [] and okx.parse_funding(rows).height == 0


def test_error_envelope_names_source_endpoint_code_and_message():
    client = client_for(lambda r: httpx.Response(200, json=envelope([], "51001", "Instrument ID does not exist")))
    with pytest.raises(SourceError) as err:
        client.funding_history(date(2026, 2, 2), date(2026, 2, 5))
    assert str(err.value).startswith("[okx] /api/v5/public/funding-rate-history: API error code 51001: "
                                     "Instrument ID does not exist")
    assert err.value.field == "code" and err.value.value == "51001"


def test_http_error_with_okx_body_is_reported_with_its_code():
    client = client_for(lambda r: httpx.Response(400, json=envelope([], "50015", "Either parameter instFamily or uly is required")))
    with pytest.raises(SourceHTTPError, match=r"HTTP 400: code 50015 Either parameter instFamily or uly"):
        client.liquidation_orders(ms(date(2026, 2, 5)), ms(date(2026, 2, 6)))


def test_renamed_funding_field_names_the_field():
    rec = funding_row(ms(date(2026, 2, 5), 8))
    rec["actualRate"] = rec.pop("realizedRate")
    with pytest.raises(SourceParseError) as err:
        okx.parse_funding([rec])
    assert err.value.field == "realizedRate" and "missing field" in str(err.value)
    assert "actualRate" in str(err.value)  # the keys that did arrive are shown


def test_non_numeric_rate_and_wrong_instrument_are_refused():
    with pytest.raises(SourceParseError, match=r"not a number.*'realizedRate'.*''"):
        okx.parse_funding([funding_row(ms(date(2026, 2, 5)), "")])
    other = funding_row(ms(date(2026, 2, 5))) | {"instId": "ETH-USDT-SWAP"}
    with pytest.raises(SourceParseError, match="ETH-USDT-SWAP"):
        okx.parse_funding([other])


# ------------------------------------------------------------------ open interest
OI_ROWS = [[str(ms(d)), str(3_100_000 + i * 1000), str(31_000 + i * 10), str(2.2e9 + i * 1e7)] for i, d in enumerate(FEB)]


def test_open_interest_parser_reads_btc_and_usd_per_utc_day():
    df = okx.parse_open_interest(OI_ROWS[:2])
    assert df["oi_date"].to_list() == [date(2026, 2, 1), date(2026, 2, 2)]
    assert df["oi_close_btc"].to_list() == [31_000.0, 31_010.0]
    assert df["oi_close_usd"].to_list() == [2.2e9, 2.21e9]
    assert json.loads(df["payload"][0]) == OI_ROWS[0]


def test_open_interest_pages_back_with_end_and_drops_todays_open_bar(monkeypatch):
    fake = FakeOkx(oi=OI_ROWS)
    client = client_for(fake)
    monkeypatch.setattr(okx, "OI_MAX_LIMIT", 2)
    rows = client.open_interest_history(date(2026, 2, 2), date(2026, 2, 10), today=date(2026, 2, 6))
    assert [r[0] for r in rows] == [str(ms(d)) for d in FEB[1:5]]  # 2..5 Feb: 6 Feb is still open
    ends = [int(r.url.params["end"]) for r in fake.requests]
    assert ends[0] == ms(date(2026, 2, 6)) and ends == sorted(ends, reverse=True)
    assert client.open_interest_history(date(2026, 2, 6), date(2026, 2, 10), today=date(2026, 2, 6)) == []


def test_open_interest_empty_page_and_malformed_rows():
    assert client_for(FakeOkx()).open_interest_history(date(2026, 2, 1), date(2026, 2, 5), today=date(2026, 3, 1)) == []
    with pytest.raises(SourceParseError, match=r"'oiUsd'.*'n/a'"):
        okx.parse_open_interest([[str(ms(FEB[0])), "1", "2", "n/a"]])
    with pytest.raises(SourceParseError, match=r"\[ts, oi, oiCcy, oiUsd\]"):  # an object where a row was
        okx.parse_open_interest([{"ts": str(ms(FEB[0])), "oi": "1"}])
    with pytest.raises(SourceParseError, match="1Dutc"):  # a UTC+8 (period=1D) bar opens at 16:00 UTC
        okx.parse_open_interest([[str(ms(FEB[0], 16)), "1", "2", "3"]])


# ------------------------------------------------------------------ liquidations
def test_liquidation_parser_converts_contracts_with_ctval_and_reads_the_side():
    recs = [{"details": [order(ms(FEB[4], 1), "long", "sell", "100", "62000.5"),
                         order(ms(FEB[4], 2), "short", "buy", "3", "63000"),
                         order(ms(FEB[4], 3), "net", "sell", "10", "61000")],
             "instFamily": "BTC-USDT", "instId": "BTC-USDT-SWAP", "instType": "SWAP", "totalLoss": "0", "uly": "BTC-USDT"}]
    df = okx.parse_liquidations(recs)
    assert df["liquidated_side"].to_list() == ["long", "short", "long"]
    assert df["notional_btc"].to_list() == pytest.approx([1.0, 0.03, 0.1])  # sz x 0.01 BTC
    assert df["notional_usd"].to_list() == pytest.approx([62000.5, 1890.0, 6100.0])  # sz x 0.01 x bkPx


def test_liquidation_orders_page_back_by_time_and_stop_once_the_window_start_is_passed(monkeypatch):
    times = [ms(FEB[4], h, m) for h in range(24) for m in (0, 30)] + [ms(FEB[3], 23, 45)]
    fake = FakeOkx(liquidations=[order(t, "long", "sell", "1", "62000") for t in times])
    client = client_for(fake)
    monkeypatch.setattr(okx, "LIQUIDATION_MAX_LIMIT", 10)
    pages = client.liquidation_orders(ms(FEB[4]), ms(FEB[5]))
    df = okx.parse_liquidations(pages)
    assert df.filter(df["liquidation_date"] == FEB[4]).height == 48  # the whole day, nothing twice
    assert okx.oldest_order_ms(df) < ms(FEB[4])  # the walk went past the day's start: the day is complete
    afters = [int(r.url.params["after"]) for r in fake.requests]
    assert afters[0] == ms(FEB[5]) and afters == sorted(afters, reverse=True) and len(afters) == 5


def test_liquidation_empty_window_gives_an_empty_frame_and_no_oldest_order():
    fake = FakeOkx()
    pages = client_for(fake).liquidation_orders(ms(FEB[4]), ms(FEB[5]))
    df = okx.parse_liquidations(pages)
    assert pages == [] and df.height == 0 and okx.oldest_order_ms(df) is None
    assert len(fake.requests) == 1


def test_liquidation_renamed_field_and_inconsistent_side_are_refused():
    renamed = order(ms(FEB[4]), "long", "sell", "1", "62000")
    renamed["bankruptcyPx"] = renamed.pop("bkPx")
    rec = {"details": [renamed], "instId": "BTC-USDT-SWAP", "instType": "SWAP", "uly": "BTC-USDT"}
    with pytest.raises(SourceParseError) as err:
        okx.parse_liquidations([rec])
    assert err.value.field == "bkPx" and "[okx] /api/v5/public/liquidation-orders" in str(err.value)
    rec = {"details": [order(ms(FEB[4]), "long", "buy", "1", "62000")], "instId": "BTC-USDT-SWAP"}
    with pytest.raises(SourceParseError, match=r"'posSide/side', value 'long/buy'"):
        okx.parse_liquidations([rec])
    rec = {"details": [order(ms(FEB[4]), "long", "sell", "0", "62000")], "instId": "BTC-USDT-SWAP"}
    with pytest.raises(SourceParseError, match="positive"):
        okx.parse_liquidations([rec])


def test_okx_declares_its_rate_limit():
    assert HOST_MIN_INTERVAL_S[okx.HOST] == 0.5  # 10 requests / 2 s is the tightest documented limit


# ------------------------------------------------------------------ replay: no OKX history, said plainly
def test_replay_has_no_okx_history_and_says_so_without_retrying():
    transport = ReplayTransport(REPLAY_DATA_DIR)
    waits: list[float] = []
    client = okx.OkxClient(HttpClient(transport=transport, sleep=waits.append))
    for call in (lambda: client.funding_history(date(2026, 2, 1), date(2026, 2, 6)),
                 lambda: client.open_interest_history(date(2026, 2, 1), date(2026, 2, 6), today=date(2026, 3, 1)),
                 lambda: client.liquidation_orders(ms(FEB[4]), ms(FEB[5]))):
        with pytest.raises(SourceHTTPError) as err:
            call()
        assert "HTTP 404: code replay-no-data replay holds no OKX history" in str(err.value)
        assert err.value.status == 404
    assert len(transport.requests) == 3 and waits == []  # one request each, no retries
    # the planner's note for each endpoint says what is missing and why
    assert [okx_replay.why_not(ep).split(" (")[0] for ep in okx_replay.ENDPOINTS] == [
        f"replay holds no OKX history for {okx.FUNDING_HISTORY}",
        f"replay holds no OKX history for {okx.OPEN_INTEREST_HISTORY}",
        "replay holds no OKX liquidation orders"]
    assert not any(p.suffix == ".json" for p in (REPLAY_DATA_DIR / "okx").iterdir())
