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
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from parcours.models import CareTeamMember, OrganisationKind, Pathway, PathwayStatus, Person
from parcours.rules import Action
from parcours.selectors.rights_end import rights_end_window

from ..models import Audience, OutboxKind, OutboxMessage, RightsEndWarning
from .recipients import Recipient, members_with_address

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


def rights_end_recipients(pathway_ids: list[int]) -> dict[int, list[Recipient]]:
    """Pathway id → who is told, one per address: the référent, while an active case worker of
    the référent's organisation (the gate's table); failing them, the owning organisation's case
    workers, failing those its contact address; and every Conseil départemental in the pathway's
    active care team (other than those), at its contact address, failing that its case
    workers."""
    pathways = list(
        Pathway.objects.filter(pk__in=pathway_ids).select_related("referent", "owner_organisation")
    )
    departements: dict[int, list] = defaultdict(list)
    for member in CareTeamMember.objects.filter(
        pathway_id__in=pathway_ids,
        ended_at__isnull=True,
        organisation__kind=OrganisationKind.DEPARTEMENT,
    ).select_related("organisation"):
        departements[member.pathway_id].append(member.organisation)
    organisation_ids = {p.owner_organisation_id for p in pathways}
    organisation_ids |= {p.referent_organisation_id for p in pathways if p.referent_organisation_id}
    organisation_ids |= {o.pk for orgs in departements.values() for o in orgs}
    workers = members_with_address(organisation_ids, Action.RECEIVE_RIGHTS_END_WARNINGS)
    result: dict[int, list[Recipient]] = {}
    for pathway in pathways:
        found: list[Recipient] = []
        referent_org = pathway.referent_organisation_id
        if pathway.referent_id and any(
            user.pk == pathway.referent_id for user in workers.get(referent_org or 0, [])
        ):
            assert pathway.referent is not None
            found.append(Recipient(pathway.referent.email, Audience.SENDER, pathway.referent_id))
        else:
            owner = pathway.owner_organisation
            found += [
                Recipient(user.email, Audience.SENDER, user.pk)
                for user in workers.get(owner.pk, [])
            ] or ([Recipient(owner.contact_email, Audience.SENDER)] if owner.contact_email else [])
        for organisation in departements.get(pathway.pk, []):
            if organisation.pk in (pathway.owner_organisation_id, referent_org):
                continue  # already told as the pathway's holder
            found += (
                [Recipient(organisation.contact_email, Audience.RECEIVER)]
                if organisation.contact_email
                else [
                    Recipient(user.email, Audience.RECEIVER, user.pk)
                    for user in workers.get(organisation.pk, [])
                ]
            )
        seen: set[str] = set()
        unique = []
        for recipient in found:
            key = recipient.email.strip().lower()
            if key and key not in seen:
                seen.add(key)
                unique.append(recipient)
        result[pathway.pk] = unique
    return result


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
