import datetime as dt

from django.conf import settings

from ..models import Referral, ReferralStatus


def referrals_unanswered_too_long(*, now: dt.datetime) -> list[int]:
    """System read (no actor): ids of sent referrals left unanswered past the expiry delay."""
    cutoff = now - dt.timedelta(days=settings.PARCOURS_REFERRAL_EXPIRY_DAYS)
    return list(
        Referral.objects.filter(status=ReferralStatus.SENT, sent_at__lt=cutoff)
        .order_by("sent_at")
        .values_list("pk", flat=True)
    )
