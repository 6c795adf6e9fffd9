"""The options maths on small explicit chains, with every expected value worked out by hand here."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from pipelines.options_math import (
    ExpiryValues,
    Quote,
    atm_iv,
    black76_delta,
    constant_maturity,
    expiry_values,
    interpolate_total_variance,
    iv_at_delta,
    snapshot_readings,
)

SNAP = datetime(2026, 2, 6, 0, 0, tzinfo=UTC)


def q(strike, kind, iv, delta, fwd=58_000.0):
    return Quote(strike, kind, iv, delta, fwd)


def test_black76_delta_at_the_money_forward():
    # F = K, sigma = 50 %, T = 1y: d1 = sigma*sqrt(T)/2 = 0.25; N(0.25) = 0.598706
    assert black76_delta(100.0, 100.0, 0.5, 1.0, "call") == pytest.approx(0.598706, abs=1e-6)
    assert black76_delta(100.0, 100.0, 0.5, 1.0, "put") == pytest.approx(0.598706 - 1, abs=1e-6)


def test_call_and_put_25_delta_iv_interpolated_in_delta():
    calls = [q(55_000, "call", 52.0, 0.62), q(60_000, "call", 50.0, 0.40), q(65_000, "call", 48.0, 0.20)]
    # 0.25 lies between 0.40 (IV 50) and 0.20 (IV 48): 50 + (0.25-0.40)/(0.20-0.40) * (48-50) = 50 - 1.5 = 48.5
    assert iv_at_delta(calls, 0.25) == pytest.approx(48.5)
    puts = [q(50_000, "put", 60.0, -0.15), q(55_000, "put", 56.0, -0.35), q(60_000, "put", 52.0, -0.60)]
    # -0.25 is halfway between -0.15 (IV 60) and -0.35 (IV 56): 58
    assert iv_at_delta(puts, -0.25) == pytest.approx(58.0)
    # no pair brackets the target: nothing is made up
    assert iv_at_delta(calls[:2], 0.25) is None


def test_atm_iv_interpolated_in_log_moneyness_at_the_forward():
    quotes = [q(55_000, "call", 56.0, 0.6), q(55_000, "put", 56.0, -0.4), q(60_000, "call", 52.0, 0.4)]
    # weight of the 60k strike = ln(58/55) / ln(60/55) = 0.053110 / 0.087011 = 0.610377
    expected = 56.0 + (52.0 - 56.0) * (math.log(58 / 55) / math.log(60 / 55))
    assert expected == pytest.approx(53.5585, abs=1e-4)
    assert atm_iv(quotes, 58_000.0) == pytest.approx(expected)


def test_total_variance_interpolation_between_bracketing_expiries():
    # w1 = 0.60^2 * 5 = 1.8, w2 = 0.50^2 * 10 = 2.5; w(7) = 1.8 + (7-5)/(10-5) * 0.7 = 2.08
    # sigma(7) = sqrt(2.08 / 7) = 0.545108 -> 54.5108 %
    got = interpolate_total_variance([(10.0, 50.0), (5.0, 60.0)], 7)
    assert got.value == pytest.approx(54.5108, abs=1e-4)
    assert (got.lower_days, got.upper_days) == (5.0, 10.0)
    # an expiry exactly at the tenor is used as it is
    assert interpolate_total_variance([(5.0, 60.0), (7.0, 57.0), (10.0, 50.0)], 7).value == 57.0


def test_no_extrapolation_gives_null_with_reason():
    got = interpolate_total_variance([(5.0, 60.0), (10.0, 50.0)], 30)
    assert got.value is None
    assert "no usable expiry at or after 30d" in got.reason


def _expiry(days, atm, call25, put25):
    return ExpiryValues(SNAP + timedelta(days=days), days, 58_000.0, atm, call25, put25)


def test_risk_reversal_at_constant_maturity_from_two_expiries():
    # 5d: call25 50, put25 62; 10d: call25 48, put25 56; tenor 7d, weight (7-5)/(10-5) = 0.4
    # call: w = 0.25*5 + 0.4*(0.2304*10 - 1.25) = 1.25 + 0.4*1.054 = 1.6716 -> sqrt(1.6716/7) = 48.8672 %
    # put:  w = 0.3844*5 + 0.4*(0.3136*10 - 1.922) = 1.922 + 0.4*1.214 = 2.4076 -> sqrt(2.4076/7) = 58.6466 %
    call7 = 100 * math.sqrt((0.25 * 5 + 0.4 * (0.2304 * 10 - 0.25 * 5)) / 7)
    put7 = 100 * math.sqrt((0.3844 * 5 + 0.4 * (0.3136 * 10 - 0.3844 * 5)) / 7)
    assert call7 == pytest.approx(48.8672, abs=1e-4) and put7 == pytest.approx(58.6466, abs=1e-4)
    readings = {r.tenor_days: r for r in constant_maturity([_expiry(5, 55, 50, 62), _expiry(10, 51, 48, 56)], (7,))}
    r7 = readings[7]
    assert r7.call_25d_iv_pct == pytest.approx(call7)
    assert r7.put_25d_iv_pct == pytest.approx(put7)
    assert r7.rr_25d_vol_pts == pytest.approx(call7 - put7)  # -9.7795 vol points
    assert r7.rr_25d_vol_pts == pytest.approx(-9.7795, abs=1e-4)
    assert r7.null_reason is None


def test_expiries_under_two_days_are_excluded_and_the_null_says_why():
    # the 1.5-day expiry would bracket 7d from below; excluded, so 7d has no lower expiry
    readings = constant_maturity([_expiry(1.5, 70, 60, 80), _expiry(10, 51, 48, 56)], (7, 10))
    r7, r10 = readings
    assert r7.rr_25d_vol_pts is None and r7.atm_iv_pct is None
    assert "no usable expiry at or before 7d" in r7.null_reason
    assert "1 expiries under 2 days excluded" in r7.null_reason
    assert r10.rr_25d_vol_pts == pytest.approx(48 - 56) and r10.null_reason is None


def test_snapshot_readings_from_chain_rows():
    """A two-expiry chain written out row by row (deltas given, as the snapshot stores them)."""
    e1, e2 = SNAP + timedelta(days=5), SNAP + timedelta(days=10)
    rows = []
    for exp, (c_hi, c_lo, p_hi, p_lo) in ((e1, ((0.40, 52.0), (0.20, 48.0), (-0.15, 64.0), (-0.35, 60.0))),
                                         (e2, ((0.30, 50.0), (0.10, 46.0), (-0.20, 58.0), (-0.40, 54.0)))):
        rows += [
            {"expiry_at": exp, "strike": 54_000.0, "option_type": "put", "mark_iv_pct": p_hi[1], "delta": p_hi[0],
             "underlying_price": 58_000.0},
            {"expiry_at": exp, "strike": 57_000.0, "option_type": "put", "mark_iv_pct": p_lo[1], "delta": p_lo[0],
             "underlying_price": 58_000.0},
            {"expiry_at": exp, "strike": 59_000.0, "option_type": "call", "mark_iv_pct": c_hi[1], "delta": c_hi[0],
             "underlying_price": 58_000.0},
            {"expiry_at": exp, "strike": 62_000.0, "option_type": "call", "mark_iv_pct": c_lo[1], "delta": c_lo[0],
             "underlying_price": 58_000.0},
            {"expiry_at": exp, "strike": 63_000.0, "option_type": "call", "mark_iv_pct": None, "delta": None,
             "underlying_price": 58_000.0},  # no mark: ignored
        ]
    # per expiry: 5d call25 = 52 + (0.25-0.40)/(0.20-0.40)*(48-52) = 49; put25 = halfway 64..60 = 62
    #             10d call25 = 50 + (0.25-0.30)/(0.10-0.30)*(46-50) = 49; put25 = 58 + (-0.05/-0.20)*(54-58) = 57
    # 7d put: w = 0.3844*5 + 0.4*(0.3249*10 - 1.922) = 1.922 + 0.4*1.327 = 2.4528 -> sqrt(2.4528/7) = 59.1946 %
    # 7d call: 49 % at both expiries -> 49 %; RR = 49 - 59.1946 = -10.1946
    ev = expiry_values(e1, SNAP, [Quote(r["strike"], r["option_type"], r["mark_iv_pct"], r["delta"], 58_000.0)
                                  for r in rows[:4]])
    assert (ev.call_25d_iv_pct, ev.put_25d_iv_pct) == (pytest.approx(49.0), pytest.approx(62.0))
    w = lambda s1, s2: 100 * math.sqrt(((s1 / 100) ** 2 * 5 + 0.4 * ((s2 / 100) ** 2 * 10 - (s1 / 100) ** 2 * 5)) / 7)
    r7, r30, r90 = snapshot_readings(SNAP, rows)
    assert r7.rr_25d_vol_pts == pytest.approx(w(49, 49) - w(62, 57))
    assert r7.rr_25d_vol_pts == pytest.approx(-10.1946, abs=1e-4)
    # ATM at 58k between the 57k put (IV 60 / 54) and the 59k call (IV 52 / 50)
    assert r7.atm_iv_pct is not None
    assert r30.rr_25d_vol_pts is None and "at or after 30d" in r30.null_reason
    assert r90.rr_25d_vol_pts is None


def test_empty_snapshot_reads_null_with_reason():
    readings = snapshot_readings(SNAP, [])
    assert [r.tenor_days for r in readings] == [7, 30, 90]
    assert all(r.rr_25d_vol_pts is None and r.null_reason == "snapshot has no usable quotes" for r in readings)


def test_dbt_python_model_reads_null_with_reason_for_an_unbracketed_snapshot():
    """int_options__constant_maturity on a chain whose only expiries are 1.5 and 9 days away: the 1.5-day
    one is excluded, so neither 7d nor 30d nor 90d can be interpolated and every tenor says why."""
    import importlib.util
    from pathlib import Path

    import duckdb

    path = Path(__file__).resolve().parent.parent / "dbt_project" / "models" / "intermediate" / "int_options__constant_maturity.py"
    spec = importlib.util.spec_from_file_location("int_options__constant_maturity", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    con = duckdb.connect()
    con.execute("""create table chain as select * from (values
        (date '2026-02-05', timestamptz '2026-02-06 00:00:00+00', timestamptz '2026-02-07 12:00:00+00', 60000.0, 'call', 55.0, 0.40, 62000.0),
        (date '2026-02-05', timestamptz '2026-02-06 00:00:00+00', timestamptz '2026-02-07 12:00:00+00', 64000.0, 'call', 53.0, 0.10, 62000.0),
        (date '2026-02-05', timestamptz '2026-02-06 00:00:00+00', timestamptz '2026-02-07 12:00:00+00', 60000.0, 'put', 55.0, -0.60, 62000.0),
        (date '2026-02-05', timestamptz '2026-02-06 00:00:00+00', timestamptz '2026-02-07 12:00:00+00', 58000.0, 'put', 58.0, -0.15, 62000.0),
        (date '2026-02-05', timestamptz '2026-02-06 00:00:00+00', timestamptz '2026-02-15 08:00:00+00', 60000.0, 'call', 52.0, 0.45, 62000.0),
        (date '2026-02-05', timestamptz '2026-02-06 00:00:00+00', timestamptz '2026-02-15 08:00:00+00', 66000.0, 'call', 50.0, 0.15, 62000.0),
        (date '2026-02-05', timestamptz '2026-02-06 00:00:00+00', timestamptz '2026-02-15 08:00:00+00', 60000.0, 'put', 52.0, -0.55, 62000.0),
        (date '2026-02-05', timestamptz '2026-02-06 00:00:00+00', timestamptz '2026-02-15 08:00:00+00', 56000.0, 'put', 57.0, -0.18, 62000.0)
        ) as t(snapshot_date, snapshot_at, expiry_at, strike_usd, option_type, mark_iv_pct, delta, forward_usd)""")

    class FakeDbt:
        def config(self, **kwargs):
            pass

        def ref(self, name):
            assert name == "stg_deribit__option_chain"
            return con.sql("select * from chain")

    out = module.model(FakeDbt(), con)
    assert out["tenor_days"].to_list() == [7, 30, 90]
    assert out["rr_25d_vol_pts"].null_count() == 3 and out["atm_iv_pct"].null_count() == 3
    reasons = out["null_reason"].to_list()
    assert "no usable expiry at or before 7d (nearest 9.3d)" in reasons[0]
    assert "1 expiries under 2 days excluded" in reasons[0]
    assert "no usable expiry at or after 30d (furthest 9.3d)" in reasons[1]
    assert out["expiries_used"].to_list() == [1, 1, 1]
