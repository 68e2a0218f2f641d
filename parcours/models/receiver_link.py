"""The magic link of a receiver without an account (issue 19).

A referral sent to an organisation with no active user gives that organisation a link, e-mailed
to its contact address, through which it answers that one referral: accept, refuse, set the
appointment, record the outcome — nothing else (parcours/rules.py, the link's role). The URL
carries a token signed with its own salt (the link's id and a random secret,
`services/receiver_link.py`); only the secret's SHA-256 is stored here, so neither a copy of the
database nor a guessed id opens anything. A link works until it expires, is revoked by the
sender (or replaced by a new one), or its referral is closed; its uses are journaled with the
link as the actor (`detail["receiver_link"]`, no user).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..fields import EncryptedTextField
from .organisation import Organisation
from .referral import Referral


class ReceiverLinkState(models.TextChoices):
    ACTIVE = "active", _("Actif")
    EXPIRED = "expired", _("Expiré")
    REVOKED = "revoked", _("Révoqué")


class ReceiverLink(models.Model):
    referral = models.ForeignKey(
        Referral,
        on_delete=models.CASCADE,
        related_name="receiver_links",
        verbose_name=_("orientation"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="receiver_links",
        verbose_name=_("organisme destinataire"),
    )
    token_hash = models.CharField(_("empreinte du secret (SHA-256)"), max_length=64, unique=True)
    # The signed token, encrypted with the field keys (held outside the database), kept only for
    # the relay that writes the e-mail carrying it: blanked at the link's first use (the e-mail
    # arrived) or its revocation.
    mail_token = EncryptedTextField(_("jeton à envoyer (chiffré)"), blank=True, default="")
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,  # the journal must outlive the user
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("créé par"),
    )
    expires_at = models.DateTimeField(_("expire le"))
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("révoqué par"),
    )
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)

    class Meta:
        verbose_name = _("lien d'accès sans compte")
        verbose_name_plural = _("liens d'accès sans compte")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="receiver_link_expires_after_creation",
                condition=Q(expires_at__gt=models.F("created_at")),
                violation_error_message=_("Un lien expire après sa création."),
            ),
            models.CheckConstraint(
                name="receiver_link_revoked_has_date",
                condition=Q(revoked_by__isnull=True) | Q(revoked_at__isnull=False),
                violation_error_message=_("Un lien révoqué a une date de révocation."),
            ),
            # At most one link in force per referral: a new one revokes the former.
            models.UniqueConstraint(
                fields=["referral"],
                condition=Q(revoked_at__isnull=True),
                name="receiver_link_one_unrevoked_per_referral",
                violation_error_message=_("Cette orientation a déjà un lien en vigueur."),
            ),
        ]

    def __str__(self) -> str:
        return f"Lien d'accès sans compte n° {self.pk} ({self.organisation})"

    def state(self, now=None) -> str:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return ReceiverLinkState.REVOKED
        if self.expires_at <= now:
            return ReceiverLinkState.EXPIRED
        return ReceiverLinkState.ACTIVE
