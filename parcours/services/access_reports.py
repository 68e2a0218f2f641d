"""Generating an access report is itself an access to the person's data: it is journaled."""

import datetime as dt

from django.contrib.auth.models import User
from django.db import transaction

from ..actor import Actor
from ..db_routing import replica_eligible
from ..gate.journal import journal_record
from ..models import AccessOperation
from ..selectors.access_reports import AccessReport, person_access_report


@replica_eligible
@transaction.atomic
def access_report_generate(
    *,
    person_id: int,
    start: dt.datetime,
    end: dt.datetime,
    version: str,
    actor: Actor | None = None,
    user: User | None = None,
    staff_named: frozenset[int] | None = None,
    organisation_id: int | None = None,
    operation: str | None = None,
) -> AccessReport:
    """The person's access report over [start, end) (`person_access_report`'s filters), and one
    `report` row in the journal (who asked — an actor, or the user running the command — which
    version, which period, which filters). The caller has checked the asker's reach."""
    report = person_access_report(
        person_id=person_id,
        start=start,
        end=end,
        version=version,
        staff_named=staff_named,
        organisation_id=organisation_id,
        operation=operation,
    )
    label = "version pour la personne" if version == "person" else "version interne"
    journal_record(
        actor=actor,
        user=user,
        operation=AccessOperation.REPORT,
        object_type="person",
        object_id=person_id,
        person_id=person_id,
        purpose=f"Rapport des accès ({label})",
        detail={
            "version": version,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "organisation": organisation_id,
            "operation": operation,
            "rows": len(report.rows),
        },
    )
    return report
