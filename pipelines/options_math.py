"""Option-chain maths: 25-delta risk reversal and ATM implied vol at constant maturities.

Method (also in docs/options.md), for one chain snapshot:

1. **Per expiry.** Time to expiry ``T`` in days = (expiration − snapshot instant) / 1 day. Expiries
   with ``T < 2`` days are excluded (their smiles are dominated by the next fixing).
   * 25Δ call IV: the calls sorted by strike have deltas falling from ~1 to ~0; take the two
     adjacent listed strikes whose deltas bracket +0.25 and interpolate ``mark_iv`` *linearly in
     delta*. 25Δ put IV: the same on the puts around −0.25. No bracketing pair → no value.
   * ATM IV: ``mark_iv`` interpolated linearly in log-moneyness ``ln(K/F)`` at ``K = F`` (forward
     ATM), between the two listed strikes around the expiry's forward ``F`` (Deribit's
     ``underlying_price`` of that expiry). Calls and puts of one strike share Deribit's mark IV; the
     mean of the two is used where both are listed.
2. **Constant maturity** ``τ`` (7, 30 and 90 days). Each quantity (ATM IV, 25Δ call IV, 25Δ put IV)
   is interpolated on its own, *linearly in total variance* ``w = σ²·T`` between the nearest
   usable expiries ``T1 ≤ τ ≤ T2`` (an expiry exactly at ``τ`` is used as is):
   ``w(τ) = w1 + (w2 − w1)·(τ − T1)/(T2 − T1)`` and ``σ(τ) = sqrt(w(τ)/τ)``.
   No extrapolation: without an expiry on each side the value is null, with the reason.
3. **25Δ risk reversal** at ``τ`` = 25Δ call IV(τ) − 25Δ put IV(τ), in vol points (IV in %).
   **Term-structure slope** = ATM IV(30d, the front month) − ATM IV(90d), vol points; > 0 = inverted.

Deltas: Deribit's book summary carries no greeks, so the snapshot computes each option's delta with
Black-76 on the expiry's forward (``underlying_price``) from its ``mark_iv`` — the model Deribit uses for
its own greeks — unless the exchange's delta from ``public/ticker`` was fetched.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

DAYS_PER_YEAR = 365.0
MIN_EXPIRY_DAYS = 2.0
TENORS_DAYS = (7, 30, 90)
CALL_DELTA = 0.25
PUT_DELTA = -0.25


# ------------------------------------------------------------------------------------------
# Black-76 on the forward (prices in USD per 1 BTC of underlying; zero rate, as Deribit's marks)
# ------------------------------------------------------------------------------------------
def norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def d1(forward: float, strike: float, iv: float, t_years: float) -> float:
    """``iv`` as a decimal (0.55 = 55 %)."""
    sd = iv * math.sqrt(t_years)
    return (math.log(forward / strike) + 0.5 * sd * sd) / sd


def black76_delta(forward: float, strike: float, iv: float, t_years: float, option_type: str) -> float:
    n = norm_cdf(d1(forward, strike, iv, t_years))
    return n if option_type == "call" else n - 1.0


def black76_price(forward: float, strike: float, iv: float, t_years: float, option_type: str) -> float:
    a = d1(forward, strike, iv, t_years)
    b = a - iv * math.sqrt(t_years)
    call = forward * norm_cdf(a) - strike * norm_cdf(b)
    return call if option_type == "call" else call - (forward - strike)


# ------------------------------------------------------------------------------------------
# Per-expiry values
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Quote:
    strike: float
    option_type: str  # "call" | "put"
    mark_iv_pct: float
    delta: float
    underlying_price: float


@dataclass
class ExpiryValues:
    expiry_at: datetime
    days: float
    forward: float
    atm_iv_pct: float | None
    call_25d_iv_pct: float | None
    put_25d_iv_pct: float | None
    notes: list[str] = field(default_factory=list)


def _lerp(x: float, x0: float, y0: float, x1: float, y1: float) -> float:
    if x1 == x0:
        return (y0 + y1) / 2.0
    return y0 + (x - x0) * (y1 - y0) / (x1 - x0)


def iv_at_delta(quotes: Sequence[Quote], target: float) -> float | None:
    """Mark IV interpolated linearly in delta between the two adjacent strikes bracketing ``target``.

    ``quotes`` are one expiry's calls (target +0.25) or puts (target −0.25). Delta is monotone
    (falling) in strike, so the pair is found on the strike-sorted list."""
    pts = sorted((q.strike, q.delta, q.mark_iv_pct) for q in quotes)
    for (_, da, ia), (_, db, ib) in zip(pts, pts[1:]):
        lo, hi = min(da, db), max(da, db)
        if lo <= target <= hi:
            return _lerp(target, da, ia, db, ib)
    return None


def atm_iv(quotes: Sequence[Quote], forward: float) -> float | None:
    """Mark IV at K = F, linear in ln(K/F) between the listed strikes around the forward."""
    by_strike: dict[float, list[float]] = {}
    for q in quotes:
        by_strike.setdefault(q.strike, []).append(q.mark_iv_pct)
    pts = sorted((math.log(k / forward), sum(v) / len(v)) for k, v in by_strike.items())
    for (xa, ia), (xb, ib) in zip(pts, pts[1:]):
        if xa <= 0.0 <= xb:
            return _lerp(0.0, xa, ia, xb, ib)
    return None


def expiry_values(expiry_at: datetime, snapshot_at: datetime, quotes: Sequence[Quote]) -> ExpiryValues:
    days = (expiry_at - snapshot_at).total_seconds() / 86400.0
    forwards = sorted(q.underlying_price for q in quotes)
    forward = forwards[len(forwards) // 2]
    calls = [q for q in quotes if q.option_type == "call"]
    puts = [q for q in quotes if q.option_type == "put"]
    notes = []
    c25 = iv_at_delta(calls, CALL_DELTA)
    if c25 is None:
        notes.append("no pair of listed calls brackets +25 delta")
    p25 = iv_at_delta(puts, PUT_DELTA)
    if p25 is None:
        notes.append("no pair of listed puts brackets -25 delta")
    atm = atm_iv(quotes, forward)
    if atm is None:
        notes.append("no pair of listed strikes brackets the forward")
    return ExpiryValues(expiry_at, days, forward, atm, c25, p25, notes)


# ------------------------------------------------------------------------------------------
# Constant maturity
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Interpolated:
    value: float | None
    lower_days: float | None = None
    upper_days: float | None = None
    reason: str | None = None


def interpolate_total_variance(points: Iterable[tuple[float, float]], tenor_days: float) -> Interpolated:
    """IV (%) at ``tenor_days`` from (days, IV %) points, linear in total variance σ²T; no extrapolation."""
    pts = sorted(points)
    if not pts:
        return Interpolated(None, reason="no usable expiry")
    for d, iv in pts:
        if d == tenor_days:
            return Interpolated(iv, d, d)
    below = [p for p in pts if p[0] < tenor_days]
    above = [p for p in pts if p[0] > tenor_days]
    if not below:
        return Interpolated(None, upper_days=above[0][0],
                            reason=f"no usable expiry at or before {tenor_days:g}d (nearest {above[0][0]:.1f}d)")
    if not above:
        return Interpolated(None, lower_days=below[-1][0],
                            reason=f"no usable expiry at or after {tenor_days:g}d (furthest {below[-1][0]:.1f}d)")
    (t1, s1), (t2, s2) = below[-1], above[0]
    w1, w2 = (s1 / 100.0) ** 2 * t1, (s2 / 100.0) ** 2 * t2
    w = w1 + (w2 - w1) * (tenor_days - t1) / (t2 - t1)
    return Interpolated(100.0 * math.sqrt(w / tenor_days), t1, t2)


@dataclass(frozen=True)
class TenorReading:
    tenor_days: int
    atm_iv_pct: float | None
    call_25d_iv_pct: float | None
    put_25d_iv_pct: float | None
    rr_25d_vol_pts: float | None
    lower_expiry_days: float | None
    upper_expiry_days: float | None
    expiries_used: int
    null_reason: str | None


def constant_maturity(expiries: Sequence[ExpiryValues], tenors: Sequence[int] = TENORS_DAYS) -> list[TenorReading]:
    """ATM IV, 25Δ call/put IV and 25Δ RR at each tenor from per-expiry values (expiries < 2d dropped)."""
    usable = [e for e in expiries if e.days >= MIN_EXPIRY_DAYS]
    dropped = len(expiries) - len(usable)
    out = []
    for tenor in tenors:
        atm = interpolate_total_variance([(e.days, e.atm_iv_pct) for e in usable if e.atm_iv_pct is not None], tenor)
        call = interpolate_total_variance(
            [(e.days, e.call_25d_iv_pct) for e in usable if e.call_25d_iv_pct is not None], tenor)
        put = interpolate_total_variance(
            [(e.days, e.put_25d_iv_pct) for e in usable if e.put_25d_iv_pct is not None], tenor)
        rr = None if call.value is None or put.value is None else call.value - put.value
        reasons = []
        if atm.value is None:
            reasons.append(f"ATM IV: {atm.reason}")
        if call.value is None:
            reasons.append(f"25d call IV: {call.reason}")
        if put.value is None:
            reasons.append(f"25d put IV: {put.reason}")
        reason = None
        if reasons:
            reason = "; ".join(reasons)
            if dropped:
                reason += f" ({dropped} expiries under {MIN_EXPIRY_DAYS:g} days excluded)"
        out.append(
            TenorReading(
                tenor_days=tenor,
                atm_iv_pct=atm.value,
                call_25d_iv_pct=call.value,
                put_25d_iv_pct=put.value,
                rr_25d_vol_pts=rr,
                lower_expiry_days=atm.lower_days if atm.value is not None else call.lower_days,
                upper_expiry_days=atm.upper_days if atm.value is not None else call.upper_days,
                expiries_used=len(usable),
                null_reason=reason,
            )
        )
    return out


def snapshot_readings(snapshot_at: datetime, rows: Iterable[dict]) -> list[TenorReading]:
    """Readings of one snapshot from chain rows (keys: expiry_at, strike, option_type, mark_iv_pct,
    delta, underlying_price). Rows with a null IV or delta are ignored."""
    by_expiry: dict[datetime, list[Quote]] = {}
    for r in rows:
        if r.get("mark_iv_pct") is None or r.get("delta") is None or r.get("underlying_price") is None:
            continue
        by_expiry.setdefault(r["expiry_at"], []).append(
            Quote(float(r["strike"]), r["option_type"], float(r["mark_iv_pct"]), float(r["delta"]),
                  float(r["underlying_price"]))
        )
    expiries = [expiry_values(exp, snapshot_at, quotes) for exp, quotes in sorted(by_expiry.items())]
    if not expiries:
        return [TenorReading(t, None, None, None, None, None, None, 0, "snapshot has no usable quotes")
                for t in TENORS_DAYS]
    return constant_maturity(expiries)
