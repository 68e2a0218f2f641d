"""The access report of one person (issue 7, first slice): every journal event about their data
over a period — reads (record pages and the lists that showed them), writes, exports, denials,
break-glass openings, access requests — with date, organisation, user, operation, categories,
purpose and basis, and totals per organisation.

Two versions: `internal` (staff names, for the DPO's investigation) and `person` (for the
person, GDPR art. 15 as read by the CJEU in C-579/21: dates, organisations and purposes; staff
names hidden by default).
"""

import csv
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

from django.db.models import Q

from ..categories import DataCategory
from ..models import AccessEvent, AccessOperation, Pathway, Referral

VERSIONS = ("internal", "person")
PERSON_VERSION_STAFF = "un membre de l'organisation"


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


def _categories(codes) -> str:
    labels = []
    for code in codes or ():
        try:
            labels.append(str(DataCategory(code).label))
        except ValueError:
            labels.append(str(code))
    return ", ".join(labels)


def person_access_report(
    *, person_id: int, start: dt.datetime, end: dt.datetime, version: str = "internal"
) -> AccessReport:
    if version not in VERSIONS:
        raise ValueError(f"Version de rapport inconnue : {version!r}")
    report = AccessReport(person_id=person_id, start=start, end=end, version=version)
    for event in _events_about(person_id, start, end):
        if version == "internal" and event.user is not None:
            user = event.user.get_full_name() or event.user.get_username()
        elif event.user is not None:
            user = PERSON_VERSION_STAFF
        else:
            user = "traitement automatique"
        record = event.object_type + (f" n°{event.object_id}" if event.object_id else "")
        report.rows.append(
            AccessReportRow(
                occurred_at=event.occurred_at,
                organisation=event.organisation.name if event.organisation else "—",
                user=user,
                operation=str(AccessOperation(event.operation).label),
                record=record,
                categories=_categories(event.categories),
                purpose=event.purpose,
                basis=event.basis if version == "internal" else _basis_for_person(event.basis),
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
    }
    names = sorted(
        {words.get(code.split(":", 1)[0], code.split(":", 1)[0]) for code in basis.split()}
    )
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
    writer = csv.writer(stream, delimiter=";")
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
