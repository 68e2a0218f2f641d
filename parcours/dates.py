"""Calendar arithmetic shared by the services and the selectors, and the reports' period."""

import calendar
import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

# A report without dates covers the last 12 months (API, pages and commands alike).
DEFAULT_REPORT_DAYS = 365
PERIOD_REVERSED = "La date de début doit précéder la date de fin."


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day `months` later, or that month's last day (31 January + 1 month = 28/29 February)."""
    years, month_index = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month_index + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


@dataclass(frozen=True)
class ReportPeriod:
    """Calendar days `first_day`..`last_day` (both included, local time), as the half-open
    interval [start, end) the journal is read over."""

    first_day: dt.date
    last_day: dt.date
    start: dt.datetime
    end: dt.datetime


def report_period(first_day: dt.date | None, last_day: dt.date | None) -> ReportPeriod:
    """The period of a report; `last_day` defaults to today, `first_day` to DEFAULT_REPORT_DAYS
    before it. ValueError(PERIOD_REVERSED) when the days are in the wrong order."""
    last = last_day or timezone.localdate()
    first = first_day or last - dt.timedelta(days=DEFAULT_REPORT_DAYS)
    if first > last:
        raise ValueError(PERIOD_REVERSED)
    return ReportPeriod(
        first_day=first,
        last_day=last,
        start=timezone.make_aware(dt.datetime.combine(first, dt.time.min)),
        end=timezone.make_aware(dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min)),
    )
