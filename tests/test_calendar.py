from datetime import date

from pipelines.calendar import is_trading_day, trading_days, us_market_holidays


def test_known_nyse_holidays():
    h2025 = us_market_holidays(2025)
    assert date(2025, 1, 9) in h2025  # national day of mourning (Carter)
    assert date(2025, 4, 18) in h2025  # Good Friday
    assert date(2025, 6, 19) in h2025
    assert date(2026, 7, 3) in us_market_holidays(2026)  # 4 July 2026 is a Saturday
    assert date(2022, 12, 31) not in us_market_holidays(2022)  # Saturday New Year 2022-01-01 not observed on Friday


def test_trading_days_skip_weekends_and_holidays():
    days = trading_days(date(2026, 2, 12), date(2026, 2, 18))
    assert days == [date(2026, 2, 12), date(2026, 2, 13), date(2026, 2, 17), date(2026, 2, 18)]  # 16 Feb Presidents' Day
    assert not is_trading_day(date(2026, 2, 14))
