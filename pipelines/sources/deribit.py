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

Deribit serves only the *current* chain. In replay, the handler answers as of
:func:`pipelines.sources.replay.replay_now` and renders the chain from the bundled per-day smile
parameters (see pipelines/replay/data/deribit/README.md): every number it serves is derived there.
"""

from __future__ import annotations

import calendar
import functools
import json
import math
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import polars as pl

from pipelines.options_math import black76_delta, black76_price, d1
from pipelines.sources.http import (
    HttpClient,
    SourceError,
    SourceHTTPError,
    SourceParseError,
    declare_rate_limit,
    decode_json,
)
from pipelines.sources.replay import json_response, replay_handler, replay_now

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

CHAIN_SCHEMA = {
    "snapshot_date": pl.Date,
    "snapshot_at": pl.Datetime("us", "UTC"),
    "instrument_name": pl.String,
    "expiry_at": pl.Datetime("us", "UTC"),
    "strike": pl.Float64,
    "option_type": pl.String,
    "mark_iv_pct": pl.Float64,
    "delta": pl.Float64,
    "delta_source": pl.String,
    "underlying_price": pl.Float64,
    "underlying_index": pl.String,
    "index_price": pl.Float64,
    "open_interest": pl.Float64,
    "mark_price_btc": pl.Float64,
    "payload": pl.String,
}
DVOL_SCHEMA = {
    "dvol_date": pl.Date,
    "open": pl.Float64,
    "high": pl.Float64,
    "low": pl.Float64,
    "close": pl.Float64,
    "payload": pl.String,
}
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


# --------------------------------------------------------------------------------------------
# Replay server: renders the chain as of replay_now() from per-day smile parameters.
# --------------------------------------------------------------------------------------------
REPLAY_SUBDIR = "deribit"
SMILE_FILE = "smile_params.json"
DVOL_FILE = "dvol_btc_1d.json"
DVOL_PAGE_LIMIT = 1000
STRIKE_STEPS = (500, 1000, 2000, 2500, 5000, 10000, 20000)
MAX_STRIKES_PER_EXPIRY = 16
STRIKE_RANGE_SD = 2.2
SKEW_X_SPAN = 1.349  # x(25Δ call) − x(25Δ put) in standardised log-moneyness, to first order
FLY_X2 = 0.455       # mean x² at the two 25Δ points


@functools.lru_cache(maxsize=4)
def _load_smile(path: str) -> dict[str, Any]:
    data = json.loads(Path(path).read_text())
    data["by_date"] = {d["date"]: d for d in data["days"]}
    return data


@functools.lru_cache(maxsize=4)
def _load_dvol(path: str) -> list[list[Any]]:
    return json.loads(Path(path).read_text())


def _last_friday(year: int, month: int) -> date:
    last = date(year, month, calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - 4) % 7)


def listed_expiries(now: datetime) -> list[tuple[datetime, str]]:
    """Deribit's BTC option listing schedule (08:00 UTC): 3 dailies, 4 weekly Fridays, 3 month-ends
    (last Friday) and the next 3 quarter-ends (Mar/Jun/Sep/Dec) beyond them. Returns (expiry, kind)."""
    out: dict[datetime, str] = {}
    first = datetime(now.year, now.month, now.day, 8, tzinfo=UTC)
    if first <= now:
        first += timedelta(days=1)
    for i in range(3):
        out[first + timedelta(days=i)] = "day"
    friday = first + timedelta(days=(4 - first.weekday()) % 7)
    for i in range(4):
        out[friday + timedelta(days=7 * i)] = "week"
    y, m, months = now.year, now.month, 0
    quarters = 0
    while months < 3 or quarters < 3:
        lf = _last_friday(y, m)
        at = datetime(lf.year, lf.month, lf.day, 8, tzinfo=UTC)
        if at > now:
            if months < 3:
                out[at] = "quarter" if m % 3 == 0 else "month"
                months += 1
            elif m % 3 == 0:
                out[at] = "quarter"
                quarters += 1
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return sorted(out.items())


def _code(at: datetime) -> str:
    return f"{at.day}{calendar.month_abbr[at.month].upper()}{at.year % 100:02d}"


def smile_iv(p: dict[str, Any], days: float, log_moneyness: float) -> tuple[float, float]:
    """(mark IV %, ATM IV %) of the bundled parameterisation at ``days`` to expiry and ln(K/F)."""
    atm = max(10.0, p["atm_iv_30d_pct"] + p["term_slope_vol_pts"] * math.log(max(days, 1.0) / 30.0))
    if days <= 7:
        rr = p["rr25_7d_vol_pts"]
    elif days <= 30:
        rr = p["rr25_7d_vol_pts"] + (p["rr25_30d_vol_pts"] - p["rr25_7d_vol_pts"]) * math.log(days / 7) / math.log(30 / 7)
    else:
        rr = p["rr25_30d_vol_pts"] * math.sqrt(30.0 / days)
    sd = atm / 100.0 * math.sqrt(max(days, 1e-3) / 365.0)
    x = max(-3.0, min(3.0, log_moneyness / sd))
    iv = atm + rr / SKEW_X_SPAN * x + p["fly25_vol_pts"] / FLY_X2 * x * x
    return max(10.0, min(250.0, iv)), atm


def render_chain(p: dict[str, Any], now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(get_instruments result, get_book_summary_by_currency result) for one instant."""
    spot = p["spot_usd"]
    created = int(now.timestamp() * 1000)
    instruments, summaries = [], []
    for expiry_at, kind in listed_expiries(now):
        days = (expiry_at - now).total_seconds() / 86400.0
        t = days / 365.0
        fwd = spot * math.exp(p["basis_annual"] * t)
        atm = smile_iv(p, days, 0.0)[1]
        sd = atm / 100.0 * math.sqrt(t)
        lo, hi = fwd * math.exp(-STRIKE_RANGE_SD * sd), fwd * math.exp(STRIKE_RANGE_SD * sd)
        step = next((s for s in STRIKE_STEPS if math.floor(hi / s) - math.ceil(lo / s) + 1 <= MAX_STRIKES_PER_EXPIRY),
                    STRIKE_STEPS[-1])
        strikes = [k * step for k in range(math.ceil(lo / step), math.floor(hi / step) + 1) if k > 0]
        code = _code(expiry_at)
        index = f"BTC-{code}" if kind in ("month", "quarter") else f"SYN.BTC-{code}"
        for strike in strikes:
            iv, _ = smile_iv(p, days, math.log(strike / fwd))
            x = math.log(strike / fwd) / sd
            for cp, option_type in (("C", "call"), ("P", "put")):
                name = f"BTC-{code}-{strike}-{cp}"
                price = black76_price(fwd, strike, iv / 100.0, t, option_type) / fwd
                instruments.append({
                    "tick_size": 0.0001, "taker_commission": 0.0003, "strike": float(strike),
                    "settlement_period": kind, "settlement_currency": "BTC", "rfq": False, "quote_currency": "BTC",
                    "price_index": "btc_usd", "option_type": option_type, "min_trade_amount": 0.1,
                    "maker_commission": 0.0003, "kind": "option", "is_active": True, "instrument_name": name,
                    "expiration_timestamp": int(expiry_at.timestamp() * 1000),
                    "creation_timestamp": int((expiry_at - timedelta(days=400 if kind == "quarter" else 60)).timestamp() * 1000),
                    "counter_currency": "USD", "contract_size": 1.0, "base_currency": "BTC",
                })
                summaries.append({
                    "volume_usd": 0.0, "volume": 0.0, "quote_currency": "BTC", "price_change": None,
                    "open_interest": round(400.0 * math.exp(-x * x / 2.0) * (1.0 + min(days, 180.0) / 60.0), 1),
                    "mid_price": None, "mark_price": round(max(price, 0.0001), 4), "mark_iv": round(iv, 2),
                    "low": None, "last": None, "interest_rate": 0.0, "instrument_name": name, "high": None,
                    "estimated_delivery_price": round(spot, 2), "creation_timestamp": created, "bid_price": None,
                    "base_currency": "BTC", "ask_price": None, "underlying_price": round(fwd, 2),
                    "underlying_index": index,
                })
    return instruments, summaries


def _envelope(result: Any, now: datetime) -> dict[str, Any]:
    us = int(now.timestamp() * 1e6)
    return {"jsonrpc": "2.0", "result": result, "usIn": us - 150, "usOut": us, "usDiff": 150, "testnet": False}


def _rpc_error(code: int, message: str, now: datetime, data: dict[str, Any] | None = None, status: int = 400) -> httpx.Response:
    us = int(now.timestamp() * 1e6)
    err: dict[str, Any] = {"code": code, "message": message}
    if data:
        err["data"] = data
    return json_response({"jsonrpc": "2.0", "error": err, "usIn": us - 50, "usOut": us, "usDiff": 50, "testnet": False},
                         status_code=status)


def _invalid(param: str, reason: str, now: datetime) -> httpx.Response:
    return _rpc_error(-32602, "Invalid params", now, {"reason": reason, "param": param})


def _params_for(replay_dir: Path, now: datetime) -> dict[str, Any] | None:
    """The parameters of the day whose close ``now`` describes (a snapshot at D+1 00:00 is day D's close)."""
    smile = _load_smile(str(replay_dir / REPLAY_SUBDIR / SMILE_FILE))
    return smile["by_date"].get((now - timedelta(microseconds=1)).date().isoformat())


@replay_handler(HOST)
def _replay(request: httpx.Request, replay_dir: Path) -> httpx.Response:
    now = replay_now()
    path = request.url.path
    q = request.url.params
    if not path.startswith("/api/v2/"):
        return httpx.Response(404, text="Not Found")
    method = path[len("/api/v2"):]
    if method in (GET_INSTRUMENTS, GET_BOOK_SUMMARY):
        if q.get("currency") != "BTC":
            return _invalid("currency", "replay dataset holds BTC only" if q.get("currency") else "must be present", now)
        if q.get("kind") != "option":
            return _invalid("kind", "replay dataset holds options only", now)
        if method == GET_INSTRUMENTS and q.get("expired", "false") != "false":
            return _invalid("expired", "replay dataset holds no expired instruments", now)
        p = _params_for(replay_dir, now)
        if p is None:
            return _rpc_error(11050, "replay: no option chain in the bundled dataset for this instant", now,
                              {"reason": now.isoformat()})
        instruments, summaries = render_chain(p, now)
        return json_response(_envelope(instruments if method == GET_INSTRUMENTS else summaries, now))
    if method == GET_INDEX_PRICE:
        if q.get("index_name") != "btc_usd":
            return _invalid("index_name", "must be btc_usd in replay", now)
        p = _params_for(replay_dir, now)
        if p is None:
            return _rpc_error(11050, "replay: no index price in the bundled dataset for this instant", now)
        return json_response(_envelope({"index_price": p["spot_usd"], "estimated_delivery_price": p["spot_usd"]}, now))
    if method == TICKER:
        name = q.get("instrument_name")
        p = _params_for(replay_dir, now)
        if p is None:
            return _rpc_error(11050, "replay: no ticker in the bundled dataset for this instant", now)
        _, summaries = render_chain(p, now)
        entry = next((s for s in summaries if s["instrument_name"] == name), None)
        if entry is None:
            return _invalid("instrument_name", "wrong format" if not _NAME.match(name or "") else "instrument not found", now)
        expiry_day, strike, option_type = parse_instrument_name(TICKER, name)
        expiry_at = datetime(expiry_day.year, expiry_day.month, expiry_day.day, 8, tzinfo=UTC)
        t = (expiry_at - now).total_seconds() / (365.0 * 86400.0)
        fwd, iv = entry["underlying_price"], entry["mark_iv"] / 100.0
        a = d1(fwd, strike, iv, t)
        pdf = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
        greeks = {
            "delta": round(black76_delta(fwd, strike, iv, t, option_type), 5),
            "gamma": round(pdf / (fwd * iv * math.sqrt(t)), 5),
            "vega": round(fwd * pdf * math.sqrt(t) / 100.0, 5),
            "theta": round(-fwd * pdf * iv / (2 * math.sqrt(t)) / 365.0, 5),
            "rho": 0.0,
        }
        return json_response(_envelope({
            "timestamp": entry["creation_timestamp"], "state": "open", "stats": {"volume": 0.0, "price_change": None,
            "low": None, "high": None}, "open_interest": entry["open_interest"], "mark_price": entry["mark_price"],
            "mark_iv": entry["mark_iv"], "last_price": None, "interest_rate": 0.0, "instrument_name": name,
            "index_price": p["spot_usd"], "greeks": greeks, "estimated_delivery_price": p["spot_usd"],
            "bid_iv": 0.0, "best_bid_price": 0.0, "best_bid_amount": 0.0, "best_ask_price": 0.0,
            "best_ask_amount": 0.0, "ask_iv": 0.0, "underlying_price": fwd, "underlying_index": entry["underlying_index"],
        }, now))
    if method == GET_VOLATILITY_INDEX:
        if q.get("currency") != "BTC":
            return _invalid("currency", "replay dataset holds BTC DVOL only", now)
        if q.get("resolution") not in ("1D", "86400"):
            return _invalid("resolution", "replay dataset holds daily candles only", now)
        try:
            start, end = int(q["start_timestamp"]), int(q["end_timestamp"])
        except (KeyError, ValueError):
            return _invalid("start_timestamp" if "start_timestamp" not in q else "end_timestamp", "must be an integer", now)
        now_ms = int(now.timestamp() * 1000)
        # the server knows candles up to now: the current day's candle is still open
        candles = [c for c in _load_dvol(str(replay_dir / REPLAY_SUBDIR / DVOL_FILE))
                   if start <= c[0] <= end and c[0] <= now_ms]
        continuation = None
        if len(candles) > DVOL_PAGE_LIMIT:
            candles = candles[-DVOL_PAGE_LIMIT:]
            continuation = candles[0][0] - 1
        return json_response(_envelope({"data": candles, "continuation": continuation}, now))
    return _rpc_error(-32601, "Method not found", now, status=400)
