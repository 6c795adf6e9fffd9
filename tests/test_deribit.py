"""Deribit client, parsers and replay server: real payload shapes, JSON-RPC errors, malformed input."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from pipelines.options_math import black76_delta, snapshot_readings
from pipelines.settings import REPLAY_DATA_DIR
from pipelines.sources import deribit
from pipelines.sources.http import HttpClient, RetryPolicy, SourceError, SourceHTTPError, SourceParseError
from pipelines.replay.clock import as_of as replay_clock
from pipelines.replay.transport import ReplayTransport

US = 1770336000000000  # 2026-02-06 00:00 UTC in µs


def envelope(result):
    return {"jsonrpc": "2.0", "result": result, "usIn": US - 120, "usOut": US, "usDiff": 120, "testnet": False}


def instrument(name, strike, kind, expiry_ms):
    return {"tick_size": 0.0001, "taker_commission": 0.0003, "strike": strike, "settlement_period": "week",
            "settlement_currency": "BTC", "quote_currency": "BTC", "price_index": "btc_usd", "option_type": kind,
            "min_trade_amount": 0.1, "maker_commission": 0.0003, "kind": "option", "is_active": True,
            "instrument_name": name, "expiration_timestamp": expiry_ms, "creation_timestamp": 1769500800000,
            "counter_currency": "USD", "contract_size": 1.0, "base_currency": "BTC"}


def summary(name, iv, fwd=63_000.0):
    return {"volume_usd": 1234.5, "volume": 1.2, "quote_currency": "BTC", "price_change": None, "open_interest": 153.4,
            "mid_price": 0.0215, "mark_price": 0.0213, "mark_iv": iv, "low": 0.02, "last": 0.021,
            "interest_rate": 0.0, "instrument_name": name, "high": 0.023, "estimated_delivery_price": 62_702.1,
            "creation_timestamp": US // 1000, "bid_price": 0.021, "base_currency": "BTC", "ask_price": 0.022,
            "underlying_price": fwd, "underlying_index": "SYN.BTC-13FEB26"}


EXP_13FEB = int(datetime(2026, 2, 13, 8, tzinfo=UTC).timestamp() * 1000)
SNAP = datetime(2026, 2, 6, tzinfo=UTC)


def mock_client(handler) -> deribit.DeribitClient:
    http = HttpClient(transport=httpx.MockTransport(handler), retry=RetryPolicy(max_attempts=2), sleep=lambda s: None)
    return deribit.DeribitClient(http)


def replay_client() -> tuple[deribit.DeribitClient, ReplayTransport]:
    transport = ReplayTransport(REPLAY_DATA_DIR)
    return deribit.DeribitClient(HttpClient(transport=transport)), transport


# ------------------------------------------------------------------------------ envelope / errors
def test_json_rpc_error_object_is_raised_with_code_message_and_data():
    body = {"jsonrpc": "2.0", "error": {"code": -32602, "data": {"reason": "wrong format", "param": "currency"},
                                        "message": "Invalid params"},
            "testnet": False, "usIn": 1761890355600251, "usOut": 1761890355600325, "usDiff": 74}
    client = mock_client(lambda req: httpx.Response(400, json=body))
    with pytest.raises(SourceError) as exc:
        client.book_summary()
    err = exc.value
    assert err.source == "deribit" and err.endpoint == deribit.GET_BOOK_SUMMARY
    assert err.field == "error.code" and err.value == -32602
    assert "Invalid params" in str(err) and "wrong format" in str(err) and "HTTP 400" in str(err)


def test_json_rpc_error_with_http_200_is_still_an_error():
    body = {"jsonrpc": "2.0", "error": {"code": 10028, "message": "too_many_requests"}, "usIn": 1, "usOut": 2}
    with pytest.raises(SourceError, match="10028 too_many_requests"):
        mock_client(lambda req: httpx.Response(200, json=body)).instruments()


def test_truncated_json_is_a_parse_error_naming_the_endpoint():
    text = json.dumps(envelope([summary("BTC-13FEB26-65000-C", 55.0)]))[:-40]
    with pytest.raises(SourceParseError) as exc:
        mock_client(lambda req: httpx.Response(200, text=text)).book_summary()
    assert exc.value.endpoint == deribit.GET_BOOK_SUMMARY and exc.value.field == "body"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"jsonrpc": "2.0", "usIn": 1, "usOut": 2}, "result"),
        ([1, 2, 3], "body"),
        ({"jsonrpc": "2.0", "result": {"not": "a list"}, "usOut": US}, "result"),
    ],
)
def test_envelope_without_result_or_wrong_type(body, field):
    with pytest.raises(SourceParseError) as exc:
        mock_client(lambda req: httpx.Response(200, json=body)).book_summary()
    assert exc.value.field == field


def test_missing_server_time_is_reported():
    body = {"jsonrpc": "2.0", "result": []}
    with pytest.raises(SourceParseError) as exc:
        mock_client(lambda req: httpx.Response(200, json=body)).book_summary()
    assert exc.value.field == "usOut"


def test_server_errors_are_retried_then_reported():
    calls = []

    def handler(req):
        calls.append(req)
        return httpx.Response(503, text="maintenance")

    with pytest.raises(SourceHTTPError):
        mock_client(handler).index_price()
    assert len(calls) == 2


def test_requests_use_the_real_urls_and_parameters():
    seen = []

    def handler(req):
        seen.append(req.url)
        return httpx.Response(200, json=envelope({"index_price": 62702.1, "estimated_delivery_price": 62702.1}))

    assert mock_client(handler).index_price() == 62702.1
    assert str(seen[0]) == "https://www.deribit.com/api/v2/public/get_index_price?index_name=btc_usd"


# ------------------------------------------------------------------------------ parsers
def test_parse_instruments_and_book_summary_real_shape():
    names = ["BTC-13FEB26-60000-P", "BTC-13FEB26-65000-C"]
    inst = deribit.parse_instruments([instrument(names[0], 60000.0, "put", EXP_13FEB),
                                      instrument(names[1], 65000.0, "call", EXP_13FEB)])
    assert inst[names[1]] == (datetime(2026, 2, 13, 8, tzinfo=UTC), 65000.0, "call")
    df = deribit.parse_book_summary([summary(names[0], 62.5), summary(names[1], 55.0)], inst, SNAP, date(2026, 2, 5),
                                    62702.1)
    row = df.filter(df["instrument_name"] == names[1]).row(0, named=True)
    assert row["mark_iv_pct"] == 55.0 and row["underlying_price"] == 63_000.0 and row["open_interest"] == 153.4
    t = (datetime(2026, 2, 13, 8, tzinfo=UTC) - SNAP).total_seconds() / (365 * 86400)
    assert row["delta"] == pytest.approx(black76_delta(63_000.0, 65_000.0, 0.55, t, "call"))
    assert row["delta_source"] == deribit.DELTA_MODEL and row["snapshot_date"] == date(2026, 2, 5)
    assert json.loads(row["payload"])["instrument_name"] == names[1]
    put = df.filter(df["instrument_name"] == names[0]).row(0, named=True)
    assert -1 < put["delta"] < 0


def test_instrument_listed_after_get_instruments_is_parsed_from_its_name():
    df = deribit.parse_book_summary([summary("BTC-6MAR26-70000-C", 50.0)], {}, SNAP, date(2026, 2, 5), None)
    row = df.row(0, named=True)
    assert row["expiry_at"] == datetime(2026, 3, 6, 8, tzinfo=UTC) and row["strike"] == 70000.0


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda r: r.pop("mark_iv"), "mark_iv"),
        (lambda r: r.update(markIv=r.pop("mark_iv")), "mark_iv"),  # renamed field
        (lambda r: r.update(mark_iv="55.0"), "mark_iv"),
        (lambda r: r.pop("underlying_price"), "underlying_price"),
        (lambda r: r.update(instrument_name="BTC-PERPETUAL"), "instrument_name"),
    ],
)
def test_book_summary_malformed_records_name_the_field(mutate, field):
    rec = summary("BTC-13FEB26-65000-C", 55.0)
    mutate(rec)
    with pytest.raises(SourceParseError) as exc:
        deribit.parse_book_summary([rec], {}, SNAP, date(2026, 2, 5), None)
    assert exc.value.field == field and exc.value.source == "deribit"


def test_duplicate_instrument_is_rejected():
    rec = summary("BTC-13FEB26-65000-C", 55.0)
    with pytest.raises(SourceParseError, match="duplicate"):
        deribit.parse_book_summary([rec, dict(rec)], {}, SNAP, date(2026, 2, 5), None)


def test_instrument_whose_fields_disagree_with_its_name_is_rejected():
    with pytest.raises(SourceParseError) as exc:
        deribit.parse_instruments([instrument("BTC-13FEB26-65000-C", 66000.0, "call", EXP_13FEB)])
    assert exc.value.field == "expiration_timestamp"
    with pytest.raises(SourceParseError) as exc:
        deribit.parse_instruments([{**instrument("BTC-13FEB26-65000-C", 65000.0, "call", EXP_13FEB), "kind": "future"}])
    assert exc.value.field == "kind"


def test_parse_dvol_and_malformed_candles():
    ts = int(datetime(2026, 2, 5, tzinfo=UTC).timestamp() * 1000)
    df = deribit.parse_dvol([[ts, 53.47, 84.1, 52.9, 82.62]])
    assert df.row(0, named=True)["dvol_date"] == date(2026, 2, 5) and df["close"][0] == 82.62
    with pytest.raises(SourceParseError) as exc:
        deribit.parse_dvol([[ts, 53.47, 84.1, 52.9]])
    assert exc.value.field == "data[]"
    with pytest.raises(SourceParseError) as exc:
        deribit.parse_dvol([[ts, 53.47, "84.1", 52.9, 82.62]])
    assert exc.value.field == "high"
    with pytest.raises(SourceParseError):
        deribit.parse_dvol([[ts + 3_600_000, 53.47, 84.1, 52.9, 82.62]])


def test_ticker_greeks():
    assert deribit.parse_ticker_delta({"instrument_name": "X", "greeks": {"delta": 0.31, "gamma": 0.0}}) == 0.31
    with pytest.raises(SourceParseError) as exc:
        deribit.parse_ticker_delta({"instrument_name": "X", "greeks": {"delta": 1.7}})
    assert exc.value.field == "greeks.delta"
    with pytest.raises(SourceParseError):
        deribit.parse_ticker_delta({"instrument_name": "BTC-PERPETUAL"})


# ------------------------------------------------------------------------------ replay server
def test_replay_dvol_follows_continuation_over_more_than_one_page():
    client, transport = replay_client()
    candles = client.dvol_history(datetime(2023, 1, 1, tzinfo=UTC), datetime(2026, 2, 28, tzinfo=UTC))
    days = [datetime.fromtimestamp(c[0] / 1000, tz=UTC).date() for c in candles]
    assert len(transport.requests) == 2  # 1,009 candles in pages of at most 1,000
    second = transport.requests[1].url.params
    assert int(second["end_timestamp"]) < int(transport.requests[0].url.params["end_timestamp"])
    assert days[0] == date(2023, 4, 26) and days[-1] == date(2026, 2, 9)
    assert len(days) == len(set(days)) == 1009
    by_day = dict(zip(days, candles))
    assert by_day[date(2026, 2, 5)][4] == 82.62 and by_day[date(2026, 1, 19)][4] == 39.76
    assert date(2026, 1, 25) not in by_day  # no real value in the gap: none served


def test_replay_dvol_honours_the_time_window_and_parameters():
    client, transport = replay_client()
    candles = client.dvol_history(datetime(2026, 2, 3, tzinfo=UTC), datetime(2026, 2, 5, 12, tzinfo=UTC))
    assert [c[4] for c in candles] == [51.74, 53.47, 82.62]
    http = HttpClient(transport=ReplayTransport(REPLAY_DATA_DIR))
    bad = http.get("deribit", deribit.BASE_URL + deribit.GET_VOLATILITY_INDEX,
                   params={"currency": "BTC", "start_timestamp": 0, "end_timestamp": 1, "resolution": "60"})
    assert bad.status_code == 400 and bad.json()["error"]["data"]["param"] == "resolution"


def test_replay_chain_answers_as_of_the_replay_clock():
    client, _ = replay_client()
    with replay_clock(datetime(2026, 2, 6, tzinfo=UTC)):
        records, at = client.book_summary()
        spot = client.index_price()
    with replay_clock(datetime(2025, 12, 2, tzinfo=UTC)):
        records_dec, at_dec = client.book_summary()
    assert at == datetime(2026, 2, 6, tzinfo=UTC) and at_dec == datetime(2025, 12, 2, tzinfo=UTC)
    assert spot == 62702.1  # the real BTC close of 2026-02-05
    names = {r["instrument_name"] for r in records}
    assert any(n.startswith("BTC-7FEB26-") for n in names)  # a daily listed on 6 Feb
    assert not any(n.startswith("BTC-7FEB26-") for n in (r["instrument_name"] for r in records_dec))
    assert {r["estimated_delivery_price"] for r in records} == {62702.1}
    assert {r["estimated_delivery_price"] for r in records_dec} != {62702.1}
    for r in records:
        assert set(summary("x", 1.0)) == set(r)  # exactly the real entry's fields


def test_replay_chain_reproduces_the_reported_reference_case():
    client, _ = replay_client()
    now = datetime(2026, 2, 6, tzinfo=UTC)  # 2026-02-05's close
    with replay_clock(now):
        inst = deribit.parse_instruments(client.instruments())
        records, at = client.book_summary()
    df = deribit.parse_book_summary(records, inst, at, date(2026, 2, 5), None)
    r7, r30, r90 = snapshot_readings(at, df.to_dicts())
    assert -14.5 < r7.rr_25d_vol_pts < -11.5  # short-dated skew near -13 vol points
    assert r30.atm_iv_pct > r90.atm_iv_pct  # inverted term structure
    assert r30.atm_iv_pct == pytest.approx(82.62, abs=2.0)  # ATM follows the real DVOL close


def test_replay_handler_validates_parameters_like_the_real_api():
    http = HttpClient(transport=ReplayTransport(REPLAY_DATA_DIR))
    with replay_clock(datetime(2026, 2, 6, tzinfo=UTC)):
        eth = http.get("deribit", deribit.BASE_URL + deribit.GET_BOOK_SUMMARY, params={"currency": "ETH", "kind": "option"})
        missing = http.get("deribit", deribit.BASE_URL + deribit.GET_BOOK_SUMMARY, params={"kind": "option"})
        unknown = http.get("deribit", deribit.BASE_URL + "/public/no_such_method")
    assert eth.status_code == 400 and eth.json()["error"]["code"] == -32602
    assert missing.json()["error"]["data"] == {"reason": "must be present", "param": "currency"}
    assert unknown.json()["error"]["code"] == -32601
    client, _ = replay_client()
    with replay_clock(datetime(2024, 3, 1, tzinfo=UTC)), pytest.raises(SourceError, match="no option chain"):
        client.book_summary()


def test_replay_ticker_delta_matches_the_model_delta():
    client, _ = replay_client()
    now = datetime(2026, 2, 6, tzinfo=UTC)
    with replay_clock(now):
        inst = deribit.parse_instruments(client.instruments())
        records, at = client.book_summary()
        name = next(n for n, (exp, _, _) in inst.items() if exp - now > timedelta(days=20))
        delta = client.ticker_delta(name)
    df = deribit.parse_book_summary(records, inst, at, date(2026, 2, 5), None, ticker_deltas={name: delta})
    row = df.filter(df["instrument_name"] == name).row(0, named=True)
    assert row["delta_source"] == deribit.DELTA_TICKER
    exp, strike, kind = inst[name]
    t = (exp - now).total_seconds() / (365 * 86400)
    assert delta == pytest.approx(black76_delta(row["underlying_price"], strike, row["mark_iv_pct"] / 100, t, kind), abs=1e-4)


def test_http_error_without_json_rpc_body():
    with pytest.raises(SourceHTTPError, match="HTTP 404"):
        mock_client(lambda req: httpx.Response(404, text="<html>Not Found</html>")).instruments()


def test_dvol_pagination_that_does_not_move_back_is_an_error():
    def handler(req):
        end = int(req.url.params["end_timestamp"])
        ts = (end // 86_400_000) * 86_400_000
        return httpx.Response(200, json=envelope({"data": [[ts, 50.0, 51.0, 49.0, 50.5]], "continuation": end + 5}))

    with pytest.raises(SourceParseError) as exc:
        mock_client(handler).dvol_history(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
    assert exc.value.field == "continuation"


def test_dvol_pagination_stops_at_the_window_start():
    pages = []

    def handler(req):
        end = int(req.url.params["end_timestamp"])
        day = (end // 86_400_000) * 86_400_000
        pages.append(end)
        # two candles per page, continuation one ms before the older one
        return httpx.Response(200, json=envelope({"data": [[day - 86_400_000, 1, 2, 0.5, 1.5], [day, 1, 2, 0.5, 1.5]],
                                                  "continuation": day - 86_400_000 - 1}))

    start = datetime(2026, 1, 1, tzinfo=UTC)
    candles = deribit.DeribitClient(HttpClient(transport=httpx.MockTransport(handler))).dvol_history(
        start, datetime(2026, 1, 6, 23, 59, tzinfo=UTC))
    days = [datetime.fromtimestamp(c[0] / 1000, tz=UTC).date() for c in candles]
    assert days[0] <= date(2026, 1, 1) and days[-1] == date(2026, 1, 6)
    assert len(pages) == 3 and days == sorted(set(days))
