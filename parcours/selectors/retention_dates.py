"""When a person's record will be archived, then anonymised: one function, `retention_dates_of`.

Today it applies the defaults of CASF art. R.263-8 directly: the record stays active for 2 years
after the last contact, is then archived for 2 years (read-only), then anonymised. The access
journal is kept 12 months (CNIL deliberation 2021-122). The configurable retention rules (issue
7, "Retention") replace the body of this function; its callers (the subject-access pack) rely
only on the return shape below, which must stay as it is.

Return value (a plain dict; dates are `datetime.date`, the caller serialises them):

    last_contact_at      datetime | None  the latest of: pathway opened or closed, timeline
                                          event, referral update, appointment (held, or its
                                          outcome recorded); the record's creation when none
    archive_on           date | None      last contact + 2 years (None without any contact)
    anonymise_on         date | None      archive_on + 2 years
    journal_kept_months  int              12
    references           list[str]        the texts the durations come from
"""

import datetime as dt

from django.db.models import Max, Q
from django.utils import timezone

from ..models import Appointment, Pathway, PathwayEvent, Person, Referral

ACTIVE_YEARS = 2
ARCHIVED_YEARS = 2
JOURNAL_KEPT_MONTHS = 12
REFERENCES = [
    "Code de l'action sociale et des familles, art. R.263-8 (durées de conservation)",
    "CNIL, délibération n° 2021-122 (conservation des traces d'accès)",
]


def _years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def _last_contact(person_id: int, now: dt.datetime) -> dt.datetime | None:
    """Five aggregate queries, whatever the size of the record."""
    pathways = Pathway.objects.filter(person_id=person_id).aggregate(
        opened=Max("opened_at"), closed=Max("closed_at")
    )
    events = PathwayEvent.objects.filter(pathway__person_id=person_id).aggregate(
        last=Max("occurred_at")
    )
    referrals = Referral.objects.filter(pathway__person_id=person_id).aggregate(
        last=Max("updated_at")
    )
    # An appointment still to come is not a contact yet; recording its outcome is one.
    appointments = Appointment.objects.filter(referral__pathway__person_id=person_id).aggregate(
        held=Max("starts_at", filter=Q(starts_at__lte=now)),
        recorded=Max("outcome_recorded_at"),
    )
    moments = [
        pathways["opened"],
        pathways["closed"],
        events["last"],
        referrals["last"],
        appointments["held"],
        appointments["recorded"],
    ]
    known = [m for m in moments if m is not None]
    if known:
        return max(known)
    return Person.objects.filter(pk=person_id).values_list("created_at", flat=True).first()


def retention_dates_of(*, person_id: int, now: dt.datetime) -> dict:
    """The archiving and anonymisation dates of a person's record (shape: module docstring)."""
    last_contact = _last_contact(person_id, now)
    archive_on = anonymise_on = None
    if last_contact is not None:
        archive_on = _years_after(timezone.localtime(last_contact).date(), ACTIVE_YEARS)
        anonymise_on = _years_after(archive_on, ARCHIVED_YEARS)
    return {
        "last_contact_at": last_contact,
        "archive_on": archive_on,
        "anonymise_on": anonymise_on,
        "journal_kept_months": JOURNAL_KEPT_MONTHS,
        "references": list(REFERENCES),
    }
