"""When an end of unemployment rights is « coming » (the benefit-transition warning, issue 18):
one window, read by the daily warning scan (notifications/services/rights_end.py) and by the
person page's notice, so that the page says what the e-mail said."""

import datetime as dt

from django.conf import settings

from ..models import Person


def rights_end_window(today: dt.date) -> tuple[dt.date, dt.date]:
    """The announced ends warned about on `today`: from today to the configured days ahead (an
    end already passed is not news; one recorded late, inside the window, still is)."""
    return today, today + dt.timedelta(days=settings.PARCOURS_RIGHTS_END_WARNING_DAYS)


def rights_end_coming(person: Person, today: dt.date) -> dt.date | None:
    """The person's end of rights when it falls in the window and they may fall to the rSa
    (not already receiving it); None otherwise."""
    end = person.rights_end_date
    if end is None or person.receives_rsa:
        return None
    first, last = rights_end_window(today)
    return end if first <= end <= last else None
