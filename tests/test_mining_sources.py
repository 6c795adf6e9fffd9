"""mempool.space client: parsers on real-shape payloads (and broken ones), periods, and the replay server."""

import json
from datetime import UTC, date, datetime

import httpx
import pytest

from pipelines.settings import REPLAY_DATA_DIR
from pipelines.sources import mempool
from pipelines.sources.http import HttpClient, RetryPolicy, SourceHTTPError, SourceParseError
from pipelines.replay.clock import as_of as replay_clock
from pipelines.replay.transport import ReplayTransport

HASHRATE_EP = "/api/v1/mining/hashrate/1m"
# Real shape of GET /api/v1/mining/hashrate/{period} (values of 2026-02-04/05 and the 2026-01-22 retarget).
HASHRATE_PAYLOAD = {
    "hashrates": [
        {"timestamp": 1770163200, "avgHashrate": 1.00001509410575e21},
        {"timestamp": 1770249600, "avgHashrate": 8.9437969684106e20},
    ],
    "difficulty": [{"time": 1769107617, "height": 933408, "difficulty": 141668107417558, "adjustment": 0.967199}],
    "currentHashrate": 8.9437969684106e20,
    "currentDifficulty": 141668107417558,
}
ADJUSTMENTS_PAYLOAD = [
    [1770473928, 935424, 125864590119494, 0.888447],
    [1769107617, 933408, 141668107417558, 0.967199],
]
# Two 12-hour buckets of 2026-02-05 (period 3y) and one of 2026-02-06.
FEES_PAYLOAD = [
    {"avgHeight": 935120, "timestamp": 1770271200, "avgFees": 4000000, "USD": 63000.0},
    {"avgHeight": 935190, "timestamp": 1770314400, "avgFees": 5000000, "USD": 62500.0},
    {"avgHeight": 935260, "timestamp": 1770357600, "avgFees": 3000000, "USD": 70000.0},
]
ESTIMATE_PAYLOAD = {
    "progressPercent": 87.84722222222221,
    "difficultyChange": -13.447119869877621,
    "estimatedRetargetDate": 1770505933205,
    "remainingBlocks": 245,
    "remainingTime": 169934205,
    "previousRetarget": -3.2801,
    "previousTime": 1769107617,
    "nextRetargetHeight": 935424,
    "timeAvg": 693609,
    "adjustedTimeAvg": 693609,
    "timeOffset": 0,
    "expectedBlocks": 2047.3,
}


def test_parse_hashrate_real_shape():
    frame = mempool.parse_hashrate(HASHRATE_EP, HASHRATE_PAYLOAD)
    assert frame["hashrate_date"].to_list() == [date(2026, 2, 4), date(2026, 2, 5)]
    assert frame["hashrate_hs"][1] == pytest.approx(8.9437969684106e20)  # H/s, as the API sends it
    assert json.loads(frame["payload"][1]) == HASHRATE_PAYLOAD["hashrates"][1]
    retargets = mempool.parse_hashrate_difficulty(HASHRATE_EP, HASHRATE_PAYLOAD)
    assert retargets.select("height", "adjustment_ratio").row(0) == (933408, 0.967199)


def test_parse_difficulty_adjustments_real_shape_sorted_ascending():
    frame = mempool.parse_difficulty_adjustments("/api/v1/mining/difficulty-adjustments/3m", ADJUSTMENTS_PAYLOAD)
    assert frame["height"].to_list() == [933408, 935424]
    assert frame["adjustment_date"].to_list() == [date(2026, 1, 22), date(2026, 2, 7)]
    assert frame["adjusted_at"][1] == datetime(2026, 2, 7, 14, 18, 48, tzinfo=UTC)


def test_parse_block_fees_averages_the_buckets_of_a_day():
    frame = mempool.parse_block_fees("/api/v1/mining/blocks/fees/3y", FEES_PAYLOAD)
    day = frame.filter(frame["reward_date"] == date(2026, 2, 5)).row(0, named=True)
    assert day["avg_fees_per_block_sats"] == 4_500_000
    assert day["fee_buckets"] == 2
    assert day["avg_height"] == 935155
    assert day["subsidy_per_block_btc"] == 3.125
    assert day["price_usd"] == pytest.approx(62750.0)
    assert frame.height == 2


def test_subsidy_follows_the_halvings():
    assert mempool.subsidy_btc(839_999) == 6.25
    assert mempool.subsidy_btc(840_000) == 3.125
    assert mempool.subsidy_btc(1_050_000) == 1.5625


def test_parse_estimate_recovers_the_server_clock():
    row = mempool.parse_difficulty_estimate(ESTIMATE_PAYLOAD, date(2026, 2, 5)).row(0, named=True)
    assert row["server_now_at"] == datetime(2026, 2, 5, 23, 59, 59, tzinfo=UTC)
    assert row["difficulty_change_pct"] == pytest.approx(-13.447, abs=1e-3)
    assert row["previous_retarget_at"] == datetime(2026, 1, 22, 18, 46, 57, tzinfo=UTC)
    assert row["next_retarget_height"] == 935424


@pytest.mark.parametrize(
    ("payload", "field", "problem"),
    [
        ({"hashrates": [{"timestamp": 1770249600}]}, "avgHashrate", "missing field"),
        ({"hashrates": [{"timestamp": 1770249600, "avg_hashrate": 8.9e20}]}, "avgHashrate", "missing field"),
        ({"hashrates": [{"timestamp": 1770249600, "avgHashrate": "8.9e20"}]}, "avgHashrate", "not a finite number"),
        ({"hashrates": [{"timestamp": 1770249600, "avgHashrate": 0}]}, "avgHashrate", "must be positive"),
        ({"hashrates": [{"timestamp": 1770249600000, "avgHashrate": 8.9e20}]}, "timestamp", "not in seconds"),
        ({"hashRates": []}, "hashrates", "missing or not a list"),
        ({"hashrates": [{"timestamp": 1770249600, "avgHashrate": 1e20},
                        {"timestamp": 1770253200, "avgHashrate": 1e20}]}, "timestamp", "two hashrates"),
    ],
)
def test_malformed_hashrate_names_field_and_value(payload, field, problem):
    with pytest.raises(SourceParseError) as err:
        mempool.parse_hashrate(HASHRATE_EP, payload)
    assert err.value.source == "mempool" and err.value.endpoint == HASHRATE_EP
    assert err.value.field == field and problem in str(err.value)


@pytest.mark.parametrize(
    ("row", "field", "problem"),
    [
        ([1770473928, 935425, 125864590119494, 0.888447], "height", "not a multiple of 2016"),
        ([1770473928, 935424, -1, 0.888447], "difficulty", "must be positive"),
        ([1770473928, 935424, 125864590119494], "row", "expected [time, height, difficulty, adjustment]"),
        ({"time": 1770473928}, "row", "expected [time, height"),
    ],
)
def test_malformed_adjustments(row, field, problem):
    with pytest.raises(SourceParseError) as err:
        mempool.parse_difficulty_adjustments("/api/v1/mining/difficulty-adjustments/1y", [row])
    assert err.value.field == field and problem in str(err.value)


def test_malformed_fees_and_estimate():
    with pytest.raises(SourceParseError, match="negative fees"):
        mempool.parse_block_fees("/x", [{**FEES_PAYLOAD[0], "avgFees": -1}])
    with pytest.raises(SourceParseError) as err:
        mempool.parse_block_fees("/x", [{"avgHeight": 1, "timestamp": 1770271200, "avgFee": 3}])
    assert err.value.field == "avgFees"
    with pytest.raises(SourceParseError) as err:
        mempool.parse_difficulty_estimate({**ESTIMATE_PAYLOAD, "difficultyChange": -80.0}, date(2026, 2, 5))
    assert err.value.field == "difficultyChange" and err.value.value == -80.0
    with pytest.raises(SourceParseError) as err:
        mempool.parse_difficulty_estimate({k: v for k, v in ESTIMATE_PAYLOAD.items() if k != "remainingTime"},
                                          date(2026, 2, 5))
    assert err.value.field == "remainingTime"


def _client(handler) -> mempool.MempoolClient:
    http = HttpClient(transport=httpx.MockTransport(handler), retry=RetryPolicy(max_attempts=2), sleep=lambda s: None)
    return mempool.MempoolClient(http)


def test_client_requests_the_real_paths_and_rejects_unknown_periods():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=HASHRATE_PAYLOAD if "hashrate" in request.url.path else [])

    client = _client(handler)
    client.hashrate("1y")
    client.difficulty_adjustments("3m")
    client.block_fees("all")
    assert seen == [
        "https://mempool.space/api/v1/mining/hashrate/1y",
        "https://mempool.space/api/v1/mining/difficulty-adjustments/3m",
        "https://mempool.space/api/v1/mining/blocks/fees/all",
    ]
    with pytest.raises(ValueError, match="unknown mempool.space time period"):
        client.hashrate("5y")


def test_error_pages_and_truncated_json_are_clear_errors():
    with pytest.raises(SourceHTTPError) as err:
        _client(lambda r: httpx.Response(404, text="Cannot GET /api/v1/mining/hashrate/1y")).hashrate("1y")
    assert err.value.status == 404 and "mempool" in str(err.value)
    with pytest.raises(SourceParseError, match="not valid JSON"):
        _client(lambda r: httpx.Response(200, text='{"hashrates":[{"timestamp":17702')).hashrate("1y")
    with pytest.raises(SourceParseError, match="not valid JSON"):
        _client(lambda r: httpx.Response(200, text="<html><body>502 Bad Gateway</body></html>")).hashrate("1y")
    with pytest.raises(SourceHTTPError, match="gave up after 2 attempts"):
        _client(lambda r: httpx.Response(503, text="busy")).difficulty_estimate()


def test_period_start_is_mysql_interval_arithmetic():
    now = datetime(2024, 3, 31, 12, tzinfo=UTC)
    assert mempool.period_start(now, "1m") == datetime(2024, 2, 29, 12, tzinfo=UTC)
    assert mempool.period_start(now, "1w") == datetime(2024, 3, 24, 12, tzinfo=UTC)
    assert mempool.period_start(now, "1y") == datetime(2023, 3, 31, 12, tzinfo=UTC)
    assert mempool.period_start(now, "all") is None


def test_choose_period_is_the_smallest_that_reaches_back():
    now = datetime(2026, 2, 28, 23, 59, tzinfo=UTC)
    assert mempool.choose_period(now, date(2026, 2, 27)) == "3d"
    assert mempool.choose_period(now, date(2026, 1, 31)) == "1m"
    assert mempool.choose_period(now, date(2026, 1, 27)) == "3m"
    assert mempool.choose_period(now, date(2023, 12, 7)) == "3y"
    assert mempool.choose_period(now, date(2020, 1, 1)) == "all"


@pytest.fixture
def replay_client() -> mempool.MempoolClient:
    return mempool.MempoolClient(HttpClient(transport=ReplayTransport(REPLAY_DATA_DIR)))


def test_replay_honours_the_period_as_of_the_replay_clock(replay_client):
    with replay_clock(datetime(2026, 2, 5, 23, 59, 59, tzinfo=UTC)):
        _, week = replay_client.hashrate("1w")
        _, month = replay_client.hashrate("1m")
        _, adjustments = replay_client.difficulty_adjustments("3m")
        _, fees = replay_client.block_fees("1w")
    days = [datetime.fromtimestamp(r["timestamp"], tz=UTC).date() for r in week["hashrates"]]
    assert days[0] == date(2026, 1, 30) and days[-1] == date(2026, 2, 5)  # midnight 01-29 is before now - 7d
    assert len(month["hashrates"]) == 31
    assert week["currentDifficulty"] == 141668107417558  # the 02-07 retarget has not happened yet
    assert week["currentHashrate"] == pytest.approx(8.9437969684106e20)
    # newest first, only retargets inside the 3 months before now
    assert [a[1] for a in adjustments] == sorted((a[1] for a in adjustments), reverse=True)
    assert adjustments[0][1] == 933408
    assert all(a[0] >= datetime(2025, 11, 5, 23, 59, 59, tzinfo=UTC).timestamp() for a in adjustments)
    assert [datetime.fromtimestamp(r["timestamp"], tz=UTC).date() for r in fees][-1] == date(2026, 2, 5)
    assert len(fees) == 7


def test_replay_estimate_answers_as_of_the_clock(replay_client):
    with replay_clock(datetime(2026, 2, 5, 23, 59, 59, tzinfo=UTC)):
        _, before = replay_client.difficulty_estimate()
    with replay_clock(datetime(2026, 2, 8, 23, 59, 59, tzinfo=UTC)):
        _, after = replay_client.difficulty_estimate()
    assert before["nextRetargetHeight"] == 935424 and after["nextRetargetHeight"] == 935424 + 2016
    assert before["difficultyChange"] == pytest.approx(-13.4, abs=0.5)  # reported: about -13.37 %
    assert after["previousRetarget"] == pytest.approx(-11.155, abs=1e-3)
    with replay_clock(datetime(2023, 6, 1, tzinfo=UTC)), pytest.raises(SourceHTTPError):
        replay_client.difficulty_estimate()


def test_replay_rejects_unknown_paths_and_periods():
    transport = ReplayTransport(REPLAY_DATA_DIR)
    with httpx.Client(transport=transport) as client:
        assert client.get("https://mempool.space/api/v1/mining/hashrate/5y").status_code == 400
        assert client.get("https://mempool.space/api/v1/mining/pools/1w").status_code == 404
