"""Daily long/short liquidation sums from OKX orders, on a hand-made order list worked out by hand."""

import json
from datetime import UTC, date, datetime

import pytest

from pipelines.sources import okx
from pipelines.sources.coinglass import FUTURES_LIQUIDATION_SCHEMA


def ms(d: date, hour: int, minute: int = 0, second: int = 0) -> int:
    return int(datetime(d.year, d.month, d.day, hour, minute, second, tzinfo=UTC).timestamp() * 1000)


D4, D5, D6 = date(2026, 2, 4), date(2026, 2, 5), date(2026, 2, 6)


def order(t: int, pos_side: str, side: str, sz: str, px: str) -> dict:
    return {"bkLoss": "0", "bkPx": px, "ccy": "", "posSide": pos_side, "side": side, "sz": sz, "ts": str(t)}


# Two pages as OKX sends them (newest first); the 5 Feb 12:00 order appears on both pages (overlap).
PAGES = [
    {"instId": "BTC-USDT-SWAP", "instFamily": "BTC-USDT", "instType": "SWAP", "uly": "BTC-USDT", "totalLoss": "0",
     "details": [order(ms(D6, 0, 0, 1), "short", "buy", "50", "71000"),        # 6 Feb: 0.5 BTC short  = 35,500
                 order(ms(D5, 23, 59, 59), "long", "sell", "200", "62500"),    # 5 Feb: 2 BTC long     = 125,000
                 order(ms(D5, 12), "net", "sell", "40", "64000")]},            # 5 Feb: 0.4 BTC long   = 25,600
    {"instId": "BTC-USDT-SWAP", "instFamily": "BTC-USDT", "instType": "SWAP", "uly": "BTC-USDT", "totalLoss": "0",
     "details": [order(ms(D5, 12), "net", "sell", "40", "64000"),              # the same order again
                 order(ms(D5, 6), "short", "buy", "10", "66000"),              # 5 Feb: 0.1 BTC short  = 6,600
                 order(ms(D5, 0), "net", "buy", "1", "70000"),                 # 5 Feb 00:00:00.000: 0.01 BTC short = 700
                 order(ms(D4, 23, 59, 59), "long", "sell", "1000", "73000")]}, # 4 Feb: 10 BTC long    = 730,000
]


def test_daily_sums_split_long_and_short_usd_per_utc_day():
    orders = okx.parse_liquidations(PAGES)
    assert orders.height == 6  # the duplicate is kept once
    sums = okx.daily_liquidation_sums(orders, [D4, D5, D6])
    assert sums.schema == FUTURES_LIQUIDATION_SCHEMA  # the shape of raw.futures_liquidations
    by_day = {r["liquidation_date"]: r for r in sums.iter_rows(named=True)}
    assert by_day[D5]["long_liquidation_usd"] == pytest.approx(125_000 + 25_600)
    assert by_day[D5]["short_liquidation_usd"] == pytest.approx(6_600 + 700)
    assert by_day[D4]["long_liquidation_usd"] == pytest.approx(730_000) and by_day[D4]["short_liquidation_usd"] == 0
    assert by_day[D6]["short_liquidation_usd"] == pytest.approx(35_500) and by_day[D6]["long_liquidation_usd"] == 0
    payload = json.loads(by_day[D5]["payload"])
    assert payload["orders_long"] == 2 and payload["orders_short"] == 2
    assert payload["long_btc"] == pytest.approx(2.4) and payload["short_btc"] == pytest.approx(0.11)
    assert payload["contract_value_btc"] == 0.01
    assert {r["venue"] for r in sums.iter_rows(named=True)} == {"okx"}


def test_a_requested_day_without_orders_is_zero_and_days_not_asked_for_are_left_out():
    orders = okx.parse_liquidations(PAGES)
    sums = okx.daily_liquidation_sums(orders, [date(2026, 2, 7), D5])
    assert sums["liquidation_date"].to_list() == [D5, date(2026, 2, 7)]
    quiet = sums.row(1, named=True)
    assert (quiet["long_liquidation_usd"], quiet["short_liquidation_usd"]) == (0.0, 0.0)
    assert json.loads(quiet["payload"])["orders_long"] == 0


def test_no_orders_and_no_days_give_an_empty_table():
    empty = okx.parse_liquidations([])
    assert okx.daily_liquidation_sums(empty, []).height == 0
    assert okx.daily_liquidation_sums(empty, [D5])["long_liquidation_usd"].to_list() == [0.0]
