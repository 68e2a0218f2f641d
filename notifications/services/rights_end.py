"""The benefit-transition warning (issue 18): a person whose unemployment rights end soon may
fall to the rSa; their référent, and a Conseil départemental already following them, are told a
configurable number of days before (`PARCOURS_RIGHTS_END_WARNING_DAYS`), once per pathway and
announced date.

The daily scan (`rights_end_warnings_raise`, beat entry `rights-end-warnings`) writes, in one
transaction, a `RightsEndWarning` per open pathway whose person's rights end within the window —
`INSERT … ON CONFLICT DO NOTHING RETURNING`, so a second scan, concurrent or after a crash, writes
nothing again — and the e-mails of the warnings it wrote. People already receiving the rSa are
not warned about (nothing to fall to). The e-mail names nobody: the pathway's link, the date,
what to consider (notifications/mail.py)."""

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from parcours.models import Pathway, PathwayStatus, Person
from parcours.selectors.rights_end import rights_end_window

from ..models import OutboxKind, OutboxMessage, RightsEndWarning
from .recipients import rights_end_recipients

logger = logging.getLogger(__name__)


@dataclass
class RightsEndReport:
    warnings: int = 0
    messages: int = 0

    def as_dict(self) -> dict:
        return {"warnings": self.warnings, "messages": self.messages}


def _insert_warnings(*, now: dt.datetime) -> list[tuple[int, int]]:
    """(warning id, pathway id) of the warnings this pass wrote — none that already existed.
    The same window and condition as `parcours.selectors.rights_end.rights_end_coming`."""
    first, last = rights_end_window(timezone.localdate(now))
    quote = connection.ops.quote_name
    # One statement: concurrent scans wait on each other's uncommitted rows, then skip them.
    sql = (
        f"INSERT INTO {quote(RightsEndWarning._meta.db_table)} "  # noqa: S608
        "(pathway_id, rights_end_date, created_at) "
        "SELECT pathway.id, person.rights_end_date, %s "
        f"FROM {quote(Pathway._meta.db_table)} pathway "
        f"JOIN {quote(Person._meta.db_table)} person ON person.id = pathway.person_id "
        "WHERE person.rights_end_date BETWEEN %s AND %s AND NOT person.receives_rsa "
        "AND pathway.status = %s AND pathway.archived_at IS NULL "
        "ON CONFLICT (pathway_id, rights_end_date) DO NOTHING "
        "RETURNING id, pathway_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, first, last, PathwayStatus.OPEN])
        return [(row[0], row[1]) for row in cursor.fetchall()]


def rights_end_warnings_raise(*, now: dt.datetime) -> RightsEndReport:
    """One daily pass: the warnings due today and their e-mails, in one transaction. Safe to
    run twice at once or again after a crash (see the module's docstring)."""
    report = RightsEndReport()
    with transaction.atomic():
        written = _insert_warnings(now=now)
        if not written:
            return report
        recipients = rights_end_recipients([pathway_id for _, pathway_id in written])
        rows = [
            OutboxMessage(
                kind=OutboxKind.RIGHTS_END,
                to_email=recipient.email.strip(),
                user_id=recipient.user_id,
                rights_end_warning_id=warning_id,
                next_attempt_at=now,
                created_at=now,
            )
            for warning_id, pathway_id in written
            for recipient in recipients.get(pathway_id, [])
        ]
        OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)
        report.warnings, report.messages = len(written), len(rows)
        unreached = [pid for _, pid in written if not recipients.get(pid)]
        if unreached:
            logger.error("rights-end warnings reach nobody for pathways %s", unreached)
    logger.info("rights_end_warnings_raise at %s: %s", now.isoformat(), report.as_dict())
    return report
