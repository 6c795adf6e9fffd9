"""Deribit public API v2 (https://www.deribit.com/api/v2), keyless JSON-RPC over HTTP GET.

Every answer is a JSON-RPC 2.0 envelope
``{"jsonrpc": "2.0", "result": ..., "usIn": µs, "usOut": µs, "usDiff": µs, "testnet": false}``; a
failure is ``{"jsonrpc": "2.0", "error": {"code": -32602, "message": "Invalid params", "data":
{"reason": "...", "param": "..."}}, ...}`` (HTTP 400, sometimes 200). ``usOut`` is the server's clock
when it answered: a chain snapshot is stamped with it. Timestamps in results are ms since the epoch.

Methods used (GET ``/api/v2/public/<method>?<params>``):

* ``get_instruments?currency=BTC&kind=option&expired=false`` — listed options: ``instrument_name``,
  ``expiration_timestamp`` (ms; 08:00 UTC), ``strike``, ``option_type`` (call|put), ``kind``.
* ``get_book_summary_by_currency?currency=BTC&kind=option`` — one entry per option: ``mark_iv`` (%),
  ``underlying_price`` (the expiry's forward), ``underlying_index``, ``open_interest`` (contracts of
  1 BTC), ``mark_price`` (BTC), ``creation_timestamp``. No greeks.
* ``ticker?instrument_name=...`` — one instrument, with ``greeks`` {delta, gamma, vega, theta, rho}.
* ``get_index_price?index_name=btc_usd`` — ``{"index_price", "estimated_delivery_price"}``.
* ``get_volatility_index_data?currency=BTC&start_timestamp&end_timestamp&resolution=1D`` — DVOL
  candles ``{"data": [[ts, open, high, low, close], ...], "continuation": ts | null}``; a non-null
  ``continuation`` is the ``end_timestamp`` of the next (older) page.

Deribit serves only the *current* chain. Its replay server (pipelines/replay/deribit.py) answers as of the
``as_of`` clock and renders the chain from the bundled per-day smile parameters: every number it serves is
derived there (see pipelines/replay/data/deribit/README.md).
"""

from __future__ import annotations

import calendar
import json
import math
import re
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from pipelines.options_math import black76_delta
from pipelines.landing.tables import DERIBIT_DVOL, DERIBIT_OPTION_CHAIN
from pipelines.sources.http import (
    HttpClient,
    SourceError,
    SourceHTTPError,
    SourceParseError,
    declare_rate_limit,
    decode_json,
)

SOURCE = "deribit"
HOST = "www.deribit.com"
BASE_URL = f"https://{HOST}/api/v2"
GET_INSTRUMENTS = "/public/get_instruments"
GET_BOOK_SUMMARY = "/public/get_book_summary_by_currency"
TICKER = "/public/ticker"
GET_INDEX_PRICE = "/public/get_index_price"
GET_VOLATILITY_INDEX = "/public/get_volatility_index_data"
# Public (non-matching-engine) requests draw on a credit pool refilled at roughly 20 requests a second;
# 10 a second keeps a full ticker sweep well inside it.
declare_rate_limit(HOST, 0.1)

CHAIN_SCHEMA = DERIBIT_OPTION_CHAIN.schema
DVOL_SCHEMA = DERIBIT_DVOL.schema
_NAME = re.compile(r"^BTC-(\d{1,2})([A-Z]{3})(\d{2})-(\d+(?:d\d+)?)-([CP])$")
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
DELTA_MODEL = "black76_mark_iv"
DELTA_TICKER = "deribit_ticker"


class DeribitClient:
    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def call(self, method: str, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """GET one public method; return (result, envelope) after checking status and JSON-RPC error."""
        response = self.http.get(SOURCE, BASE_URL + method, params=params, endpoint=method)
        if response.status_code >= 500:
            raise SourceHTTPError(SOURCE, method, f"HTTP {response.status_code}", status=response.status_code)
        if response.status_code >= 400:
            try:  # Deribit answers a rejected call with a JSON-RPC error object; anything else is plain HTTP
                body = response.json()
            except ValueError:
                raise SourceHTTPError(SOURCE, method, f"HTTP {response.status_code}: {response.text[:120]!r}",
                                      status=response.status_code) from None
        else:
            body = decode_json(SOURCE, method, response)
        return unwrap(method, body, response.status_code), body

    def instruments(self) -> list[dict[str, Any]]:
        result, _ = self.call(GET_INSTRUMENTS, {"currency": "BTC", "kind": "option", "expired": "false"})
        return _expect_list(GET_INSTRUMENTS, result)

    def book_summary(self) -> tuple[list[dict[str, Any]], datetime]:
        """The whole BTC option book and the server instant it describes (envelope ``usOut``)."""
        result, envelope = self.call(GET_BOOK_SUMMARY, {"currency": "BTC", "kind": "option"})
        return _expect_list(GET_BOOK_SUMMARY, result), server_time(GET_BOOK_SUMMARY, envelope)

    def index_price(self) -> float:
        result, _ = self.call(GET_INDEX_PRICE, {"index_name": "btc_usd"})
        if not isinstance(result, dict):
            raise SourceParseError(SOURCE, GET_INDEX_PRICE, "expected an object", field="result", value=result)
        return _number(GET_INDEX_PRICE, result, "index_price", "result")

    def ticker_delta(self, instrument_name: str) -> float:
        result, _ = self.call(TICKER, {"instrument_name": instrument_name})
        return parse_ticker_delta(result)

    def dvol_history(self, start: datetime, end: datetime, max_pages: int = 50) -> list[list[Any]]:
        """Daily DVOL candles with start <= ts <= end, following ``continuation`` backwards."""
        start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
        seen: dict[int, list[Any]] = {}
        for _ in range(max_pages):
            result, _ = self.call(
                GET_VOLATILITY_INDEX,
                {"currency": "BTC", "start_timestamp": start_ms, "end_timestamp": end_ms, "resolution": "1D"},
            )
            if not isinstance(result, dict) or not isinstance(result.get("data"), list):
                raise SourceParseError(SOURCE, GET_VOLATILITY_INDEX, "expected an object with a 'data' list",
                                       field="result.data", value=result)
            new = 0
            for candle in result["data"]:
                ts = _candle_ts(candle)
                if ts not in seen:
                    seen[ts] = candle
                    new += 1
            cont = result.get("continuation")
            if cont is None or new == 0:
                break
            if isinstance(cont, bool) or not isinstance(cont, (int, float)) or cont >= end_ms:
                raise SourceParseError(SOURCE, GET_VOLATILITY_INDEX, "continuation does not move back in time",
                                       field="continuation", value=cont)
            if cont < start_ms:
                break
            end_ms = int(cont)
        else:
            raise SourceError(SOURCE, GET_VOLATILITY_INDEX, f"still paginating after {max_pages} pages")
        return [seen[ts] for ts in sorted(seen)]


# --------------------------------------------------------------------------------------------
# Parsers
# --------------------------------------------------------------------------------------------
def unwrap(method: str, body: Any, status: int = 200) -> Any:
    if not isinstance(body, dict):
        raise SourceParseError(SOURCE, method, "expected a JSON-RPC object", field="body", value=type(body).__name__)
    if "error" in body and body["error"] is not None:
        err = body["error"]
        if not isinstance(err, dict):
            raise SourceError(SOURCE, method, f"JSON-RPC error (HTTP {status})", field="error", value=err)
        detail = f": {json.dumps(err['data'], sort_keys=True)}" if err.get("data") else ""
        raise SourceError(
            SOURCE, method, f"JSON-RPC error {err.get('code')} {err.get('message')!s}{detail} (HTTP {status})",
            field="error.code", value=err.get("code"), status=status,
        )
    if status >= 400:
        raise SourceHTTPError(SOURCE, method, f"HTTP {status} without a JSON-RPC error object", status=status)
    if "result" not in body:
        raise SourceParseError(SOURCE, method, "JSON-RPC envelope has no 'result'", field="result", value=None)
    return body["result"]


def server_time(method: str, envelope: dict[str, Any]) -> datetime:
    us = envelope.get("usOut")
    if isinstance(us, bool) or not isinstance(us, int) or us <= 0:
        raise SourceParseError(SOURCE, method, "envelope has no server time", field="usOut", value=us)
    return datetime.fromtimestamp(us / 1e6, tz=UTC)


def _expect_list(method: str, result: Any) -> list[dict[str, Any]]:
    if not isinstance(result, list):
        raise SourceParseError(SOURCE, method, "expected a list", field="result", value=type(result).__name__)
    return result


def _number(method: str, rec: dict[str, Any], key: str, where: str, *, nullable: bool = False) -> float | None:
    if key not in rec:
        raise SourceParseError(SOURCE, method, f"{where}: missing field", field=key, value=None)
    value = rec[key]
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SourceParseError(SOURCE, method, f"{where}: not a number", field=key, value=value)
    return float(value)


def _ms(method: str, rec: dict[str, Any], key: str, where: str) -> datetime:
    value = _number(method, rec, key, where)
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise SourceParseError(SOURCE, method, f"{where}: timestamp out of range", field=key, value=value) from None


def parse_instrument_name(method: str, name: Any) -> tuple[date, float, str]:
    """``BTC-6FEB26-70000-C`` → (2026-02-06, 70000.0, 'call')."""
    m = _NAME.match(name) if isinstance(name, str) else None
    if not m or m.group(2) not in _MONTHS:
        raise SourceParseError(SOURCE, method, "not a BTC option instrument name", field="instrument_name", value=name)
    day, mon, yy, strike, cp = m.groups()
    try:
        expiry = date(2000 + int(yy), _MONTHS[mon], int(day))
    except ValueError:
        raise SourceParseError(SOURCE, method, "bad expiry date in name", field="instrument_name", value=name) from None
    return expiry, float(strike.replace("d", ".")), "call" if cp == "C" else "put"


def parse_instruments(records: list[Any]) -> dict[str, tuple[datetime, float, str]]:
    """instrument_name → (expiration instant, strike, option type), checked against the name."""
    ep = GET_INSTRUMENTS
    out: dict[str, tuple[datetime, float, str]] = {}
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise SourceParseError(SOURCE, ep, f"record {i} is not an object", field="result[]", value=rec)
        name = rec.get("instrument_name")
        if rec.get("kind") != "option":
            raise SourceParseError(SOURCE, ep, f"{name}: not an option", field="kind", value=rec.get("kind"))
        expiry_day, strike_in_name, kind = parse_instrument_name(ep, name)
        expiry_at = _ms(ep, rec, "expiration_timestamp", str(name))
        strike = _number(ep, rec, "strike", str(name))
        option_type = rec.get("option_type")
        if option_type not in ("call", "put") or option_type != kind:
            raise SourceParseError(SOURCE, ep, f"{name}: option_type disagrees with the name",
                                   field="option_type", value=option_type)
        if expiry_at.date() != expiry_day or strike != strike_in_name:
            raise SourceParseError(SOURCE, ep, f"{name}: expiry or strike disagrees with the name",
                                   field="expiration_timestamp", value=rec.get("expiration_timestamp"))
        out[name] = (expiry_at, strike, option_type)
    return out


def parse_ticker_delta(result: Any) -> float:
    if not isinstance(result, dict):
        raise SourceParseError(SOURCE, TICKER, "expected an object", field="result", value=result)
    greeks = result.get("greeks")
    if not isinstance(greeks, dict):
        raise SourceParseError(SOURCE, TICKER, "no greeks (not an option?)", field="greeks", value=greeks)
    delta = _number(TICKER, greeks, "delta", str(result.get("instrument_name")))
    if not -1.0 <= delta <= 1.0:
        raise SourceParseError(SOURCE, TICKER, "delta outside [-1, 1]", field="greeks.delta", value=delta)
    return delta


def parse_book_summary(
    records: list[Any],
    instruments: dict[str, tuple[datetime, float, str]],
    snapshot_at: datetime,
    snapshot_date: date,
    index_price: float | None,
    ticker_deltas: dict[str, float] | None = None,
) -> pl.DataFrame:
    """One row per listed option of the snapshot. Delta: the exchange's (ticker) where given, else
    Black-76 on ``underlying_price`` from ``mark_iv``; null where either is missing or the option has expired."""
    ep = GET_BOOK_SUMMARY
    rows: list[dict[str, Any]] = []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise SourceParseError(SOURCE, ep, f"record {i} is not an object", field="result[]", value=rec)
        name = rec.get("instrument_name")
        if name in instruments:
            expiry_at, strike, option_type = instruments[name]
        else:  # listed between the two calls: the name carries expiry (08:00 UTC), strike and type
            expiry_day, strike, option_type = parse_instrument_name(ep, name)
            expiry_at = datetime(expiry_day.year, expiry_day.month, expiry_day.day, 8, tzinfo=UTC)
        where = str(name)
        iv = _number(ep, rec, "mark_iv", where, nullable=True)
        fwd = _number(ep, rec, "underlying_price", where, nullable=True)
        t_years = (expiry_at - snapshot_at).total_seconds() / (365.0 * 86400.0)
        delta, source = None, None
        if ticker_deltas and name in ticker_deltas:
            delta, source = ticker_deltas[name], DELTA_TICKER
        elif iv is not None and iv > 0 and fwd is not None and fwd > 0 and t_years > 0:
            delta, source = black76_delta(fwd, strike, iv / 100.0, t_years, option_type), DELTA_MODEL
        underlying_index = rec.get("underlying_index")
        rows.append(
            {
                "snapshot_date": snapshot_date,
                "snapshot_at": snapshot_at,
                "instrument_name": name,
                "expiry_at": expiry_at,
                "strike": strike,
                "option_type": option_type,
                "mark_iv_pct": iv,
                "delta": delta,
                "delta_source": source,
                "underlying_price": fwd,
                "underlying_index": underlying_index if isinstance(underlying_index, str) else None,
                "index_price": index_price,
                "open_interest": _number(ep, rec, "open_interest", where, nullable=True),
                "mark_price_btc": _number(ep, rec, "mark_price", where, nullable=True),
                "payload": json.dumps(rec, separators=(",", ":"), sort_keys=True),
            }
        )
    df = pl.DataFrame(rows, schema=CHAIN_SCHEMA, orient="row") if rows else pl.DataFrame(schema=CHAIN_SCHEMA)
    dupes = df.filter(pl.col("instrument_name").is_duplicated())
    if dupes.height:
        raise SourceParseError(SOURCE, ep, "duplicate instrument in payload", field="instrument_name",
                               value=dupes["instrument_name"][0])
    return df


def _candle_ts(candle: Any) -> int:
    if not isinstance(candle, list) or len(candle) != 5:
        raise SourceParseError(SOURCE, GET_VOLATILITY_INDEX, "candle is not [ts, open, high, low, close]",
                               field="data[]", value=candle)
    ts = candle[0]
    if isinstance(ts, bool) or not isinstance(ts, (int, float)):
        raise SourceParseError(SOURCE, GET_VOLATILITY_INDEX, "candle timestamp is not a number", field="data[][0]", value=ts)
    return int(ts)


def parse_dvol(candles: list[Any]) -> pl.DataFrame:
    """One row per UTC day (the candle opening at that day's 00:00)."""
    rows = []
    for candle in candles:
        ts = _candle_ts(candle)
        values = []
        for name, v in zip(("open", "high", "low", "close"), candle[1:]):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise SourceParseError(SOURCE, GET_VOLATILITY_INDEX, f"candle {ts}: not a number", field=name, value=v)
            values.append(float(v))
        day = datetime.fromtimestamp(ts / 1000, tz=UTC)
        if (day.hour, day.minute, day.second) != (0, 0, 0):
            raise SourceParseError(SOURCE, GET_VOLATILITY_INDEX, "daily candle not at 00:00 UTC", field="data[][0]", value=ts)
        rows.append({"dvol_date": day.date(), "open": values[0], "high": values[1], "low": values[2],
                     "close": values[3], "payload": json.dumps(candle, separators=(",", ":"))})
    return pl.DataFrame(rows, schema=DVOL_SCHEMA, orient="row") if rows else pl.DataFrame(schema=DVOL_SCHEMA)
