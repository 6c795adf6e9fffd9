"""`btc-signals show` refuses what it cannot answer with what the dashboard does have."""

import io
from datetime import date

import pytest

from pipelines import cli

from .test_security import dashboard_db  # noqa: F401  (the same tiny dashboard: 2026-02-04..05)


def test_show_unknown_indicator_lists_the_valid_ones(dashboard_db, capsys):
    assert cli.show(indicator="nope") == 1
    assert capsys.readouterr().err.strip() == "no dashboard rows for indicator 'nope': the indicators are etf_net_flow, regime"


def test_show_date_outside_the_dashboard_names_its_first_and_last_day(dashboard_db, capsys):
    for day in (date(2023, 1, 1), date(2026, 3, 1)):
        assert cli.show(day) == 1
        assert capsys.readouterr().err.strip() == f"no dashboard rows for {day}: the dashboard covers 2026-02-04 .. 2026-02-05"


def test_show_history_negative_is_refused_and_huge_is_clamped(dashboard_db, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["show", "--history", "-5"])
    assert exc.value.code == 2
    assert "--history must be 0 or more (days before the date), got -5" in capsys.readouterr().err
    out = io.StringIO()
    assert cli.show(history=1_000_000, out=out) == 0  # was an OverflowError
    assert "--history 1000000 reaches before the dashboard's first day: showing 2026-02-04 .. 2026-02-05" in capsys.readouterr().err
    text = out.getvalue()
    assert "Signal dashboard for 2026-02-04" in text and "Signal dashboard for 2026-02-05" in text
