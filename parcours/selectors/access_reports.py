"""The access report of one person (issue 7, first slice): every journal event about their data
over a period — reads (record pages and the lists that showed them), writes, exports, denials,
break-glass openings, access requests — with date, organisation, user, operation, categories,
purpose and basis, and totals per organisation.

Two versions: `internal` (staff names, for the DPO's investigation) and `person` (for the
person, GDPR art. 15 as read by the CJEU in C-579/21: dates, organisations and purposes; staff
names hidden by default).
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

from django.db.models import Q

from ..categories import DataCategory
from ..labels import UNKNOWN_BASIS, basis_label, receiver_link_label, record_label, record_name
from ..models import AccessEvent, AccessOperation, Pathway, Referral
from ..spreadsheet import csv_writer

VERSIONS = ("internal", "person")
PERSON_VERSION_STAFF = "un membre de l'organisation"
AUTOMATIC = "traitement automatique"
# The person's own accesses from their space (issue 19): no user, no organisation.
THE_PERSON = "la personne elle-même (espace personnel)"
# The person version names the kind of record in words, without internal ids.
RECORD_LABELS = {
    "person": "dossier de la personne",
    "pathway": "parcours",
    "referral": "orientation",
    "appointment": "rendez-vous",
    "consent": "accord",
    "objection": "opposition",
    "care_team_member": "équipe de suivi",
    "objective": "plan d'action",
    "plan_action": "plan d'action",
}


@dataclass(frozen=True)
class AccessReportRow:
    occurred_at: dt.datetime
    organisation: str
    user: str
    operation: str
    record: str
    categories: str
    purpose: str
    basis: str


@dataclass
class AccessReport:
    person_id: int
    start: dt.datetime
    end: dt.datetime
    version: str
    rows: list[AccessReportRow] = field(default_factory=list)

    @property
    def totals_by_organisation(self) -> dict[str, int]:
        return dict(Counter(row.organisation for row in self.rows).most_common())


def _records_of(person_id: int) -> dict[str, set[int]]:
    """The person's records a list row may name, by object type."""
    pathway_ids = set(Pathway.objects.filter(person_id=person_id).values_list("pk", flat=True))
    referral_ids = set(
        Referral.objects.filter(pathway_id__in=pathway_ids).values_list("pk", flat=True)
    )
    return {"person": {person_id}, "pathway": pathway_ids, "referral": referral_ids}


def _basis(event: AccessEvent, records: dict[str, set[int]]) -> str:
    """A list row's bases for this person's records alone (each record's own, ADR 0010)."""
    if event.operation != AccessOperation.LIST:
        return event.basis
    return event.basis_of(records.get(event.object_type, set()) & set(event.object_ids))


def _events_about(person_id: int, start: dt.datetime, end: dt.datetime):
    """Events naming the person, and list events that returned one of their records.

    Every list arm names `operation = 'list'` and its object type: those are the predicates of
    the partial GIN indexes `journal_listed_<type>s_idx`, so PostgreSQL answers the OR with a
    BitmapOr of `journal_person_idx` and one GIN probe per record instead of reading the whole
    journal (30–150 ms instead of 4.5 s at 10 M rows, docs/performance.md). Dropping either
    condition from an arm silently loses its index:
    tests/reports/test_access_report_query.py checks the plan.
    """
    pathway_ids = list(Pathway.objects.filter(person_id=person_id).values_list("pk", flat=True))
    referral_ids = list(
        Referral.objects.filter(pathway_id__in=pathway_ids).values_list("pk", flat=True)
    )
    listed = Q(
        operation=AccessOperation.LIST, object_type="person", object_ids__contains=[person_id]
    )
    for pathway_id in pathway_ids:
        listed |= Q(
            operation=AccessOperation.LIST, object_type="pathway", object_ids__contains=[pathway_id]
        )
    for referral_id in referral_ids:
        listed |= Q(
            operation=AccessOperation.LIST,
            object_type="referral",
            object_ids__contains=[referral_id],
        )
    return (
        AccessEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .filter(Q(person_id=person_id) | listed)
        .select_related("user", "organisation")
        .order_by("occurred_at", "id")
    )


def category_labels(codes) -> str:
    labels = []
    for code in codes or ():
        try:
            labels.append(str(DataCategory(code).label))
        except ValueError:
            labels.append(str(code))
    return ", ".join(labels)


def staff_label(event: AccessEvent, *, named: bool) -> str:
    """Who acted, as a report shows it: the staff member's name, or a neutral label."""
    if (event.detail or {}).get("principal") == "person":
        return THE_PERSON
    if event.user is None:
        if (event.detail or {}).get("receiver_link") and event.organisation is not None:
            return receiver_link_label(event.organisation.name)
        return AUTOMATIC
    if named:
        return event.user.get_full_name() or event.user.get_username()
    return PERSON_VERSION_STAFF


def person_access_report(
    *,
    person_id: int,
    start: dt.datetime,
    end: dt.datetime,
    version: str = "internal",
    staff_named: frozenset[int] | None = None,
    organisation_id: int | None = None,
    operation: str | None = None,
) -> AccessReport:
    """`staff_named`: in the internal version, the organisations whose staff are named (None:
    all); the person version never names staff. `organisation_id` and `operation` keep only the
    rows of that organisation or operation."""
    if version not in VERSIONS:
        raise ValueError(f"Version de rapport inconnue : {version!r}")
    report = AccessReport(person_id=person_id, start=start, end=end, version=version)
    events = _events_about(person_id, start, end)
    records = _records_of(person_id)
    # Plain ANDs on top of the indexed OR: PostgreSQL checks them on the rows it found.
    if organisation_id is not None:
        events = events.filter(organisation_id=organisation_id)
    if operation is not None:
        events = events.filter(operation=operation)
    for event in events:
        named = version == "internal" and (
            staff_named is None or event.organisation_id in staff_named
        )
        user = staff_label(event, named=named)
        if version == "internal":
            record = record_label(event.object_type, event.object_id)
        else:
            record = RECORD_LABELS.get(event.object_type) or record_name(event.object_type)
        report.rows.append(
            AccessReportRow(
                occurred_at=event.occurred_at,
                organisation=event.organisation.name if event.organisation else "—",
                user=user,
                operation=str(AccessOperation(event.operation).label),
                record=record,
                categories=category_labels(event.categories),
                purpose=event.purpose,
                basis=(
                    basis_label(_basis(event, records))
                    if version == "internal"
                    else _basis_for_person(_basis(event, records))
                ),
            )
        )
    return report


def _basis_for_person(basis: str) -> str:
    """The bases named in words, without internal ids."""
    words = {
        "consent": "votre accord",
        "legal": "une mission prévue par la loi",
        "agreement": "une convention entre partenaires",
        "break_glass": "un accès d'urgence",
        "referral": "une orientation en cours",
    }
    names = sorted({words.get(code.split(":", 1)[0], UNKNOWN_BASIS) for code in basis.split()})
    return ", ".join(names)


CSV_COLUMNS = [
    "date",
    "organisation",
    "utilisateur",
    "opération",
    "dossier",
    "catégories",
    "finalité",
    "base",
]


def write_csv(report: AccessReport, stream: TextIO) -> None:
    writer = csv_writer(stream)
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        writer.writerow(
            [
                row.occurred_at.isoformat(timespec="seconds"),
                row.organisation,
                row.user,
                row.operation,
                row.record,
                row.categories,
                row.purpose,
                row.basis,
            ]
        )
