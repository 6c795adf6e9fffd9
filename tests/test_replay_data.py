"""The rebuilt replay files against the observed reference series they are made from
(shared/reference-data, beside the repository): Binance open interest and gold/silver spot."""

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.settings import REPLAY_DATA_DIR
from pipelines.sources import binance_futures, stooq
from pipelines.sources.http import HttpClient
from pipelines.replay.transport import ReplayTransport

ROOT = Path(__file__).resolve().parent.parent
# CI lays shared/ beside the clone; a worktree under wt/ has it two levels up.
CANDIDATES = [ROOT.parent / "shared" / "reference-data", ROOT.parent.parent / "shared" / "reference-data"]
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def reference() -> Path:
    for path in CANDIDATES:
        if (path / "SOURCES.md").exists():
            return path
    raise AssertionError(f"reference data not found in {[str(p) for p in CANDIDATES]}")


def bundled_oi() -> list[dict]:
    return json.loads((REPLAY_DATA_DIR / "binance_futures" / "openInterestHist_BTCUSDT_1d.json").read_text())


def hourly(reference: Path) -> dict[int, tuple[str, str]]:
    with open(reference / "derivatives" / "hl-cycles__binance_oi_hourly_BTCUSDT.csv", newline="") as fh:
        return {int(r["t_ms"]): (r["oi_coins"], r["oi_usd"]) for r in csv.DictReader(fh)}


def test_binance_oi_daily_value_is_the_hourly_snapshot_at_the_next_utc_midnight(reference):
    rows, source = bundled_oi(), hourly(reference)
    assert {tuple(sorted(r)) for r in rows} == {("sumOpenInterest", "sumOpenInterestValue", "symbol", "timestamp")}
    # the two days whose 00:00 snapshot is zero in the source take the day's last non-zero one (23:00)
    zero_midnights = {1720656000000, 1720828800000}  # 2024-07-11 and 07-13 00:00
    assert all(float(source[t][0]) == 0 == float(source[t][1]) for t in zero_midnights)
    for r in rows:
        assert r["timestamp"] % DAY_MS == 0 and r["symbol"] == "BTCUSDT"
        btc, usd = source[r["timestamp"] - 3_600_000 if r["timestamp"] in zero_midnights else r["timestamp"]]
        assert float(r["sumOpenInterest"]) == float(btc) > 0 and float(r["sumOpenInterestValue"]) == float(usd) > 0
    days = [(datetime.fromtimestamp(r["timestamp"] / 1000, tz=UTC) - timedelta(days=1)).date() for r in rows]
    assert days[0] == date(2024, 4, 28) and days[-1] == date(2026, 2, 28)
    assert days == [days[0] + timedelta(days=i) for i in range(len(days))]  # every day, once


def test_binance_oi_matches_the_raw_daily_rows_and_the_documented_checks(reference):
    by_ts = {r["timestamp"]: r for r in bundled_oi()}
    with open(reference / "derivatives" / "gravestone-data__oi_1d__BTCUSDT.csv", newline="") as fh:
        raw = list(csv.DictReader(fh))
    common = [r for r in raw if int(r["timestamp"]) in by_ts]
    assert len(common) == 9  # the raw openInterestHist 1d rows that fall in the window
    for r in common:
        ours = by_ts[int(r["timestamp"])]
        assert float(ours["sumOpenInterest"]) == float(r["sum_open_interest"])
        assert float(ours["sumOpenInterestValue"]) == pytest.approx(float(r["sum_open_interest_value"]), rel=1e-9)
    # SOURCES.md: 2026-02-05 00:00 = 93,814.806 BTC / 6.862 bn; 2026-02-06 00:00 = 92,719.687 BTC / 5.831 bn
    df = binance_futures.parse_open_interest([by_ts[1770249600000], by_ts[1770336000000]])
    assert df["oi_date"].to_list() == [date(2026, 2, 4), date(2026, 2, 5)]
    assert df["oi_close_btc"].to_list() == [93814.806, 92719.687]
    assert [round(v / 1e9, 3) for v in df["oi_close_usd"]] == [6.862, 5.831]


def test_binance_oi_provenance_lists_every_bundled_day_and_the_two_derived_ones():
    with open(REPLAY_DATA_DIR / "binance_futures" / "provenance.csv", newline="") as fh:
        prov = [r for r in csv.DictReader(fh) if r["file"] == "openInterestHist_BTCUSDT_1d.json"]
    days = [(datetime.fromtimestamp(r["timestamp"] / 1000, tz=UTC) - timedelta(days=1)).date().isoformat()
            for r in bundled_oi()]
    assert [r["day"] for r in prov] == days
    assert [r["day"] for r in prov if r["origin"] != "real"] == ["2024-07-10", "2024-07-12"]
    assert {r["origin"] for r in prov} == {"real", "derived"}


def test_replay_serves_binance_oi_before_december_2024():
    http = HttpClient(transport=ReplayTransport(REPLAY_DATA_DIR), sleep=lambda s: None)
    client = binance_futures.BinanceFuturesClient(http, live=False)
    df = binance_futures.parse_open_interest(client.open_interest_history(date(2024, 5, 1), date(2024, 5, 8)))
    assert df["oi_date"].to_list() == [date(2024, 5, d) for d in range(1, 8)]
    assert (df["oi_close_usd"] > 1e9).all()


def test_the_raw_oi_table_starts_with_the_first_observed_binance_day():
    """raw.futures_open_interest's window check starts where the bundled observed Binance OI does (not where a
    venue pairing once did), so a load keeps every observed day."""
    from pipelines.landing.tables import FUTURES_OPEN_INTEREST

    first = min(datetime.fromtimestamp(r["timestamp"] / 1000, tz=UTC).date() for r in bundled_oi()) - timedelta(days=1)
    assert FUTURES_OPEN_INTEREST.history_start == first == date(2024, 4, 28)


@pytest.mark.parametrize(("symbol", "pair"), [("xauusd", "XAUUSD"), ("xagusd", "XAGUSD")])
def test_gold_and_silver_replay_closes_are_the_spot_bars(reference, symbol, pair):
    with open(reference / "macro" / f"simom1-XAUUSD-history__{pair}_D1.csv", newline="") as fh:
        spot = {r["time"]: r for r in csv.DictReader(fh)}
    frame = stooq.parse_csv((REPLAY_DATA_DIR / "stooq" / f"{symbol}.csv").read_text(), symbol)
    assert frame["obs_date"].min() == date(2024, 1, 11) and frame["obs_date"].max() == date(2026, 2, 27)
    for day, close in zip(frame["obs_date"].to_list(), frame["close_value"].to_list(), strict=True):
        assert close == pytest.approx(float(spot[day.isoformat()]["close"]), rel=1e-12)  # source has float noise
    window = [d for d in spot if "2024-01-11" <= d <= "2026-02-28"]
    assert frame.height == len(window) == 551


def test_gold_and_silver_moves_on_6_february_2026_are_the_spot_moves():
    closes = {}
    for key in ("gold", "silver"):
        symbol = stooq.SERIES[key]
        frame = stooq.parse_csv((REPLAY_DATA_DIR / "stooq" / f"{symbol}.csv").read_text(), symbol)
        by_day = dict(zip(frame["obs_date"].to_list(), frame["close_value"].to_list(), strict=True))
        closes[key] = round(100 * (by_day[date(2026, 2, 6)] / by_day[date(2026, 2, 5)] - 1), 2)
    assert closes == {"gold": 3.97, "silver": 9.98}  # SOURCES.md; reported +3.9 % / +8.6 %
