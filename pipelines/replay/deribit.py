"""Replay server for www.deribit.com: renders the BTC option chain as of the ``as_of`` clock from the bundled
per-day smile parameters (derived throughout, see data/deribit/README.md) and serves the real DVOL candles."""

from __future__ import annotations

import calendar
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from pipelines.options_math import black76_delta, black76_price, d1
from pipelines.replay.clock import replay_now
from pipelines.replay.transport import ReplayData, ReplayDataError, json_response, replay_server
from pipelines.sources.deribit import (
    _NAME,
    GET_BOOK_SUMMARY,
    GET_INDEX_PRICE,
    GET_INSTRUMENTS,
    GET_VOLATILITY_INDEX,
    HOST,
    TICKER,
    parse_instrument_name,
)

SMILE_FILE = "deribit/smile_params.json"
DVOL_FILE = "deribit/dvol_btc_1d.json"
DVOL_PAGE_LIMIT = 1000
STRIKE_STEPS = (500, 1000, 2000, 2500, 5000, 10000, 20000)
MAX_STRIKES_PER_EXPIRY = 16
STRIKE_RANGE_SD = 2.2
SKEW_X_SPAN = 1.349  # x(25Δ call) − x(25Δ put) in standardised log-moneyness, to first order
FLY_X2 = 0.455       # mean x² at the two 25Δ points


def load_smile(data: ReplayData) -> dict[str, Any]:
    """The per-day smile parameters, with ``by_date`` added; a malformed file names what is wrong."""
    smile = data.json(SMILE_FILE)
    try:
        smile["by_date"] = {d["date"]: d for d in smile["days"]}
        date.fromisoformat(smile["snapshots_start"]), date.fromisoformat(smile["snapshots_end"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ReplayDataError("deribit", SMILE_FILE.partition("/")[2], f"malformed: {exc!r}") from None
    return smile


def snapshot_range(replay_dir: Path) -> tuple[date, date]:
    """First and last day the dataset emulates a daily chain snapshot for."""
    smile = load_smile(ReplayData(replay_dir))
    return date.fromisoformat(smile["snapshots_start"]), date.fromisoformat(smile["snapshots_end"])


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


def _params_for(data: ReplayData, now: datetime) -> dict[str, Any] | None:
    """The parameters of the day whose close ``now`` describes (a snapshot at D+1 00:00 is day D's close)."""
    return load_smile(data)["by_date"].get((now - timedelta(microseconds=1)).date().isoformat())


def _chain(method: str, q: httpx.QueryParams, data: ReplayData, now: datetime) -> httpx.Response:
    if q.get("currency") != "BTC":
        return _invalid("currency", "replay dataset holds BTC only" if q.get("currency") else "must be present", now)
    if q.get("kind") != "option":
        return _invalid("kind", "replay dataset holds options only", now)
    if method == GET_INSTRUMENTS and q.get("expired", "false") != "false":
        return _invalid("expired", "replay dataset holds no expired instruments", now)
    p = _params_for(data, now)
    if p is None:
        return _rpc_error(11050, "replay: no option chain in the bundled dataset for this instant", now,
                          {"reason": now.isoformat()})
    instruments, summaries = render_chain(p, now)
    return json_response(_envelope(instruments if method == GET_INSTRUMENTS else summaries, now))


def _index_price(q: httpx.QueryParams, data: ReplayData, now: datetime) -> httpx.Response:
    if q.get("index_name") != "btc_usd":
        return _invalid("index_name", "must be btc_usd in replay", now)
    p = _params_for(data, now)
    if p is None:
        return _rpc_error(11050, "replay: no index price in the bundled dataset for this instant", now)
    return json_response(_envelope({"index_price": p["spot_usd"], "estimated_delivery_price": p["spot_usd"]}, now))


def _greeks(fwd: float, strike: float, iv: float, t: float, option_type: str) -> dict[str, float]:
    a = d1(fwd, strike, iv, t)
    pdf = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    return {
        "delta": round(black76_delta(fwd, strike, iv, t, option_type), 5),
        "gamma": round(pdf / (fwd * iv * math.sqrt(t)), 5),
        "vega": round(fwd * pdf * math.sqrt(t) / 100.0, 5),
        "theta": round(-fwd * pdf * iv / (2 * math.sqrt(t)) / 365.0, 5),
        "rho": 0.0,
    }


def _ticker(q: httpx.QueryParams, data: ReplayData, now: datetime) -> httpx.Response:
    name = q.get("instrument_name")
    p = _params_for(data, now)
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
    return json_response(_envelope({
        "timestamp": entry["creation_timestamp"], "state": "open", "stats": {"volume": 0.0, "price_change": None,
        "low": None, "high": None}, "open_interest": entry["open_interest"], "mark_price": entry["mark_price"],
        "mark_iv": entry["mark_iv"], "last_price": None, "interest_rate": 0.0, "instrument_name": name,
        "index_price": p["spot_usd"], "greeks": _greeks(fwd, strike, iv, t, option_type),
        "estimated_delivery_price": p["spot_usd"],
        "bid_iv": 0.0, "best_bid_price": 0.0, "best_bid_amount": 0.0, "best_ask_price": 0.0,
        "best_ask_amount": 0.0, "ask_iv": 0.0, "underlying_price": fwd, "underlying_index": entry["underlying_index"],
    }, now))


def _dvol(q: httpx.QueryParams, data: ReplayData, now: datetime) -> httpx.Response:
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
    candles = [c for c in data.json(DVOL_FILE) if start <= c[0] <= end and c[0] <= now_ms]
    continuation = None
    if len(candles) > DVOL_PAGE_LIMIT:
        candles = candles[-DVOL_PAGE_LIMIT:]
        continuation = candles[0][0] - 1
    return json_response(_envelope({"data": candles, "continuation": continuation}, now))


@replay_server(HOST)
def _replay(request: httpx.Request, data: ReplayData) -> httpx.Response:
    now = replay_now()
    path = request.url.path
    q = request.url.params
    if not path.startswith("/api/v2/"):
        return httpx.Response(404, text="Not Found")
    method = path[len("/api/v2"):]
    if method in (GET_INSTRUMENTS, GET_BOOK_SUMMARY):
        return _chain(method, q, data, now)
    if method == GET_INDEX_PRICE:
        return _index_price(q, data, now)
    if method == TICKER:
        return _ticker(q, data, now)
    if method == GET_VOLATILITY_INDEX:
        return _dvol(q, data, now)
    return _rpc_error(-32601, "Method not found", now, status=400)
