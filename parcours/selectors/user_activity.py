"""Everything one user opened or changed over a period (an internal investigation): every
journal row they caused, in order, with the records and people concerned, categories, purpose
and basis — never the content of a record. Scoped by the caller to the organisations a DPO
reports on (`parcours.access.organisations_reportable_by`)."""

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

from django.contrib.auth.models import User
from django.db.models import Q

from ..labels import basis_label, list_label, record_label
from ..models import SECURITY_OPERATIONS, AccessEvent, AccessOperation
from ..spreadsheet import csv_writer
from .access_reports import category_labels


@dataclass(frozen=True)
class UserActivityRow:
    occurred_at: dt.datetime
    organisation: str
    operation: str
    record: str
    person: str
    categories: str
    purpose: str
    basis: str
    client_ip: str


@dataclass
class UserActivityReport:
    user_id: int
    user_name: str
    start: dt.datetime
    end: dt.datetime
    rows: list[UserActivityRow] = field(default_factory=list)
    distinct_people: int = 0

    @property
    def totals_by_operation(self) -> dict[str, int]:
        return dict(Counter(row.operation for row in self.rows).most_common())


def event_record_label(event: AccessEvent) -> str:
    """« parcours n°12 », or for a list « liste : 20 parcours » — ids only, never names."""
    if event.operation == AccessOperation.LIST:
        return list_label(event.object_type, len(event.object_ids or []))
    return record_label(event.object_type, event.object_id)


def user_activity_report(
    *,
    user: User,
    start: dt.datetime,
    end: dt.datetime,
    organisation_ids: Iterable[int] | None = None,
) -> UserActivityReport:
    """The user's journal rows in [start, end), acting for `organisation_ids` (None: any)."""
    events = AccessEvent.objects.filter(user=user, occurred_at__gte=start, occurred_at__lt=end)
    if organisation_ids is not None:
        # The account's own security events (failed sign-ins, lockouts, second factor) belong
        # to no organisation: the DPO who may report on the user sees them.
        events = events.filter(
            Q(organisation_id__in=list(organisation_ids))
            | Q(organisation__isnull=True, operation__in=SECURITY_OPERATIONS)
        )
    report = UserActivityReport(
        user_id=user.pk,
        user_name=user.get_full_name() or user.get_username(),
        start=start,
        end=end,
    )
    people: set[int] = set()
    for event in (
        events.select_related("organisation")
        .order_by("occurred_at", "id")
        .iterator(chunk_size=2000)
    ):
        if event.person_id is not None:
            people.add(event.person_id)
        report.rows.append(
            UserActivityRow(
                occurred_at=event.occurred_at,
                organisation=event.organisation.name if event.organisation else "—",
                operation=str(AccessOperation(event.operation).label),
                record=event_record_label(event),
                person=f"personne n°{event.person_id}" if event.person_id else "",
                categories=category_labels(event.categories),
                purpose=event.purpose,
                basis=basis_label(event.basis),
                client_ip=str(event.client_ip or ""),
            )
        )
    report.distinct_people = len(people)
    return report


CSV_COLUMNS = [
    "date",
    "organisation",
    "opération",
    "dossier",
    "personne",
    "catégories",
    "finalité",
    "base",
    "adresse IP",
]


def write_csv(report: UserActivityReport, stream: TextIO) -> None:
    writer = csv_writer(stream)
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        writer.writerow(
            [
                row.occurred_at.isoformat(timespec="seconds"),
                row.organisation,
                row.operation,
                row.record,
                row.person,
                row.categories,
                row.purpose,
                row.basis,
                row.client_ip,
            ]
        )
