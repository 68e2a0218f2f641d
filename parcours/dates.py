"""Calendar arithmetic shared by the services and the selectors, and the reports' period."""

import calendar
import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

# A report without dates covers the last 12 months (API, pages and commands alike).
DEFAULT_REPORT_DAYS = 365
PERIOD_REVERSED = "La date de début doit précéder la date de fin."
# The days a report may name: nothing parcours records predates 2000, and a period may end up to
# a year ahead (the end of a year being prepared); beyond, the date is a typing error — and the
# calendar arithmetic behind a report (the day after, a baseline before) would overflow at
# 9999-12-31 or 0001-01-01 (a 500 before these bounds).
EARLIEST_REPORT_DAY = dt.date(2000, 1, 1)
REPORT_DAYS_AHEAD = 366


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


class PeriodError(ValueError):
    """A report period that cannot be read: `field` is "first_day" or "last_day", the day the
    French message is about (the API names them `from`/`to`, the pages `du`/`au`)."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


def latest_report_day() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=REPORT_DAYS_AHEAD)


def _check_report_day(day: dt.date | None, field: str) -> None:
    if day is None:
        return
    if day < EARLIEST_REPORT_DAY:
        raise PeriodError(
            f"Choisissez une date à partir du {EARLIEST_REPORT_DAY:%d/%m/%Y}.", field=field
        )
    if day > latest_report_day():
        raise PeriodError(
            f"Choisissez une date au plus tard le {latest_report_day():%d/%m/%Y}.", field=field
        )


def report_period(first_day: dt.date | None, last_day: dt.date | None) -> ReportPeriod:
    """The period of a report; `last_day` defaults to today, `first_day` to DEFAULT_REPORT_DAYS
    before it (not before EARLIEST_REPORT_DAY). PeriodError (a ValueError) when a day given is
    outside EARLIEST_REPORT_DAY..today + REPORT_DAYS_AHEAD, or PERIOD_REVERSED when the days are
    in the wrong order."""
    _check_report_day(first_day, "first_day")
    _check_report_day(last_day, "last_day")
    last = last_day or timezone.localdate()
    first = first_day or max(last - dt.timedelta(days=DEFAULT_REPORT_DAYS), EARLIEST_REPORT_DAY)
    if first > last:
        raise PeriodError(PERIOD_REVERSED, field="first_day")
    return ReportPeriod(
        first_day=first,
        last_day=last,
        start=timezone.make_aware(dt.datetime.combine(first, dt.time.min)),
        end=timezone.make_aware(dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min)),
    )


# PostgreSQL stores a UTC offset up to ±15:59:59 where Python reads one up to ±23:59: beyond, the
# query or the write failed (a 500, issue 15). No time zone is further than ±14:00 from UTC.
POSTGRESQL_MAX_UTC_OFFSET = dt.timedelta(hours=16)
UTC_OFFSET_INVALID = (
    "Décalage horaire invalide : il doit être compris entre -15:59 et +15:59 "
    "(par exemple 2026-01-15T09:00:00+01:00)."
)


def has_storable_offset(moment: dt.datetime | None) -> bool:
    """False for a date-time whose UTC offset PostgreSQL cannot store (the doors answer
    UTC_OFFSET_INVALID on the field)."""
    offset = moment.utcoffset() if moment is not None else None
    return offset is None or abs(offset) < POSTGRESQL_MAX_UTC_OFFSET
