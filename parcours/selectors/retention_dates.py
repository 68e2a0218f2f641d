"""When a person's record will be archived, then anonymised: one function, `retention_dates_of`.

It reads the same clock and rules as the daily retention job (docs/retention.md): the latest
`Pathway.last_contact_at` of the person's pathways, and the PATHWAY rule in force (by default CASF
art. R.263-8: active 2 years after the last contact, then archived 2 years, then anonymised); the
access journal's rule (by default 12 months, CNIL deliberation 2021-122).

Return value (a plain dict; dates are `datetime.date`, the caller serialises them):

    last_contact_at      datetime | None  the latest last contact of the person's pathways
                                          (opening, professional timeline events — referral
                                          moves, appointments, closing —, rectifications,
                                          consents); the record's creation when it has none
    archive_on           date | None      last contact + the active months
    anonymise_on         date | None      archive_on + the archived months
    journal_kept_months  int              the journal rule's months
    references           list[str]        the texts the durations come from
"""

import datetime as dt

from django.db.models import Max
from django.utils import timezone

from ..categories import DataCategory
from ..dates import add_months
from ..models import Pathway, Person
from .retention import JOURNAL, retention_rules_in_force


def _last_contact(person_id: int) -> dt.datetime | None:
    latest = Pathway.objects.filter(person_id=person_id).aggregate(last=Max("last_contact_at"))
    if latest["last"] is not None:
        return latest["last"]
    return Person.objects.filter(pk=person_id).values_list("created_at", flat=True).first()


def retention_dates_of(*, person_id: int, now: dt.datetime) -> dict:
    """The archiving and anonymisation dates of a person's record (shape: module docstring)."""
    rules = {rule.category: rule for rule in retention_rules_in_force()}
    record, journal = rules[DataCategory.PATHWAY], rules[JOURNAL]
    last_contact = _last_contact(person_id)
    archive_on = anonymise_on = None
    if last_contact is not None:
        archive_on = add_months(timezone.localtime(last_contact).date(), record.active_months)
        anonymise_on = add_months(archive_on, record.archived_months)
    return {
        "last_contact_at": last_contact,
        "archive_on": archive_on,
        "anonymise_on": anonymise_on,
        "journal_kept_months": journal.active_months,
        "references": list(dict.fromkeys([record.reference, journal.reference])),
    }
