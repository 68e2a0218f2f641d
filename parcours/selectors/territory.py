"""The overdue referrals of a coordinator's territory (issue 18): which referrals wait past their
delay, between which organisations, for which service, for how long — **never a person**.

Read from the referrals' states and deadlines, within the employment areas the actor coordinates
(`access.coordinated_area_ids`: none for any other role), by the receiving organisation's area
(where the service is given, as the monthly figures' `employment_area`). Only these columns are
fetched (`.values()`): no pathway, no person, no free text, no user; a referral appears by a
pseudonymous reference (`reference_of`), never by its id. The doors reach this through
`services/territory.py`, which asks the gate (`territory.read`) and journals the read.

Overdue, as the alerts define it (docs/domain.md):
- unanswered: sent, no answer past `acknowledge_due_at`;
- no appointment: accepted, no appointment set past `appointment_due_at`;
- no-show unresolved: the person missed the appointment (`no_show_at`) and the receiver has
  neither set another one nor closed the referral.
The partial indexes on those deadlines (models/referral.py) serve each of the three.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone

from .. import access
from ..actor import Actor
from ..fields import blind_index
from ..models import Referral, ReferralStatus

UNANSWERED, NO_APPOINTMENT, NO_SHOW = "unanswered", "no_appointment", "no_show"
OVERDUE_KINDS = {
    UNANSWERED: "Sans réponse",
    NO_APPOINTMENT: "Rendez-vous non fixé",
    NO_SHOW: "Absence non traitée",
}
# The deadline each kind is late against, and the state that keeps it waiting.
_WAITS = {
    UNANSWERED: (ReferralStatus.SENT, "acknowledge_due_at"),
    NO_APPOINTMENT: (ReferralStatus.ACCEPTED, "appointment_due_at"),
    NO_SHOW: (ReferralStatus.NO_SHOW, "no_show_at"),
}
_KIND_OF_STATUS = {status: kind for kind, (status, _due) in _WAITS.items()}
# The list shows the most overdue first, at most this many (the total is counted whole).
MAX_ROWS = 500
DAY = dt.timedelta(days=1)


def reference_of(referral_id: int) -> str:
    """A pseudonymous reference: stable, not the referral's id, and not reversible without the
    platform's key (an HMAC, as the search indexes): « ORI-3F9A0C1D2E »."""
    return "ORI-" + blind_index("territory-referral", str(referral_id))[:10].upper()


@dataclass(frozen=True)
class OverdueReferral:
    reference: str
    kind: str
    kind_label: str
    sender: str
    receiver: str
    service: str
    area: str
    due_at: dt.datetime
    days_overdue: int


@dataclass(frozen=True)
class OrganisationLateness:
    """One organisation's overdue referrals (as the receiver that is late)."""

    name: str
    count: int
    oldest_days: int


@dataclass(frozen=True)
class OverdueReferrals:
    rows: list[OverdueReferral]
    total: int
    by_receiver: list[OrganisationLateness]
    by_sender: list[OrganisationLateness]
    referral_ids: list[int]  # for the journal only (the doors never show them)


# The only columns read: organisations, service, area, state and the deadline it is late on
# (`due_at`, the kind's own: one date to read per row, not three).
_COLUMNS = (
    "pk",
    "status",
    "due_at",
    "sender_organisation__name",
    "receiver_organisation__name",
    "receiver_service__name",
    "receiver_organisation__employment_area__name",
)


def _overdue_in(areas: frozenset[int], now: dt.datetime):
    """One query per kind, UNION ALL: each reads the receivers' referrals in one state through
    the (receiver, status) index. The single query's OR of the three states made PostgreSQL read
    every referral of the area's receivers (94,728 for the bench's busiest area at 1 M pathways:
    418 ms, against 63 ms this way, for 7,185 overdue)."""
    kinds = [
        Referral.objects.filter(
            receiver_organisation__employment_area_id__in=areas,
            status=status,
            **{f"{due}__lt": now},
        )
        .order_by()
        .annotate(due_at=F(due))
        .values(*_COLUMNS)
        for status, due in _WAITS.values()
    ]
    return kinds[0].union(*kinds[1:], all=True)


def _lateness(found: list[tuple], field: str, now: dt.datetime) -> list[OrganisationLateness]:
    grouped: dict[str, list[dt.datetime]] = {}
    for due_at, _pk, values, _kind in found:
        grouped.setdefault(values[field], []).append(due_at)
    return sorted(
        (
            OrganisationLateness(name, len(dues), (now - min(dues)) // DAY)
            for name, dues in grouped.items()
        ),
        key=lambda o: (-o.count, o.name),
    )


def _row(values: dict, kind: str, due_at: dt.datetime, now: dt.datetime) -> OverdueReferral:
    return OverdueReferral(
        reference=reference_of(values["pk"]),
        kind=kind,
        kind_label=OVERDUE_KINDS[kind],
        sender=values["sender_organisation__name"],
        receiver=values["receiver_organisation__name"],
        service=values["receiver_service__name"] or "Service non précisé",
        area=values["receiver_organisation__employment_area__name"],
        due_at=due_at,
        days_overdue=(now - due_at) // DAY,
    )


def overdue_referrals_for(
    actor: Actor, *, area_id: int | None = None, now: dt.datetime | None = None
) -> OverdueReferrals:
    """The overdue referrals of the actor's areas (of `area_id`, one of them), most overdue
    first; empty for an actor who coordinates nothing."""
    now = now or timezone.now()
    areas = access.coordinated_area_ids(actor)
    if area_id is not None:
        areas = areas & {area_id}
    found = []
    for values in _overdue_in(areas, now) if areas else ():
        kind = _KIND_OF_STATUS[values["status"]]
        found.append((values["due_at"], values["pk"], values, kind))
    found.sort(key=lambda item: (item[0], item[1]))
    shown = found[:MAX_ROWS]
    return OverdueReferrals(
        rows=[_row(values, kind, due_at, now) for due_at, _pk, values, kind in shown],
        total=len(found),
        by_receiver=_lateness(found, "receiver_organisation__name", now),
        by_sender=_lateness(found, "sender_organisation__name", now),
        referral_ids=[pk for _due, pk, _values, _kind in shown],
    )
