"""What the person reads in their own space (issue 19), always scoped to the signed-in
person (`gate.person.PersonPrincipal`): their pathways with referrals and appointments, the
organisations that consulted their record (when, for what purpose — never a staff member's
name), and their consents.

The consultations come from the access journal, found as the DPO's access report finds them
(`access_reports._events_about`: the person's rows and the list pages that showed one of their
records, through the journal's indexes), newest first, a page at a time by keyset on
(occurred_at, id) — the journal is partitioned and large: no OFFSET.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch, Q
from django.utils import timezone

from ..access import PersonPrincipal, consents_of
from ..labels import organisation_kind_recipients, organisation_with_service
from ..models import AccessEvent, AccessOperation, Appointment, Consent, Pathway, Referral
from .access_reports import _events_about, category_labels

# What an organisation did with the record, in the person's words.
CONSULTATION_VERBS = {
    AccessOperation.READ: "a consulté votre dossier",
    AccessOperation.LIST: "a vu votre nom dans une liste",
    AccessOperation.WRITE: "a modifié votre dossier",
    AccessOperation.EXPORT: "a reçu des informations de votre dossier",
    AccessOperation.BREAK_GLASS: "a ouvert votre dossier en urgence",
}
CONSULTATION_OPERATIONS = tuple(CONSULTATION_VERBS)
NO_PURPOSE = "sans finalité précisée"
# The journal is kept for its retention period; the space looks no further back than this.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
PAGE_SIZE = 20


@dataclass(frozen=True)
class Consultation:
    occurred_at: dt.datetime
    organisation: str
    verb: str
    purpose: str
    categories: str


@dataclass(frozen=True)
class ConsultationPage:
    rows: list[Consultation]
    # The keyset of the next (older) page, "<iso datetime>_<id>", or "" when this is the last.
    next_cursor: str


def _cursor_of(event: AccessEvent) -> str:
    return f"{event.occurred_at.isoformat()}_{event.pk}"


def parse_cursor(cursor: str) -> tuple[dt.datetime, int] | None:
    """A cursor sent back by the page, or None when absent or malformed (first page)."""
    at, _sep, pk = (cursor or "").rpartition("_")
    try:
        when = dt.datetime.fromisoformat(at)
        key = int(pk)
    except ValueError:
        return None
    if timezone.is_naive(when):
        return None
    return when, key


def consultations_of(
    principal: PersonPrincipal, *, cursor: str = "", page_size: int = PAGE_SIZE
) -> ConsultationPage:
    """Organisations' accesses to the person's record, newest first: only rows with an
    organisation (the person's own reads have none, and are not consultations), only reads,
    lists, writes, exports and exceptional accesses (not refusals)."""
    now = timezone.now()
    after = parse_cursor(cursor)
    end = now + dt.timedelta(seconds=1)
    events = (
        _events_about(principal.person_id, EARLIEST, end)
        .filter(organisation__isnull=False, operation__in=CONSULTATION_OPERATIONS)
        .order_by("-occurred_at", "-id")
    )
    if after is not None:
        when, key = after
        events = events.filter(Q(occurred_at__lt=when) | Q(occurred_at=when, id__lt=key))
    found = list(events[: page_size + 1])
    rows = [
        Consultation(
            occurred_at=event.occurred_at,
            organisation=event.organisation.name if event.organisation else "",
            verb=CONSULTATION_VERBS[AccessOperation(event.operation)],
            purpose=event.purpose or NO_PURPOSE,
            categories=category_labels(event.categories),
        )
        for event in found[:page_size]
    ]
    return ConsultationPage(
        rows=rows,
        next_cursor=_cursor_of(found[page_size - 1]) if len(found) > page_size else "",
    )


@dataclass(frozen=True)
class ReferralLine:
    sender: str
    receiver: str
    status: str
    sent_on: dt.datetime | None
    appointments: list[Appointment]


@dataclass(frozen=True)
class PathwayLine:
    owner: str
    status: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    referrals: list[ReferralLine]


def pathways_of(principal: PersonPrincipal) -> list[PathwayLine]:
    """The person's pathways, newest first, with their referrals (not drafts: a draft is the
    sender's work, not sent) and their appointments."""
    referrals = (
        Referral.objects.exclude(status="draft")
        .select_related("sender_organisation", "receiver_organisation", "receiver_service")
        .prefetch_related(Prefetch("appointments", Appointment.objects.order_by("starts_at")))
        .order_by("-created_at", "-id")
    )
    pathways = (
        Pathway.objects.filter(person_id=principal.person_id)
        .select_related("owner_organisation")
        .prefetch_related(Prefetch("referrals", referrals))
        .order_by("-opened_at", "-id")
    )
    return [
        PathwayLine(
            owner=pathway.owner_organisation.name,
            status=pathway.get_status_display(),
            opened_at=pathway.opened_at,
            closed_at=pathway.closed_at,
            referrals=[
                ReferralLine(
                    sender=referral.sender_organisation.name,
                    receiver=organisation_with_service(
                        referral.receiver_organisation, referral.receiver_service
                    ),
                    status=referral.get_status_display(),
                    sent_on=referral.sent_at,
                    appointments=list(referral.appointments.all()),
                )
                for referral in pathway.referrals.all()
            ],
        )
        for pathway in pathways
    ]


@dataclass(frozen=True)
class ConsentLine:
    pk: int
    recipients: list[str]
    categories: str
    purpose: str
    starts_on: dt.date
    ends_on: dt.date | None
    revoked_at: dt.datetime | None
    in_force: bool


def consent_line(consent: Consent, today: dt.date) -> ConsentLine:
    names = sorted(o.name for o in consent.organisations.all())
    return ConsentLine(
        pk=consent.pk,
        recipients=names + organisation_kind_recipients(consent.organisation_kinds),
        categories=category_labels(consent.categories),
        purpose=consent.purpose,
        starts_on=consent.starts_on,
        ends_on=consent.ends_on,
        revoked_at=consent.revoked_at,
        in_force=consent.revoked_at is None
        and (consent.ends_on is None or consent.ends_on >= today),
    )


def consents_for(principal: PersonPrincipal) -> list[ConsentLine]:
    """The person's consents, in force first, then withdrawn or ended."""
    today = timezone.localdate()
    lines = [
        consent_line(consent, today)
        for consent in consents_of(principal).prefetch_related("organisations")
    ]
    return sorted(lines, key=lambda line: not line.in_force)
