"""FRED and Stooq: parsers on payloads in the real shapes, error cases, and the replay servers' parameters."""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest

from pipelines.settings import REPLAY_DATA_DIR
from pipelines.sources import fred, stooq
from pipelines.sources.http import HttpClient, SourceHTTPError, SourceParseError
from pipelines.replay.transport import ReplayTransport


@pytest.fixture()
def replay_http():
    transport = ReplayTransport(REPLAY_DATA_DIR)
    with HttpClient(transport=transport, sleep=lambda s: None) as http:
        yield http, transport


def fake_http(handler, **kwargs) -> HttpClient:
    return HttpClient(transport=httpx.MockTransport(handler), sleep=lambda s: None, **kwargs)


# --- FRED CSV ---------------------------------------------------------------------------------------

FRED_CSV = "observation_date,SP500\n2026-02-05,6798.40\n2026-02-06,6932.30\n2026-02-16,.\n2026-02-17,6843.22\n"


def test_fred_csv_parses_values_and_drops_dot_holidays():
    frame = fred.parse_csv(FRED_CSV, "SP500")
    assert frame["obs_date"].to_list() == [date(2026, 2, 5), date(2026, 2, 6), date(2026, 2, 17)]
    assert frame["close_value"].to_list() == [6798.40, 6932.30, 6843.22]
    assert set(frame["series"]) == {"sp500"} and set(frame["symbol"]) == {"SP500"}
    assert json.loads(frame["payload"][0]) == {"observation_date": "2026-02-05", "SP500": "6798.40"}


def test_fred_csv_accepts_the_older_DATE_header_and_empty_cells():
    frame = fred.parse_csv("DATE,DGS10\n2024-10-11,4.10\n2024-10-14,\n2024-10-15,4.03\n", "DGS10")
    assert frame.height == 2 and frame["close_value"].to_list() == [4.10, 4.03]


def test_fred_csv_renamed_value_column_names_field_and_value():
    with pytest.raises(SourceParseError) as err:
        fred.parse_csv("observation_date,SP_500\n2026-02-05,6798.40\n", "SP500")
    assert err.value.source == "fred" and err.value.field == "header" and err.value.value == "SP_500"
    assert "[fred]" in str(err.value) and "SP_500" in str(err.value)


def test_fred_csv_renamed_date_column_is_rejected():
    with pytest.raises(SourceParseError) as err:
        fred.parse_csv("obs,SP500\n2026-02-05,6798.40\n", "SP500")
    assert err.value.field == "header" and "obs,SP500" in str(err.value)


@pytest.mark.parametrize(
    ("body", "field", "value"),
    [
        ("observation_date,SP500\n2026-02-05,n/a\n", "SP500", "n/a"),
        ("observation_date,SP500\n05/02/2026,6798.40\n", "observation_date", "05/02/2026"),
        ("observation_date,SP500\n2026-02-05,6798.40,1\n", "row", ["2026-02-05", "6798.40", "1"]),
        ("observation_date,SP500\n2026-02-05,1\n2026-02-05,2\n", "observation_date", "2026-02-05"),
        ("", "body", ""),
        ("<html><body>Error</body></html>", "header", "<html><body>Error</body></html>"),
    ],
)
def test_fred_csv_malformed_bodies_raise_naming_field_and_value(body, field, value):
    with pytest.raises(SourceParseError) as err:
        fred.parse_csv(body, "SP500")
    assert err.value.source == "fred" and err.value.field == field and err.value.value == value


def test_fred_csv_unknown_series_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown FRED series"):
        fred.parse_csv(FRED_CSV, "VIXCLS")


# --- FRED JSON API ----------------------------------------------------------------------------------


def test_fred_json_observations_parse_and_drop_dots():
    obs = [
        {"realtime_start": "2026-02-27", "realtime_end": "2026-02-27", "date": "2026-02-05", "value": "4.21"},
        {"realtime_start": "2026-02-27", "realtime_end": "2026-02-27", "date": "2026-02-16", "value": "."},
    ]
    frame = fred.parse_observations(obs, "DGS10")
    assert frame["obs_date"].to_list() == [date(2026, 2, 5)] and frame["close_value"].to_list() == [4.21]
    assert frame["series"].to_list() == ["us10y_yield"]


def test_fred_json_renamed_value_field_names_it():
    with pytest.raises(SourceParseError) as err:
        fred.parse_observations([{"date": "2026-02-05", "val": "4.21"}], "DGS10")
    assert err.value.field == "value" and err.value.value == ["date", "val"]


def test_fred_json_error_envelope_is_an_http_error_without_the_key():
    key = "abcdef0123456789abcdef0123456789"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error_code": 400, "error_message": "Bad Request.  The value for variable api_key is not registered."})

    with fake_http(handler, secrets=[key]) as http, pytest.raises(SourceHTTPError) as err:
        fred.fetch_observations(http, "DGS10", date(2026, 2, 1), date(2026, 2, 6), key)
    assert "not registered" in str(err.value) and key not in str(err.value)
    assert err.value.field == "series_id" and err.value.value == "DGS10"


def test_fred_json_truncated_body_is_a_parse_error():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text='{"count":2,"observations":[{"date":"2026-02-05","val')

    with fake_http(handler) as http, pytest.raises(SourceParseError) as err:
        fred.fetch_observations(http, "DGS10", date(2026, 2, 1), date(2026, 2, 6), "k" * 32)
    assert err.value.field == "body"


def test_fred_api_key_is_redacted_from_archived_request_params(replay_http):
    http, _ = replay_http
    key = "0123456789abcdef0123456789abcdef"
    http.secrets = [key]
    seen = []
    http.on_response = lambda source, endpoint, params, response: seen.append(params)
    fred.fetch_observations(http, "SP500", date(2026, 2, 2), date(2026, 2, 6), key)
    assert seen and all(p["api_key"] == "***" for p in seen)
    assert key not in json.dumps(seen)


def test_fred_api_requires_a_key(replay_http):
    http, _ = replay_http
    with pytest.raises(SourceHTTPError, match="FRED_API_KEY"):
        fred.fetch_observations(http, "SP500", date(2026, 2, 2), date(2026, 2, 6), "")


# --- FRED replay server -----------------------------------------------------------------------------


def test_fred_csv_replay_honours_cosd_and_coed_inclusive(replay_http):
    http, transport = replay_http
    text = fred.fetch_csv(http, "SP500", date(2026, 2, 5), date(2026, 2, 9))
    assert text.splitlines() == [
        "observation_date,SP500", "2026-02-05,6798.40", "2026-02-06,6932.30", "2026-02-09,6964.82",
    ]
    sent = transport.requests[-1].url.params
    assert sent["id"] == "SP500" and sent["cosd"] == "2026-02-05" and sent["coed"] == "2026-02-09"


def test_fred_csv_replay_serves_holidays_as_dots(replay_http):
    http, _ = replay_http
    text = fred.fetch_csv(http, "DGS10", date(2025, 10, 13), date(2025, 10, 14))
    assert text.splitlines()[1:] == ["2025-10-13,.", "2025-10-14,4.03"]
    assert fred.parse_csv(text, "DGS10")["obs_date"].to_list() == [date(2025, 10, 14)]


def test_fred_csv_replay_unknown_series_is_404(replay_http):
    http, _ = replay_http
    with pytest.raises(SourceHTTPError) as err:
        fred.fetch_csv(http, "VIXCLS", date(2026, 2, 2), date(2026, 2, 6))
    assert err.value.status == 404 and err.value.value == "VIXCLS"


def test_fred_api_replay_pages_with_limit_and_offset(replay_http, monkeypatch):
    http, transport = replay_http
    monkeypatch.setattr(fred, "API_PAGE_LIMIT", 7)
    obs = fred.fetch_observations(http, "NASDAQCOM", date(2026, 1, 1), date(2026, 1, 31), "k" * 32)
    frame = fred.parse_observations(obs, "NASDAQCOM")
    offsets = [int(r.url.params["offset"]) for r in transport.requests]
    assert offsets == [0, 7, 14, 21]  # 22 weekdays in January 2026, 7 per page
    assert len(obs) == 22 and frame.height == 20  # New Year's Day and MLK Day are '.'
    assert frame["obs_date"].min() == date(2026, 1, 2) and frame["obs_date"].max() == date(2026, 1, 30)


def test_fred_api_and_csv_replay_agree(replay_http):
    http, _ = replay_http
    start, end = date(2025, 12, 1), date(2026, 2, 28)
    via_csv = fred.parse_csv(fred.fetch_csv(http, "DJIA", start, end), "DJIA")
    via_api = fred.parse_observations(fred.fetch_observations(http, "DJIA", start, end, "k" * 32), "DJIA")
    assert via_csv.select("obs_date", "close_value").equals(via_api.select("obs_date", "close_value"))


def test_fred_api_replay_unknown_series_error_envelope(replay_http):
    http, _ = replay_http
    with pytest.raises(SourceHTTPError, match="series does not exist"):
        fred.fetch_observations(http, "NOPE", date(2026, 2, 2), date(2026, 2, 6), "k" * 32)


# --- Stooq ------------------------------------------------------------------------------------------

STOOQ_CSV = (
    "Date,Open,High,Low,Close,Volume\n"
    "2026-02-05,7531.92,7727.29,7473.85,7614.64,0\n"
    "2026-02-06,7762.11,8071.49,7752.54,8048.62,0\n"
)


def test_stooq_csv_parses_closes_and_keeps_the_row():
    frame = stooq.parse_csv(STOOQ_CSV, "^sox")
    assert frame["close_value"].to_list() == [7614.64, 8048.62]
    assert frame["series"].to_list() == ["sox", "sox"]
    assert json.loads(frame["payload"][1])["High"] == "8071.49"


def test_stooq_csv_without_volume_column_is_accepted():
    frame = stooq.parse_csv("Date,Open,High,Low,Close\n2026-02-06,97.95,97.95,97.56,97.63\n", "dx.f")
    assert frame["close_value"].to_list() == [97.63]


def test_stooq_no_data_body_is_empty_frame():
    assert stooq.parse_csv("No data", "xauusd").height == 0


def test_stooq_no_data_for_a_window_with_trading_days_names_the_symbol():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="No data")

    with fake_http(handler) as http:
        with pytest.raises(SourceParseError) as err:
            stooq.fetch_daily(http, "xagusd", date(2026, 2, 2), date(2026, 2, 6))
        assert err.value.field == "s" and err.value.value == "xagusd" and "No data" in str(err.value)
        # a weekend-only window really has no bars
        assert stooq.fetch_daily(http, "xagusd", date(2026, 2, 7), date(2026, 2, 8)).height == 0


@pytest.mark.parametrize(
    ("body", "field", "value"),
    [
        ("Get your apikey", "header", "Get your apikey"),
        ("Exceeded the daily hits limit", "header", "Exceeded the daily hits limit"),
        ("Date,Open,High,Low,Last,Volume\n2026-02-06,1,2,0.5,1.5,0\n", "header", "Date,Open,High,Low,Last,Volume"),
        ("Date,Open,High,Low,Close,Volume\n2026-02-06,1,2,0.5\n", "row", ["2026-02-06", "1", "2", "0.5"]),
        ("Date,Open,High,Low,Close,Volume\n2026-02-06,1,2,0.5,-,0\n", "Close", "-"),
        ("Date,Open,High,Low,Close,Volume\n20260206,1,2,0.5,1.5,0\n", "Date", "20260206"),
        ("", "body", ""),
    ],
)
def test_stooq_malformed_bodies_raise_naming_field_and_value(body, field, value):
    with pytest.raises(SourceParseError) as err:
        stooq.parse_csv(body, "xauusd")
    assert err.value.source == "stooq" and err.value.field == field and err.value.value == value


def test_stooq_replay_honours_d1_d2_and_answers_no_data_for_unknown_symbols(replay_http):
    http, transport = replay_http
    text = stooq.fetch_csv(http, "^sox", date(2026, 2, 5), date(2026, 2, 6))
    assert text.splitlines() == STOOQ_CSV.strip().splitlines()
    sent = transport.requests[-1].url.params
    assert (sent["s"], sent["d1"], sent["d2"], sent["i"]) == ("^sox", "20260205", "20260206", "d")
    assert stooq.fetch_csv(http, "^sox", date(2026, 2, 7), date(2026, 2, 8)).strip() == "No data"
    assert stooq.fetch_csv(http, "^nope", date(2026, 2, 2), date(2026, 2, 6)).strip() == "No data"


def test_stooq_replay_full_window_is_one_request_per_symbol(replay_http):
    http, transport = replay_http
    for symbol in stooq.SERIES.values():
        frame = stooq.fetch_daily(http, symbol, date(2024, 1, 11), date(2026, 2, 28))
        assert frame["obs_date"].min() == date(2024, 1, 11) and frame["obs_date"].max() == date(2026, 2, 27)
        assert (frame["close_value"] > 0).all()
    assert len(transport.requests) == 4

