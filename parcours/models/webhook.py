"""Partner systems' webhooks (docs/guide-integration-partenaires.md): an organisation's
administrators subscribe an HTTPS endpoint of their system to referral and pathway events; each
event of a referral the organisation is a party to, or of a pathway it sees, becomes one delivery
row per subscription, written in the change's own transaction (the outbox), sent by a Celery
relay with the Standard Webhooks signature, retried with backoff, and logged attempt by attempt.

The signing secret must be read back to sign, so it is stored encrypted (parcours.fields), not
hashed like an API token; it is shown once. During a rotation the previous secret still signs
beside the new one until `previous_secret_until`, so the partner switches without downtime.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..fields import EncryptedTextField
from .organisation import Organisation
from .pathway import Pathway
from .referral import Referral


class WebhookSubscription(models.Model):
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="webhook_subscriptions",
        verbose_name=_("organisation"),
    )
    url = models.URLField(_("adresse de réception"), max_length=500)
    description = models.CharField(_("description"), max_length=120)
    events = models.JSONField(_("événements"), default=list)
    secret = EncryptedTextField(_("secret de signature"))
    # The start of the secret, to tell secrets apart in the lists ("whsec_Ab12…").
    secret_prefix = models.CharField(_("début du secret"), max_length=16)
    previous_secret = EncryptedTextField(_("secret précédent"), null=True, blank=True)
    previous_secret_until = models.DateTimeField(
        _("secret précédent valable jusqu'au"), null=True, blank=True
    )
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("créé par"),
    )
    disabled_at = models.DateTimeField(_("désactivé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("abonnement webhook")
        verbose_name_plural = _("abonnements webhook")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "-created_at"], name="webhook_sub_org_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(previous_secret__isnull=True, previous_secret_until__isnull=True)
                | models.Q(previous_secret__isnull=False, previous_secret_until__isnull=False),
                name="webhook_previous_secret_with_end",
                violation_error_message=_("Un secret précédent a une date de fin."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description} ({self.url})"

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None

    def signing_secrets(self, at=None) -> list[str]:
        """The secrets that sign a delivery sent at `at`: the current one, and the previous one
        while its overlap lasts (each gives one signature of the header)."""
        at = at or timezone.now()
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_until and self.previous_secret_until > at:
            secrets.append(self.previous_secret)
        return secrets


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", _("En attente")
    SENDING = "sending", _("En cours d'envoi")
    DELIVERED = "delivered", _("Reçu par le système partenaire")
    FAILED = "failed", _("Abandonné après plusieurs essais")


class WebhookDelivery(models.Model):
    """One event for one subscription: the outbox row the relay claims, and the log's head."""

    subscription = models.ForeignKey(
        WebhookSubscription,
        on_delete=models.PROTECT,
        related_name="deliveries",
        verbose_name=_("abonnement"),
    )
    event_type = models.CharField(_("événement"), max_length=60)
    # The timeline event the move appended: with the subscription, the key that lets one
    # delivery in per event, whatever re-runs.
    source_event_id = models.BigIntegerField(_("événement du parcours"))
    referral = models.ForeignKey(
        Referral,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("orientation"),
    )
    # The pathway of a pathway event (référent, modality, closing); a referral event names its
    # referral instead. SET_NULL like the referral: the log outlives the record's deletion.
    pathway = models.ForeignKey(
        Pathway,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("parcours"),
    )
    # `webhook-id`: the same on every attempt and replay, so the partner can ignore a repeat.
    message_id = models.CharField(_("identifiant du message"), max_length=40, unique=True)
    # The exact bytes signed and sent (a FHIR Task or EpisodeOfCare): personal data, so
    # encrypted at rest.
    body = EncryptedTextField(_("contenu"))
    status = models.CharField(
        _("état"),
        max_length=12,
        choices=WebhookDeliveryStatus.choices,
        default=WebhookDeliveryStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(_("essais"), default=0)
    next_attempt_at = models.DateTimeField(_("prochain essai"), default=timezone.now)
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    delivered_at = models.DateTimeField(_("reçu le"), null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("dernier code HTTP"), null=True, blank=True)
    last_error = models.CharField(_("dernière erreur"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("envoi webhook")
        verbose_name_plural = _("envois webhook")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                name="webhook_delivery_due_idx",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["subscription", "-created_at"], name="webhook_delivery_sub_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "source_event_id"],
                name="webhook_delivery_once_per_event",
                violation_error_message=_("Un événement est envoyé une fois par abonnement."),
            ),
            models.CheckConstraint(
                condition=models.Q(status="delivered", delivered_at__isnull=False)
                | (~models.Q(status="delivered") & models.Q(delivered_at__isnull=True)),
                name="webhook_delivery_delivered_with_date",
                violation_error_message=_("Un envoi reçu a une date de réception."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.subscription_id} ({self.message_id})"

    @property
    def reference(self) -> str:
        """The record's identifier as the message carries it (no query: ids only): the
        referral's reference, or the pathway's number; empty once the record is gone."""
        if self.referral_id is not None:
            return Referral.reference_of(self.referral_id)
        if self.pathway_id is not None:
            return str(self.pathway_id)
        return ""

    @property
    def about(self) -> str:
        """The record the message is about, as the delivery log names it."""
        if self.referral_id is not None:
            return f"Orientation {self.reference}"
        if self.pathway_id is not None:
            return f"Parcours n°{self.reference}"
        return ""


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery: the log the partner's administrators read."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    started_at = models.DateTimeField(_("envoyé le"))
    duration_ms = models.PositiveIntegerField(_("durée (ms)"))
    status_code = models.PositiveIntegerField(_("code HTTP"), null=True, blank=True)
    error = models.CharField(_("erreur"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("essai d'envoi webhook")
        verbose_name_plural = _("essais d'envoi webhook")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.started_at:%Y-%m-%d %H:%M:%S} → {self.status_code}"


class IdempotencyKey(models.Model):
    """A write request's `Idempotency-Key`, per caller (a token, or a member in an
    organisation), with the answer it got: a retry with the same key and body gets that answer
    again and changes nothing; kept PARCOURS_IDEMPOTENCY_KEY_HOURS (purged by a task)."""

    scope = models.CharField(_("appelant"), max_length=80)
    key = models.CharField(_("clé"), max_length=255)
    fingerprint = models.CharField(_("empreinte de la requête"), max_length=64)
    status_code = models.PositiveIntegerField(_("code HTTP"))
    # The answer may name a person: encrypted at rest like the records it comes from.
    response = EncryptedTextField(_("réponse"))
    created_at = models.DateTimeField(_("reçue le"), default=timezone.now)

    class Meta:
        verbose_name = _("clé d'idempotence")
        verbose_name_plural = _("clés d'idempotence")
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "key"],
                name="idempotency_key_once_per_caller",
                violation_error_message=_("Une clé d'idempotence sert une fois par appelant."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
