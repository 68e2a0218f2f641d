"""The e-mail that carries a person's one-time code to their space (issue 19)."""

from django.utils import timezone

from parcours.models import PersonSignInCode

from ..models import OutboxKind, OutboxMessage


def person_code_notice_create(*, code: PersonSignInCode) -> OutboxMessage:
    """One outbox row to the person's address; must run inside the code's transaction. The
    relay builds the e-mail from the code when it sends it (notifications/mail.py)."""
    now = timezone.now()
    return OutboxMessage.objects.create(
        kind=OutboxKind.PERSON_CODE,
        to_email=code.person.email,
        person_sign_in_code=code,
        next_attempt_at=now,
        created_at=now,
    )
