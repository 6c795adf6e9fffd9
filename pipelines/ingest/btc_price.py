"""BTC daily candles (Binance spot BTCUSDT, keyless): the price every indicator is read against.

Rows carry the name of what they really are (``SourcesResource.source_name``): ``binance`` live; in replay
``yahoo_btc_usd_aggregate``, because the bundled candles served through the klines endpoint are Yahoo Finance's
BTC-USD aggregate 00:00 UTC bars (no public copy of Binance's own daily klines exists for the window).
"""

from collections.abc import Iterator

from pipelines.ingest.factory import Fetch, RawAsset, build, daily_gaps
from pipelines.landing.load import Landed, Part
from pipelines.landing.tables import BTC_PRICE
from pipelines.sources import binance_spot


def fetch(f: Fetch) -> Iterator[Part]:
    source = f.sources.source_name(binance_spot.SOURCE, binance_spot.KLINES)
    candles = binance_spot.fetch_daily_klines(f.http, *f.window, source=source)
    yield Part(source, binance_spot.KLINES, binance_spot.parse_klines(candles))


def expectations() -> list:
    import great_expectations.expectations as gxe

    pair = gxe.ExpectColumnPairValuesAToBeGreaterThanB
    return [
        gxe.ExpectColumnValuesToBeBetween(column="close_usd", min_value=0, strict_min=True),
        gxe.ExpectColumnValuesToBeBetween(column="low_usd", min_value=0, strict_min=True),
        pair(column_A="high_usd", column_B="close_usd", or_equal=True),
        pair(column_A="close_usd", column_B="low_usd", or_equal=True),
        pair(column_A="high_usd", column_B="open_usd", or_equal=True),
        pair(column_A="open_usd", column_B="low_usd", or_equal=True),
    ]


def gaps(con) -> list:
    return [daily_gaps(con, BTC_PRICE)]


def metadata(landed: Landed, f: Fetch) -> dict:
    last = landed.frame.sort("price_date").tail(1)
    return {"last_close_usd": float(last["close_usd"][0]) if last.height else 0.0}


RAW_ASSETS = [
    RawAsset(
        BTC_PRICE, fetch, expectations=expectations, extra_batches=gaps, metadata=metadata,
        check_description="Great Expectations on raw.btc_price_daily: not empty, one candle per day, positive "
        "prices, low <= open, close <= high, and no missing day (crypto trades every day).",
    )
]
raw_btc_price_daily, raw_btc_price_daily_gx = build(RAW_ASSETS[0])
