"""The replay package: provenance made machine-readable for every bundled file, the derived-days header the
landing reads, clear errors for missing or corrupt files, and BTC_SIGNALS_LIVE_REDIRECTS."""

import json
import shutil
from datetime import date
from pathlib import Path

import httpx
import pytest

from pipelines.replay import provenance
from pipelines.replay.provenance import DERIVED_DAYS_HEADER, is_derived, parse_days
from pipelines.replay.transport import ReplayDataError, ReplayTransport, dataset_window
from pipelines.settings import REPLAY_DATA_DIR, load_settings

DATA_FILES = sorted(str(p.relative_to(REPLAY_DATA_DIR)) for p in REPLAY_DATA_DIR.glob("*/*")
                    if p.suffix in (".json", ".csv", ".html") and p.name != "provenance.csv")


@pytest.mark.parametrize("rel", DATA_FILES)
def test_every_bundled_data_file_has_a_declared_provenance(rel):
    provenance.derived_days(REPLAY_DATA_DIR, [rel])  # raises when the file is declared nowhere


def derived(rel: str, day: date) -> bool:
    return is_derived(day, provenance.derived_days(REPLAY_DATA_DIR, [rel]))


def test_derived_days_follow_the_readmes():
    assert not list((REPLAY_DATA_DIR / "bybit").glob("*.json"))  # Bybit placeholders (derived throughout) dropped
    assert derived("deribit/smile_params.json", date(2026, 2, 5))  # the rendered chain
    assert not derived("binance_futures/fundingRate_BTCUSDT.json", date(2026, 2, 5))  # real Binance funding
    cg_oi = "coinglass/futures_open_interest_aggregated_history_BTC_1d.json"
    assert not derived(cg_oi, date(2025, 11, 13)) and derived(cg_oi, date(2025, 11, 14))
    oi = "binance_futures/openInterestHist_BTCUSDT_1d.json"
    assert not derived(oi, date(2026, 2, 19)) and not derived(oi, date(2026, 2, 20))  # observed hourly OI at 00:00 UTC
    assert derived(oi, date(2024, 7, 10))  # a zero 00:00 snapshot, filled from the day's last non-zero hour
    assert derived("fred/NASDAQCOM.csv", date(2025, 9, 5)) and not derived("fred/NASDAQCOM.csv", date(2025, 9, 8))
    assert not derived("fred/SP500.csv", date(2025, 1, 6)) and derived("fred/DJIA.csv", date(2025, 1, 6))
    dvol = "deribit/dvol_btc_1d.json"
    assert not derived(dvol, date(2026, 1, 19)) and derived(dvol, date(2026, 2, 5))
    assert not derived("farside/bitcoin-etf-flow-all-data.html", date(2026, 2, 5))


def get(url: str, replay_dir: Path = REPLAY_DATA_DIR, **headers) -> httpx.Response:
    with httpx.Client(transport=ReplayTransport(replay_dir)) as client:
        return client.get(url, headers=headers)


def test_the_replay_transport_sends_the_derived_days_only_for_derived_inputs():
    oi = get("https://fapi.binance.com/futures/data/openInterestHist?symbol=BTCUSDT&period=1d"
             "&startTime=1720569600000&endTime=1720828800000")
    spans = parse_days(oi.headers[DERIVED_DAYS_HEADER])
    assert is_derived(date(2024, 7, 10), spans) and not is_derived(date(2024, 7, 11), spans)
    funding = get("https://fapi.binance.com/fapi/v1/fundingRate?symbol=BTCUSDT&startTime=1770249600000&limit=3")
    assert funding.status_code == 200 and DERIVED_DAYS_HEADER not in funding.headers  # observed throughout
    bybit = get("https://api.bybit.com/v5/market/funding/history?category=linear&symbol=BTCUSDT"
                "&startTime=1770249600000&endTime=1770335999999&limit=200")
    assert bybit.status_code == 404 and bybit.json()["retCode"] == "replay-no-data"
    assert DERIVED_DAYS_HEADER not in bybit.headers  # nothing served, nothing derived
    farside = get("https://farside.co.uk/bitcoin-etf-flow-all-data/")
    assert farside.status_code == 200 and DERIVED_DAYS_HEADER not in farside.headers


def test_a_missing_or_corrupt_replay_file_names_source_file_and_problem(tmp_path):
    copy = tmp_path / "replay"
    shutil.copytree(REPLAY_DATA_DIR, copy)
    (copy / "binance" / "BTCUSDT-1d.json").write_text('[[1770249600000, "62000.0"')
    url = "https://api.binance.com/api/v3/klines?symbol=BTCUSDT&interval=1d&limit=5"
    with pytest.raises(ReplayDataError, match=r"\[binance\] replay file binance/BTCUSDT-1d.json: not valid JSON"):
        get(url, copy)
    (copy / "binance" / "BTCUSDT-1d.json").unlink()
    with pytest.raises(ReplayDataError, match="binance/BTCUSDT-1d.json: missing"):
        get(url, copy)
    (copy / "provenance_files.csv").write_text("file,first_day,last_day,origin,how\nbinance/x.json,,,maybe,?\n")
    with pytest.raises(ReplayDataError, match="origin 'maybe' is not one of"):
        provenance.derived_days(copy, ["binance/x.json"])
    (copy / "manifest.json").write_text(json.dumps({"window_start": "2024-01-11"}))
    with pytest.raises(ReplayDataError, match="manifest.json: needs window_start and window_end"):
        dataset_window(copy)


def test_live_redirects_come_from_the_environment():
    settings = load_settings({"BTC_SIGNALS_LIVE_REDIRECTS": "farside.co.uk=http://127.0.0.1:8081, "
                                                            "Open-API-v4.coinglass.com=http://127.0.0.1:8080"})
    assert settings.redirects == {"farside.co.uk": "http://127.0.0.1:8081",
                                  "open-api-v4.coinglass.com": "http://127.0.0.1:8080"}
    assert load_settings({}).redirects == {}
    with pytest.raises(ValueError, match="entry 'farside.co.uk' is not host=http"):
        load_settings({"BTC_SIGNALS_LIVE_REDIRECTS": "farside.co.uk"})


def test_the_replay_names_the_btc_close_for_what_it_is():
    """The klines the replay serves are Yahoo's BTC-USD aggregate close: rows say so in replay, `binance` live."""
    from pipelines.resources import SourcesResource
    from pipelines.sources import binance_futures, binance_spot

    replay, live = SourcesResource(mode="replay", replay_dir=str(REPLAY_DATA_DIR)), SourcesResource(mode="live")
    assert replay.source_name(binance_spot.SOURCE, binance_spot.KLINES) == "yahoo_btc_usd_aggregate"
    assert live.source_name(binance_spot.SOURCE, binance_spot.KLINES) == "binance"
    # Binance's futures answers in replay are Binance's own (observed): they keep the name
    assert replay.source_name(binance_futures.SOURCE, binance_futures.FUNDING_RATE) == "binance"
