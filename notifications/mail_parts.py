"""What every e-mail of the outbox is built with: the link to a referral, dates as French readers
write them, and the message itself (HTML + plain text, the outbox row's deterministic
Message-ID). Shared by notifications/mail.py and notifications/answers.py, which neither imports
the other for it."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from .models import OutboxMessage


def referral_link(referral_id: int) -> str:
    """Where the e-mail sends the reader: the referral's page (after logging in)."""
    return f"{settings.PARCOURS_PUBLIC_URL.rstrip('/')}/orientations/{referral_id}/"


def day(value) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y") if value else ""


def day_and_time(value) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y à %H:%M") if value else ""


def email_of(
    message: OutboxMessage, *, subject: str, template: str, context: dict
) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_email],
        headers={
            "Message-ID": message.message_id,
            "Auto-Submitted": "auto-generated",
            "X-Parcours-Outbox": str(message.pk),
        },
    )
    email.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return email
