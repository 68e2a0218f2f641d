"""French working days: weekends and public holidays (metropolitan calendar) are off.

Read by the referral delays (services) and by the DPO's off-hours anomaly (selectors)."""

import datetime as dt
from functools import lru_cache

import holidays


@lru_cache(maxsize=16)
def french_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("FR", years=year).keys())


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in french_holidays(day.year)
