"""OKX public API v5 (keyless), BTC-USDT-SWAP: a third venue for funding and open interest, and the only
keyless REST source of recent liquidation orders. Client + parser only; the replay server is apart.

Host ``https://www.okx.com``, no API key. Every answer is ``{"code": "0", "msg": "", "data": [...]}``; a
non-zero ``code`` (a string, e.g. ``"51001"`` instrument ID does not exist, ``"50015"`` a required
parameter is missing, ``"50011"`` rate limit, which comes with HTTP 429) is an error. Numbers and
timestamps (ms) are strings. Lists come **newest first**; ``after`` pages to older records, ``before`` to
newer ones (both exclusive).

What was confirmed against OKX's published v5 documentation (docs-v5 text as scraped Oct/Nov 2025 in
``rosssaunders/coincise`` docs/okx/{public_data,trading_statistics}.md and ``LoveBloodAndDiamonds/uni-cex-api``):

* ``GET /api/v5/public/funding-rate-history?instId=BTC-USDT-SWAP&after=&before=&limit=`` (limit ≤ 400,
  default 400; 10 requests / 2 s per IP + instrument; **up to three months** of history):
  ``data = [{"instType": "SWAP", "instId": "BTC-USDT-SWAP", "formulaType": "noRate", "fundingRate":
  "0.0000746604960499", "realizedRate": "0.0000746572360545", "fundingTime": "1703059200000", "method":
  "next_period"}]``. ``fundingRate`` is documented as the *predicted* rate and ``realizedRate`` as the
  *actual* one: we store ``realizedRate`` (a fraction per funding interval, 8 h for BTC-USDT-SWAP).
  ``after``/``before`` are ``fundingTime`` cursors.
* ``GET /api/v5/rubik/stat/contracts/open-interest-history?instId=BTC-USDT-SWAP&period=1Dutc&begin=&end=&limit=``
  (limit ≤ 100, default 100; 10 requests / 2 s per IP + instrument; the latest 1,440 entries, for daily
  bars back to 2024-01-01): ``data = [["1770249600000", "3115384.5", "31153.845", "2185049120.5"], ...]``,
  each row ``[ts, oi (contracts), oiCcy (BTC), oiUsd (USD)]``. ``period=1D`` bars open at 00:00 UTC+8;
  ``1Dutc`` at 00:00 UTC, which is what we request. ``end`` returns records earlier than ``ts``,
  ``begin`` newer. This replaced ``/api/v5/rubik/stat/contracts/open-interest-volume`` (ccy-level, no
  instrument), which the issue named. **Not documented**: whether a daily row's value is the open
  interest at the bar's open or at its close. We take the bar stamped D 00:00 UTC as day D's value
  (the OI at the bar's close, like a candle's close) and drop the bar that is still open (D = today,
  live). Check once live: the newest (open) bar should equal ``/api/v5/public/open-interest`` now.
* ``GET /api/v5/public/liquidation-orders?instType=SWAP&uly=BTC-USDT&state=filled&after=&before=&limit=``
  (limit ≤ 100): ``data = [{"instId": "BTC-USDT-SWAP", "instFamily": "BTC-USDT", "instType": "SWAP",
  "uly": "BTC-USDT", "totalLoss": "0", "details": [{"bkLoss": "0", "bkPx": "97500.0", "ccy": "",
  "posSide": "long", "side": "sell", "sz": "100", "ts": "1723892524781"}]}]``. This REST endpoint has
  been **dropped from the current docs-v5 page** (Oct 2025 scrapes list only the WebSocket
  ``liquidation-orders`` channel), but it still answers: two independent public probe reports (2026-07-06
  and 2026-08-08) got ``code "0"`` and ~1,000 BTC-USDT orders covering **the last ~24 h only**; without
  ``uly``/``instFamily`` it answers ``50015``. The older docs-v5 text gave 40 requests / 2 s per IP and
  ``after``/``before`` as ``ts`` cursors. So the collector must run every day shortly after 00:00 UTC:
  there is no history to backfill.

Liquidation semantics (docs-v5 and ``OKX.Api`` models): ``posSide`` is the side of the position that
was liquidated (``long``/``short``; ``net`` in one-way mode), ``side`` the side of the liquidation order
(``sell`` closes a long, ``buy`` closes a short). ``sz`` is in **contracts**: BTC-USDT-SWAP is a linear
contract with ``ctVal = 0.01`` BTC (``ctValCcy`` BTC, ``/api/v5/public/instruments?instType=SWAP``), so
``notional_btc = sz × 0.01`` and ``notional_usd = sz × 0.01 × bkPx``. ``bkPx`` is the bankruptcy price,
not the fill price: the USD figure is the position's value at bankruptcy (a close, standard estimate).

Rate limits: the tightest documented limit here is 10 requests / 2 s; one request per 0.5 s per host
stays well under it. ``50011`` arrives with HTTP 429, which :class:`HttpClient` retries with backoff.

Other venues' keyless recent liquidations (checked, not built here): Binance ``GET /fapi/v1/forceOrders``
is USER_DATA (needs a key, own account only) and ``/fapi/v1/allForceOrders`` was retired on 2021-04-27;
Binance publishes market liquidations only on the WebSocket ``<symbol>@forceOrder`` / ``!forceOrder@arr``
streams (at most one, the largest, order per symbol per second) and data.binance.vision has no
liquidation files. Bybit has no REST liquidation endpoint (``/v5/market/liquidation`` → 404); only the
WebSocket ``allLiquidation.{symbol}`` topic. Gate.io ``GET /api/v4/futures/usdt/liq_orders?contract=BTC_USDT``
is keyless REST but a query spans at most one hour. So OKX is the only keyless REST source with a day.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from pipelines.sources.coinglass import (
    FUTURES_FUNDING_SCHEMA,
    FUTURES_LIQUIDATION_SCHEMA,
    FUTURES_OI_SCHEMA,
    date_to_ms,
)
from pipelines.sources.fields import error_detail
from pipelines.sources.http import HttpClient, SourceError, SourceHTTPError, SourceParseError, declare_rate_limit, decode_json

SOURCE = "okx"
HOST = "www.okx.com"
BASE_URL = f"https://{HOST}"
FUNDING_HISTORY = "/api/v5/public/funding-rate-history"
OPEN_INTEREST_HISTORY = "/api/v5/rubik/stat/contracts/open-interest-history"
LIQUIDATION_ORDERS = "/api/v5/public/liquidation-orders"
INST_ID = "BTC-USDT-SWAP"
INST_TYPE = "SWAP"
UNDERLYING = "BTC-USDT"
VENUE = "okx"
OI_PERIOD = "1Dutc"
FUNDING_MAX_LIMIT = 400
OI_MAX_LIMIT = 100
LIQUIDATION_MAX_LIMIT = 100
MAX_PAGES = 1000
# Contract value of BTC-USDT-SWAP (linear, settled in USDT): one contract is 0.01 BTC.
CONTRACT_VALUE_BTC = 0.01
declare_rate_limit(HOST, 0.5)

LIQUIDATION_ORDER_SCHEMA = {
    "liquidation_time": pl.Datetime("ms", "UTC"),
    "liquidation_date": pl.Date,
    "venue": pl.String,
    "symbol": pl.String,
    "liquidated_side": pl.String,  # "long" or "short": the position that was liquidated
    "size_contracts": pl.Float64,
    "bankruptcy_price_usd": pl.Float64,
    "notional_btc": pl.Float64,
    "notional_usd": pl.Float64,
    "payload": pl.String,
}


class OkxClient:
    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def _data(self, path: str, params: dict[str, Any]) -> list[Any]:
        response = self.http.get(SOURCE, BASE_URL + path, params=params, endpoint=path)
        if response.status_code >= 400:
            detail = error_detail(response, "code", "msg")
            raise SourceHTTPError(SOURCE, path, f"HTTP {response.status_code}{detail}", status=response.status_code)
        body = decode_json(SOURCE, path, response)
        if not isinstance(body, dict) or "code" not in body:
            raise SourceParseError(SOURCE, path, "expected an object with 'code'", field="code", value=None)
        if body["code"] != "0":
            raise SourceError(SOURCE, path, f"API error code {body['code']}: {body.get('msg')}",
                              field="code", value=body["code"])
        data = body.get("data")
        if not isinstance(data, list):
            raise SourceParseError(SOURCE, path, "'data' is not a list", field="data", value=data)
        return data

    def _walk_back(self, path: str, params: dict[str, Any], cursor_key: str, start_ms: int, end_ms: int,
                   limit: int, row_ms) -> list[Any]:
        """Pages newest → oldest: ``cursor_key`` (exclusive) starts at ``end_ms`` and moves to the oldest
        row of each page, until a page is short, empty or reaches ``start_ms``."""
        rows: list[Any] = []
        cursor = end_ms
        for _ in range(MAX_PAGES):
            page = self._data(path, {**params, cursor_key: cursor, "limit": limit})
            if not page:
                break
            rows.extend(page)
            oldest = min(row_ms(path, r) for r in page)
            if oldest >= cursor:
                raise SourceParseError(SOURCE, path, f"pagination: page does not move below {cursor_key}",
                                       field=cursor_key, value=cursor)
            if len(page) < limit or oldest <= start_ms:
                break
            cursor = oldest
        return rows

    def funding_history(self, start: date, end: date) -> list[Any]:
        """Every funding of BTC-USDT-SWAP with fundingTime in days [start, end), oldest first.
        OKX keeps about three months: older days are simply not returned."""
        lo, hi = date_to_ms(start), date_to_ms(end)
        rows = self._walk_back(FUNDING_HISTORY, {"instId": INST_ID}, "after", lo, hi, FUNDING_MAX_LIMIT,
                               lambda ep, r: _ms(ep, _field(ep, r, "fundingTime"), "fundingTime"))
        rows = [r for r in rows if lo <= _ms(FUNDING_HISTORY, r["fundingTime"], "fundingTime") < hi]
        return sorted(rows, key=lambda r: int(r["fundingTime"]))

    def open_interest_history(self, start: date, end: date, today: date | None = None) -> list[Any]:
        """Daily (``1Dutc``) OI bars of days [start, end), oldest first; the bar of ``today`` (UTC, still
        open) is never included."""
        if today is None:
            today = datetime.now(tz=UTC).date()
        lo, hi = date_to_ms(start), min(date_to_ms(end), date_to_ms(today))
        if lo >= hi:
            return []
        rows = self._walk_back(OPEN_INTEREST_HISTORY, {"instId": INST_ID, "period": OI_PERIOD}, "end", lo, hi,
                               OI_MAX_LIMIT, lambda ep, r: _ms(ep, _cell(ep, r, 0, "ts"), "ts"))
        rows = [r for r in rows if lo <= int(r[0]) < hi]
        return sorted(rows, key=lambda r: int(r[0]))

    def liquidation_orders(self, start_ms: int, end_ms: int) -> list[Any]:
        """The ``data`` objects of every page of filled BTC-USDT-SWAP liquidation orders with ``ts`` in
        [start_ms, end_ms), walking back from ``end_ms``. OKX keeps about 24 h: see
        :func:`oldest_order_ms` to tell whether the walk reached ``start_ms``."""
        params = {"instType": INST_TYPE, "uly": UNDERLYING, "state": "filled"}
        pages: list[Any] = []
        cursor = end_ms
        for _ in range(MAX_PAGES):
            page = self._data(LIQUIDATION_ORDERS, {**params, "after": cursor, "limit": LIQUIDATION_MAX_LIMIT})
            details = [d for rec in page for d in _details(rec)]
            if not details:
                break
            pages.extend(page)
            oldest = min(_ms(LIQUIDATION_ORDERS, _field(LIQUIDATION_ORDERS, d, "ts"), "ts") for d in details)
            if oldest >= cursor:
                raise SourceParseError(SOURCE, LIQUIDATION_ORDERS, "pagination: page does not move below after",
                                       field="after", value=cursor)
            # no short-page stop: how ``limit`` counts (pages or orders) is not documented any more; an
            # exhausted window answers an empty page, one request later
            if oldest < start_ms:
                break
            cursor = oldest
        return pages


# ---------------------------------------------------------------------------------------------
# Field readers: every problem names the endpoint, the field and the value.
# ---------------------------------------------------------------------------------------------
def _field(endpoint: str, rec: Any, key: str) -> Any:
    if not isinstance(rec, dict):
        raise SourceParseError(SOURCE, endpoint, "record is not an object", field="data[]", value=rec)
    if key not in rec:
        raise SourceParseError(SOURCE, endpoint, "missing field", field=key, value=sorted(rec))
    return rec[key]


def _cell(endpoint: str, row: Any, i: int, name: str) -> Any:
    if not isinstance(row, list) or len(row) < 4:
        raise SourceParseError(SOURCE, endpoint, "row is not [ts, oi, oiCcy, oiUsd]", field=name, value=row)
    return row[i]


def _ms(endpoint: str, value: Any, field: str) -> int:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise SourceParseError(SOURCE, endpoint, "timestamp is not an integer string (ms)", field=field, value=value)


def at_utc(ms_value: int) -> datetime:
    return datetime.fromtimestamp(ms_value / 1000, tz=UTC)


def _decimal(endpoint: str, value: Any, field: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SourceParseError(SOURCE, endpoint, f"{where}: not a number", field=field, value=value)
    try:
        return float(value)
    except ValueError:
        raise SourceParseError(SOURCE, endpoint, f"{where}: not a number", field=field, value=value) from None


def _details(rec: Any) -> list[Any]:
    details = _field(LIQUIDATION_ORDERS, rec, "details")
    if not isinstance(details, list):
        raise SourceParseError(SOURCE, LIQUIDATION_ORDERS, "'details' is not a list", field="details", value=details)
    return details


def _payload(rec: Any) -> str:
    return json.dumps(rec, separators=(",", ":"), sort_keys=True)


# ---------------------------------------------------------------------------------------------
# Parsers
# ---------------------------------------------------------------------------------------------
def parse_funding(records: list[Any]) -> pl.DataFrame:
    """One row per funding; ``funding_rate_pct`` = ``realizedRate`` × 100 (% per 8 h)."""
    ep = FUNDING_HISTORY
    rows = []
    for rec in records:
        inst = _field(ep, rec, "instId")
        if inst != INST_ID:
            raise SourceParseError(SOURCE, ep, "unexpected instrument", field="instId", value=inst)
        at = at_utc(_ms(ep, _field(ep, rec, "fundingTime"), "fundingTime"))
        pct = _decimal(ep, _field(ep, rec, "realizedRate"), "realizedRate", f"funding at {at:%Y-%m-%d %H:%M}") * 100
        rows.append({"funding_date": at.date(), "funding_time": at, "venue": VENUE, "symbol": INST_ID,
                     "funding_open_pct": None, "funding_high_pct": None, "funding_low_pct": None,
                     "funding_rate_pct": pct, "payload": _payload(rec)})
    df = (pl.DataFrame(rows, schema=FUTURES_FUNDING_SCHEMA, orient="row") if rows
          else pl.DataFrame(schema=FUTURES_FUNDING_SCHEMA))
    dupes = df.filter(pl.col("funding_time").is_duplicated())
    if dupes.height:
        raise SourceParseError(SOURCE, ep, "duplicate fundingTime", field="fundingTime", value=str(dupes["funding_time"][0]))
    return df.sort("funding_time")


def parse_open_interest(rows_in: list[Any]) -> pl.DataFrame:
    """One row per day: the ``1Dutc`` bar stamped D 00:00 UTC is day D (see the module docstring)."""
    ep = OPEN_INTEREST_HISTORY
    rows = []
    for row in rows_in:
        at = at_utc(_ms(ep, _cell(ep, row, 0, "ts"), "ts"))
        if (at.hour, at.minute, at.second, at.microsecond) != (0, 0, 0, 0):
            raise SourceParseError(SOURCE, ep, "daily bar not at 00:00 UTC (period 1Dutc?)", field="ts", value=row[0])
        where = f"bar of {at:%Y-%m-%d}"
        btc = _decimal(ep, _cell(ep, row, 2, "oiCcy"), "oiCcy", where)
        usd = _decimal(ep, _cell(ep, row, 3, "oiUsd"), "oiUsd", where)
        rows.append({"oi_date": at.date(), "venue": VENUE, "symbol": INST_ID, "oi_open_usd": None, "oi_high_usd": None,
                     "oi_low_usd": None, "oi_close_usd": usd, "oi_close_btc": btc, "payload": _payload(row)})
    df = pl.DataFrame(rows, schema=FUTURES_OI_SCHEMA, orient="row") if rows else pl.DataFrame(schema=FUTURES_OI_SCHEMA)
    dupes = df.filter(pl.col("oi_date").is_duplicated())
    if dupes.height:
        raise SourceParseError(SOURCE, ep, "two bars for one day", field="ts", value=str(dupes["oi_date"][0]))
    return df.sort("oi_date")


def _liquidated_side(pos_side: Any, side: Any) -> str | None:
    """The side of the position that was liquidated, or None when ``posSide`` and ``side`` disagree."""
    if pos_side == "long" and side == "sell":
        return "long"
    if pos_side == "short" and side == "buy":
        return "short"
    if pos_side == "net":  # one-way mode: a sell closes a long, a buy closes a short
        return {"sell": "long", "buy": "short"}.get(side)
    return None


def parse_liquidations(records: list[Any]) -> pl.DataFrame:
    """One row per liquidation order of BTC-USDT-SWAP, USD = sz × ctVal (0.01 BTC) × bkPx. The same order
    seen on two overlapping pages (same ts, side, size and price) is kept once."""
    ep = LIQUIDATION_ORDERS
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for rec in records:
        inst = _field(ep, rec, "instId")
        if inst != INST_ID:
            raise SourceParseError(SOURCE, ep, "unexpected instrument", field="instId", value=inst)
        for d in _details(rec):
            ts = _ms(ep, _field(ep, d, "ts"), "ts")
            at = at_utc(ts)
            where = f"order at {at:%Y-%m-%d %H:%M:%S}"
            pos_side, side = _field(ep, d, "posSide"), _field(ep, d, "side")
            liquidated = _liquidated_side(pos_side, side)
            if liquidated is None:
                raise SourceParseError(SOURCE, ep, f"{where}: posSide/side is not a liquidation of a long or a short",
                                       field="posSide/side", value=f"{pos_side}/{side}")
            sz = _decimal(ep, _field(ep, d, "sz"), "sz", where)
            px = _decimal(ep, _field(ep, d, "bkPx"), "bkPx", where)
            if sz <= 0 or px <= 0:
                raise SourceParseError(SOURCE, ep, f"{where}: size and bankruptcy price must be positive",
                                       field="sz" if sz <= 0 else "bkPx", value=d["sz"] if sz <= 0 else d["bkPx"])
            key = (ts, pos_side, side, d["sz"], d["bkPx"])
            rows[key] = {"liquidation_time": at, "liquidation_date": at.date(), "venue": VENUE, "symbol": INST_ID,
                         "liquidated_side": liquidated, "size_contracts": sz, "bankruptcy_price_usd": px,
                         "notional_btc": sz * CONTRACT_VALUE_BTC, "notional_usd": sz * CONTRACT_VALUE_BTC * px,
                         "payload": _payload(d)}
    if not rows:
        return pl.DataFrame(schema=LIQUIDATION_ORDER_SCHEMA)
    return pl.DataFrame(list(rows.values()), schema=LIQUIDATION_ORDER_SCHEMA, orient="row").sort("liquidation_time")


def oldest_order_ms(orders: pl.DataFrame) -> int | None:
    """The oldest order's time (ms) in a parsed frame: a day is fully collected only if this is before it."""
    if orders.is_empty():
        return None
    return int(orders["liquidation_time"].min().timestamp() * 1000)


def daily_liquidation_sums(orders: pl.DataFrame, days: list[date]) -> pl.DataFrame:
    """Sum parsed orders into one row per UTC day in ``days``: long (liquidated longs, ``posSide`` long /
    ``side`` sell) and short USD, in the shape of ``raw.futures_liquidations``. A day without an order gets
    zeros (OKX answered; nobody was liquidated); the payload says how many orders made each figure."""
    rows = []
    for day in sorted(set(days)):
        of_day = orders.filter(pl.col("liquidation_date") == day)
        sums = {}
        for side in ("long", "short"):
            part = of_day.filter(pl.col("liquidated_side") == side)
            sums[side] = (float(part["notional_usd"].sum()), part.height, float(part["notional_btc"].sum()))
        payload = {"orders_long": sums["long"][1], "orders_short": sums["short"][1],
                   "long_btc": round(sums["long"][2], 8), "short_btc": round(sums["short"][2], 8),
                   "contract_value_btc": CONTRACT_VALUE_BTC, "price": "bkPx"}
        rows.append({"liquidation_date": day, "venue": VENUE, "symbol": INST_ID,
                     "long_liquidation_usd": sums["long"][0], "short_liquidation_usd": sums["short"][0],
                     "payload": json.dumps(payload, separators=(",", ":"), sort_keys=True)})
    if not rows:
        return pl.DataFrame(schema=FUTURES_LIQUIDATION_SCHEMA)
    return pl.DataFrame(rows, schema=FUTURES_LIQUIDATION_SCHEMA, orient="row")
