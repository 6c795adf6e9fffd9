"""US equity market (NYSE) trading calendar: which weekdays are not trading days.

Rule-based (New Year, MLK, Presidents' Day, Good Friday, Memorial Day, Juneteenth from 2022,
Independence Day, Labor Day, Thanksgiving, Christmas; Saturday holidays observed on Friday,
Sunday holidays on Monday) plus the special closures listed in ``SPECIAL_CLOSURES``.
Used by the ETF and macro quality checks ("no weekday gaps except US market holidays") and by
the macro carry-forward.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

SPECIAL_CLOSURES = {
    date(2018, 12, 5): "National Day of Mourning (George H. W. Bush)",
    date(2025, 1, 9): "National Day of Mourning (Jimmy Carter)",
}


def _easter(year: int) -> date:
    """Anonymous Gregorian computus."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    last = (date(year, month + 1, 1) if month < 12 else date(year + 1, 1, 1)) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@lru_cache(maxsize=None)
def us_market_holidays(year: int) -> dict[date, str]:
    mon, thu = 0, 3
    days = {
        _nth_weekday(year, 1, mon, 3): "Martin Luther King Jr. Day",
        _nth_weekday(year, 2, mon, 3): "Washington's Birthday",
        _easter(year) - timedelta(days=2): "Good Friday",
        _last_weekday(year, 5, mon): "Memorial Day",
        _observed(date(year, 7, 4)): "Independence Day",
        _nth_weekday(year, 9, mon, 1): "Labor Day",
        _nth_weekday(year, 11, thu, 4): "Thanksgiving Day",
        _observed(date(year, 12, 25)): "Christmas Day",
    }
    new_year = date(year, 1, 1)
    if new_year.weekday() != 5:  # a Saturday New Year is not observed on the Friday before (NYSE rule)
        days[_observed(new_year)] = "New Year's Day"
    if year >= 2022:
        days[_observed(date(year, 6, 19))] = "Juneteenth"
    days.update({d: n for d, n in SPECIAL_CLOSURES.items() if d.year == year})
    return days


def is_trading_day(day: date) -> bool:
    return day.weekday() < 5 and day not in us_market_holidays(day.year)


def trading_days(start: date, end: date) -> list[date]:
    """Trading days in [start, end] (inclusive)."""
    out, day = [], start
    while day <= end:
        if is_trading_day(day):
            out.append(day)
        day += timedelta(days=1)
    return out
