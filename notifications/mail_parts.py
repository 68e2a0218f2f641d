"""What every e-mail of the outbox is built with: the link to a referral, dates as French readers
write them, and the message itself (HTML + plain text, the outbox row's deterministic
Message-ID), with its templates compiled once for a batch. Shared by notifications/mail.py and
notifications/answers.py, which neither imports the other for it."""

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import get_template
from django.utils import timezone, translation

from .models import OutboxMessage


def referral_link(referral_id: int) -> str:
    """Where the e-mail sends the reader: the referral's page (after logging in)."""
    return f"{settings.PARCOURS_PUBLIC_URL.rstrip('/')}/orientations/{referral_id}/"


def day(value) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y") if value else ""


def day_and_time(value) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y à %H:%M") if value else ""


class Templates:
    """The e-mail templates of a relay batch, each looked up and compiled once per name and
    language (without the cached loader — DEBUG — the engine reads and compiles the file again
    for every render). Only the compiled templates are kept: every e-mail is rendered from its
    own context, nothing rendered for one recipient is reused for another."""

    def __init__(self) -> None:
        self._compiled: dict[tuple[str, str | None], Any] = {}

    def render(self, name: str, context: dict) -> str:
        key = (name, translation.get_language())
        template = self._compiled.get(key)
        if template is None:
            template = self._compiled[key] = get_template(name)
        return template.render(context)


def email_of(
    message: OutboxMessage,
    *,
    subject: str,
    template: str,
    context: dict,
    templates: Templates | None = None,
) -> EmailMultiAlternatives:
    templates = templates or Templates()
    email = EmailMultiAlternatives(
        subject=subject,
        body=templates.render(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_email],
        headers={
            "Message-ID": message.message_id,
            "Auto-Submitted": "auto-generated",
            "X-Parcours-Outbox": str(message.pk),
        },
    )
    email.attach_alternative(templates.render(f"{template}.html", context), "text/html")
    return email
