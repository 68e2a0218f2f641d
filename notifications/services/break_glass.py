"""Telling the DPOs of an organisation that one of its members opened an exceptional access.

The notices are outbox rows written in the opening's own transaction (the receiver of
`parcours.signals.break_glass_opened` calls this): an opening that commits always has its
notices, a rolled-back one never does, and neither the broker nor the SMTP server can fail the
request that opened it. The relay builds each e-mail from the break-glass row when it sends it
(notifications/mail.py) and sends each row once.
"""

from django.utils import timezone

from parcours.models import BreakGlass, Membership
from parcours.rules import Action, roles_for

from ..models import OutboxKind, OutboxMessage


def break_glass_notices_create(*, break_glass: BreakGlass) -> int:
    """One outbox row per active DPO (with an e-mail address) of the organisation that opened
    `break_glass`; returns how many were written. Must run inside the opening's transaction.
    Idempotent: a second call for the same opening writes nothing (one row per address)."""
    now = timezone.now()
    dpos = (
        Membership.objects.filter(
            organisation_id=break_glass.organisation_id,
            role__in=roles_for(Action.RECEIVE_BREAK_GLASS_NOTICE),  # the gate's table
            is_active=True,
            user__is_active=True,
        )
        .exclude(user__email="")
        .order_by("user_id")
        .values_list("user_id", "user__email")
    )
    told = {
        address.lower()
        for address in OutboxMessage.objects.filter(break_glass=break_glass).values_list(
            "to_email", flat=True
        )
    }
    rows: dict[str, OutboxMessage] = {}
    for user_id, email in dpos:
        if email.lower() in told or email.lower() in rows:
            continue  # one e-mail per address, even for a DPO with two memberships
        rows[email.lower()] = OutboxMessage(
            kind=OutboxKind.BREAK_GLASS,
            to_email=email,
            user_id=user_id,
            break_glass=break_glass,
            next_attempt_at=now,
            created_at=now,
        )
    return len(OutboxMessage.objects.bulk_create(rows.values()))
