"""Partner systems' API tokens (docs/security.md, « Jetons d'accès des systèmes partenaires »).

A token belongs to one organisation and one system (a département's rSa software, an SIAE's
tool…), acts as one account of that organisation — a technical account made for the system, or a
member's own — and carries scopes (parcours/api_scopes.py), an expiry and a rate. Only a SHA-256
digest of its secret is stored: the secret is shown once, when the token is made or renewed. A
token is refused once expired or revoked; it is revoked when its account's password changes
(services/api_token.py), and when renewed it keeps working a short grace period beside its
successor, so that a system can switch without downtime.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .organisation import Organisation


class ApiTokenRevocation(models.TextChoices):
    BY_ADMINISTRATOR = "administrator", _("Révoqué par un administrateur")
    PASSWORD_CHANGED = "password_changed", _("Mot de passe du compte changé")


class ApiTokenStatus(models.TextChoices):
    ACTIVE = "active", _("Actif")
    RENEWED = "renewed", _("Renouvelé (valable jusqu'à son expiration)")
    EXPIRED = "expired", _("Expiré")
    REVOKED = "revoked", _("Révoqué")


class ApiToken(models.Model):
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="api_tokens",
        verbose_name=_("organisation"),
    )
    system_name = models.CharField(_("système"), max_length=120)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="api_tokens",
        verbose_name=_("compte"),
    )
    # The start of the secret, to tell tokens apart in the lists ("prc_Ab12Cd34…"): too short
    # to guess the rest from.
    prefix = models.CharField(_("début du jeton"), max_length=16)
    digest = models.CharField(_("empreinte (SHA-256)"), max_length=64, unique=True)
    scopes = models.JSONField(_("portée"), default=list)
    requests_per_minute = models.PositiveIntegerField(_("requêtes par minute"))
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("créé par"),
    )
    expires_at = models.DateTimeField(_("expire le"))
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("dernière adresse"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("révoqué par"),
    )
    revocation = models.CharField(
        _("motif de révocation"), max_length=20, choices=ApiTokenRevocation.choices, blank=True
    )
    replaces = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        related_name="replaced_by",
        null=True,
        blank=True,
        verbose_name=_("remplace"),
    )

    class Meta:
        verbose_name = _("jeton d'accès API")
        verbose_name_plural = _("jetons d'accès API")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "-created_at"], name="api_token_org_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True, revocation="")
                | models.Q(revoked_at__isnull=False) & ~models.Q(revocation=""),
                name="api_token_revocation_with_reason",
                violation_error_message=_("Une révocation a une date et un motif."),
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="api_token_expires_after_creation",
                violation_error_message=_("Un jeton expire après sa création."),
            ),
            models.CheckConstraint(
                condition=models.Q(requests_per_minute__gte=1),
                name="api_token_rate_positive",
                violation_error_message=_("Un jeton admet au moins une requête par minute."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system_name} ({self.prefix}…)"

    def is_usable(self, at=None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is None and self.expires_at > at

    def status(self, at=None) -> ApiTokenStatus:
        """Revoked, expired, renewed (still working its grace period) or active; `replaced_by`
        read from the row's select_related/prefetch where the caller has it."""
        if self.revoked_at is not None:
            return ApiTokenStatus.REVOKED
        if self.expires_at <= (at or timezone.now()):
            return ApiTokenStatus.EXPIRED
        if ApiToken.replaced_by.is_cached(self):  # type: ignore[attr-defined]
            renewed = getattr(self, "replaced_by", None) is not None
        else:
            renewed = ApiToken.objects.filter(replaces=self).exists()
        return ApiTokenStatus.RENEWED if renewed else ApiTokenStatus.ACTIVE
