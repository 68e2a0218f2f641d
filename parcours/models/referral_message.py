from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..fields import EncryptedTextField
from .organisation import Organisation
from .referral import Referral

# A message is a short exchange between the two parties, not a report: the diagnostic's 2 000.
MESSAGE_MAX_LENGTH = 2000


class ReferralMessage(models.Model):
    """One message of a referral's thread, between its sender and its receiver (issue 14).

    Append-only: a message is never edited nor deleted (what a partner was told stays told); the
    rows are their own history, so no simple-history table. Written by
    `services/referral_message.py::referral_message_post` only; its text is encrypted like every
    free text about a person and wiped with the record (services/erasure.py)."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rédigé par"),
        on_delete=models.PROTECT,  # the thread must outlive the user
        related_name="+",
    )
    author_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    text = EncryptedTextField(_("message"))
    created_at = models.DateTimeField(_("envoyé le"))

    class Meta:
        verbose_name = _("message sur une orientation")
        verbose_name_plural = _("messages sur les orientations")
        ordering = ["referral_id", "created_at", "id"]
        indexes = [
            # The thread (in order) and its unread count (ids after the reader's watermark).
            models.Index(fields=["referral", "id"], name="referral_message_thread_idx"),
        ]

    def __str__(self) -> str:
        return f"Message n°{self.pk} sur l'orientation n°{self.referral_id}"


class ReferralMessageRead(models.Model):
    """How far an organisation has read a referral's thread: the newest message shown to one of
    its members. Per organisation, not per user: a referral is a team's work (whoever opens it,
    the team has read it), and « non lus » in the inbox is the organisation's to answer. The
    unread messages are the other party's messages after `last_read_message_id`.

    Not a record about the person (no content): kept without history and moved forward only."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    last_read_message_id = models.BigIntegerField(_("dernier message lu"))
    read_at = models.DateTimeField(_("lu le"))
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lu par"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("lecture d'un fil de messages")
        verbose_name_plural = _("lectures des fils de messages")
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "organisation"],
                name="referral_message_read_once_per_organisation",
                violation_error_message=_("Cette organisation a déjà un état de lecture."),
            ),
            models.CheckConstraint(
                name="referral_message_read_positive",
                condition=Q(last_read_message_id__gte=0),
                violation_error_message=_("Le dernier message lu est un identifiant positif."),
            ),
        ]

    def __str__(self) -> str:
        return f"Lecture de l'orientation n°{self.referral_id} ({self.organisation_id})"
