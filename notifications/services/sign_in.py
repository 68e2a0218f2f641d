"""Telling administrators that an agent could not sign in with ProConnect (issue 15).

The notices are outbox rows written in the sign-in's own transaction (the receiver of
`parcours.signals.sign_in_refused`): one per administrator's address and `SignInRequest` — the
agent may try ten times, each administrator hears of it once. The relay builds the e-mail from
the request when it sends it (notifications/mail.py).

Who is told:
- an account awaiting activation: the organisation's administrators (the gate's
  RECEIVE_SIGN_IN_NOTICE row), who activate the membership in the admin; an organisation without
  one falls back on the platform's administrators;
- an unknown SIRET: the platform's administrators (active superusers), who create organisations.
"""

from django.contrib.auth import get_user_model
from django.utils import timezone

from parcours.models import Membership, SignInRefusal, SignInRequest
from parcours.rules import Action, roles_for

from ..models import OutboxKind, OutboxMessage


def _platform_administrators() -> list[tuple[int, str]]:
    return list(
        get_user_model()
        .objects.filter(is_superuser=True, is_active=True)
        .exclude(email="")
        .order_by("pk")
        .values_list("pk", "email")
    )


def sign_in_recipients(request: SignInRequest) -> list[tuple[int, str]]:
    """(user id, address) of whom to tell of `request`, one per address."""
    recipients: list[tuple[int, str]] = []
    if request.reason == SignInRefusal.AWAITING_ACTIVATION and request.organisation_id:
        recipients = list(
            Membership.objects.filter(
                organisation_id=request.organisation_id,
                role__in=roles_for(Action.RECEIVE_SIGN_IN_NOTICE),  # the gate's table
                is_active=True,
                user__is_active=True,
            )
            .exclude(user__email="")
            .order_by("user_id")
            .values_list("user_id", "user__email")
        )
    if not recipients:
        recipients = _platform_administrators()
    unique: dict[str, tuple[int, str]] = {}
    for user_id, email in recipients:
        unique.setdefault(email.strip().lower(), (user_id, email.strip()))
    return list(unique.values())


def sign_in_notices_create(*, sign_in_request: SignInRequest) -> int:
    """One outbox row per recipient of `sign_in_request` not told yet; returns how many were
    written. Must run inside the sign-in's transaction. Idempotent: a request seen again writes
    nothing for the addresses already told (and a unique constraint holds it)."""
    now = timezone.now()
    told = {
        address.lower()
        for address in OutboxMessage.objects.filter(sign_in_request=sign_in_request).values_list(
            "to_email", flat=True
        )
    }
    rows = [
        OutboxMessage(
            kind=OutboxKind.SIGN_IN_REQUEST,
            to_email=email,
            user_id=user_id,
            sign_in_request=sign_in_request,
            next_attempt_at=now,
            created_at=now,
        )
        for user_id, email in sign_in_recipients(sign_in_request)
        if email.lower() not in told
    ]
    return len(OutboxMessage.objects.bulk_create(rows))
