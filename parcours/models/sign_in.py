"""Signing in with ProConnect: the link between an account and a ProConnect identity, and the
sign-ins parcours could not let in (their administrators are told once).

Agents' professional identities, not people's records: nothing here is encrypted, like the
user's own name and e-mail address.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .organisation import Organisation


class ProConnectIdentity(models.Model):
    """The ProConnect subject (`sub`) an account signs in as. Set at the first sign-in that
    found the account (by e-mail address, among the members of the SIRET's organisation); from
    then on the subject finds the account, whatever its address becomes."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="proconnect_identity",
        verbose_name=_("compte"),
    )
    sub = models.CharField(_("identifiant ProConnect (sub)"), max_length=255, unique=True)
    # The identity provider's own id of the agent and which provider it was (ProConnect federates
    # several): kept for the administrators who must tell two homonyms apart.
    uid = models.CharField(_("identifiant chez le fournisseur d'identité"), max_length=255)
    idp_id = models.CharField(_("fournisseur d'identité"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("lié le"))
    last_sign_in_at = models.DateTimeField(_("dernière connexion ProConnect"))

    class Meta:
        verbose_name = _("identité ProConnect")
        verbose_name_plural = _("identités ProConnect")

    def __str__(self) -> str:
        return f"{self.user} ↔ {self.sub}"


class SignInRefusal(models.TextChoices):
    UNKNOWN_ORGANISATION = "unknown_organisation", _("Structure inconnue (SIRET)")
    AWAITING_ACTIVATION = "awaiting_activation", _("Compte en attente d'activation")


class SignInRequest(models.Model):
    """A ProConnect sign-in parcours refused: one row per agent (`sub`), SIRET and reason, however
    often they try; the administrators' e-mails hang on it (notifications' outbox), so they are
    told once."""

    reason = models.CharField(_("motif"), max_length=30, choices=SignInRefusal.choices)
    siret = models.CharField(_("SIRET transmis"), max_length=14)
    # The organisation that carries this SIRET (none when it is unknown); PROTECT like memberships.
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sign_in_requests",
        verbose_name=_("organisation"),
    )
    # The account awaiting activation (none for an unknown organisation).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sign_in_requests",
        verbose_name=_("compte"),
    )
    sub = models.CharField(_("identifiant ProConnect (sub)"), max_length=255)
    email = models.EmailField(_("adresse électronique"))
    given_name = models.CharField(_("prénom"), max_length=150, blank=True)
    usual_name = models.CharField(_("nom d'usage"), max_length=150, blank=True)
    uid = models.CharField(_("identifiant chez le fournisseur d'identité"), max_length=255)
    attempts = models.PositiveIntegerField(_("tentatives"), default=1)
    first_seen_at = models.DateTimeField(_("première tentative"))
    last_seen_at = models.DateTimeField(_("dernière tentative"))

    class Meta:
        verbose_name = _("connexion ProConnect refusée")
        verbose_name_plural = _("connexions ProConnect refusées")
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sub", "siret", "reason"],
                name="sign_in_request_once_per_agent_siret_reason",
                violation_error_message=_(
                    "Cette connexion refusée est déjà enregistrée pour cet agent et ce SIRET."
                ),
            ),
            models.CheckConstraint(
                name="sign_in_request_organisation_matches_reason",
                condition=(
                    models.Q(reason="unknown_organisation", organisation__isnull=True)
                    | models.Q(
                        reason="awaiting_activation",
                        organisation__isnull=False,
                        user__isnull=False,
                    )
                ),
                violation_error_message=_(
                    "Une structure inconnue n'a pas d'organisation ; un compte en attente "
                    "d'activation a son organisation et son compte."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} — {self.email} ({self.siret})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.usual_name}".strip() or self.email
